// The initial backup (parallel, resumable), gap detection and repair.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Transaction } from '../../src/db/types';
import { backup, exportRange, findGaps, repair, type ExportedSegment } from '../../src/segment/export';
import { MemoryBucket, openDirectoryStore, openMemoryStore } from '../../src/stores';
import type { SegmentInfo, SegmentStore } from '../../src/stores/types';
import { collect, listed, overriding, readBack, removeSegmentFile, sourceLog, Sources, typedLog } from './support';

const sources = new Sources();
let lib: Database;
/** A different, shorter database: the wrong source for lib's store. */
let short: Database;
/** Another database as long as lib, with other transactions. */
let twin: Database;
const roots: string[] = [];

beforeAll(async () => {
  lib = await sources.library(300, 17);
  short = await sources.library(100, 18);
  twin = await sources.library(300, 19);
}, 120_000);

afterAll(async () => {
  await sources.close();
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function freshRoot(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'txclone-export-'));
  roots.push(root);
  return root;
}

const spans = (segments: readonly ExportedSegment[]) => segments.map((s) => [s.info.startT, s.info.endT]);
const quiet = { warn: () => {} };

/** How many transaction reads (txRange calls) are under way at once, at most. */
function watchReads(source: Database): { db: Database; maxOpen: () => number; open: () => number } {
  let open = 0;
  let max = 0;
  const db = overriding(source, {
    async *txRange(startT: number, endT: number): AsyncGenerator<Transaction> {
      open++;
      max = Math.max(max, open);
      try {
        yield* source.txRange(startT, endT);
      } finally {
        open--;
      }
    },
  });
  return { db, maxOpen: () => max, open: () => open };
}

/** A store whose puts take their time, and optionally fail for one range; counts puts under way. */
function slowStore(inner: SegmentStore, options: { delayMs: number; failAt?: number }): SegmentStore & { inFlight: () => number; puts: () => number } {
  let inFlight = 0;
  let puts = 0;
  return overriding(inner as SegmentStore & { inFlight: () => number; puts: () => number }, {
    async put(db, startT, endT, bytes) {
      inFlight++;
      puts++;
      try {
        if (startT === options.failAt) throw new Error(`injected failure writing ${startT}..${endT}`);
        await new Promise((resolve) => setTimeout(resolve, options.delayMs));
        return await inner.put(db, startT, endT, bytes);
      } finally {
        inFlight--;
      }
    },
    inFlight: () => inFlight,
    puts: () => puts,
  });
}

