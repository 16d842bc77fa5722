import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { DatomDatabaseOptions } from '../../src/db/datom-db';
import { openDatabase } from '../../src/db/open';
import type { Database } from '../../src/db/types';
import { LibraryWorkload } from '../../src/workload';
import { exportRange } from '../../src/segment/export';
import { compareReplica, type CompareOptions } from '../../src/restore/compare';
import { openDirectoryStore } from '../../src/stores/directory';
import { openMemoryStore } from '../../src/stores/memory';
import type { SegmentStore } from '../../src/stores/types';

/** Everything a test opens, closed in afterEach. */
export class Resources {
  private readonly closers: Array<() => Promise<unknown>> = [];

  async database(url = 'pglite:memory', options: DatomDatabaseOptions = {}): Promise<Database> {
    const db = await openDatabase(url, options);
    this.closers.push(() => db.close());
    return db;
  }

  memoryStore(): SegmentStore {
    const store = openMemoryStore();
    this.closers.push(() => store.close());
    return store;
  }

  async directoryStore(): Promise<{ store: SegmentStore; dir: string }> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-restore-'));
    const store = openDirectoryStore({ path: dir });
    this.closers.push(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    return { store, dir };
  }

  onClose(fn: () => Promise<unknown>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => undefined);
  }
}

/** A source database holding `count` library transactions. */
export async function librarySource(resources: Resources, count: number, seed = 1, url?: string): Promise<{ source: Database; workload: LibraryWorkload }> {
  const source = await resources.database(url);
  const workload = new LibraryWorkload({ seed, stageEvery: Math.max(5, Math.floor(count / 4)) });
  await workload.run(source, count, 25);
  return { source, workload };
}

/** Exports 1..basis in segments of the given sizes (cycled). */
export async function exportInSizes(source: Database, store: SegmentStore, db: string, sizes: number[], fromT = 1): Promise<void> {
  const basis = await source.basisT();
  let t = fromT;
  for (let i = 0; t <= basis; i++) {
    const size = sizes[i % sizes.length]!;
    const end = Math.min(basis, t + size - 1);
    await exportRange(source, store, db, t, end, { maxTxns: size });
    t = end + 1;
  }
}

export async function expectReplica(source: Database, target: Database, options: CompareOptions = {}): Promise<void> {
  const result = await compareReplica(source, target, options);
  expect(result.differences).toEqual([]);
  expect(result.equal).toBe(true);
  expect(result.sourceDatoms).toBeGreaterThan(0);
}
