/**
 * A PostgreSQL server of a test's own, which it may stop, restart and kill without harming
 * the tests that share the server at 127.0.0.1:5432: initdb into a temporary directory,
 * pg_ctl on a free loopback port, trust auth. As root, the server runs as the `postgres`
 * user (PostgreSQL refuses to run as root).
 *
 * privatePostgres() resolves to null, with the reason, where that cannot be done: no
 * PostgreSQL binaries (POSTGRES_BIN or /usr/lib/postgresql/<version>/bin), or root without a
 * `postgres` user. A test skips then, saying why.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:PORT/test`, without a schema. */
  readonly url: string;
  readonly port: number;
  /** A URL of a schema of this server (one logical txclone database). */
  schemaUrl(schema: string): string;
  /** Stops the server (fast shutdown: connections are terminated), waits `downMs`, starts it again. */
  restart(downMs?: number): Promise<{ stoppedAt: number; startedAt: number }>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** The server's log so far. */
  log(): Promise<string>;
  close(): Promise<void>;
}

export type PrivatePostgresResult = { server: PrivatePostgres; reason: null } | { server: null; reason: string };

function findBin(): string | null {
  const fromEnv = process.env.POSTGRES_BIN;
  if (fromEnv) return existsSync(path.join(fromEnv, 'pg_ctl')) ? fromEnv : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0]!, 'bin') : null;
}

function userIds(name: string): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function privatePostgres(): Promise<PrivatePostgresResult> {
  const bin = findBin();
  if (!bin) return { server: null, reason: 'no PostgreSQL binaries (set POSTGRES_BIN, or install them under /usr/lib/postgresql/<version>/bin)' };
  const root = process.getuid?.() === 0;
  const owner = root ? userIds('postgres') : null;
  if (root && !owner) return { server: null, reason: 'running as root without a `postgres` user to run a server as' };

  const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
  if (owner) {
    await chown(dir, owner.uid, owner.gid);
    await chmod(dir, 0o700);
  }
  const port = await freePort();
  const pgctl = (...args: string[]) => run(path.join(bin, 'pg_ctl'), ['-D', data, ...args], { ...as, timeout: 120_000 });
  try {
    await run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], { ...as, timeout: 120_000 });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return { server: null, reason: `initdb failed: ${(err as Error).message}` };
  }
  // Small and quick: no fsync (a test server), a socket directory of its own.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c shared_buffers=16MB -c max_connections=40`;
  const start = async () => void (await pgctl('-o', options, '-l', logFile, '-w', '-t', '60', 'start'));
  const stop = async () => void (await pgctl('-m', 'fast', '-w', '-t', '60', 'stop'));
  try {
    await start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return { server: null, reason: `pg_ctl start failed: ${(err as Error).message}` };
  }
  const url = `postgres://postgres@127.0.0.1:${port}/test`;
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('create database test');
  await admin.end();

  let closed = false;
  const server: PrivatePostgres = {
    url,
    port,
    schemaUrl(schema) {
      return `${url}?schema=${encodeURIComponent(schema)}`;
    },
    async restart(downMs = 0) {
      await stop();
      const stoppedAt = Date.now();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await start();
      return { stoppedAt, startedAt: Date.now() };
    },
    stop,
    start,
    async log() {
      const { readFile } = await import('node:fs/promises');
      return readFile(logFile, 'utf8').catch(() => '');
    },
    async close() {
      if (closed) return;
      closed = true;
      await pgctl('-m', 'immediate', '-w', 'stop').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return { server, reason: null };
}
