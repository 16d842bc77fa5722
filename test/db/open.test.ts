// Opening and closing databases: URLs, the PGlite directory lock (also against a second
// process), persistence, and logical databases as schemas of one PostgreSQL database.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseOpenError, openDatabase, parseDatabaseUrl } from '../../src/db';
import { collect } from './fixtures';
import { freshSchema, startPostgres, type PostgresTestServer, type TestSchema } from '../support/postgres';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'open-child.ts');

interface ChildReport {
  opened: boolean;
  pid?: number;
  basisT?: number;
  message?: string;
}

/** Starts open-child.ts on url; resolves with the child and its first report. */
function startChild(url: string, mode?: 'hold'): Promise<{ child: ChildProcess; report: ChildReport }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, url, ...(mode ? [mode] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ child, report: JSON.parse(line!) as ChildReport });
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`open-child exited (${code}) without a report`));
    });
  });
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.on('exit', () => resolve())));

describe('database URLs', () => {
  it('parses the PGlite and PostgreSQL forms', () => {
    expect(parseDatabaseUrl('pglite:memory')).toMatchObject({ kind: 'pglite', dataDir: undefined, schema: 'public' });
    expect(parseDatabaseUrl('pglite:///var/data/x')).toMatchObject({ kind: 'pglite', dataDir: '/var/data/x' });
    expect(parseDatabaseUrl('pglite:data/x')).toMatchObject({ dataDir: path.resolve('data/x') });
    expect(parseDatabaseUrl('pglite://./data/x')).toMatchObject({ dataDir: path.resolve('data/x') });
    expect(parseDatabaseUrl('pglite:memory?schema=two')).toMatchObject({ schema: 'two' });
    const pgUrl = parseDatabaseUrl('postgres://u:secret@db.example:5433/app?schema=replica&sslmode=disable');
    expect(pgUrl).toMatchObject({ kind: 'postgres', schema: 'replica' });
    expect(pgUrl.display).not.toContain('secret');
    expect((pgUrl as { connectionString: string }).connectionString).not.toContain('schema=');
    expect(parseDatabaseUrl('postgresql://u@h/d')).toMatchObject({ kind: 'postgres', schema: 'public' });
    for (const bad of ['mysql://x', 'pglite:', 'pglite:memory?schema=a;drop', 'postgres://h/d?schema=1x', 'postgres://a b/c']) {
      expect(() => parseDatabaseUrl(bad), bad).toThrow(DatabaseOpenError);
    }
  });

  it('opens pglite:memory, and closing twice is harmless', async () => {
    const db = await openDatabase('pglite:memory');
    expect(db.location).toBe('pglite:memory');
    await db.transact([{ ':db/doc': 'x' }]);
    expect(await db.basisT()).toBe(1);
    await db.close();
    await db.close();
  });
});

describe('a PGlite directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-db-open-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps its data across close and open, and is locked while open', async () => {
    const url = `pglite://${path.join(dir, 'a')}`;
    const db = await openDatabase(url);
    const report = await db.transact([{ ':db/id': 'x', ':db/doc': 'kept' }]);
    const second = await openDatabase(url).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DatabaseOpenError);
    expect((second as Error).message).toMatch(new RegExp(`in use by process ${process.pid} \\(this process\\)`));
    await db.close();
    expect(await readdir(path.join(dir, 'a'))).not.toContain('txclone.lock');
    const again = await openDatabase(url);
    expect(await again.basisT()).toBe(1);
    expect(await again.entity(report.tempids.x!)).toEqual({ ':db/doc': 'kept' });
    expect((await collect(again.txRange(1, 1)))[0]!.tx).toBe(report.tx);
    await again.close();
  });

  it('is locked against a second process, which gets an error naming the holder, and outlives a killed holder', async () => {
    const url = `pglite:${path.join(dir, 'b')}`;
    // A child holds the directory: this process is refused, with the child named.
    const { child, report } = await startChild(url, 'hold');
    expect(report).toMatchObject({ opened: true, basisT: 1 });
    const refused = await openDatabase(url).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DatabaseOpenError);
    expect((refused as Error).message).toMatch(new RegExp(`in use by process ${child.pid} on .*open-child\\.ts`));
    // The child is killed: its lock is stale, and its committed transaction survives.
    child.kill('SIGKILL');
    await exited(child);
    const db = await openDatabase(url);
    expect(await db.basisT()).toBe(1);
    expect((await collect(db.txRange(1, 1)))[0]!.datoms.some((d) => d[2] === `written by ${child.pid}`)).toBe(true);
    // Now this process holds it: a second process is refused, with this process named.
    const other = await startChild(url);
    expect(other.report.opened).toBe(false);
    expect(other.report.message).toMatch(new RegExp(`in use by process ${process.pid} on `));
    await exited(other.child);
    await db.close();
  });
});

describe('PostgreSQL', () => {
  let server: PostgresTestServer;
  const schemas: TestSchema[] = [];
  const fresh = (label?: string) => {
    const schema = freshSchema(server, label);
    schemas.push(schema);
    return schema;
  };
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    for (const s of schemas) await s.drop();
    await server?.close();
  });

  it('keeps several logical databases in one PostgreSQL database, one schema each', async () => {
    const [a, b] = [fresh(), fresh()];
    const dbA = await openDatabase(a.url);
    const dbB = await openDatabase(b.url);
    await dbA.transact([{ ':db/doc': 'in a' }]);
    await dbA.transact([{ ':db/doc': 'in a again' }]);
    await dbB.transact([{ ':db/doc': 'in b' }]);
    expect([await dbA.basisT(), await dbB.basisT()]).toEqual([2, 1]);
    expect(dbA.location).toContain(`schema=${a.schema}`);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const tables = await client.query('select table_schema, table_name from information_schema.tables where table_schema = any($1) order by 1, 2', [[a.schema, b.schema]]);
    await client.end();
    expect(tables.rows.map((r: { table_name: string }) => r.table_name)).toEqual(['eav', 'log', 'meta', 'txs', 'eav', 'log', 'meta', 'txs']);
    await dbA.close();
    await dbB.close();
    const reopened = await openDatabase(a.url);
    expect(await reopened.basisT()).toBe(2);
    await reopened.close();
  });

  it('releases its connections on close', async () => {
    const s = fresh();
    const name = `txclone_close_${process.pid}`;
    const url = new URL(s.url);
    url.searchParams.set('application_name', name);
    const db = await openDatabase(url.toString());
    await Promise.all([db.basisT(), db.schema(), db.transact([{ ':db/doc': 'x' }])]);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const count = async () =>
      Number((await client.query('select count(*) as n from pg_stat_activity where application_name = $1', [name])).rows[0].n);
    expect(await count()).toBeGreaterThan(0);
    await db.close();
    // A backend leaves pg_stat_activity a moment after its client hangs up.
    for (let i = 0; i < 50 && (await count()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await count()).toBe(0);
    await client.end();
  });

  it('says which database it cannot open, without the password', async () => {
    const err = await openDatabase('postgres://someone:hunter2@127.0.0.1:1/nowhere?schema=x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseOpenError);
    expect((err as Error).message).toMatch(/cannot open database postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere\?schema=x/);
    expect((err as Error).message).not.toContain('hunter2');
  });
});
