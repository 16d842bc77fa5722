// Datomic's documented transaction semantics for people who write to the database directly
// (issue 14): one test per item, each from Datomic's documentation, on both drivers.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionError } from '../../src/db';
import type { Database } from '../../src/db/types';
import { attribute } from './attributes';
import { collect, FIXTURES, pgliteFixture, type DatabaseFixture } from './fixtures';
import { shuffled } from './workload';

const SCHEMA = [
  attribute(':p/name', 'string', { unique: 'identity' }),
  attribute(':p/email', 'string', { unique: 'identity' }),
  attribute(':p/age', 'long'),
  attribute(':p/friends', 'ref', { many: true }),
  attribute(':p/friend', 'ref'),
  attribute(':p/account', 'ref', { unique: 'identity' }),
  attribute(':p/address', 'ref', { component: true }),
  attribute(':a/street', 'string'),
  attribute(':p/ratio', 'float'),
  attribute(':p/fn', 'symbol'),
  attribute(':p/big', 'long'),
  attribute(':p/price', 'bigdec'),
  attribute(':p/prices', 'bigdec', { many: true }),
];

async function refusal(p: Promise<unknown>): Promise<TransactionError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransactionError);
  return err as TransactionError;
}

describe.each(FIXTURES)('on %s, Datomic semantics', (_name, make) => {
  let fixture: DatabaseFixture;
  beforeAll(async () => {
    fixture = await make();
  });
  afterAll(() => fixture?.close());

  async function fresh(): Promise<Database> {
    const db = await fixture.open();
    await db.transact(SCHEMA);
    return db;
  }

  it('1. tempids unify against the database before the transaction, whatever the clause order', async () => {
    const clauses = [
      [':db/add', 'a', ':p/email', 'new@x'],
      [':db/add', 'b', ':p/email', 'new@x'],
      [':db/add', 'b', ':p/name', 'Ivan'],
    ] as const;
    for (const ops of [clauses, [...clauses].reverse(), [clauses[2], clauses[0], clauses[1]]]) {
      const db = await fresh();
      const { tempids } = await db.transact([{ ':db/id': 'ivan', ':p/name': 'Ivan' }]);
      const ivan = tempids['ivan']!;
      const report = await db.transact(ops);
      expect(report.tempids['a']).toBe(ivan);
      expect(report.tempids['b']).toBe(ivan);
      expect(await db.entity(ivan)).toEqual({ ':p/name': 'Ivan', ':p/email': 'new@x' });
    }
  });

  it('1. tempids whose identity values name two existing entities are refused, naming both', async () => {
    const db = await fresh();
    await db.transact([{ ':p/name': 'Ivan' }, { ':p/name': 'Petr', ':p/email': 'petr@x' }]);
    for (const ops of [
      [[':db/add', 'a', ':p/name', 'Ivan'], [':db/add', 'b', ':p/email', 'petr@x'], [':db/add', 'b', ':p/name', 'x'], [':db/add', 'a', ':p/name', 'x']],
    ] as const) {
      const err = await refusal(db.transact(ops.slice().reverse()));
      expect(err.code).toBe('upsert-conflict');
      expect(err.message).toMatch(/"a".*"b"|"b".*"a"/);
    }
  });

  it('2. an entity map upserts through a ref-typed identity attribute', async () => {
    const db = await fresh();
    const { tempids } = await db.transact([{ ':db/id': 'acct', ':p/name': 'account-1' }]);
    const acct = tempids['acct']!;
    const first = await db.transact([{ ':db/id': 'holder', ':p/account': acct, ':p/age': 35 }]);
    const holder = first.tempids['holder']!;
    const second = await db.transact([{ ':p/account': acct, ':p/age': 36 }]);
    expect(second.datoms.filter((d) => d[0] === holder).length).toBe(2); // the old age out, the new in
    expect(await db.entity(holder)).toEqual({ ':p/account': acct, ':p/age': 36 });
    // By lookup ref too.
    const third = await db.transact([{ ':db/id': 'h', ':p/account': [':p/name', 'account-1'], ':p/age': 37 }]);
    expect(third.tempids['h']).toBe(holder);
  });

  it('3. a nested map under a non-component ref needs a unique attribute', async () => {
    const db = await fresh();
    const err = await refusal(db.transact([{ ':p/name': 'Ann', ':p/friend': { ':p/age': 3 } }]));
    expect(err.code).toBe('invalid-nested-entity');
    expect(err.message).toContain(':p/friend');
    expect(await db.basisT()).toBe(1); // nothing written
    // With a unique attribute it upserts or creates; under a component it is fine.
    await db.transact([{ ':p/name': 'Ann', ':p/friend': { ':p/name': 'Bob', ':p/age': 3 } }]);
    await db.transact([{ ':p/name': 'Ann', ':p/address': { ':a/street': 'Main 1' } }]);
    const ann = await db.entity([':p/name', 'Ann']);
    expect(ann![':p/friend']).toBe(await db.resolve([':p/name', 'Bob']));
    expect(await db.entity(ann![':p/address'] as number)).toEqual({ ':a/street': 'Main 1' });
  });

  it('4. reverse attribute names in maps assert the forward ref', async () => {
    const db = await fresh();
    const { tempids } = await db.transact([{ ':db/id': 'ivan', ':p/name': 'Ivan' }, { ':db/id': 'oleg', ':p/name': 'Oleg' }]);
    const report = await db.transact([{ ':db/id': 'petr', ':p/name': 'Petr', ':p/_friends': [':p/name', 'Ivan'] }]);
    const petr = report.tempids['petr']!;
    expect((await db.entity(tempids['ivan']!))![':p/friends']).toEqual([petr]);
    // A list of entities, and a nested map.
    await db.transact([{ ':db/id': petr, ':p/_friend': [tempids['ivan']!, tempids['oleg']!] }]);
    await db.transact([{ ':db/id': petr, ':p/_friends': { ':p/name': 'Vera' } }]);
    expect((await db.entity(tempids['oleg']!))![':p/friend']).toBe(petr);
    expect((await db.entity([':p/name', 'Vera']))![':p/friends']).toEqual([petr]);
    const err = await refusal(db.transact([{ ':db/id': petr, ':p/_nothing': 1 }]));
    expect(err.code).toBe('unknown-attribute');
  });

  it('5. float and symbol are value types', async () => {
    const db = await fresh();
    const { tempids } = await db.transact([{ ':db/id': 'x', ':p/name': 'x', ':p/ratio': 0.1, ':p/fn': 'clojure.core/inc' }]);
    const x = (await db.entity(tempids['x']!))!;
    expect(x[':p/ratio']).toBe(Math.fround(0.1));
    expect(x[':p/fn']).toBe('clojure.core/inc');
    expect(await db.maxValue(':p/ratio')).toBe(Math.fround(0.1));
    // Asserting the same float (rounded alike) records nothing.
    const again = await db.transact([[':db/add', tempids['x']!, ':p/ratio', Math.fround(0.1)]]);
    expect(again.datoms).toHaveLength(1); // the txInstant alone
    expect((await refusal(db.transact([[':db/add', tempids['x']!, ':p/fn', ':not/symbol']]))).code).toBe('invalid-value');
    expect((await refusal(db.transact([[':db/add', tempids['x']!, ':p/ratio', '1.5']]))).code).toBe('invalid-value');
  });

  it('6. a long holds the signed 64-bit range: number when safe, bigint beyond', async () => {
    const db = await fresh();
    const values = [9007199254740993n, 2n ** 63n - 1n, -(2n ** 63n), 42n];
    const { tempids } = await db.transact(values.map((v, i) => ({ ':db/id': `e${i}`, ':p/big': v })));
    const got = await Promise.all(values.map((_, i) => db.entity(tempids[`e${i}`]!)));
    expect(got.map((e) => e![':p/big'])).toEqual([9007199254740993n, 2n ** 63n - 1n, -(2n ** 63n), 42]);
    expect(await db.datomsAVET(':p/big', 9007199254740993n)).toEqual([tempids['e0']]);
    expect(await db.maxValue(':p/big')).toBe(2n ** 63n - 1n);
    const err = await refusal(db.transact([{ ':p/big': 2n ** 63n }]));
    expect(err.code).toBe('invalid-value');
    expect(err.message).toMatch(/outside the signed 64-bit range/);
    expect((await refusal(db.transact([{ ':p/big': 2 ** 53 }]))).code).toBe('invalid-value');
  });

  it('7. equal bigdecs are one value; the scale is kept', async () => {
    const db = await fresh();
    const { tempids } = await db.transact([{ ':db/id': 'x', ':p/name': 'x', ':p/price': '12.50' }]);
    const x = tempids['x']!;
    const same = await db.transact([[':db/add', x, ':p/price', '+12.50']]);
    expect(same.datoms).toHaveLength(1); // redundant: only the txInstant
    const rescaled = await db.transact([[':db/add', x, ':p/price', '12.5']]);
    expect(rescaled.datoms).toHaveLength(3); // 12.50M and 12.5M differ: retract and assert
    await db.transact([[':db/add', x, ':p/prices', '1250E-2'], [':db/add', x, ':p/prices', '-0.0']]);
    await db.transact([[':db/add', x, ':p/prices', '12.50'], [':db/add', x, ':p/prices', '0.0']]);
    expect(((await db.entity(x))![':p/prices'] as string[]).sort()).toEqual(['0.0', '12.50']);
    const log = await collect(db.txRange(1, await db.basisT()));
    expect(log.at(-1)!.datoms).toHaveLength(1);
  });

  it('an attribute may be used in the transaction that installs it (a deliberate difference)', async () => {
    const db = await fresh();
    await db.transact([attribute(':q/x', 'long'), { ':q/x': 1 }]);
    expect(await db.datomsAVET(':q/x', 1)).toHaveLength(1);
  });
});

