// Encryption at rest through the command line, as a user runs it: sealed backups and
// exports, the store's own commands without keys, restores with the right, a wrong and no
// key, rotation, encrypting a clear store into another one. Every output of every command
// (stdout, stderr, JSON logs at debug level, help, error messages and stack traces) is
// scanned for the keys in every spelling: none may appear.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibraryWorkload } from '../../src/workload';
import { openDatabase } from '../../src/db/open';
import { segmentKey } from '../../src/stores/keys';
import { startTxclone, txclone, until, type RunResult } from './support';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
/** Every way a key could be printed. */
const SPELLINGS = [K1, K2].flatMap((k) => [k.toString('base64'), k.toString('base64').replace(/=+$/, ''), k.toString('base64url'), k.toString('hex'), k.toString('latin1')]);

let dir: string;
let source: string;
let store: string;
let keyFile: string;
const ONE_KEY = { TXCLONE_ENCRYPTION_KEYS: `k1=${K1.toString('base64')}`, TXCLONE_LOG_LEVEL: 'debug' };
const outputs: string[] = [];

/** Runs the CLI and checks that nothing it printed holds a key. */
async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const result = await txclone(args, env);
  expectNoKey(`${result.stdout}\n${result.stderr}`);
  return result;
}

function expectNoKey(text: string): void {
  outputs.push(text);
  for (const spelling of SPELLINGS) expect(text.includes(spelling), `a key appears in:\n${text}`).toBe(false);
}

