// The producer: segments cut, written once, resumable, repairable, decoded back exactly.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibraryWorkload } from '../../src/cli/workload';
import { openDatabase } from '../../src/db/open';
import type { Database, Transaction } from '../../src/db/types';
import { backup, exportAll, exportNext, exportRange, findGaps, repair } from '../../src/segment/export';
import { decodeSegment } from '../../src/segment/format';
import { openMemoryStore, openS3Store, SegmentConflictError } from '../../src/stores';
import type { SegmentStore } from '../../src/stores/types';
import { startFaultProxy, type FaultProxy } from '../support/faults';
import { startS3, type S3TestServer } from '../support/s3';
import { s3Options } from '../stores/s3-fixture';

let source: Database;
let other: Database;

beforeAll(async () => {
  source = await openDatabase('pglite:memory');
  await new LibraryWorkload({ seed: 17, stageEvery: 60 }).run(source, 300, 30);
  other = await openDatabase('pglite:memory');
  await new LibraryWorkload({ seed: 18, stageEvery: 60 }).run(other, 100, 25);
}, 120_000);

afterAll(async () => {
  await source?.close();
  await other?.close();
});

async function readBack(store: SegmentStore, db: string): Promise<Transaction[]> {
  const txs: Transaction[] = [];
  let next = 1;
  for await (const info of store.list(db)) {
    expect(info.startT, `segments are contiguous at t=${next}`).toBe(next);
    const segment = decodeSegment(await store.get(db, info.startT, info.endT), { name: info.key });
    expect(segment.header).toMatchObject({ database: db, startT: info.startT, endT: info.endT, txCount: info.endT - info.startT + 1 });
    txs.push(...segment.transactions);
    next = info.endT + 1;
  }
  return txs;
}

async function sourceLog(db: Database, startT = 1, endT = Number.MAX_SAFE_INTEGER): Promise<Transaction[]> {
  const txs: Transaction[] = [];
  for await (const tx of db.txRange(startT, endT)) txs.push(tx);
  return txs;
}

describe('exportRange, exportNext, exportAll', () => {
  it('cut the range at maxTxns, write once, and return what they wrote', async () => {
    const store = openMemoryStore();
    const result = await exportRange(source, store, 'lib', 1, 95, { maxTxns: 20 });
    expect(result).toMatchObject({ startT: 1, endT: 95, transactions: 95 });
    expect(result.segments.map((s) => [s.info.startT, s.info.endT])).toEqual([[1, 20], [21, 40], [41, 60], [61, 80], [81, 95]]);
    expect(result.segments.every((s) => s.written)).toBe(true);
    // The same again: identical bytes, nothing written.
    const again = await exportRange(source, store, 'lib', 1, 95, { maxTxns: 20 });
    expect(again.segments.every((s) => !s.written)).toBe(true);
    // Beyond the basis: nothing.
    expect(await exportRange(source, store, 'lib', 10_000, 10_100)).toMatchObject({ startT: null, endT: null, segments: [] });
    await expect(exportRange(source, store, 'lib', 0, 10)).rejects.toThrow(/startT must be a t of 1 or more/);
    await store.close();
  });

  it('maxBytes cuts a segment early', async () => {
    const store = openMemoryStore();
    const result = await exportRange(source, store, 'lib', 1, 300, { maxTxns: 1000, maxBytes: 2000 });
    expect(result.segments.length).toBeGreaterThan(3);
    expect(result.endT).toBe(300);
    expect(await readBack(store, 'lib')).toEqual(await sourceLog(source));
    await store.close();
  });

  it('exportNext continues after the head; exportAll goes to the basis', async () => {
    const store = openMemoryStore();
    expect((await exportNext(source, store, 'lib', { maxTxns: 100 }))!.info).toMatchObject({ startT: 1, endT: 100 });
    expect((await exportNext(source, store, 'lib', { maxTxns: 100 }))!.info).toMatchObject({ startT: 101, endT: 200 });
    const rest = await exportAll(source, store, 'lib', { maxTxns: 64 });
    expect(rest).toMatchObject({ startT: 201, endT: 300 });
    expect(await exportNext(source, store, 'lib')).toBeNull();
    expect(await readBack(store, 'lib')).toEqual(await sourceLog(source));
    await store.close();
  });
});

