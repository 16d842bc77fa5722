/**
 * A PostgreSQL server for tests: DATABASE_URL when set; else a container when a Docker
 * engine answers (probed for about a second); else the local server at 127.0.0.1:5432,
 * database `test`, trust auth, as user `postgres` or else the current user.
 *
 * Each test gets its own SQL schema (`?schema=t_<random>`, one logical database) and drops
 * it afterwards, so suites share the server without seeing each other.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { onTestFinished } from 'vitest';
import { dockerAnswers } from './docker';

export interface PostgresTestServer {
  readonly kind: 'external' | 'container' | 'local';
  /** A connection URL without a schema parameter. */
  readonly url: string;
  close(): Promise<void>;
}

export interface TestSchema {
  /** The database URL of the schema: url?schema=name. */
  readonly url: string;
  readonly schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

const DOCKER_PROBE_MS = 1_000;
const CONNECT_TIMEOUT_MS = 3_000;
const LOCAL_HOST = '127.0.0.1:5432';
const LOCAL_DATABASE = 'test';

export async function startPostgres(): Promise<PostgresTestServer> {
  const external = process.env.DATABASE_URL;
  if (external) return { kind: 'external', url: external, close: async () => {} };
  if (await dockerAnswers(DOCKER_PROBE_MS)) return startContainer();
  return { kind: 'local', url: await localUrl(), close: async () => {} };
}

/** A fresh schema name on the server; the database creates the schema when opened. */
export function freshSchema(server: Pick<PostgresTestServer, 'url'>, label = 't'): TestSchema {
  const schema = `${label}_${randomBytes(6).toString('hex')}`;
  const url = new URL(server.url);
  url.searchParams.set('schema', schema);
  return { url: url.toString(), schema, drop: () => dropSchema(server.url, schema) };
}

/**
 * A URL of a fresh schema on the test server, for tests that need one quickly. Called inside
 * a test, the schema is dropped when the test finishes. A container, when one is started, is
 * stopped by testcontainers' reaper when the worker exits.
 */
export async function freshPostgresUrl(): Promise<string> {
  const server = await startPostgres();
  const fresh = freshSchema(server);
  try {
    onTestFinished(() => fresh.drop());
  } catch {
    // Outside a test: the caller owns the schema.
  }
  return fresh.url;
}

export async function dropSchema(serverUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: withoutSchema(serverUrl), connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema.replace(/"/g, '""')}" cascade`);
  } finally {
    await client.end();
  }
}

function withoutSchema(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.delete('schema');
  return parsed.toString();
}

async function canConnect(url: string): Promise<Error | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return err as Error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function localUrl(): Promise<string> {
  const users = [...new Set(['postgres', os.userInfo().username])];
  const failures: string[] = [];
  for (const user of users) {
    const url = `postgres://${encodeURIComponent(user)}@${LOCAL_HOST}/${LOCAL_DATABASE}`;
    const err = await canConnect(url);
    if (!err) return url;
    failures.push(`${url}: ${err.message}`);
  }
  throw new Error(
    `no PostgreSQL for tests: DATABASE_URL is not set, no Docker engine answers, and the local server refused (${failures.join('; ')})`,
  );
}

async function startContainer(): Promise<PostgresTestServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('postgres:16-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: LOCAL_DATABASE })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .withStartupTimeout(60_000)
    .start();
  const url = `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/${LOCAL_DATABASE}`;
  return { kind: 'container', url, close: async () => void (await container.stop()) };
}