const at = (...parts: string[]) => path.join(dir, ...parts);
const firstLine = async (file: string) => JSON.parse((await readFile(file)).subarray(0, (await readFile(file)).indexOf(0x0a)).toString());

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-sealed-cli-'));
  source = `pglite:${at('source')}`;
  store = at('store');
  keyFile = at('keys');
  await writeFile(keyFile, `# k2 seals from now on\nk1=${K1.toString('base64')}\nk2=${K2.toString('base64')}\n`, { mode: 0o600 });
  const db = await openDatabase(source);
  await new LibraryWorkload({ seed: 8, stageEvery: 40 }).run(db, 120, 20);
  await db.close();
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('txclone with encryption keys', () => {
  it('backup seals every segment; list, verify and gaps work without keys; inspect needs the key', async () => {
    const backup = await run(['backup', '--source', source, '--store', store, '--db', 'lib', '--segment-txns', '40'], ONE_KEY);
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/backup: t=1\.\.120, 3 segments/);
    const file = path.join(store, segmentKey('lib', 1, 40));
    expect(await firstLine(file)).toMatchObject({ format: 'txclone.sealed-segment', keyId: 'k1', database: 'lib', startT: 1, endT: 40 });
    // HEAD stays readable.
    expect(await readFile(path.join(store, 'lib', 'HEAD.edn'), 'utf8')).toContain(':end-t 120');

    const list = await run(['segments', 'list', '--store', store, '--db', 'lib']);
    expect(list.code).toBe(0);
    expect(list.stdout.trim().split('\n')).toHaveLength(3);
    const verify = await run(['segments', 'verify', '--store', store, '--db', 'lib']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/3 segments, \d+ bytes, t=1\.\.120\nok/);
    const gaps = await run(['gaps', '--store', store, '--db', 'lib']);
    expect(gaps.code).toBe(0);
    expect(gaps.stdout).toBe('no gaps\n');

    const blind = await run(['segments', 'inspect', '41-80', '--store', store, '--db', 'lib']);
    expect(blind.code).toBe(1);
    expect(blind.stderr).toMatch(/segment .*lib 41-80: is sealed with key "k1", and no encryption keys are configured/);
    const inspect = await run(['segments', 'inspect', '41-80', '--store', store, '--db', 'lib'], ONE_KEY);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toMatch(/^;; sealed with key "k1" \(AES-256-GCM\)\n/);
    expect(inspect.stdout).toContain(':start-t 41');
  }, 300_000);

  it('restore with the key is exact; with a wrong or a missing key it names the key id and the segment and applies nothing', async () => {
    const target = `pglite:${at('target')}`;
    const restore = await run(['restore', '--target', target, '--store', store, '--db', 'lib'], ONE_KEY);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toMatch(/restore: t=0 -> t=120, 120 transactions/);
    expect((await run(['verify-replica', '--source', source, '--target', target])).stdout).toMatch(/^equal: source t=120/);

    const other = `pglite:${at('other')}`;
    const wrong = await run(['restore', '--target', other, '--store', store, '--db', 'lib', '--verbose'], { ...ONE_KEY, TXCLONE_ENCRYPTION_KEYS: `k1=${K2.toString('base64')}` });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`${segmentKey('lib', 1, 40)}: is sealed with key "k1", but the key ring's "k1" is a different key`);
    const onlyK2 = await run(['restore', '--target', other, '--store', store, '--db', 'lib'], { TXCLONE_ENCRYPTION_KEYS: `k2=${K2.toString('base64')}` });
    expect(onlyK2.code).toBe(1);
    expect(onlyK2.stderr).toContain(`${segmentKey('lib', 1, 40)}: is sealed with key "k1", and the key ring holds only k2`);
    expect(JSON.parse((await run(['status', '--target', other, '--db', 'lib', '--json'])).stdout)).toMatchObject({ targetPositionT: 0 });
  }, 300_000);

  it('refuses malformed keys before anything runs, naming the key id, never the key', async () => {
    const key = K1.toString('base64');
    const short = await run(['restore', '--target', `pglite:${at('never')}`, '--store', store, '--db', 'lib'], { TXCLONE_ENCRYPTION_KEYS: `k1=${key.slice(0, 40)}` });
    expect(short.code).toBe(2);
    expect(short.stderr).toBe('txclone: TXCLONE_ENCRYPTION_KEYS: entry 1: key "k1" is 30 bytes, expected 32 (make one with: openssl rand -base64 32)\n');
    expect(short.stderr).not.toContain(key.slice(0, 40));
    const bare = await run(['export', '--source', source, '--store', store, '--db', 'lib'], { TXCLONE_ENCRYPTION_KEYS: K1.toString('base64url') });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toBe('txclone: TXCLONE_ENCRYPTION_KEYS: entry 1 is not id=base64key\n');
    const openFile = at('keys-readable');
    await writeFile(openFile, await readFile(keyFile), { mode: 0o644 });
    const undecided = await run(['export', '--source', source, '--store', store, '--db', 'lib', '--encryption-key-file', openFile]);
    expect(undecided.code).toBe(2);
    expect(undecided.stderr).toMatch(/several keys and none is active: name the one that seals new segments with --encryption-key-id/);
    expect(undecided.stderr).toContain('the key file can be read by others than its owner: chmod 600 it');
    const unknown = await run(['export', '--source', source, '--store', store, '--db', 'lib', '--encryption-key-file', keyFile, '--encryption-key-id', 'k3']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('txclone: key ring: the active key "k3" is not in the ring (it holds k1, k2)\n');
    expect(existsNone(await readdir(path.join(store, 'lib', 'segments')))).toBe(true);
  }, 300_000);

  it('rotation: new segments are sealed with the new active key, a ring with both reads all; encrypt re-seals into another store', async () => {
    const db = await openDatabase(source);
    await new LibraryWorkload({ seed: 9, stageEvery: 40 }).run(db, 40, 20);
    await db.close();
    const rotated = { TXCLONE_ENCRYPTION_KEY_FILE: keyFile, TXCLONE_ENCRYPTION_KEY_ID: 'k2', TXCLONE_LOG_LEVEL: 'debug' };
    const exported = await run(['export', '--source', source, '--store', store, '--db', 'lib', '--max-txns', '40'], rotated);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/export: t=121\.\.160, 1 segments/);
    expect(await firstLine(path.join(store, segmentKey('lib', 121, 160)))).toMatchObject({ keyId: 'k2' });

    const target = `pglite:${at('target')}`;
    const caughtUp = await run(['restore', '--target', target, '--store', store, '--db', 'lib'], rotated);
    expect(caughtUp.code).toBe(0);
    expect(caughtUp.stdout).toMatch(/restore: t=120 -> t=160, 40 transactions/);

    const sealed = at('store-k2');
    const encrypt = await run(['segments', 'encrypt', '--store', store, '--to', sealed, '--db', 'lib'], rotated);
    expect(encrypt.code).toBe(0);
    expect(encrypt.stdout).toMatch(/encrypt: 4 segments sealed with key "k2" and verified in .*store-k2 \(4 written, 0 already there\)/);
    const again = await run(['segments', 'encrypt', '--store', store, '--to', sealed, '--db', 'lib'], rotated);
    expect(again.stdout).toMatch(/\(0 written, 4 already there\)/);
    const self = await run(['segments', 'encrypt', '--store', store, '--to', store, '--db', 'lib'], rotated);
    expect(self.code).toBe(2);
    expect(self.stderr).toMatch(/--to names the store itself/);

    const fresh = `pglite:${at('fresh')}`;
    const onlyK2 = { TXCLONE_ENCRYPTION_KEYS: `k2=${K2.toString('base64')}`, TXCLONE_LOG_LEVEL: 'debug' };
    expect((await run(['restore', '--target', fresh, '--store', sealed, '--db', 'lib'], onlyK2)).code).toBe(0);
    expect((await run(['verify-replica', '--source', source, '--target', fresh])).stdout).toMatch(/^equal: source t=160/);
  }, 300_000);

  it('replicate --no-queue seals and opens segments, and logs no key', async () => {
    const live = at('live-store');
    const service = startTxclone(
      ['replicate', '--no-queue', '--source', source, '--target', `pglite:${at('live')}`, '--store', live, '--db', 'lib', '--interval', '200'],
      { ...ONE_KEY, TXCLONE_LOG_LEVEL: 'debug' },
    );
    try {
      await until(async () => service.output().includes('"toT":160'), 90_000, 'the replica to reach t=160');
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    expectNoKey(service.output());
    expect(await firstLine(path.join(live, segmentKey('lib', 1, 160)))).toMatchObject({ keyId: 'k1' });
  }, 300_000);

  it('no help text holds a key, and the help says where keys come from', async () => {
    const env = { TXCLONE_ENCRYPTION_KEYS: `k1=${K1.toString('base64')}` };
    for (const command of [['backup'], ['restore'], ['replicate'], ['segments', 'encrypt']]) {
      const help = await run([...command, '--help'], env);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('TXCLONE_ENCRYPTION_KEYS');
      expect(help.stdout).toContain('--encryption-key-file');
    }
    expect(outputs.length).toBeGreaterThan(25);
  }, 300_000);
});

/** Nothing but segment files and their sidecars: no temporary or half-written file. */
function existsNone(files: string[]): boolean {
  return files.every((f) => /^\d{20}-\d{20}\.seg(\.sha256)?$/.test(f));
}
