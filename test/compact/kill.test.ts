// A compactor killed (SIGKILL, a real child process) while it writes compacted segments,
// and while retention deletes what they hold: the store stays whole (every t in some
// segment, nothing corrupt, no overlap within a level), restores exactly, and the next
// pass finishes the job.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compact, enforceRetention, parseLevels } from '../../src/compact';
import type { Database } from '../../src/db/types';
import { restoreAll } from '../../src/restore';
import { openDirectoryStore } from '../../src/stores/directory';
import { Sources } from '../export/support';
import { exportInSizes, expectReplica } from '../restore/fixtures';

const LEVELS = '12/1h,48/1h';
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'compact-child.ts');
const databases = new Sources();
let source: Database;
let dir: string;
beforeAll(async () => {
  source = await databases.library(150, 51, 50, 25);
  dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-compact-kill-'));
}, 300_000);
afterAll(async () => {
  await databases.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the child until its stdout has shown `lines` lines matching what, then SIGKILLs it. */
async function killAfter(store: string, what: RegExp, lines: number): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, store, LEVELS], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.split('\n').filter((l) => what.test(l)).length >= lines && !child.killed) child.kill('SIGKILL');
    });
    child.on('close', () => resolve());
    child.on('error', reject);
  });
  return output;
}

async function expectWhole(storeDir: string): Promise<void> {
  const store = openDirectoryStore({ path: storeDir });
  try {
    const report = await store.verify('lib', { fromT: 1 });
    expect(report).toMatchObject({ gaps: [], overlaps: [], corrupt: [], lastT: 150, ok: true });
    const target = await databases.open('target');
    await restoreAll(target, store, 'lib');
    await expectReplica(source, target);
  } finally {
    await store.close();
  }
}

describe('a compactor killed at any instant', () => {
  it.each([
    ['while writing compacted segments', /segments compacted/, 3],
    ['while retention deletes', /retention: deleted a segment/, 4],
  ])('%s leaves a whole store, and the next pass finishes', async (_name, what, lines) => {
    const storeDir = path.join(dir, `store-${lines}`);
    const store = openDirectoryStore({ path: storeDir });
    await exportInSizes(source, store, 'lib', [3]);
    await store.close();
    const output = await killAfter(storeDir, what, lines);
    // Killed where meant: not before, and not after it finished.
    expect(output.split('\n').filter((l) => what.test(l)).length).toBeGreaterThanOrEqual(lines);
    expect(output).not.toContain('retention done');
    await expectWhole(storeDir);

    const again = openDirectoryStore({ path: storeDir });
    await compact(again, 'lib', { levels: parseLevels(LEVELS) });
    await enforceRetention(again, 'lib', { graceMs: 0 });
    await again.close();
    await expectWhole(storeDir);
  });
});
