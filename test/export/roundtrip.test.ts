// Whatever the workload and however it is cut, the segments decode back to the source's
// log datom for datom, with the same JS types, contiguous from t=1 to the basis.
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { LibraryWorkload } from '../../src/workload';
import type { TxOp } from '../../src/db/types';
import { exportAll, exportNext, exportRange, type ExportedSegment } from '../../src/segment/export';
import { openMemoryStore } from '../../src/stores';
import { readBack, sourceLog, Sources, typedLog } from './support';

const sources = new Sources();
afterAll(() => sources.close());

interface Cut {
  how: 'range' | 'next' | 'all';
  span: number;
  maxTxns: number;
  maxBytes: number | undefined;
}

const cutArb: fc.Arbitrary<Cut> = fc.record({
  how: fc.constantFrom<Cut['how']>('range', 'range', 'range', 'next', 'next', 'all'),
  span: fc.integer({ min: 1, max: 120 }),
  maxTxns: fc.integer({ min: 1, max: 60 }),
  maxBytes: fc.option(fc.integer({ min: 50, max: 40_000 }), { nil: undefined }),
});

it('a random workload in segments of random sizes decodes back to the source log, with types', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }), // workload seed
      fc.integer({ min: 1, max: 180 }), // transactions
      fc.integer({ min: 3, max: 60 }), // a schema stage every this many
      fc.integer({ min: 1, max: 40 }), // transactions per commit
      fc.array(cutArb, { minLength: 1, maxLength: 6 }),
      async (seed, count, stageEvery, batch, cuts) => {
        const db = await sources.open('rt');
        try {
          await new LibraryWorkload({ seed, stageEvery }).run(db, count, batch);
          const basis = await db.basisT();
          const store = openMemoryStore();
          const segments: Array<[ExportedSegment, Cut]> = [];
          let from = 1;
          for (let i = 0; from <= basis; i++) {
            const cut = cuts[i % cuts.length]!;
            const limits = { maxTxns: cut.maxTxns, maxBytes: cut.maxBytes };
            if (cut.how === 'range') {
              const to = Math.min(basis, from + cut.span - 1);
              const result = await exportRange(db, store, 'rt', from, to, limits);
              expect([result.startT, result.endT]).toEqual([from, to]);
              segments.push(...result.segments.map((s): [ExportedSegment, Cut] => [s, cut]));
            } else if (cut.how === 'next') {
              const segment = await exportNext(db, store, 'rt', limits);
              expect(segment!.info.startT).toBe(from);
              segments.push([segment!, cut]);
            } else {
              const result = await exportAll(db, store, 'rt', limits);
              expect([result.startT, result.endT]).toEqual([from, basis]);
              segments.push(...result.segments.map((s): [ExportedSegment, Cut] => [s, cut]));
            }
            from = segments[segments.length - 1]![0].info.endT + 1;
          }
          for (const [segment, cut] of segments) {
            expect(segment.written).toBe(true);
            expect(segment.transactions).toBe(segment.info.endT - segment.info.startT + 1);
            expect(segment.transactions).toBeLessThanOrEqual(cut.maxTxns);
          }
          // Contiguous 1..basis with no overlap, every checksum good ...
          expect(await store.verify('rt', { fromT: 1 })).toMatchObject({ ok: true, firstT: 1, lastT: basis, gaps: [], overlaps: [], corrupt: [] });
          // ... and datom for datom the source's log, with the same JS types.
          const back = await readBack(store, 'rt');
          expect(typedLog(back)).toEqual(typedLog(await sourceLog(db, 1, basis)));
          await store.close();
        } finally {
          await db.close();
        }
      },
    ),
    {
      numRuns: 14,
      // One run that surely reaches the last schema stage (doubles, bigdec, bytes, bigint, tuples ...).
      examples: [[7, 180, 20, 25, [{ how: 'range', span: 45, maxTxns: 7, maxBytes: undefined }]]],
    },
  );
}, 120_000);

