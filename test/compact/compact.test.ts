// Compaction: levels merged from contiguous segments, every transaction kept exactly,
// deterministic bytes (a retry or a second compactor writes nothing new, sealed or not),
// time windows, retention of what compacted segments hold, and readers that take the
// segment reaching furthest.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compact, enforceRetention, parseLevels, validateLevels, CompactionSettingsError, type CompactionLevel } from '../../src/compact';
import type { Database } from '../../src/db/types';
import { restoreAll } from '../../src/restore';
import { KeyRing, segmentCodec, sealedHeader } from '../../src/segment';
import { openMemoryStore, MemoryBucket } from '../../src/stores';
import type { SegmentInfo, SegmentStore } from '../../src/stores/types';
import { Sources, collect, sourceLog, typedLog } from '../export/support';
import { Resources, exportInSizes, expectReplica } from '../restore/fixtures';
import { countingStore } from './support';
import { decodeSegment } from '../../src/segment/format';

const resources = new Resources();
afterEach(() => resources.close());
const databases = new Sources();
let source: Database;
beforeAll(async () => {
  source = await databases.library(240, 41, 60, 20);
}, 120_000);
afterAll(() => databases.close());

const HOUR = 3_600_000;
const LEVELS: CompactionLevel[] = [
  { level: 1, maxTxns: 20, windowMs: HOUR },
  { level: 2, maxTxns: 100, windowMs: HOUR },
];

async function levelsOf(store: SegmentStore, db = 'lib'): Promise<string[]> {
  return (await collect(store.list(db))).map((s) => `${s.startT}-${s.endT}/L${s.level}`);
}

/** The transactions of every segment, decoded straight from the store. */
async function transactionsOf(store: SegmentStore, infos: SegmentInfo[]) {
  const out = [];
  for (const info of infos) out.push(...decodeSegment(await store.get('lib', info.startT, info.endT, info.level), { name: info.key }).transactions);
  return out;
}

