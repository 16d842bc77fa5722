// A clone restore killed with SIGKILL, mid initial load and mid incremental apply, resumes
// from its last committed t, and ends with the source's rows.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import { createRestorer } from '../../src/restore/restorer';
import { openDirectoryStore } from '../../src/stores/directory';
import { freshPostgresUrl } from '../support/postgres';
import { tableRows } from '../support/tables';
import { Resources, exportInSizes, librarySource } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());

/** Starts the child and SIGKILLs it once it has committed `commits` batches. */
async function killAfter(targetUrl: string, storeDir: string, bulkLoadMinTxns: number, commits: number): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(path.dirname(fileURLToPath(import.meta.url)), 'clone-child.ts'), targetUrl, storeDir, String(bulkLoadMinTxns)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let seen = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString().split('\n').filter((l) => l.startsWith('committed')).length;
      if (seen >= commits && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
  await new Promise((r) => child.once('exit', r).once('close', r));
}

describe('a killed clone restore resumes from its last committed t', () => {
  it.each([
    ['initial load into a PGlite directory', 'pglite', 1],
    ['incremental apply into PostgreSQL', 'postgres', 1_000_000],
  ] as const)('%s', async (_name, driver, bulkLoadMinTxns) => {
    const { source } = await librarySource(resources, 600, 41);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-clone-kill-'));
    resources.onClose(() => rm(dir, { recursive: true, force: true }));
    const storeDir = path.join(dir, 'store');
    const store = openDirectoryStore({ path: storeDir });
    resources.onClose(() => store.close());
    // Small segments in bulk mode (each its own commit); batches of 5 when incremental.
    await exportInSizes(source, store, 'lib', [bulkLoadMinTxns === 1 ? 20 : 100]);
    const targetUrl = driver === 'pglite' ? `pglite://${path.join(dir, 'clone')}` : await freshPostgresUrl();

    await killAfter(targetUrl, storeDir, bulkLoadMinTxns, 6);

    const target = await openDatabase(targetUrl);
    resources.onClose(() => target.close());
    const basis = await target.basisT();
    expect(basis).toBeGreaterThan(0);
    expect(basis).toBeLessThan(600);
    expect((await target.role()).loading).toBe(bulkLoadMinTxns === 1);
    await createRestorer(target, store, 'lib', { mode: 'clone', bulkLoadMinTxns }).all();
    expect(await target.role()).toMatchObject({ role: 'clone', loading: false });
    const [a, b] = await Promise.all([tableRows(source), tableRows(target)]);
    expect(b).toEqual(a);
  });
});
