// Two producers at once: on the same range they agree (export is deterministic), so each
// range is stored once and neither fails; where they disagree (two databases under one
// name) the loser gets a SegmentConflictError naming both checksums and nothing is overwritten.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/types';
import { backup, exportNext, exportRange, type ExportResult } from '../../src/segment/export';
import { openDirectoryStore, openMemoryStore, SegmentConflictError } from '../../src/stores';
import type { SegmentStore } from '../../src/stores/types';
import { listed, readBack, sourceLog, Sources, typedLog } from './support';

const sources = new Sources();
let lib: Database;
/** Another database, exported by mistake under lib's name. */
let other: Database;
const roots: string[] = [];

beforeAll(async () => {
  lib = await sources.library(200, 17);
  other = await sources.library(120, 18);
}, 120_000);

afterAll(async () => {
  await sources.close();
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function freshRoot(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'txclone-producers-'));
  roots.push(root);
  return root;
}

/** Each range written by exactly one of the runs, and found written by the other. */
function writtenOnce(a: ExportResult, b: ExportResult): void {
  expect(a.segments.map((s) => [s.info.startT, s.info.endT])).toEqual(b.segments.map((s) => [s.info.startT, s.info.endT]));
  a.segments.forEach((s, i) => {
    expect(Number(s.written) + Number(b.segments[i]!.written), `segment ${s.info.startT}..${s.info.endT}`).toBe(1);
    expect(s.info.sha256).toBe(b.segments[i]!.info.sha256);
  });
}

async function segmentFiles(root: string, db: string): Promise<string[]> {
  return (await readdir(path.join(root, db, 'segments'))).filter((f) => f.endsWith('.seg')).sort();
}

describe('two producers on the same range', () => {
  it('exportRange twice at once on one store: one segment per range, no error, the bytes of a lone export', async () => {
    const store = openMemoryStore();
    const [a, b] = await Promise.all([
      exportRange(lib, store, 'lib', 1, 120, { maxTxns: 30 }),
      exportRange(lib, store, 'lib', 1, 120, { maxTxns: 30 }),
    ]);
    expect(a.segments).toHaveLength(4);
    writtenOnce(a, b);
    expect(await listed(store, 'lib')).toEqual([[1, 30], [31, 60], [61, 90], [91, 120]]);
    const alone = openMemoryStore();
    const lone = await exportRange(lib, alone, 'lib', 1, 120, { maxTxns: 30 });
    expect(a.segments.map((s) => s.info.sha256)).toEqual(lone.segments.map((s) => s.info.sha256));
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true, segments: 4 });
    await store.close();
    await alone.close();
  });

  it('exportNext twice at once: both export the range after the head, one writes it', async () => {
    const store = openMemoryStore();
    for (const [startT, endT] of [[1, 50], [51, 100], [101, 150]] as const) {
      const [a, b] = await Promise.all([exportNext(lib, store, 'lib', { maxTxns: 50 }), exportNext(lib, store, 'lib', { maxTxns: 50 })]);
      expect(a!.info).toMatchObject({ startT, endT });
      expect(b!.info).toMatchObject({ startT, endT });
      expect(Number(a!.written) + Number(b!.written)).toBe(1);
    }
    expect(await listed(store, 'lib')).toEqual([[1, 50], [51, 100], [101, 150]]);
    await store.close();
  });

  it('two stores on one directory: one file per range, both verify clean', async () => {
    const root = await freshRoot();
    const one = openDirectoryStore({ path: root });
    const two = openDirectoryStore({ path: root });
    const [a, b] = await Promise.all([
      exportRange(lib, one, 'lib', 1, 200, { maxTxns: 25 }),
      exportRange(lib, two, 'lib', 1, 200, { maxTxns: 25 }),
    ]);
    writtenOnce(a, b);
    expect(await segmentFiles(root, 'lib')).toHaveLength(8);
    // Two parallel backups of another name on the same directory, three workers each.
    const [c, d] = await Promise.all([
      backup(lib, one, 'bak', { segmentTxns: 10, parallel: 3 }),
      backup(lib, two, 'bak', { segmentTxns: 10, parallel: 3 }),
    ]);
    const written = [...c.segments, ...d.segments].filter((s) => s.written).map((s) => s.info.startT).sort((x, y) => x - y);
    expect(written).toEqual(Array.from({ length: 20 }, (_, i) => i * 10 + 1));
    expect(await segmentFiles(root, 'bak')).toHaveLength(20);
    for (const store of [one, two]) {
      for (const db of ['lib', 'bak']) expect(await store.verify(db, { fromT: 1 })).toMatchObject({ ok: true, gaps: [], overlaps: [], corrupt: [] });
    }
    expect(typedLog(await readBack(two, 'bak'))).toEqual(typedLog(await sourceLog(lib)));
    // No temporary files left behind by the race.
    const leftovers = (await readdir(path.join(root, 'lib', 'segments'))).filter((f) => !/\.seg(\.sha256)?$/.test(f));
    expect(leftovers).toEqual([]);
    await one.close();
    await two.close();
  });

  it('two backups at once on one store: exactly one segment per range', async () => {
    const store = openMemoryStore();
    const [a, b] = await Promise.all([
      backup(lib, store, 'lib', { segmentTxns: 15, parallel: 3 }),
      backup(lib, store, 'lib', { segmentTxns: 15, parallel: 3 }),
    ]);
    writtenOnce(a, b);
    expect(await listed(store, 'lib')).toEqual(Array.from({ length: 14 }, (_, i) => [i * 15 + 1, Math.min(200, i * 15 + 15)]));
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true });
    await store.close();
  });
});