describe('backup', () => {
  it('exports many segments in parallel, cut at segmentTxns, and the store verifies clean', async () => {
    const store = openMemoryStore();
    const reads = watchReads(lib);
    const result = await backup(reads.db, store, 'lib', { segmentTxns: 25, parallel: 4 });
    expect(spans(result.segments)).toEqual(Array.from({ length: 12 }, (_, i) => [i * 25 + 1, i * 25 + 25]));
    expect(result).toMatchObject({ startT: 1, endT: 300, transactions: 300 });
    expect(result.segments.every((s) => s.written)).toBe(true);
    expect(reads.maxOpen()).toBe(4);
    expect(reads.open()).toBe(0);
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true, segments: 12, firstT: 1, lastT: 300, gaps: [], overlaps: [], corrupt: [] });
    expect(typedLog(await readBack(store, 'lib'))).toEqual(typedLog(await sourceLog(lib)));

    // One at a time when asked.
    const serial = watchReads(lib);
    await backup(serial.db, openMemoryStore(), 'lib', { segmentTxns: 25, parallel: 1 });
    expect(serial.maxOpen()).toBe(1);
    await store.close();
  });

  it('resumes in a memory store: a rerun writes exactly the missing segments', async () => {
    const bucket = new MemoryBucket();
    const store = openMemoryStore({ bucket, ...quiet });
    const first = await backup(lib, store, 'lib', { segmentTxns: 25, parallel: 4 });
    expect(first.segments).toHaveLength(12);
    // Lose the first, two in the middle and the newest.
    const lost = first.segments.filter((s) => [1, 51, 151, 276].includes(s.info.startT)).map((s) => s.info);
    for (const info of lost) expect(bucket.objects.delete(info.key)).toBe(true);
    expect(await findGaps(store, 'lib', { upToT: 300 })).toEqual(lost.map(({ startT, endT }) => ({ startT, endT })));

    const second = await backup(lib, store, 'lib', { segmentTxns: 25, parallel: 4 });
    expect(spans(second.segments)).toEqual([[1, 25], [51, 75], [151, 175], [276, 300]]);
    expect(second.segments.every((s) => s.written)).toBe(true);
    expect(second.transactions).toBe(100);
    // Rewritten byte for byte.
    expect(second.segments.map((s) => s.info.sha256)).toEqual(lost.map((s) => s.sha256));

    const third = await backup(lib, store, 'lib', { segmentTxns: 25, parallel: 4 });
    expect(third).toEqual({ startT: null, endT: null, segments: [], transactions: 0, datoms: 0 });
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true, segments: 12, gaps: [], overlaps: [] });
    expect(typedLog(await readBack(store, 'lib'))).toEqual(typedLog(await sourceLog(lib)));
    await store.close();
  });

  it('resumes in a directory store after a crash, from a new process on the same directory', async () => {
    const root = await freshRoot();
    // The first run dies on its fifth segment (the others under way finish).
    const crashing = slowStore(openDirectoryStore({ path: root }), { delayMs: 5, failAt: 101 });
    await expect(backup(lib, crashing, 'lib', { segmentTxns: 20, parallel: 3 })).rejects.toThrow(/injected failure writing 101\.\.120/);
    expect(crashing.inFlight()).toBe(0);
    await crashing.close();

    const store = openDirectoryStore({ path: root, ...quiet });
    const before = await listed(store, 'lib');
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(15);
    // And lose two more files, one of them the newest.
    const infos = await collect(store.list('lib'));
    for (const info of [infos[0]!, infos[infos.length - 1]!]) await removeSegmentFile(root, info);
    const kept = (await listed(store, 'lib')).length;

    const resumed = await backup(lib, store, 'lib', { segmentTxns: 20, parallel: 3 });
    expect(resumed.segments.every((s) => s.written)).toBe(true);
    expect(resumed.segments.length).toBe(15 - kept);
    expect(await listed(store, 'lib')).toEqual(Array.from({ length: 15 }, (_, i) => [i * 20 + 1, i * 20 + 20]));
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true, segments: 15, gaps: [], overlaps: [], corrupt: [] });
    expect(typedLog(await readBack(store, 'lib'))).toEqual(typedLog(await sourceLog(lib)));
    // One file and one checksum per segment, nothing else.
    const files = await readdir(path.join(root, 'lib', 'segments'));
    expect(files.filter((f) => f.endsWith('.seg'))).toHaveLength(15);
    expect(files.filter((f) => !f.endsWith('.seg') && !f.endsWith('.seg.sha256'))).toEqual([]);
    expect((await backup(lib, store, 'lib', { segmentTxns: 20, parallel: 3 })).segments).toEqual([]);
    await store.close();
  });

  it('fails only after the segments under way are written', async () => {
    const store = slowStore(openMemoryStore(), { delayMs: 150, failAt: 26 });
    const error = await backup(lib, store, 'lib', { segmentTxns: 25, parallel: 3 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/injected failure writing 26\.\.50/);
    // A caller closing the store or the source now races nothing.
    expect(store.inFlight()).toBe(0);
    expect(await listed(store, 'lib')).toEqual([[1, 25], [51, 75]]);
    await store.close();
  });

  it('of an empty source or a complete store does nothing', async () => {
    const empty = await sources.open('empty');
    const store = slowStore(openMemoryStore(), { delayMs: 0 });
    expect(await backup(empty, store, 'lib')).toEqual({ startT: null, endT: null, segments: [], transactions: 0, datoms: 0 });
    await backup(lib, store, 'lib', { segmentTxns: 100 });
    const puts = store.puts();
    expect((await backup(lib, store, 'lib', { segmentTxns: 100 })).segments).toEqual([]);
    expect(store.puts()).toBe(puts);
    await store.close();
  });

  it('refuses bad options before writing anything', async () => {
    const store = openMemoryStore();
    await expect(backup(lib, store, 'lib', { segmentTxns: 0 })).rejects.toThrow(/segmentTxns must be a positive integer, got 0/);
    await expect(backup(lib, store, 'lib', { segmentTxns: 2.5 })).rejects.toThrow(/segmentTxns must be a positive integer, got 2.5/);
    await expect(backup(lib, store, 'lib', { parallel: 0 })).rejects.toThrow(/parallel must be a positive integer, got 0/);
    await expect(backup(lib, store, 'lib', { parallel: Number.NaN })).rejects.toThrow(/parallel must be a positive integer, got NaN/);
    await expect(backup(lib, store, 'lib', { maxBytes: 0 })).rejects.toThrow(/maxBytes must be a positive integer/);
    await expect(repair(lib, store, 'lib', { segmentTxns: -1 })).rejects.toThrow(/segmentTxns must be a positive integer, got -1/);
    expect(await listed(store, 'lib')).toEqual([]);
    await store.close();
  });
});

