// The PostgreSQL server restarts (a fast shutdown, two seconds down, a start) while
// `txclone restore`, `txclone export` and `txclone replicate` run against it. Each recovers
// by itself, logs how long the server was away, and the replica compares equal.
//
// The server is one of this test's own (test/support/private-postgres.ts): restarting the
// shared one would break every test running beside it. Where no private server can be
// started (no PostgreSQL binaries, or root without a postgres user), the tests are skipped
// and say why.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import type { Database } from '../../src/db/types';
import { waitOutUnavailable } from '../../src/db/unavailable';
import { readPosition } from '../../src/restore/bookkeeping';
import { compareReplica } from '../../src/restore/compare';
import { restoreAll } from '../../src/restore/restorer';
import { exportAll } from '../../src/segment/export';
import { openDirectoryStore } from '../../src/stores/directory';
import { LibraryWorkload } from '../../src/workload';
import { privatePostgres, type PrivatePostgres } from '../support/private-postgres';
import { freshRedis } from '../support/redis';
import { startTxclone } from './support';

const found = await privatePostgres();
if (found.server === null) console.warn(`PostgreSQL restart tests skipped: ${found.reason}`);
const server = found.server as PrivatePostgres;
const DOWN_MS = 2_000;
/** The bound the commands wait a server out (DEFAULT_UNAVAILABLE_WAIT_MS); recovery must come well within it. */
const BOUND_MS = 120_000;

const closers: Array<() => Promise<unknown>> = [];
let dir: string;
let source: Database;
let workload: LibraryWorkload;

beforeAll(async () => {
  if (!server) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-pg-restart-'));
  source = await openDatabase(server.schemaUrl('source'));
  workload = new LibraryWorkload({ seed: 83, stageEvery: 100 });
  await workload.run(source, 400, 25);
}, 180_000);

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await source?.close().catch(() => undefined);
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until(what: string, check: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The JSON log lines a command wrote that match msg. */
function logLines(output: string, msg: RegExp): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.msg === 'string' && msg.test(l.msg));
}

/** The recovery time a command logged: the largest of its recovery lines. */
function recoveredMs(output: string, field: 'unavailableMs' | 'recoveredAfterMs'): number {
  const lines = logLines(output, /recovered/);
  expect(lines.length, `no recovery logged:\n${output.slice(-3000)}`).toBeGreaterThan(0);
  return Math.max(...lines.map((l) => l[field] as number));
}

async function expectEqual(target: Database): Promise<void> {
  const result = await compareReplica(source, target);
  expect(result.differences).toEqual([]);
  expect(result.equal).toBe(true);
  expect(result.targetT).toBe(await source.basisT());
}

describe.skipIf(!server)('a PostgreSQL server restarting', () => {
  it('during `txclone restore`: the restore waits it out and ends exact', async () => {
    const storeDir = path.join(dir, 'restore-store');
    const store = openDirectoryStore({ path: storeDir });
    closers.push(() => store.close());
    await exportAll(source, store, 'lib', { maxTxns: 50 });
    const targetUrl = server.schemaUrl('restored');
    const target = await openDatabase(targetUrl);
    closers.push(() => target.close());

    const run = startTxclone(['restore', '--target', targetUrl, '--store', storeDir, '--db', 'lib', '--batch-txns', '2']);
    closers.push(async () => void run.child.kill('SIGKILL'));
    await until('the restore has committed', async () => (await readPosition(target, 'lib')).position >= 20).catch((err: Error) => {
      throw new Error(`${err.message}; the restore printed:\n${run.output().slice(-3000)}`);
    });
    const restart = await server.restart(DOWN_MS);
    const code = await run.exited;
    expect(code, run.output()).toBe(0);
    expect(logLines(run.output(), /database server is unavailable/).length).toBeGreaterThan(0);
    const ms = recoveredMs(run.output(), 'unavailableMs');
    expect(ms).toBeLessThan(BOUND_MS);
    await waitOutUnavailable(() => expectEqual(target), { what: 'compare' });
    console.info(`restore: server down ${restart.startedAt - restart.stoppedAt} ms; the restore recovered after ${ms} ms unavailable`);
  }, 300_000);

  it('during `txclone export`: the export waits it out, and the store restores exact', async () => {
    const storeDir = path.join(dir, 'export-store');
    const run = startTxclone(['export', '--source', server.schemaUrl('source'), '--store', storeDir, '--db', 'lib', '--max-txns', '4', '--max-tx-per-second', '150']);
    closers.push(async () => void run.child.kill('SIGKILL'));
    const segments = async () => (await readdir(path.join(storeDir, 'lib', 'segments')).catch(() => [])).filter((f) => f.endsWith('.seg')).length;
    await until('the export has written segments', async () => (await segments()) >= 5);
    const restart = await server.restart(DOWN_MS);
    const code = await run.exited;
    expect(code, run.output()).toBe(0);
    expect(await segments()).toBeLessThan(400 / 4 + 1);
    const ms = recoveredMs(run.output(), 'unavailableMs');
    expect(ms).toBeLessThan(BOUND_MS);

    const store = openDirectoryStore({ path: storeDir });
    closers.push(() => store.close());
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true, firstT: 1, lastT: await source.basisT() });
    const target = await openDatabase('pglite:memory');
    closers.push(() => target.close());
    await restoreAll(target, store, 'lib');
    await expectEqual(target);
    console.info(`export: server down ${restart.startedAt - restart.stoppedAt} ms; the export recovered after ${ms} ms unavailable`);
  }, 300_000);

  it('during `txclone replicate` (producer and consumer over Redis): both recover, and what is written after the restart replicates', async () => {
    const storeDir = path.join(dir, 'replicate-store');
    const db = `lib_${randomBytes(4).toString('hex')}`; // its own queue names in the shared Redis
    const redis = await freshRedis('pgrestart');
    const targetUrl = server.schemaUrl('replica');
    const target = await openDatabase(targetUrl);
    closers.push(() => target.close());
    const run = startTxclone([
      'replicate', '--role', 'both', '--source', server.schemaUrl('source'), '--target', targetUrl, '--store', storeDir,
      '--db', db, '--redis', redis.url, '--interval', '200', '--max-txns', '20', '--batch-txns', '5',
    ]);
    closers.push(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    });
    await until('the replica has started', async () => (await readPosition(target, db)).position >= 20);
    const restart = await server.restart(DOWN_MS);
    // New writes after the restart: they reach the replica only if both services came back.
    await waitOutUnavailable(() => workload.run(source, 60, 20), { what: 'write' });
    const basis = await source.basisT();
    await until('the replica caught up after the restart', async () => (await readPosition(target, db)).position === basis, BOUND_MS);
    const caughtUpMs = Date.now() - restart.startedAt;
    run.child.kill('SIGTERM');
    expect(await run.exited, run.output()).toBe(0);
    const output = run.output();
    expect(logLines(output, /failed/).length, 'the restart was noticed').toBeGreaterThan(0);
    const ms = recoveredMs(output, 'recoveredAfterMs');
    expect(ms).toBeLessThan(BOUND_MS);
    await waitOutUnavailable(() => expectEqual(target), { what: 'compare' });
    console.info(
      `replicate: server down ${restart.startedAt - restart.stoppedAt} ms; services logged recovery after ${ms} ms; ` +
        `the replica held t=${basis} ${caughtUpMs} ms after the server was back`,
    );
  }, 300_000);
});