describe('on pglite, the outcome of a transaction does not depend on its clause order', () => {
  let fixture: DatabaseFixture;
  beforeAll(async () => {
    fixture = await pgliteFixture();
  });
  afterAll(() => fixture?.close());

  const clause = fc.oneof(
    fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.constantFrom(':p/name', ':p/email'), fc.constantFrom('Ivan', 'Petr', 'Vera', 'ivan@x', 'petr@x', 'new@x')),
    fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.constant(':p/age'), fc.integer({ min: 1, max: 3 })),
  );

  /** Runs the clauses on a fresh database holding Ivan and Petr; the outcome with new entities named by their tempids. */
  async function outcome(clauses: ReadonlyArray<readonly [string, string, unknown]>): Promise<string> {
    const db = await fixture.open();
    await db.transact(SCHEMA);
    await db.transact([{ ':p/name': 'Ivan', ':p/email': 'ivan@x' }, { ':p/name': 'Petr', ':p/email': 'petr@x', ':p/age': 9 }]);
    let report;
    try {
      report = await db.transact(clauses.map(([t, a, v]) => [':db/add', t, a, v] as const));
    } catch (err) {
      if (err instanceof TransactionError) return 'refused';
      throw err;
    }
    const names = new Map<number, string[]>();
    for (const [t, e] of Object.entries(report.tempids)) if (t !== 'datomic.tx') names.set(e, [...(names.get(e) ?? []), t].sort());
    const schema = await db.schema();
    const datoms = (await collect(db.datoms())).filter(([e, a]) => e >= 1000 && schema.get(a)?.ident.startsWith(':p/'));
    return datoms
      .map(([e, a, v]) => `${names.has(e) && e > report.tx ? names.get(e)!.join('+') : e} ${schema.get(a)!.ident} ${String(v)}`)
      .sort()
      .join('\n');
  }

  it('for random identity clauses over repeated tempids, as written and shuffled', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(clause, { minLength: 2, maxLength: 6 }), fc.integer({ min: 1, max: 1_000_000 }), async (clauses, seed) => {
        const [written, reordered] = [await outcome(clauses), await outcome(shuffled(clauses, seed))];
        expect(reordered).toBe(written);
      }),
      { numRuns: 12 },
    );
  }, 300_000);
});