describe('findGaps and repair', () => {
  async function holey(): Promise<{ store: SegmentStore; bucket: MemoryBucket; deleted: SegmentInfo[] }> {
    const bucket = new MemoryBucket();
    const store = openMemoryStore({ bucket, ...quiet });
    const result = await exportRange(lib, store, 'lib', 1, 300, { maxTxns: 20 });
    // 1..20, 41..60, 61..80 and 181..200 go missing; 281..300 (the head) stays.
    const deleted = result.segments.filter((s) => [1, 41, 61, 181].includes(s.info.startT)).map((s) => s.info);
    for (const info of deleted) bucket.objects.delete(info.key);
    return { store, bucket, deleted };
  }

  it('findGaps reports exactly the missing ranges, from the listing alone', async () => {
    const { store } = await holey();
    const gaps = [{ startT: 1, endT: 20 }, { startT: 41, endT: 80 }, { startT: 181, endT: 200 }];
    expect(await findGaps(store, 'lib')).toEqual(gaps);
    expect(await findGaps(store, 'lib', { upToT: 300 })).toEqual(gaps);
    expect(await findGaps(store, 'lib', { upToT: 320 })).toEqual([...gaps, { startT: 301, endT: 320 }]);
    expect(await findGaps(store, 'nothing-here', { upToT: 5 })).toEqual([{ startT: 1, endT: 5 }]);
    // Gaps of a single transaction, at the start and in the middle.
    const singles = new MemoryBucket();
    const one = openMemoryStore({ bucket: singles, ...quiet });
    await exportRange(lib, one, 'lib', 1, 6, { maxTxns: 1 });
    for (const t of [1, 4]) singles.objects.delete((await one.info('lib', t, t))!.key);
    expect(await findGaps(one, 'lib')).toEqual([{ startT: 1, endT: 1 }, { startT: 4, endT: 4 }]);
    expect(await findGaps(one, 'lib', { upToT: 7 })).toEqual([{ startT: 1, endT: 1 }, { startT: 4, endT: 4 }, { startT: 7, endT: 7 }]);
    expect(spans((await repair(lib, one, 'lib')).segments)).toEqual([[1, 1], [4, 4]]);
    await one.close();
    expect(await findGaps(store, 'nothing-here')).toEqual([]);
    // Only the listing is read: a store whose get always fails answers the same.
    const listingOnly = overriding(store, { get: () => Promise.reject(new Error('findGaps must not read segments')) });
    expect(await findGaps(listingOnly, 'lib')).toEqual(gaps);
    await store.close();
  });

  it('repair re-exports exactly the gaps, and the store verifies clean', async () => {
    const { store, deleted } = await holey();
    const writes: Array<[number, number]> = [];
    const watched = overriding(store, {
      put(db, startT, endT, bytes) {
        writes.push([startT, endT]);
        return store.put(db, startT, endT, bytes);
      },
    });
    // Cut like the rest of the store: the same segments come back, byte for byte.
    const repaired = await repair(lib, watched, 'lib', { segmentTxns: 20, parallel: 2 });
    expect(spans(repaired.segments)).toEqual([[1, 20], [41, 60], [61, 80], [181, 200]]);
    expect(writes.sort((x, y) => x[0] - y[0])).toEqual([[1, 20], [41, 60], [61, 80], [181, 200]]);
    expect(repaired.segments.every((s) => s.written)).toBe(true);
    expect(repaired.segments.map((s) => s.info.sha256)).toEqual(deleted.map((s) => s.sha256));
    expect(await findGaps(store, 'lib')).toEqual([]);
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true, segments: 15, gaps: [], overlaps: [], corrupt: [] });
    expect(typedLog(await readBack(store, 'lib'))).toEqual(typedLog(await sourceLog(lib)));
    // Nothing left to repair.
    expect((await repair(lib, watched, 'lib')).segments).toEqual([]);
    expect(writes).toHaveLength(4);
    await store.close();
  });

  it('repair cuts gaps at segmentTxns and never goes past the store head', async () => {
    const bucket = new MemoryBucket();
    const store = openMemoryStore({ bucket, ...quiet });
    await exportRange(lib, store, 'lib', 1, 260, { maxTxns: 40 });
    bucket.objects.delete((await store.info('lib', 41, 80))!.key);
    bucket.objects.delete((await store.info('lib', 81, 120))!.key);
    const repaired = await repair(lib, store, 'lib', { segmentTxns: 30 });
    expect(spans(repaired.segments)).toEqual([[41, 70], [71, 100], [101, 120]]);
    expect((await store.head('lib'))!.endT).toBe(260); // 261..300 is exportAll's business
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true, lastT: 260 });
    expect(typedLog(await readBack(store, 'lib'))).toEqual(typedLog(await sourceLog(lib, 1, 260)));
    // An empty store has nothing to repair.
    expect((await repair(lib, openMemoryStore(), 'lib')).segments).toEqual([]);
    await store.close();
  });

  it('repair from the wrong source fails clearly and writes nothing', async () => {
    const { store } = await holey();
    const before = await listed(store, 'lib');
    // Shorter than the store: it cannot hold the gap at 181..200.
    await expect(repair(short, store, 'lib')).rejects.toThrow(
      new RegExp(`store holds t up to 300 but source ${escapeRegExp(short.location)} only reaches t=100: is it the right source\\?`),
    );
    // As long, but another database: its transactions are not the ones around the gaps.
    const error = (await repair(twin, store, 'lib').catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(new RegExp(`source ${escapeRegExp(twin.location)} does not hold the transactions of .*21-.*: its t=21 is tx \\d+`));
    expect(error.message).toMatch(/is it the right source\?/);
    expect(await listed(store, 'lib')).toEqual(before);
    await store.close();
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
