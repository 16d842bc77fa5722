// Clone mode through the CLI: restore --mode clone, status shows roles, verify-replica
// compares logs, a clone refuses writes until `txclone promote`.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadOnlyCloneError } from '../../src/db/errors';
import { openDatabase } from '../../src/db/open';
import { LibraryWorkload } from '../../src/workload';
import { txclone } from './support';

let dir: string;
let source: string;
let store: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-cli-clone-'));
  source = `pglite:${path.join(dir, 'source')}`;
  store = path.join(dir, 'store');
  const db = await openDatabase(source);
  await new LibraryWorkload({ seed: 9, stageEvery: 50 }).run(db, 200, 25);
  await db.close();
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('txclone clone mode', () => {
  it('restore --mode clone, status, verify-replica, promote', async () => {
    expect((await txclone(['backup', '--source', source, '--store', store, '--db', 'lib', '--segment-txns', '50'])).code).toBe(0);
    const target = `pglite:${path.join(dir, 'clone')}`;
    const restore = await txclone(['restore', '--mode', 'clone', '--bulk-load-min-txns', '10', '--target', target, '--store', store, '--db', 'lib']);
    expect(restore.stderr).toMatch(/initial load finished|^$/);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toMatch(/restore \(clone\): t=0 -> t=200, 200 transactions/);

    const status = await txclone(['status', '--source', source, '--store', store, '--target', target, '--db', 'lib']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/source role +primary/);
    expect(status.stdout).toMatch(/target role +clone of lib\n/);
    expect(status.stdout).toMatch(/target position t=200/);

    const verify = await txclone(['verify-replica', '--source', source, '--target', target]);
    expect(verify.stdout).toMatch(/^logs equal: t=1\.\.200, 200 transactions/);
    expect(verify.code).toBe(0);

    // Remap mode into a clone is refused with a clear error.
    const remap = await txclone(['restore', '--target', target, '--store', store, '--db', 'lib']);
    expect(remap.code).toBe(1);
    expect(remap.stderr).toMatch(/is a clone of "lib": restore it with --mode clone/);

    let db = await openDatabase(target);
    await expect(db.transact([{ ':author/name': 'New' }])).rejects.toBeInstanceOf(ReadOnlyCloneError);
    await db.close();

    const promote = await txclone(['promote', '--target', target]);
    expect(promote.code).toBe(0);
    expect(promote.stdout).toMatch(/was a clone of lib at t=200; it is a primary now/);
    db = await openDatabase(target);
    expect((await db.transact([{ ':author/name': 'New' }])).t).toBe(201);
    await db.close();
    const after = await txclone(['status', '--target', target, '--db', 'lib', '--json']);
    expect(JSON.parse(after.stdout).targetRole).toEqual({ role: 'primary', cloneOf: 'lib', loading: false, fence: null });
    const again = await txclone(['restore', '--mode', 'clone', '--target', target, '--store', store, '--db', 'lib']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is a primary at t=201 \(a promoted clone of "lib"\)/);
  });
});
