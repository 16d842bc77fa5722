// The transaction semantics Datomic users expect, one example each, on both drivers.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TransactionError } from '../../src/db';
import type { Database, TxDatom } from '../../src/db/types';
import { attribute, PEOPLE } from './attributes';
import { collect, FIXTURES, type DatabaseFixture } from './fixtures';

/** The transaction fails with a TransactionError of that code whose message matches. */
async function refused(promise: Promise<unknown>, code: string, message?: RegExp): Promise<TransactionError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected a refusal with code ${code}`).toBeInstanceOf(TransactionError);
  const error = err as TransactionError;
  expect(error.code, error.message).toBe(code);
  if (message) expect(error.message).toMatch(message);
  return error;
}

/** The log entry's datoms without the transaction's :db/txInstant. */
const withoutInstant = (datoms: TxDatom[]) => datoms.filter((d) => !(d[2] instanceof Date));

describe.each(FIXTURES)('on %s', (_name, make) => {
  let fixture: DatabaseFixture;
  let db: Database;
  let ids: Map<string, number>;
  beforeAll(async () => {
    fixture = await make();
  });
  afterAll(() => fixture?.close());
  beforeEach(async () => {
    db = await fixture.open();
    await db.transact(PEOPLE);
    const schema = await db.schema();
    ids = new Map([...schema.values()].map((a) => [a.ident, a.id]));
  });

  /** Everything the database holds now, as text, for before/after comparisons. */
  const snapshot = async () => ({
    basis: await db.basisT(),
    datoms: JSON.stringify(await collect(db.datoms()), (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
  });

  describe('schema', () => {
    it('the built-in schema entities exist before the first transaction', async () => {
      const fresh = await fixture.open();
      expect(await fresh.basisT()).toBe(0);
      expect(await collect(fresh.txRange(1, 100))).toEqual([]);
      const schema = [...(await fresh.schema()).values()];
      const ident = schema.find((a) => a.ident === ':db/ident')!;
      expect(ident).toMatchObject({ valueType: 'keyword', cardinality: 'one', unique: 'identity' });
      expect(schema.map((a) => a.ident)).toEqual(
        expect.arrayContaining([':db/valueType', ':db/cardinality', ':db/unique', ':db/isComponent', ':db/doc', ':db/txInstant', ':db/tupleAttrs']),
      );
      const builtins = await fresh.builtins();
      expect([...builtins.values()]).toEqual(expect.arrayContaining([':db.type/long', ':db.cardinality/many', ':db.unique/value']));
      expect(await fresh.entity(':db/txInstant')).toMatchObject({ ':db/ident': ':db/txInstant', ':db/valueType': await fresh.resolve(':db.type/instant') });
      expect(await fresh.resolve(':db.type/tuple')).toEqual(expect.any(Number));
      const datoms = await collect(fresh.datoms());
      expect(datoms.length).toBeGreaterThan(30);
    });

    it('installs attributes with ordinary transactions, which are in the log', async () => {
      const report = await db.transact([{ ':db/id': 'title', ...attribute(':book/title', 'string', { doc: 'The title.' }) }]);
      const installed = (await db.schema()).get(report.tempids.title!)!;
      expect(installed).toMatchObject({ ident: ':book/title', valueType: 'string', cardinality: 'one', unique: null, isComponent: false });
      const [logged] = await collect(db.txRange(report.t, report.t));
      expect(withoutInstant(logged!.datoms).map((d) => d[0])).toEqual([installed.id, installed.id, installed.id, installed.id]);
      expect(await db.resolve(':book/title')).toBe(installed.id);
      const book = await db.transact([{ ':book/title': 'Dune' }]);
      expect(await db.entity(withoutInstant(book.datoms)[0]![0])).toEqual({ ':book/title': 'Dune' });
    });

    it('uses an attribute in the transaction that installs it', async () => {
      const report = await db.transact([
        { ':db/id': 'a', ':db/ident': ':x/y', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' },
        [':db/add', 'e', ':x/y', 5],
        { ':db/id': 'm', ':db/ident': ':x/many', ':db/valueType': ':db.type/keyword', ':db/cardinality': ':db.cardinality/many' },
        { ':db/id': 'e', ':x/many': [':k/a', ':k/b'] },
        { ':db/ident': ':color/red' },
        [':db/add', 'e', ':db/doc', 'uses :color/red below'],
      ]);
      expect(await db.entity(report.tempids.e!)).toEqual({ ':x/y': 5, ':x/many': [':k/a', ':k/b'], ':db/doc': 'uses :color/red below' });
      expect(await db.resolve(':color/red')).toEqual(expect.any(Number));
    });
  });

  describe('transact', () => {
    it('takes list forms and entity maps, with nested maps, components and many-valued vectors', async () => {
      const report = await db.transact([
        {
          ':db/id': 'ann',
          ':person/name': 'Ann',
          ':person/nick': ['annie', 'a'],
          ':person/address': { ':address/street': 'Main St', ':address/geo': { ':geo/lat': 1.5 } },
          ':person/friend': { ':db/id': 'bob', ':person/name': 'Bob' },
          ':person/status': ':status/active',
        },
        [':db/add', 'bob', ':person/age', 40],
      ]);
      expect(report).toMatchObject({ t: 2, tx: expect.any(Number), tempids: { ann: expect.any(Number), bob: expect.any(Number) } });
      expect(report.tempids['datomic.tx']).toBe(report.tx);
      const ann = await db.entity(report.tempids.ann!);
      expect(ann).toMatchObject({
        ':person/name': 'Ann',
        ':person/friend': report.tempids.bob,
        ':person/status': await db.resolve(':status/active'),
      });
      expect((ann![':person/nick'] as string[]).sort()).toEqual(['a', 'annie']);
      const address = await db.entity(ann![':person/address'] as number);
      expect(address).toMatchObject({ ':address/street': 'Main St' });
      expect(await db.entity(address![':address/geo'] as number)).toEqual({ ':geo/lat': 1.5 });
      expect(await db.entity(report.tempids.bob!)).toEqual({ ':person/name': 'Bob', ':person/age': 40 });

      await db.transact([
        [':db/retract', report.tempids.ann!, ':person/nick', 'a'],
        [':db/cas', report.tempids.bob!, ':person/age', 40, 41],
      ]);
      expect((await db.entity(report.tempids.ann!))![':person/nick']).toEqual(['annie']);
      expect((await db.entity(report.tempids.bob!))![':person/age']).toBe(41);
      await db.transact([[':db/retractEntity', report.tempids.bob!]]);
      expect(await db.entity(report.tempids.bob!)).toBeNull();
      expect((await db.entity(report.tempids.ann!))![':person/friend']).toBeUndefined();
    });

    it('gives a tempid one entity in a transaction, and names the transaction "datomic.tx"', async () => {
      const report = await db.transact([
        [':db/add', 'x', ':person/name', 'X'],
        [':db/add', 'x', ':person/age', 1],
        [':db/add', 'y', ':person/friend', 'x'],
        [':db/add', 'y', ':person/friends', 'datomic.tx'],
        [':db/add', 'datomic.tx', ':audit/user', 'alice'],
        { ':db/id': 'datomic.tx', ':db/doc': 'import' },
      ]);
      const { x, y } = report.tempids;
      expect(new Set([x, y, report.tx]).size).toBe(3);
      expect(await db.entity(x!)).toEqual({ ':person/name': 'X', ':person/age': 1 });
      expect(await db.entity(y!)).toEqual({ ':person/friend': x, ':person/friends': [report.tx] });
      const tx = await db.entity(report.tx);
      expect(tx).toMatchObject({ ':audit/user': 'alice', ':db/doc': 'import', ':db/txInstant': expect.any(Date) });
      await refused(db.transact([[':db/add', 'z', ':person/friend', 'nobody']]), 'tempid-not-an-entity', /nobody/);
    });

    it('resolves idents and lookup refs wherever an entity id goes', async () => {
      const { tempids } = await db.transact([
        { ':db/id': 'ann', ':person/name': 'Ann', ':person/email': 'ann@x' },
        { ':db/id': 'bob', ':person/name': 'Bob' },
      ]);
      await db.transact([
        [':db/add', [':person/name', 'Ann'], ':person/friend', [':person/email', 'ann@x']],
        [':db/add', [':person/name', 'Bob'], ':person/status', ':status/away'],
        { ':db/id': [':person/name', 'Bob'], ':person/friends': [[':person/name', 'Ann']] },
        [':db/add', ':status/away', ':db/doc', 'Not here.'],
        [':db/cas', [':person/name', 'Bob'], ':person/age', null, 30],
      ]);
      expect(await db.entity([':person/name', 'Bob'])).toEqual({
        ':person/name': 'Bob',
        ':person/status': await db.resolve(':status/away'),
        ':person/friends': [tempids.ann],
        ':person/age': 30,
      });
      expect((await db.entity(':status/away'))![':db/doc']).toBe('Not here.');
      expect((await db.entity(tempids.ann!))![':person/friend']).toBe(tempids.ann);
      await db.transact([[':db/retractEntity', [':person/name', 'Ann']]]);
      expect(await db.resolve([':person/name', 'Ann'])).toBeNull();
      expect((await db.entity(tempids.bob!))![':person/friends']).toBeUndefined();
    });

    it('replaces a cardinality-one value, and the log holds the retraction', async () => {
      const { tempids } = await db.transact([{ ':db/id': 'p', ':person/age': 1 }]);
      const report = await db.transact([[':db/add', tempids.p!, ':person/age', 2]]);
      expect(withoutInstant(report.datoms)).toEqual([
        [tempids.p, ids.get(':person/age'), 1, false],
        [tempids.p, ids.get(':person/age'), 2, true],
      ]);
      const [logged] = await collect(db.txRange(report.t, report.t));
      expect(withoutInstant(logged!.datoms)).toEqual(withoutInstant(report.datoms));
      expect(await db.entity(tempids.p!)).toEqual({ ':person/age': 2 });
    });

    it('records nothing for an assertion that holds or a retraction that does not', async () => {
      const { tempids } = await db.transact([{ ':db/id': 'p', ':person/age': 1, ':person/nick': ['a'] }]);
      const p = tempids.p!;
      const report = await db.transact([
        [':db/add', p, ':person/age', 1],
        [':db/add', p, ':person/nick', 'a'],
        [':db/retract', p, ':person/nick', 'b'],
        [':db/retract', p, ':person/name', 'nobody'],
      ]);
      expect(withoutInstant(report.datoms)).toEqual([]);
      const [logged] = await collect(db.txRange(report.t, report.t));
      expect(logged!.datoms).toEqual([[report.tx, ids.get(':db/txInstant'), logged!.instant, true]]);
    });

    it('upserts a tempid through a :db.unique/identity value', async () => {
      const first = await db.transact([{ ':db/id': 'a', ':person/name': 'Ann', ':person/age': 30 }]);
      const second = await db.transact([
        { ':db/id': 'again', ':person/name': 'Ann', ':person/age': 31 },
        { ':db/id': 'new1', ':person/name': 'Cid' },
        { ':db/id': 'new2', ':person/name': 'Cid', ':person/age': 5 },
      ]);
      expect(second.tempids.again).toBe(first.tempids.a);
      expect(second.tempids.new1).toBe(second.tempids.new2);
      expect(await db.entity(first.tempids.a!)).toEqual({ ':person/name': 'Ann', ':person/age': 31 });
      expect(await db.datomsAVET(':person/name', 'Ann')).toEqual([first.tempids.a]);
      await db.transact([{ ':db/id': 'b', ':person/name': 'Bob', ':person/email': 'b@x' }]);
      await refused(
        db.transact([{ ':db/id': 't', ':person/name': 'Ann', ':person/email': 'b@x' }]),
        'unique-conflict',
        /:person\/email string "b@x" is held by entity/,
      );
    });

    it('refuses a :db.unique/value held by another entity', async () => {
      const { tempids } = await db.transact([{ ':db/id': 'a', ':person/email': 'a@x' }]);
      const before = await snapshot();
      await refused(db.transact([{ ':person/email': 'a@x' }]), 'unique-conflict', new RegExp(`held by entity ${tempids.a}`));
      await refused(db.transact([[':db/add', tempids.a!, ':person/name', 'A'], { ':db/id': 'x', ':person/name': 'A', ':person/email': 'other' }]), 'unique-conflict');
      expect(await snapshot()).toEqual(before);
      // Moving a unique value in one transaction is fine.
      await db.transact([[':db/retract', tempids.a!, ':person/email', 'a@x'], { ':person/email': 'a@x' }]);
    });

    it('retracts an entity, the references to it and its components, recursively', async () => {
      const { tempids } = await db.transact([
        {
          ':db/id': 'ann',
          ':person/name': 'Ann',
          ':person/address': { ':db/id': 'home', ':address/street': 'Main', ':address/geo': { ':db/id': 'geo', ':geo/lat': 2.5 } },
          ':person/friend': { ':db/id': 'bob', ':person/name': 'Bob' },
        },
        { ':db/id': 'cid', ':person/friends': ['ann', 'bob'], ':person/friend': 'ann' },
      ]);
      const report = await db.transact([[':db/retractEntity', tempids.ann!]]);
      const retracted = withoutInstant(report.datoms);
      expect(retracted.every((d) => d[3] === false)).toBe(true);
      expect(new Set(retracted.map((d) => d[0]))).toEqual(new Set([tempids.ann, tempids.home, tempids.geo, tempids.cid]));
      for (const e of [tempids.ann, tempids.home, tempids.geo]) expect(await db.entity(e!)).toBeNull();
      expect(await db.entity(tempids.bob!)).toEqual({ ':person/name': 'Bob' });
      expect(await db.entity(tempids.cid!)).toEqual({ ':person/friends': [tempids.bob] });
    });

    it('refuses a failed :db/cas, a wrong type, an unknown attribute and a missing lookup ref, naming the datom and writing nothing', async () => {
      const { tempids } = await db.transact([{ ':db/id': 'p', ':person/name': 'P', ':person/age': 7 }]);
      const p = tempids.p!;
      const before = await snapshot();
      const fresh = [[':db/add', 'new', ':person/name', 'Somebody']] as const;
      await refused(db.transact([...fresh, [':db/cas', p, ':person/age', 6, 8]]), 'cas-failed', /expected number 6, found number 7.*:person\/age/);
      await refused(db.transact([...fresh, [':db/add', p, ':person/age', '8']]), 'invalid-value', /expected a long.*string "8".*:person\/age/);
      await refused(db.transact([...fresh, [':db/add', p, ':person/age', 2 ** 53]]), 'invalid-value', /safe integer/);
      await refused(db.transact([...fresh, { ':db/id': p, ':person/height': 180 }]), 'unknown-attribute', /:person\/height/);
      await refused(db.transact([...fresh, [':db/add', p, ':person/height', 180]]), 'unknown-attribute', /:person\/height/);
      await refused(db.transact([...fresh, [':db/add', [':person/name', 'Nobody'], ':person/age', 1]]), 'lookup-ref-not-found', /Nobody/);
      await refused(db.transact([...fresh, [':db/add', p, ':person/friend', [':person/name', 'Nobody']]]), 'lookup-ref-not-found', /Nobody/);
      await refused(db.transact([...fresh, [':db/add', [':person/age', 7], ':person/age', 1]]), 'invalid-lookup-ref', /not unique/);
      await refused(db.transact([...fresh, [':db/add', p, ':person/status', ':status/nowhere']]), 'unknown-ident', /:status\/nowhere/);
      await refused(db.transact([...fresh, [':db/add', 10 ** 9, ':person/age', 1]]), 'unknown-entity', /1000000000/);
      await refused(db.transact([...fresh, [':db/frobnicate', p]] as never), 'invalid-op', /:db\/frobnicate/);
      await refused(db.transact([...fresh, [':db/retract', p, ':person/age', 7], [':db/add', p, ':person/age', 7]]), 'datoms-conflict');
      await refused(db.transact([...fresh, [':db/add', p, ':person/age', 1], [':db/add', p, ':person/age', 2]]), 'datoms-conflict');
      expect(await snapshot()).toEqual(before);
      const next = await db.transact(fresh);
      expect(next.t).toBe(before.basis + 1);
    });

    it('gives every transaction the next t and a transaction entity with :db/txInstant', async () => {
      const reports = [];
      for (let i = 0; i < 4; i++) reports.push(await db.transact([{ ':person/age': i }]));
      expect(reports.map((r) => r.t)).toEqual([2, 3, 4, 5]);
      expect(await db.basisT()).toBe(5);
      for (const r of reports) {
        const tx = await db.entity(r.tx);
        expect(tx![':db/txInstant']).toBeInstanceOf(Date);
      }
      const log = await collect(db.txRange(1, 5));
      expect(log.map((tx) => tx.t)).toEqual([1, 2, 3, 4, 5]);
      expect(log.map((tx) => tx.tx)).toEqual([expect.any(Number), ...reports.map((r) => r.tx)]);
      for (const tx of log) expect(tx.datoms).toContainEqual([tx.tx, ids.get(':db/txInstant'), tx.instant, true]);
      // Instants never go backwards.
      for (let i = 1; i < log.length; i++) expect(log[i]!.instant.getTime()).toBeGreaterThanOrEqual(log[i - 1]!.instant.getTime());
    });

    it('accepts an explicit txInstant not earlier than the previous one, and refuses an earlier one', async () => {
      const base = Date.now() + 60_000;
      const a = await db.transact([{ ':person/age': 1 }], { txInstant: new Date(base) });
      const b = await db.transact([{ ':person/age': 2 }], { txInstant: new Date(base) });
      const c = await db.transact([[':db/add', 'datomic.tx', ':db/txInstant', new Date(base + 5)], { ':person/age': 3 }]);
      const log = await collect(db.txRange(a.t, c.t));
      expect(log.map((tx) => tx.instant.getTime())).toEqual([base, base, base + 5]);
      expect(b.t).toBe(a.t + 1);
      await refused(db.transact([{ ':person/age': 4 }], { txInstant: new Date(base + 4) }), 'instant-in-past', /earlier than the previous/);
      await refused(db.transact([{ ':person/age': 4 }], { txInstant: new Date(Number.NaN) }), 'invalid-instant');
      // Without one, the instant is now, or the previous one when that is later.
      const d = await db.transact([{ ':person/age': 5 }]);
      expect((await collect(db.txRange(d.t, d.t)))[0]!.instant.getTime()).toBe(base + 5);
    });

    it('only ever gives new entities larger ids, also after refused transactions', async () => {
      const seen: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await db.transact([{ ':db/id': 'a', ':person/age': i }, { ':db/id': 'b', ':person/age': i }]);
        seen.push(r.tx, r.tempids.a!, r.tempids.b!);
        await refused(db.transact([{ ':db/id': 'c', ':person/age': 'x' }]), 'invalid-value');
      }
      expect(seen).toEqual([...seen].sort((x, y) => x - y));
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('with requireHeld, refuses a retraction of a datom that does not hold', async () => {
      const { tempids } = await db.transact([{ ':db/id': 'p', ':person/age': 1 }]);
      await refused(
        db.transactBatch([{ ops: [[':db/retract', tempids.p!, ':person/age', 2]], requireHeld: true }]),
        'not-held',
        /:person\/age number 2/,
      );
      await db.transactBatch([{ ops: [[':db/retract', tempids.p!, ':person/age', 1]], requireHeld: true }]);
      expect(await db.entity(tempids.p!)).toBeNull();
    });

    it('refuses strings holding U+0000 with a clear error (PostgreSQL text cannot hold it)', async () => {
      await refused(db.transact([{ ':person/name': 'a\u0000b' }]), 'invalid-value', /U\+0000/);
      await refused(db.transact([[':db/add', 'x', ':db/ident', ':a/b\u0000']]), 'invalid-value', /U\+0000/);
      await refused(db.transact([{ ':person/name': 'lone \ud800' }]), 'invalid-value', /surrogate/);
    });
  });
});
