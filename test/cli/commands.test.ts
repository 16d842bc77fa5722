// The CLI as a user runs it: child processes against PGlite directories and a directory store.
import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibraryWorkload } from '../../src/workload';
import { openDatabase } from '../../src/db/open';
import { segmentKey } from '../../src/stores/keys';
import { txclone } from './support';

let dir: string;
let source: string;
let store: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-cli-'));
  source = `pglite:${path.join(dir, 'source')}`;
  store = path.join(dir, 'store');
  const db = await openDatabase(source);
  await new LibraryWorkload({ seed: 5, stageEvery: 60 }).run(db, 250, 25);
  await db.close();
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('txclone commands', () => {
  it('backup, restore and verify-replica round trip; status reports the positions', async () => {
    const backup = await txclone(['backup', '--source', source, '--store', store, '--db', 'lib', '--segment-txns', '60', '--parallel', '3']);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/backup: t=1\.\.250, 5 segments, 250 transactions/);

    const target = `pglite:${path.join(dir, 'target')}`;
    const restore = await txclone(['restore', '--target', target, '--store', store, '--db', 'lib']);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toMatch(/restore: t=0 -> t=250, 250 transactions/);

    const verify = await txclone(['verify-replica', '--source', source, '--target', target]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^equal: source t=250/);
    const inPasses = await txclone(['verify-replica', '--source', source, '--target', target, '--max-datoms-in-memory', '300']);
    expect(inPasses.code).toBe(0);
    expect(inPasses.stdout).toMatch(/^equal: source t=250 .* in \d+ passes$/m);

    const status = await txclone(['status', '--source', source, '--store', store, '--target', target, '--db', 'lib', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ db: 'lib', sourceBasisT: 250, storeHeadT: 250, targetPositionT: 250, lagTransactions: 0, lagSeconds: 0 });

    // A backup run again writes nothing; export has nothing new.
    expect((await txclone(['backup', '--source', source, '--store', store, '--db', 'lib'])).stdout).toMatch(/nothing new/);
    expect((await txclone(['export', '--source', source, '--store', store, '--db', 'lib'])).stdout).toMatch(/nothing new/);
  });

  it('restore --until-t stops there, and verify-replica compares as of it', async () => {
    const target = `pglite:${path.join(dir, 'until')}`;
    const restore = await txclone(['restore', '--target', target, '--store', store, '--db', 'lib', '--until-t', '100', '--id-cache-size', '40']);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toMatch(/t=0 -> t=100 \(until reached\)/);
    expect(restore.stdout).toMatch(/, 40 cached$/m);
    const verify = await txclone(['verify-replica', '--source', source, '--target', target]);
    expect(verify.stdout).toMatch(/^equal: source t=100/);
    const status = await txclone(['status', '--source', source, '--target', target, '--db', 'lib', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ targetPositionT: 100, lagTransactions: 150 });
    expect(JSON.parse(status.stdout).lagSeconds).toBeGreaterThanOrEqual(0);
  });

  it('segments list, verify and inspect', async () => {
    const list = await txclone(['segments', 'list', '--store', store, '--db', 'lib']);
    expect(list.stdout.trim().split('\n')).toHaveLength(5);
    expect(list.stdout).toMatch(/^1-60\t\d+ bytes\t/);
    const verify = await txclone(['segments', 'verify', '--store', store, '--db', 'lib']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/5 segments, \d+ bytes, t=1\.\.250\nok/);
    const inspect = await txclone(['segments', 'inspect', '61-120', '--store', store, '--db', 'lib']);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain(':start-t 61');
    expect(inspect.stdout).toContain('#inst');
  });

  it('gaps and repair after a segment goes missing; prune keeps what a replica needs', async () => {
    const copy = path.join(dir, 'store-copy');
    expect((await txclone(['backup', '--source', source, '--store', copy, '--db', 'lib', '--segment-txns', '50'])).code).toBe(0);
    const file = path.join(copy, segmentKey('lib', 101, 150));
    await unlink(file);
    await unlink(file + '.sha256').catch(() => undefined);
    const gaps = await txclone(['gaps', '--store', copy, '--db', 'lib']);
    expect(gaps.code).toBe(1);
    expect(gaps.stdout).toContain('missing t=101..150');
    const repair = await txclone(['repair', '--source', source, '--store', copy, '--db', 'lib']);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain('repaired t=101..150');
    expect((await txclone(['gaps', '--store', copy, '--db', 'lib'])).stdout).toContain('no gaps');

    const replica = `pglite:${path.join(dir, 'prune-replica')}`;
    await txclone(['restore', '--target', replica, '--store', copy, '--db', 'lib', '--until-t', '120']);
    const prune = await txclone(['prune', '--store', copy, '--db', 'lib', '--before-t', '250', '--replica', replica]);
    expect(prune.code).toBe(0);
    // The replica stands at 120: segments ending at 50 and 100 go, 101-150 (holding 121) stays.
    expect(prune.stdout).toContain('deleted 1-50');
    expect(prune.stdout).toContain('deleted 51-100');
    expect(prune.stdout).not.toContain('101-150');
  });
});

