import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import { LAST_SOURCE_TRANSACTION } from '../../src/restore/bookkeeping';
import { Restorer } from '../../src/restore/restore';
import { openDirectoryStore } from '../../src/stores/directory';
import { Resources, exportInSizes, expectReplica, librarySource } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());

describe('interrupted restores resume exactly', () => {
  it('stopping after every possible number of transactions, then resuming, loses and duplicates nothing', async () => {
    const { source } = await librarySource(resources, 45, 31);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [7, 11, 4]);
    const basis = await source.basisT();
    const target = await resources.database();
    for (let stop = 1; stop <= basis; stop++) {
      // A fresh Restorer each time: nothing carried over in memory, as after a restart.
      const totals = await new Restorer(target, store, 'lib', { untilT: stop, batchTxns: 3 }).all();
      expect(totals.toT).toBe(stop);
      expect(await target.basisT()).toBe(stop);
      if (stop % 9 === 0) await expectReplica(source, target, { asOfT: stop });
    }
    await expectReplica(source, target);
  });

  it('a restore process killed mid-batch resumes at a transaction boundary', async () => {
    const { source } = await librarySource(resources, 600, 32);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-kill-'));
    resources.onClose(() => rm(dir, { recursive: true, force: true }));
    const store = openDirectoryStore({ path: path.join(dir, 'store') });
    resources.onClose(() => store.close());
    await exportInSizes(source, store, 'lib', [50]);
    const targetUrl = `pglite://${path.join(dir, 'target')}`;

    const child = spawn(process.execPath, ['--import', 'tsx', path.join(path.dirname(fileURLToPath(import.meta.url)), 'restore-child.ts'), targetUrl, path.join(dir, 'store')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Kill it as soon as it has committed a few batches, while it is in the middle of more.
    await new Promise<void>((resolve, reject) => {
      let commits = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        commits += chunk.toString().split('\n').filter((l) => l.startsWith('committed')).length;
        if (commits >= 5 && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    await new Promise((r) => child.once('exit', r).once('close', r));

    // The killed process left its lock behind; a new opener sees it is dead and takes over.
    const target = await openDatabase(targetUrl);
    resources.onClose(() => target.close());
    const position = (await target.entity(LAST_SOURCE_TRANSACTION))?.[LAST_SOURCE_TRANSACTION] as number;
    expect(position).toBeGreaterThan(0);
    expect(position).toBeLessThan(await source.basisT());
    // A transaction boundary: exactly one target transaction per source transaction so far.
    expect(await target.basisT()).toBe(position);
    await new Restorer(target, store, 'lib').all();
    await expectReplica(source, target);
  });
});