describe('two producers that disagree', () => {
  /** The checksums lib and other give the range, each exported alone. */
  async function checksums(startT: number, endT: number): Promise<{ mine: string; theirs: string }> {
    const [a, b] = [openMemoryStore(), openMemoryStore()];
    const mine = (await exportRange(lib, a, 'lib', startT, endT, { maxTxns: 1000 })).segments[0]!.info.sha256!;
    const theirs = (await exportRange(other, b, 'lib', startT, endT, { maxTxns: 1000 })).segments[0]!.info.sha256!;
    expect(mine).not.toBe(theirs);
    return { mine, theirs };
  }

  function expectConflict(error: unknown, range: string, stored: string, rejected: string): void {
    expect(error).toBeInstanceOf(SegmentConflictError);
    const conflict = error as SegmentConflictError;
    expect(conflict.existingSha256).toBe(stored);
    expect(conflict.newSha256).toBe(rejected);
    expect(conflict.message).toContain(`segment ${range} already exists with different bytes`);
    expect(conflict.message).toContain(`stored sha256 ${stored}, new sha256 ${rejected}`);
    expect(conflict.message).toContain('nothing was overwritten');
  }

  it('one after the other: a SegmentConflictError naming both checksums; the store keeps the first', async () => {
    const { mine, theirs } = await checksums(1, 50);
    const root = await freshRoot();
    const memory = openMemoryStore();
    const cases: Array<[SegmentStore, SegmentStore]> = [
      [memory, memory],
      [openDirectoryStore({ path: root }), openDirectoryStore({ path: root })],
    ];
    for (const [first, second] of cases) {
      await exportRange(lib, first, 'lib', 1, 50, { maxTxns: 50 });
      const before = Buffer.from(await first.get('lib', 1, 50));
      const error = await exportRange(other, second, 'lib', 1, 50, { maxTxns: 50 }).catch((e: unknown) => e);
      expectConflict(error, '1..50', mine, theirs);
      expect(Buffer.from(await first.get('lib', 1, 50))).toEqual(before);
      expect(Buffer.from(await second.get('lib', 1, 50))).toEqual(before);
      expect(typedLog(await readBack(second, 'lib'))).toEqual(typedLog(await sourceLog(lib, 1, 50)));
      await first.close();
      if (second !== first) await second.close();
    }
  });

  it('at the same moment: one wins, the other gets the conflict, nothing is mixed', async () => {
    const { mine, theirs } = await checksums(1, 25);
    const root = await freshRoot();
    const memory = openMemoryStore();
    const cases: Array<[SegmentStore, SegmentStore]> = [
      [memory, memory],
      [openDirectoryStore({ path: root }), openDirectoryStore({ path: root })],
    ];
    for (const [one, two] of cases) {
      const [a, b] = await Promise.allSettled([
        exportRange(lib, one, 'lib', 1, 50, { maxTxns: 25 }),
        exportRange(other, two, 'lib', 1, 50, { maxTxns: 25 }),
      ]);
      expect([a.status, b.status].sort()).toEqual(['fulfilled', 'rejected']);
      const libWon = a.status === 'fulfilled';
      // The loser fails on the first segment, whichever it is.
      const lost = (libWon ? b : a) as PromiseRejectedResult;
      if (libWon) expectConflict(lost.reason, '1..25', mine, theirs);
      else expectConflict(lost.reason, '1..25', theirs, mine);
      // The store holds the winner's log, whole, and nothing of the loser's.
      expect(typedLog(await readBack(two, 'lib'))).toEqual(typedLog(await sourceLog(libWon ? lib : other, 1, 50)));
      expect(await listed(one, 'lib')).toEqual([[1, 25], [26, 50]]);
      await one.close();
      if (two !== one) await two.close();
    }
  });
});
