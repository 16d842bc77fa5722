/**
 * Redis for tests: REDIS_URL when set; else a container when a Docker engine answers
 * (probed for about a second); else the local server at 127.0.0.1:6379.
 *
 * Each test gets its own key prefix (so test files running in parallel never see each
 * other's queues) and its keys are deleted when it finishes. A test that must lose
 * everything (FLUSHALL, a restart) gets a Redis of its own instead: see disposableRedis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { onTestFinished } from 'vitest';
import { dockerAnswers } from './docker';

export interface TestRedis {
  readonly url: string;
  /** A key prefix no other test uses; pass it as the services' `prefix`. */
  readonly prefix: string;
}

export interface DisposableRedis extends TestRedis {
  /** 'private': a redis-server of this test's own (FLUSHALL, restart); 'database': a logical database of the shared server (FLUSHDB). */
  readonly kind: 'private' | 'database';
  /** Loses every key, as FLUSHALL or a restart without persistence would. */
  flushAll(): Promise<void>;
  /** Kills the server and starts it again on the same port (private servers only). */
  restart?(): Promise<void>;
  close(): Promise<void>;
}

const DOCKER_PROBE_MS = 1_000;
const LOCAL_URL = 'redis://127.0.0.1:6379';

let shared: Promise<string> | null = null;

/** The URL of the Redis the tests share (started once per worker). */
export function redisUrl(): Promise<string> {
  shared ??= findRedis();
  return shared;
}

/** A unique prefix on the shared Redis; called inside a test, its keys go when the test ends. */
export async function freshRedis(label = 't'): Promise<TestRedis> {
  const url = await redisUrl();
  const prefix = `txclone-test-${label}-${randomBytes(5).toString('hex')}`;
  try {
    onTestFinished(() => deleteKeys(url, prefix));
  } catch {
    // Outside a test: the caller cleans up.
  }
  return { url, prefix };
}

/** Deletes every key under prefix (BullMQ keys are `{prefix}:{queue}:...`). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => undefined); // a failed command rejects; that is what counts
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/**
 * A Redis a test may wipe without harming tests running beside it: a redis-server of its
 * own when one is installed (so the test can FLUSHALL and restart it for real), else a
 * logical database of the shared server, wiped with FLUSHDB (the same loss as far as
 * the services can tell).
 */
export async function disposableRedis(label = 'd'): Promise<DisposableRedis> {
  const binary = findOnPath('redis-server');
  const result = binary ? await startPrivate(binary, label) : await isolatedDatabase(label);
  try {
    onTestFinished(() => result.close());
  } catch {
    // Outside a test: the caller closes it.
  }
  return result;
}

async function findRedis(): Promise<string> {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  if (await dockerAnswers(DOCKER_PROBE_MS)) return startContainer();
  const err = await ping(LOCAL_URL);
  if (err) throw new Error(`no Redis for tests: REDIS_URL is not set, no Docker engine answers, and ${LOCAL_URL} refused (${err.message})`);
  return LOCAL_URL;
}

async function ping(url: string): Promise<Error | null> {
  const client = new Redis(url, { maxRetriesPerRequest: 0, lazyConnect: true, connectTimeout: 2_000, retryStrategy: () => null });
  client.on('error', () => undefined); // the rejection below reports it
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (err) {
    return err as Error;
  } finally {
    client.disconnect();
  }
}

async function startPrivate(binary: string, label: string): Promise<DisposableRedis> {
  const port = await freePort();
  let child = await spawnServer(binary, port);
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { maxRetriesPerRequest: null });
  admin.on('error', () => undefined); // refused while the server restarts; it reconnects
  return {
    kind: 'private',
    url,
    prefix: `txclone-test-${label}`,
    async flushAll() {
      await admin.flushall();
    },
    async restart() {
      await stopServer(child);
      child = await spawnServer(binary, port);
    },
    async close() {
      admin.disconnect();
      await stopServer(child);
    },
  };
}

async function isolatedDatabase(label: string): Promise<DisposableRedis> {
  const base = await redisUrl();
  const admin = new Redis(base, { maxRetriesPerRequest: 1 });
  // Databases 1..15 in turn, so that tests running together get different ones.
  const n = 1 + ((await admin.incr('txclone-test:disposable-db')) % 15);
  admin.disconnect();
  const url = new URL(base);
  url.pathname = `/${n}`;
  const client = new Redis(url.toString(), { maxRetriesPerRequest: 1 });
  const prefix = `txclone-test-${label}-${randomBytes(5).toString('hex')}`;
  return {
    kind: 'database',
    url: url.toString(),
    prefix,
    async flushAll() {
      await client.flushdb();
    },
    async close() {
      await deleteKeys(url.toString(), prefix).catch(() => undefined);
      client.disconnect();
    },
  };
}

function spawnServer(binary: string, port: number): Promise<ChildProcess> {
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
    stdio: 'ignore',
  });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5_000;
    child.once('error', reject);
    const poll = async () => {
      if ((await ping(`redis://127.0.0.1:${port}`)) === null) return resolve(child);
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        return reject(new Error(`redis-server on port ${port} did not answer within 5 s`));
      }
      setTimeout(poll, 50);
    };
    void poll();
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

async function startContainer(): Promise<string> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('redis:7-alpine')
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(60_000)
    .start();
  // Stopped by testcontainers' reaper when the worker exits.
  return `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
}
