// Every value type keeps its exact value through a transaction, the current datoms, the
// log and AVET lookups; tuples of the three kinds; on both drivers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionError } from '../../src/db';
import type { Database, Value, ValueType } from '../../src/db/types';
import { attribute } from './attributes';
import { collect, FIXTURES, type DatabaseFixture } from './fixtures';

const EXAMPLES: Array<[ValueType, Value[], unknown[]]> = [
  ['string', ['', 'plain', 'é日本😀', 'quote " and \\ and \n', 'x'.repeat(5000)], [1, null, true]],
  ['keyword', [':a/b', ':status/active', ':k.x/y-z?'], ['a/b', ':', 'no colon', ':has space']],
  ['boolean', [true, false], ['true', 0]],
  ['long', [0, -1, 42, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n], [1.5, 2 ** 53, 2n ** 63n, '1']],
  ['bigint', [0n, -(2n ** 100n), 2n ** 63n, 12345678901234567890123456789n], [1.5, '12', true]],
  ['double', [1, 1.5, -0, 0.1 + 0.2, 1e308, 5e-324, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], ['1.0', 1n]],
  ['bigdec', ['12.50', '12.5', '0.000', '1E+3', '123456789012345678901234567890.123456789', '1E-7'], ['abc', 12.5, '1.2.3', '1E9999999999']],
  ['float', [0, 1.5, -0, Math.fround(0.1), 3.4028234663852886e38, Number.NaN, Number.NEGATIVE_INFINITY], ['1.5', 1n]],
  ['symbol', ['inc', 'clojure.core/inc', 'my.ns/*fn!', '/'], [':kw', '1abc', 'nil', 'has space', '', 42]],
  ['instant', [new Date(0), new Date(-86_400_000), new Date(1_700_000_000_123), new Date(8.64e15)], [Date.now(), new Date(Number.NaN), '2020-01-01']],
  ['uuid', ['123e4567-e89b-12d3-a456-426614174000', '00000000-0000-0000-0000-000000000000'], ['123e4567', 42]],
  ['uri', ['https://example.org/a?b=c#d', 'urn:isbn:0451450523'], [42]],
  ['bytes', [new Uint8Array([]), new Uint8Array([0, 1, 254, 255]), new Uint8Array(1000).fill(7)], ['AAEC', [0, 1]]],
];

/** A value as comparable text: distinguishes -0 from 0, NaN, bigint from number, a Date's ms. */
function exact(v: unknown): string {
  if (typeof v === 'bigint') return `bigint:${v}`;
  if (typeof v === 'number') return `number:${Object.is(v, -0) ? '-0' : String(v)}`;
  if (v instanceof Date) return `date:${v.getTime()}`;
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return `[${v.map(exact).join(',')}]`;
  return `${typeof v}:${String(v)}`;
}