describe('compaction', () => {
  it('merges contiguous segments level by level, keeping every transaction exactly', async () => {
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [7, 5, 9]);
    const result = await compact(store, 'lib', { levels: LEVELS });
    const all = await collect(store.list('lib'));
    const l1 = all.filter((s) => s.level === 1);
    const l2 = all.filter((s) => s.level === 2);
    // L1 closes once a group reaches 20 transactions (inputs are never split): 7+5+9 = 21.
    expect(l1.map((s) => `${s.startT}-${s.endT}`).slice(0, 3)).toEqual(['1-21', '22-42', '43-63']);
    expect(l2[0]).toMatchObject({ startT: 1, endT: 105 }); // five L1 of 21
    expect(result.segments.every((s) => s.written)).toBe(true);
    const log = typedLog(await sourceLog(source));
    for (const level of [l1, l2]) {
      const held = await transactionsOf(store, level);
      expect(typedLog(held)).toEqual(log.slice(0, held.length));
    }
    // Overlapping levels are not problems: verify and gaps see one continuous log.
    const report = await store.verify('lib', { fromT: 1 });
    expect(report).toMatchObject({ ok: true, gaps: [], overlaps: [], lastT: 240 });
  });

  it('writes the same bytes twice, clear or sealed: a second pass and a second compactor write nothing new', async () => {
    const codec = segmentCodec(new KeyRing([['k1', randomBytes(32)]]));
    for (const options of [{}, { codec }]) {
      const buckets = [new MemoryBucket(), new MemoryBucket()];
      for (const bucket of buckets) {
        const store = openMemoryStore({ bucket });
        await exportInSizes(source, store, 'lib', [10]);
        // Sealed L0 segments too, for the sealed pass.
        if (options.codec) {
          for (const key of [...bucket.objects.keys()]) bucket.objects.delete(key);
          const { exportRange } = await import('../../src/segment/export');
          await exportRange(source, store, 'lib', 1, 240, { maxTxns: 10, codec: options.codec });
        }
        await compact(store, 'lib', { levels: LEVELS, ...options });
      }
      const bytes = (bucket: MemoryBucket) => [...bucket.objects].filter(([k]) => k.endsWith('.seg')).map(([k, o]) => [k, Buffer.from(o.bytes).toString('hex')]).sort();
      expect(bytes(buckets[0]!)).toEqual(bytes(buckets[1]!));
      const again = await compact(openMemoryStore({ bucket: buckets[0] }), 'lib', { levels: LEVELS, ...options });
      expect(again.segments.filter((s) => s.written)).toEqual([]);
      if (options.codec) {
        const l1 = [...buckets[0]!.objects].find(([k]) => k.endsWith('.L1.seg'))!;
        expect(sealedHeader(l1[1].bytes, l1[0])).toMatchObject({ keyId: 'k1', startT: 1, endT: 20 });
      }
    }
  });

  it('concurrent compactors agree: no overlap within a level, and the replica is exact', async () => {
    const bucket = new MemoryBucket();
    const stores = [0, 1, 2].map(() => openMemoryStore({ bucket }));
    await exportInSizes(source, stores[0]!, 'lib', [3, 4]);
    await Promise.all(stores.map((store) => compact(store, 'lib', { levels: LEVELS })));
    await Promise.all(stores.map((store) => compact(store, 'lib', { levels: LEVELS })));
    const report = await stores[0]!.verify('lib', { fromT: 1 });
    expect(report).toMatchObject({ ok: true, overlaps: [], gaps: [] });
    await enforceRetention(stores[1]!, 'lib', { graceMs: 0 });
    const target = await databases.open('target');
    await restoreAll(target, stores[2]!, 'lib');
    await expectReplica(source, target);
  });

  it('cuts a level where the transactions cross a window, whatever the count', async () => {
    const timed = await databases.open('timed');
    await timed.transact([{ ':db/ident': ':n/v', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' }], { txInstant: new Date(1_000) });
    // Two transactions a second, t=2..41: 20 s of instants.
    for (let i = 0; i < 40; i++) await timed.transact([{ ':n/v': i }], { txInstant: new Date(1_000 + i * 500) });
    const store = resources.memoryStore();
    await exportInSizes(timed, store, 'lib', [3]);
    await compact(store, 'lib', { levels: [{ level: 1, maxTxns: 1000, windowMs: 5_000 }] });
    const l1 = (await levelsOf(store)).filter((s) => s.endsWith('/L1'));
    // Windows of 5 s: a segment belongs to the window of its first transaction; the last window is still open.
    const windows = [];
    for (const s of l1) {
      const [startT, endT] = s.split('/')[0]!.split('-').map(Number);
      const txs = await transactionsOf(store, [{ db: 'lib', startT: startT!, endT: endT!, level: 1, key: s, size: 0 }]);
      windows.push(Math.floor(txs[0]!.instant.getTime() / 5_000));
    }
    expect(l1.length).toBeGreaterThanOrEqual(3);
    expect(new Set(windows).size).toBe(l1.length);
  });

  it('retention deletes what compacted segments hold, after the grace period, and never the log end', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const store = openMemoryStore({ now: () => now });
    await exportInSizes(source, store, 'lib', [10]);
    await compact(store, 'lib', { levels: LEVELS });
    const before = (await collect(store.list('lib'))).length;
    expect((await enforceRetention(store, 'lib', { graceMs: 60_000, now: () => now })).deleted).toEqual([]);
    now = new Date(now.getTime() + 60_000);
    const { deleted } = await enforceRetention(store, 'lib', { graceMs: 60_000, now: () => now });
    expect(deleted.length).toBeGreaterThan(0);
    const left = await levelsOf(store);
    expect(left.length).toBe(before - deleted.length);
    // Two L2 hold everything up to 200; L1 201..220 and 221..240 are not held; the last L0 ends the log.
    expect(left).toEqual(['1-100/L2', '101-200/L2', '201-220/L1', '221-240/L1', '231-240/L0']);
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true, gaps: [] });
    expect((await store.head('lib'))?.endT).toBe(240);
  });

  it('a catch-up reads the segments reaching furthest; a reader mid-way reads the small ones up to the next boundary', async () => {
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [4]);
    await compact(store, 'lib', { levels: LEVELS });
    const counting = countingStore(store);
    const target = await databases.open('catchup');
    await restoreAll(target, counting.store, 'lib');
    await expectReplica(source, target);
    // L2 1..100, 101..200 (each five L1 of 20), then L1 201..220, 221..240: four reads, not sixty.
    expect(counting.reads()).toBe(4);

    const midway = await databases.open('midway');
    await restoreAll(midway, store, 'lib', { untilT: 6 });
    counting.reset();
    await restoreAll(midway, counting.store, 'lib');
    await expectReplica(source, midway);
    // L0 5..8 (holding 7), L0s up to the L1 boundary at 21, L1s up to the L2 boundary at 101,
    // then L2 101..200 and the two last L1: 1 + 3 + 4 + 1 + 2.
    expect(counting.reads()).toBe(11);
  });

  it('a clone restored from a compacted store, from the start and from mid-way, holds the source\'s log', async () => {
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [4]);
    await compact(store, 'lib', { levels: LEVELS });
    await enforceRetention(store, 'lib', { graceMs: 0 });
    const { restoreAll: restoreAny, compareClone } = await import('../../src/restore');
    for (const untilT of [undefined, 37]) {
      const clone = await databases.open('clone');
      if (untilT) await restoreAny(clone, store, 'lib', { mode: 'clone', untilT });
      await restoreAny(clone, store, 'lib', { mode: 'clone' });
      expect((await compareClone(source, clone)).equal).toBe(true);
    }
  });

  it('verify reports a segment that holds part of another level\'s segment, or overlaps its own level', async () => {
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [10]);
    await compact(store, 'lib', { levels: LEVELS });
    // A level-1 segment 15..34 cuts through L0 11..20 and 31..40, and overlaps L1 1..20 and 21..40.
    const { exportRange } = await import('../../src/segment/export');
    const other = openMemoryStore();
    await exportRange(source, other, 'lib', 15, 34, { maxTxns: 20 });
    await store.put('lib', 15, 34, await other.get('lib', 15, 34), { level: 1 });
    const report = await store.verify('lib', { fromT: 1 });
    expect(report.ok).toBe(false);
    const pairs = report.overlaps.map((o) => `${o.first.key.split('/').pop()} ${o.second.key.split('/').pop()}`);
    expect(pairs).toContain('00000000000000000001-00000000000000000020.L1.seg 00000000000000000015-00000000000000000034.L1.seg');
    expect(pairs).toContain('00000000000000000011-00000000000000000020.seg 00000000000000000015-00000000000000000034.L1.seg');
    expect(report.gaps).toEqual([]);
  });

  it('refuses levels that are not 1, 2, ... growing, naming the level', () => {
    expect(() => validateLevels([{ level: 1, maxTxns: 100, windowMs: 1000 }, { level: 2, maxTxns: 50, windowMs: 1000 }])).toThrow(
      /compaction level 2: must hold more transactions than level 1/,
    );
    expect(() => parseLevels('100/5s,1000/x')).toThrow(CompactionSettingsError);
    expect(parseLevels('100/5s,1000/1m')).toEqual([
      { level: 1, maxTxns: 100, windowMs: 5000 },
      { level: 2, maxTxns: 1000, windowMs: 60000 },
    ]);
  });
});