it('every value type, edge values included, survives export exactly', async () => {
  const db = await sources.open('types');
  const attr = (ident: string, valueType: string, extra: object = {}) => ({
    ':db/ident': ident,
    ':db/valueType': `:db.type/${valueType}`,
    ':db/cardinality': ':db.cardinality/many',
    ...extra,
  });
  await db.transact([
    attr(':v/string', 'string'),
    attr(':v/keyword', 'keyword'),
    attr(':v/boolean', 'boolean'),
    attr(':v/long', 'long'),
    attr(':v/bigint', 'bigint'),
    attr(':v/double', 'double'),
    attr(':v/bigdec', 'bigdec'),
    attr(':v/instant', 'instant'),
    attr(':v/uuid', 'uuid'),
    attr(':v/uri', 'uri'),
    attr(':v/bytes', 'bytes'),
    attr(':v/ref', 'ref'),
    attr(':v/longs', 'tuple', { ':db/tupleType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' }),
    attr(':v/mixed', 'tuple', {
      ':db/tupleTypes': [':db.type/string', ':db.type/double', ':db.type/instant', ':db.type/bigint', ':db.type/bytes'],
      ':db/cardinality': ':db.cardinality/one',
    }),
    attr(':v/a', 'long', { ':db/cardinality': ':db.cardinality/one' }),
    attr(':v/b', 'double', { ':db/cardinality': ':db.cardinality/one' }),
    attr(':v/composite', 'tuple', { ':db/tupleAttrs': [':v/a', ':v/b'], ':db/cardinality': ':db.cardinality/one' }),
  ]);
  const ops: TxOp[] = [
    {
      ':db/id': 'x',
      ':v/string': ['', 'plain', '🚀 ünïcödé \t tab', 'x'.repeat(5_000)],
      ':v/keyword': [':a/b', ':ns.deep/name-with-dash?'],
      ':v/boolean': [true, false],
      ':v/long': [0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
      ':v/bigint': [0n, 2n ** 80n, -(2n ** 70n) - 1n, 12345678901234567890123456789n],
      ':v/double': [1.0, 2, -0.5, 1e300, Number.MIN_VALUE, 0.1 + 0.2, 123456789012345680000],
      ':v/bigdec': ['12.50', '-0.000001', '123456789012345678901234567890.123456789'],
      ':v/instant': [new Date(0), new Date(1), new Date(-86_400_001), new Date(Date.UTC(2262, 3, 11, 23, 47, 16, 854))],
      ':v/uuid': ['00000000-0000-0000-0000-000000000000', 'f81d4fae-7dec-41d0-a765-00a0c91e6bf6'],
      ':v/uri': ['https://example.org/a?b=c#d', 'urn:isbn:0451450523'],
      ':v/bytes': [new Uint8Array(0), Uint8Array.from([0, 1, 127, 128, 255]), new Uint8Array(4_096).fill(7)],
      ':v/ref': ['y'],
      ':v/longs': [1, null, -3, Number.MAX_SAFE_INTEGER],
      ':v/mixed': ['s', 3.0, new Date(1_700_000_000_123), 2n ** 65n, Uint8Array.from([9, 8])],
      ':v/a': 7,
      ':v/b': 4.0,
    },
    { ':db/id': 'y', ':v/string': 'target' },
  ];
  const created = await db.transact(ops);
  // Retractions travel too, with their values.
  await db.transact([
    [':db/retract', created.tempids.x!, ':v/bigint', 2n ** 80n],
    [':db/retract', created.tempids.x!, ':v/bytes', Uint8Array.from([0, 1, 127, 128, 255])],
    [':db/add', created.tempids.x!, ':v/b', 5.5],
  ]);
  const store = openMemoryStore();
  for (const maxTxns of [1, 2, 3]) {
    await exportRange(db, store, `types-${maxTxns}`, 1, 3, { maxTxns });
    const back = await readBack(store, `types-${maxTxns}`);
    const log = await sourceLog(db);
    expect(log.flatMap((tx) => tx.datoms).length).toBeGreaterThan(50);
    expect(typedLog(back)).toEqual(typedLog(log));
  }
  // The comparison is strict: a long-looking double is a number, a bigint stays a bigint.
  const values = (await readBack(store, 'types-1')).flatMap((tx) => tx.datoms.map((d) => d[2]));
  expect(values.some((v) => typeof v === 'bigint' && v === 2n ** 80n)).toBe(true);
  expect(values.some((v) => v instanceof Uint8Array && v.length === 0)).toBe(true);
  expect(values.some((v) => v instanceof Date && v.getTime() === -86_400_001)).toBe(true);
  await store.close();
}, 60_000);
