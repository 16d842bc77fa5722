// `txclone compact` as a user runs it, on a store written before compaction levels existed
// (a fixture written by the code of that time): it still restores, it is compacted in
// place, and the replica restored from the compacted store equals the one from the original.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import { txclone as run } from '../cli/support';

// Each call starts a process that loads PGlite: generous on a loaded machine.
const txclone = (args: string[]) => run(args, {}, 600_000);

const FIXTURE = fileURLToPath(new URL('./fixtures/legacy-store', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-compact-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function datomsOf(url: string) {
  const db = await openDatabase(url);
  try {
    const out = [];
    for await (const d of db.datoms()) out.push(d);
    return { basisT: await db.basisT(), datoms: out };
  } finally {
    await db.close();
  }
}

describe('txclone compact on a store written before levels', () => {
  it('restores as it is, compacts in place, and restores the same after retention', async () => {
    const store = path.join(dir, 'store');
    await cp(FIXTURE, store, { recursive: true });
    const before = `pglite:${path.join(dir, 'before')}`;
    const restored = await txclone(['restore', '--target', before, '--store', store, '--db', 'lib']);
    expect(restored.stdout).toMatch(/restore: t=0 -> t=90, 90 transactions/);

    const args = ['--store', store, '--db', 'lib', '--compaction-levels', '30/1h,90/1h', '--retention-grace', '0'];
    const compacted = await txclone(['compact', ...args]);
    expect(compacted.stderr).toBe('');
    expect(compacted.code).toBe(0);
    expect(compacted.stdout).toContain('compacted 3 segments into 1-30 L1 (30 transactions');
    expect(compacted.stdout).toContain('compacted 3 segments into 1-90 L2 (90 transactions');
    expect(compacted.stdout).toContain('compact: 4 segments written');
    // Every L0 but the one ending the log, and the two L1 that L2 1-90 holds.
    expect(compacted.stdout).toContain('retention: 10 deleted');

    const list = await txclone(['segments', 'list', '--store', store, '--db', 'lib']);
    expect(list.stdout.trim().split('\n').map((l) => `${l.split('\t')[0]} ${l.split('\t').at(-1)}`)).toEqual(['1-90 L2', '61-90 L1', '81-90 L0']);
    const verify = await txclone(['segments', 'verify', '--store', store, '--db', 'lib']);
    expect(verify.stdout).toMatch(/3 segments, \d+ bytes, t=1\.\.90\nok/);
    expect((await txclone(['gaps', '--store', store, '--db', 'lib'])).stdout).toContain('no gaps');
    const inspect = await txclone(['segments', 'inspect', '1-90.L2', '--store', store, '--db', 'lib']);
    expect(inspect.stdout).toContain(':end-t 90');

    const after = `pglite:${path.join(dir, 'after')}`;
    expect((await txclone(['restore', '--target', after, '--store', store, '--db', 'lib'])).stdout).toMatch(/t=0 -> t=90, 90 transactions/);
    expect(await datomsOf(after)).toEqual(await datomsOf(before));

    const again = await txclone(['compact', ...args]);
    expect(again.stdout).toContain('compact: 0 segments written');
    expect(again.stdout).toContain('retention: 0 deleted');
  });

  it('refuses bad levels before touching the store, naming the setting', async () => {
    const bad = await txclone(['compact', '--store', path.join(dir, 'none'), '--db', 'lib', '--compaction-levels', '1000/10s,100/1h']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--compaction-levels="1000/10s,100/1h"');
    expect(bad.stderr).toContain('compaction level 2: must hold more transactions than level 1');
  });
});