describe('backup, gaps and repair', () => {
  it('backup is parallel and resumable: a rerun writes only what is missing', async () => {
    const store = openMemoryStore();
    const first = await backup(source, store, 'lib', { segmentTxns: 25, parallel: 4 });
    expect(first.segments).toHaveLength(12);
    expect((await store.verify('lib', { fromT: 1 })).ok).toBe(true);
    // Lose three segments (a crash mid-backup leaves the same picture), run again.
    await store.prune('lib', { beforeT: 76 });
    const second = await backup(source, store, 'lib', { segmentTxns: 25, parallel: 4 });
    expect(second.segments.map((s) => [s.info.startT, s.info.endT])).toEqual([[1, 25], [26, 50], [51, 75]]);
    expect((await store.verify('lib', { fromT: 1 })).ok).toBe(true);
    expect(await readBack(store, 'lib')).toEqual(await sourceLog(source));
    await store.close();
  });

  it('findGaps reports the missing ranges from the listing; repair re-exports exactly them', async () => {
    const store = openMemoryStore();
    await exportRange(source, store, 'lib', 1, 100, { maxTxns: 20 });
    await exportRange(source, store, 'lib', 141, 300, { maxTxns: 40 });
    expect(await findGaps(store, 'lib')).toEqual([{ startT: 101, endT: 140 }]);
    expect(await findGaps(store, 'lib', { upToT: 320 })).toEqual([{ startT: 101, endT: 140 }, { startT: 301, endT: 320 }]);
    const repaired = await repair(source, store, 'lib', { segmentTxns: 25 });
    expect(repaired.segments.map((s) => [s.info.startT, s.info.endT])).toEqual([[101, 125], [126, 140]]);
    expect(await findGaps(store, 'lib')).toEqual([]);
    expect(await readBack(store, 'lib')).toEqual(await sourceLog(source));
    // The wrong source (a shorter log) cannot fill a gap past its end.
    const holey = openMemoryStore();
    await exportRange(source, holey, 'lib', 1, 50);
    await exportRange(source, holey, 'lib', 151, 200);
    await expect(repair(other, holey, 'lib')).rejects.toThrow(/only reaches t=100/);
    await store.close();
    await holey.close();
  });

  it('pacing slows the export to the asked rate', async () => {
    const store = openMemoryStore();
    const started = Date.now();
    await exportRange(source, store, 'lib', 1, 60, { maxTxns: 10, maxTxPerSecond: 60 });
    // 60 transactions at 60 per second: the pacer waits about a second in all.
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    await expect(exportRange(source, store, 'lib', 1, 10, { maxTxPerSecond: -1 })).rejects.toThrow(/maxTxPerSecond must be positive/);
    await store.close();
  });
});

describe('two producers', () => {
  it('exporting the same range at once: one segment each, no error', async () => {
    const store = openMemoryStore();
    const [a, b] = await Promise.all([
      exportRange(source, store, 'lib', 1, 120, { maxTxns: 30 }),
      exportRange(source, store, 'lib', 1, 120, { maxTxns: 30 }),
    ]);
    expect(a.segments.length).toBe(4);
    expect(b.segments.length).toBe(4);
    // Each range written exactly once between the two.
    for (let i = 0; i < 4; i++) expect(Number(a.segments[i]!.written) + Number(b.segments[i]!.written)).toBe(1);
    const listed = [];
    for await (const info of store.list('lib')) listed.push(info);
    expect(listed).toHaveLength(4);
    await store.close();
  });

  it('that disagree (two sources under one name): a clear error naming both checksums, nothing overwritten', async () => {
    const store = openMemoryStore();
    const mine = await exportRange(source, store, 'lib', 1, 50);
    const error = await exportRange(other, store, 'lib', 1, 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SegmentConflictError);
    expect((error as Error).message).toContain(mine.segments[0]!.info.sha256!);
    expect((error as Error).message).toMatch(/[0-9a-f]{64}[\s\S]*[0-9a-f]{64}/);
    expect(await readBack(store, 'lib')).toEqual(await sourceLog(source, 1, 50));
    await store.close();
  });
});

describe('a random workload in random segments', () => {
  it('decodes back to the source log, datom for datom, with types', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 80 }), async (endT, maxTxns) => {
        const store = openMemoryStore();
        await exportRange(source, store, 'lib', 1, endT, { maxTxns });
        const back = await readBack(store, 'lib');
        const log = await sourceLog(source, 1, endT);
        expect(back).toEqual(log);
        // toEqual does not tell 1 from 1n or a Buffer from a Uint8Array: compare the JS types too.
        back.forEach((tx, i) =>
          tx.datoms.forEach((d, j) => {
            const v = log[i]!.datoms[j]![2];
            expect(Object.prototype.toString.call(d[2])).toBe(Object.prototype.toString.call(v));
            expect(typeof d[2]).toBe(typeof v);
          }),
        );
        await store.close();
      }),
      { numRuns: 12 },
    );
  });

  it('carries the schema its datoms use and the idents of the built-ins they name', async () => {
    const store = openMemoryStore();
    await exportRange(source, store, 'lib', 1, 1);
    const segment = decodeSegment(await store.get('lib', 1, 1), { name: 'first' });
    const idents = new Set(segment.schema.map((a) => a.ident));
    expect(idents).toContain(':db/ident');
    expect(idents).toContain(':db/valueType');
    expect(new Set(segment.idents.map(([, ident]) => ident))).toContain(':db.type/string');
    await store.close();
  });
});

describe('to S3 with a fifth of requests failing', () => {
  let s3: S3TestServer;
  let proxy: FaultProxy;

  beforeAll(async () => {
    s3 = await startS3();
    proxy = await startFaultProxy({ target: s3.endpoint, rate: 0.2, seed: 424242 });
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await s3?.close();
  });

  it('a parallel backup and the read-back complete and match exactly', async () => {
    const bucket = await s3.createBucket('export-faults');
    const store = openS3Store(
      s3Options(s3, bucket, { endpoint: proxy.endpoint, checksums: 'WHEN_REQUIRED', retry: { attempts: 12, baseDelayMs: 2, maxDelayMs: 40 }, warn: () => {} }),
    );
    try {
      await backup(source, store, 'lib', { segmentTxns: 30, parallel: 3 });
      expect(await readBack(store, 'lib')).toEqual(await sourceLog(source));
      expect(Object.values(proxy.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  }, 120_000);
});
