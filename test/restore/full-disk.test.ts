// A directory store and a PGlite directory on a file system that fills up mid-write (a
// tmpfs this test mounts, filled with a ballast file). The error is clear and names the
// path; nothing is half-written (no temporary files, every segment verifies, the target
// stands at a whole transaction); and once space is freed the same command resumes and
// ends exact. Where the machine does not allow a mount, the tests are skipped, saying why.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseDiskFullError } from '../../src/db/errors';
import { openDatabase } from '../../src/db/open';
import { readPosition } from '../../src/restore/bookkeeping';
import { Restorer } from '../../src/restore/restore';
import { exportAll } from '../../src/segment/export';
import { StoreDiskFullError } from '../../src/stores/errors';
import { openDirectoryStore } from '../../src/stores/directory';
import { smallFileSystem, type SmallFileSystem } from '../support/small-fs';
import { Resources, exportInSizes, expectReplica, librarySource } from './fixtures';

const mounted = await smallFileSystem(128 * 1024 * 1024);
if (mounted.fs === null) console.warn(`full-disk tests skipped: ${mounted.reason}`);
const fs = mounted.fs as SmallFileSystem;

const resources = new Resources();
afterAll(async () => {
  await resources.close();
  await fs?.close();
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe.skipIf(!fs)('a file system that fills up mid-write', () => {
  it('the directory store: a clear error naming the path, nothing half-written, and the export resumes once space is freed', async () => {
    const { source } = await librarySource(resources, 600, 91);
    const root = path.join(fs.dir, 'store');
    const store = openDirectoryStore({ path: root, warn: () => {} });
    resources.onClose(() => store.close());
    // Room for some of the 60 segments (each takes two pages: the segment and its checksum), not all.
    await fs.fill(200 * 1024);
    const error = await exportAll(source, store, 'lib', { maxTxns: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreDiskFullError);
    expect((error as Error).message).toContain(root);
    expect((error as Error).message).toMatch(/no space left on the file system/);

    // Nothing half-written: no temporary files, and every segment there is whole and verifies.
    const files = await filesUnder(root);
    expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
    const report = await store.verify('lib', { fromT: 1 });
    expect(report).toMatchObject({ ok: true, gaps: [], overlaps: [], corrupt: [], firstT: 1 });
    expect(report.lastT).toBeGreaterThan(0);
    expect(report.lastT).toBeLessThan(await source.basisT());

    // Space freed: the same export goes on from where the store stands.
    await fs.free();
    const resumed = await exportAll(source, store, 'lib', { maxTxns: 10 });
    expect(resumed.startT).toBe(report.lastT! + 1);
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true, firstT: 1, lastT: await source.basisT() });
    const target = await resources.database();
    await new Restorer(target, store, 'lib').all();
    await expectReplica(source, target);
    console.info(`directory store: full after t=${report.lastT} (${report.segments} segments); resumed from t=${resumed.startT}`);
  }, 300_000);

  it('a PGlite directory: a clear error naming the directory, the target at a whole transaction, and the restore resumes once space is freed', async () => {
    const { source } = await librarySource(resources, 900, 92);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [100]);
    const dataDir = path.join(fs.dir, 'target');
    const target = await resources.database(`pglite:${dataDir}`);
    await fs.fill(1536 * 1024);
    const restorer = new Restorer(target, store, 'lib', { batchTxns: 20 });
    const error = await restorer.all().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseDiskFullError);
    expect((error as Error).message).toContain(dataDir);
    expect((error as Error).message).toMatch(/no space left/);

    // The failed commit was rolled back whole: one target transaction per source transaction.
    const at = await readPosition(target, 'lib');
    expect(at.position).toBeGreaterThan(0);
    expect(at.position).toBeLessThan(await source.basisT());
    expect(await target.basisT()).toBe(at.position);
    await expectReplica(source, target, { asOfT: at.position });

    await fs.free();
    const resumed = await restorer.all();
    expect(resumed).toMatchObject({ fromT: at.position, toT: await source.basisT() });
    await expectReplica(source, target);
    console.info(`PGlite directory: full at t=${at.position}; resumed to t=${resumed.toT}`);
  }, 300_000);
});