describe('bad input: a clear message and an exit code', () => {
  const cases: Array<[string, string[], number, RegExp]> = [
    ['unknown command', ['nosuch'], 2, /unknown command 'nosuch'/],
    ['unknown flag', ['status', '--nope'], 2, /unknown option '--nope'/],
    ['missing target', ['restore', '--store', '/tmp/x', '--db', 'lib'], 2, /target is required: pass --target or set TXCLONE_TARGET/],
    ['bad database URL', ['backup', '--source', 'mysql://x', '--store', '/tmp/x'], 2, /invalid database URL "mysql:\/\/x"/],
    ['bad store URL', ['export', '--source', 'pglite:memory', '--store', 's3://'], 2, /s3:\/\//],
    ['bad number flag', ['restore', '--target', 'pglite:memory', '--store', '/tmp/x', '--batch-txns', 'many'], 2, /--batch-txns="many"/],
    ['bad number env', ['restore', '--target', 'pglite:memory', '--store', '/tmp/x'], 2, /TXCLONE_BATCH_TXNS="-3"/],
    ['bad id cache size', ['restore', '--target', 'pglite:memory', '--store', '/tmp/x', '--id-cache-size', '0'], 2, /--id-cache-size="0"/],
    ['bad until-t', ['restore', '--target', 'pglite:memory', '--store', '/tmp/x', '--until-t', 'soon'], 2, /--until-t: expected a whole number/],
    ['bad until-time', ['restore', '--target', 'pglite:memory', '--store', '/tmp/x', '--until-time', 'yesterday'], 2, /--until-time: expected an ISO instant/],
    ['bad role', ['replicate', '--role', 'both-ways'], 2, /argument 'both-ways' is invalid/],
    ['bad segment range', ['segments', 'inspect', 'seven', '--store', '/tmp/x'], 2, /expected a range like 1-1000/],
    ['prune without --before-t', ['prune', '--store', '/tmp/x'], 2, /--before-t is required/],
    ['bad db name', ['segments', 'list', '--store', '/tmp/x', '--db', '../etc'], 2, /--db="..\/etc"/],
  ];

  for (const [name, args, code, pattern] of cases) {
    it(name, async () => {
      const env = name === 'bad number env' ? { TXCLONE_BATCH_TXNS: '-3' } : {};
      const result = await txclone(args, env);
      expect(result.code).toBe(code);
      expect(result.stderr + result.stdout).toMatch(pattern);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace without --verbose
    });
  }

  it('a target that is not empty and not a replica', async () => {
    const foreign = `pglite:${path.join(dir, 'foreign')}`;
    const db = await openDatabase(foreign);
    await db.transact([{ ':db/ident': ':other/thing' }]);
    await db.close();
    const result = await txclone(['restore', '--target', foreign, '--store', store, '--db', 'lib']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is not empty \(basis t=1\) and holds no :txclone\/last-source-transaction/);
  });

  it('a corrupt segment is named, and nothing is applied', async () => {
    const bad = path.join(dir, 'store-corrupt');
    expect((await txclone(['backup', '--source', source, '--store', bad, '--db', 'lib', '--segment-txns', '100'])).code).toBe(0);
    await writeFile(path.join(bad, segmentKey('lib', 1, 100)), 'garbage');
    const target = `pglite:${path.join(dir, 'corrupt-target')}`;
    const result = await txclone(['restore', '--target', target, '--store', bad, '--db', 'lib']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/00000000000000000001-00000000000000000100/);
    const status = await txclone(['status', '--target', target, '--db', 'lib', '--json']);
    expect(JSON.parse(status.stdout).targetPositionT).toBe(0);
  });

  it('a gap is named and restore stops before it', async () => {
    const holey = path.join(dir, 'store-gap');
    expect((await txclone(['backup', '--source', source, '--store', holey, '--db', 'lib', '--segment-txns', '100'])).code).toBe(0);
    const file = path.join(holey, segmentKey('lib', 101, 200));
    await unlink(file);
    for (const f of await readdir(path.dirname(file))) if (f.startsWith('00000000000000000101')) await unlink(path.join(path.dirname(file), f));
    const target = `pglite:${path.join(dir, 'gap-target')}`;
    const result = await txclone(['restore', '--target', target, '--store', holey, '--db', 'lib']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no segment holds t=101/);
    const status = await txclone(['status', '--target', target, '--db', 'lib', '--json']);
    expect(JSON.parse(status.stdout).targetPositionT).toBe(100);
  });

  it('verify-replica exits 1 and lists the differences', async () => {
    const target = `pglite:${path.join(dir, 'differs')}`;
    await txclone(['restore', '--target', target, '--store', store, '--db', 'lib', '--until-t', '50']);
    const other = await openDatabase(`pglite:${path.join(dir, 'other-source')}`);
    await new LibraryWorkload({ seed: 6, stageEvery: 60 }).run(other, 60, 20);
    await other.close();
    const result = await txclone(['verify-replica', '--source', `pglite:${path.join(dir, 'other-source')}`, '--target', target]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^DIFFERENT: \d+ differences/);
  });
});

describe('demo', () => {
  it('replicates a growing database on the embedded default and verifies it', async () => {
    const demoDir = path.join(dir, 'demo');
    const result = await txclone(['demo', '--dir', demoDir, '--transactions', '300'], {}, 240_000);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/3\. verify: EQUAL/);
    expect(result.stdout).toMatch(/verify\s+equal/);
    // A directory that is not a demo's is never clobbered.
    const refused = await txclone(['demo', '--dir', path.join(dir, 'store')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/is not a txclone demo directory/);
  }, 300_000);
});