describe.each(FIXTURES)('on %s', (_name, make) => {
  let fixture: DatabaseFixture;
  let db: Database;
  beforeAll(async () => {
    fixture = await make();
    db = await fixture.open();
    await db.transact([
      ...EXAMPLES.map(([type]) => attribute(`:v/${type}`, type)),
      attribute(':v/ref', 'ref'),
      attribute(':v/pair', 'tuple', { tupleType: 'long' }),
      attribute(':v/mixed', 'tuple', { tupleTypes: ['string', 'double', 'instant', 'ref'] }),
      attribute(':v/first', 'string'),
      attribute(':v/last', 'string'),
      attribute(':v/age', 'long'),
      attribute(':v/full', 'tuple', { tupleAttrs: [':v/first', ':v/last', ':v/age'], unique: 'identity' }),
    ]);
  });
  afterAll(() => fixture?.close());

  it.each(EXAMPLES)('%s values come back exactly, from every read', async (type, values) => {
    const ident = `:v/${type}`;
    const report = await db.transact(values.map((v, i) => ({ ':db/id': `e${i}`, [ident]: v })));
    const a = (await db.resolve(ident))!;
    const ids = values.map((_, i) => report.tempids[`e${i}`]!);
    const want = values.map(exact);
    expect(report.datoms.filter((d) => d[1] === a).map((d) => exact(d[2]))).toEqual(want);
    const entities = await Promise.all(ids.map((e) => db.entity(e)));
    expect(entities.map((e) => exact(e![ident]))).toEqual(want);
    const [logged] = await collect(db.txRange(report.t, report.t));
    expect(logged!.datoms.filter((d) => d[1] === a).map((d) => exact(d[2]))).toEqual(want);
    const current = (await collect(db.datoms())).filter((d) => d[1] === a && ids.includes(d[0]));
    expect(current.sort((x, y) => x[0] - y[0]).map((d) => exact(d[2]))).toEqual(want);
    const asOf = (await collect(db.datoms({ asOfT: report.t }))).filter((d) => d[1] === a && ids.includes(d[0]));
    expect(asOf.sort((x, y) => x[0] - y[0]).map((d) => exact(d[2]))).toEqual(want);
    expect(await db.datomsAVETMany(ident, values)).toEqual(ids.map((e) => [e]));
    // Asserting the same values again records nothing: equal values are equal when stored.
    const again = await db.transact(values.map((v, i) => [':db/add', ids[i]!, ident, v] as const));
    expect(again.datoms.filter((d) => d[1] === a)).toEqual([]);
  });

  it.each(EXAMPLES)('%s refuses values of another type', async (type, _values, wrong) => {
    for (const v of wrong) {
      const err = await db.transact([{ [`:v/${type}`]: v }]).catch((e: unknown) => e);
      expect(err, `${type} accepted ${String(v)}`).toBeInstanceOf(TransactionError);
      expect((err as TransactionError).code).toBe('invalid-value');
      expect((err as TransactionError).message).toContain(`:v/${type}`);
    }
  });

  it('keeps a whole-valued double a double and a long a long (by attribute)', async () => {
    const report = await db.transact([{ ':db/id': 'x', ':v/double': 1.0, ':v/long': 1 }]);
    const schema = await db.schema();
    const types = report.datoms.filter((d) => d[0] === report.tempids.x).map((d) => [schema.get(d[1])!.valueType, d[2]]);
    expect(types.sort()).toEqual([['double', 1], ['long', 1]]);
  });

  it('normalizes a uuid to lowercase, and a bigint given as a safe integer to a bigint', async () => {
    const report = await db.transact([{ ':db/id': 'x', ':v/uuid': 'F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6', ':v/bigint': 7 }]);
    expect(await db.entity(report.tempids.x!)).toEqual({ ':v/uuid': 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', ':v/bigint': 7n });
  });

  it('stores refs as entity ids, given as ids, tempids, idents or lookup refs', async () => {
    const report = await db.transact([
      { ':db/id': 'target', ':v/string': 'target' },
      { ':db/id': 'a', ':v/ref': 'target' },
      { ':db/id': 'b', ':v/ref': ':v/ref' },
    ]);
    const target = report.tempids.target!;
    expect((await db.entity(report.tempids.a!))![':v/ref']).toBe(target);
    expect((await db.entity(report.tempids.b!))![':v/ref']).toBe(await db.resolve(':v/ref'));
    const c = await db.transact([{ ':db/id': 'c', ':v/ref': target }]);
    expect((await db.entity(c.tempids.c!))![':v/ref']).toBe(target);
  });

  it('stores homogeneous and heterogeneous tuples, with nil elements and refs', async () => {
    const when = new Date(1234);
    const report = await db.transact([
      { ':db/id': 'x', ':v/pair': [1, -2], ':v/mixed': ['s', 1.0, when, 'x'] },
      { ':db/id': 'y', ':v/pair': [null, Number.MAX_SAFE_INTEGER, 3], ':v/mixed': [null, null, null, ':v/pair'] },
    ]);
    const { x, y } = report.tempids as { x: number; y: number };
    expect(await db.entity(x)).toEqual({ ':v/pair': [1, -2], ':v/mixed': ['s', 1, when, x] });
    expect(await db.entity(y)).toEqual({ ':v/pair': [null, Number.MAX_SAFE_INTEGER, 3], ':v/mixed': [null, null, null, await db.resolve(':v/pair')] });
    expect(await db.datomsAVET(':v/pair', [1, -2])).toEqual([x]);
    for (const bad of [[1], [1, 'a'], [1, 2, 3, 4, 5, 6, 7, 8, 9], 5]) {
      await expect(db.transact([{ ':v/pair': bad }])).rejects.toMatchObject({ code: 'invalid-value' });
    }
    await expect(db.transact([{ ':v/mixed': ['s', 1.0, when] }])).rejects.toMatchObject({ code: 'invalid-value' });
  });

  it('derives composite tuples from their attributes, and keeps them current', async () => {
    const full = (await db.resolve(':v/full'))!;
    const r1 = await db.transact([{ ':db/id': 'p', ':v/first': 'Ada', ':v/last': 'Lovelace' }]);
    const p = r1.tempids.p!;
    expect(r1.datoms).toContainEqual([p, full, ['Ada', 'Lovelace', null], true]);
    expect((await db.entity(p))![':v/full']).toEqual(['Ada', 'Lovelace', null]);
    const r2 = await db.transact([[':db/add', p, ':v/age', 36]]);
    expect(r2.datoms).toContainEqual([p, full, ['Ada', 'Lovelace', null], false]);
    expect(r2.datoms).toContainEqual([p, full, ['Ada', 'Lovelace', 36], true]);
    expect(await db.datomsAVET(':v/full', ['Ada', 'Lovelace', 36])).toEqual([p]);
    // A unique composite: another entity with the same three values conflicts.
    await expect(db.transact([{ ':v/first': 'Ada', ':v/last': 'Lovelace', ':v/age': 36 }])).rejects.toMatchObject({ code: 'unique-conflict' });
    await expect(db.transact([[':db/add', p, ':v/full', ['a', 'b', 1]]])).rejects.toMatchObject({ code: 'composite-tuple' });
    const r3 = await db.transact([[':db/retract', p, ':v/first', 'Ada'], [':db/retract', p, ':v/last', 'Lovelace'], [':db/retract', p, ':v/age', 36]]);
    expect(r3.datoms).toContainEqual([p, full, ['Ada', 'Lovelace', 36], false]);
    expect(await db.entity(p)).toBeNull();
  });
});
