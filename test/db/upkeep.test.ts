// The database analyzes its tables as it writes them (PGlite has no autovacuum, a server
// may run with it off, and without statistics PostgreSQL scans whole tables), and on PGlite
// vacuums them too.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DatomDatabase, type DatomDatabaseOptions } from '../../src/db/datom-db';
import { createPGlite, PGliteDriver } from '../../src/db/sql/pglite';
import { PostgresDriver } from '../../src/db/sql/postgres';
import type { Database, TxOp } from '../../src/db/types';
import { freshPostgresUrl } from '../support/postgres';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Writes `count` datoms in batches, as a restore does. */
async function write(db: Database, count: number): Promise<void> {
  await db.transact([{ ':db/ident': ':item/n', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' }]);
  for (let n = 0; n < count; ) {
    const requests = [];
    for (let i = 0; i < 50 && n < count; i++) {
      const ops: TxOp[] = [];
      for (let j = 0; j < 20; j++, n++) ops.push({ ':item/n': n });
      requests.push({ ops });
    }
    await db.transactBatch(requests);
  }
}

interface Opened {
  db: Database;
  /** The planner's row estimate of a table: -1 when never analyzed. */
  reltuples(table: string): Promise<number>;
  /** The same database opened again. */
  reopen(options: DatomDatabaseOptions): Promise<Database>;
  /** A query on the database's server, and the database's SQL schema. */
  sql<R>(text: string, params: unknown[]): Promise<R[]>;
  schema: string;
}

const ESTIMATE = `select c.reltuples::float8 as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = $1 and c.relname = $2`;

async function openPGlite(options: DatomDatabaseOptions): Promise<Opened> {
  const pglite = await createPGlite();
  closers.push(() => pglite.close());
  const db = await DatomDatabase.open('pglite:memory', PGliteDriver.shared(pglite, 'main'), options);
  return {
    db,
    reltuples: async (table) => (await pglite.query<{ n: number }>(ESTIMATE, ['main', table])).rows[0]!.n,
    reopen: (again) => DatomDatabase.open('pglite:memory', PGliteDriver.shared(pglite, 'main'), again),
    sql: async <R>(text: string, params: unknown[]) => (await pglite.query<R>(text, params)).rows,
    schema: 'main',
  };
}

async function openPostgres(options: DatomDatabaseOptions): Promise<Opened> {
  const url = new URL(await freshPostgresUrl());
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  const open = async (again: DatomDatabaseOptions) => {
    const db = await DatomDatabase.open('postgres', new PostgresDriver({ connectionString: url.toString(), schema }), again);
    closers.push(() => db.close());
    return db;
  };
  const db = await open(options);
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  closers.push(() => client.end());
  return {
    db,
    reltuples: async (table) => (await client.query(ESTIMATE, [schema, table])).rows[0].n,
    reopen: open,
    sql: async <R>(text: string, params: unknown[]) => (await client.query(text, params)).rows as R[],
    schema,
  };
}

describe.each([
  ['PGlite', openPGlite],
  ['PostgreSQL', openPostgres],
])('planner statistics on %s', (_name, open) => {
  it('are gathered once the tables have grown, and again as they keep growing', async () => {
    const { db, reltuples } = await open({});
    expect(await reltuples('log')).toBe(-1);
    await write(db, 5_000);
    const first = await reltuples('log');
    expect(first).toBeGreaterThanOrEqual(2_000);
    expect(await reltuples('eav')).toBeGreaterThanOrEqual(2_000);
    await write(db, 45_000);
    expect(await reltuples('log')).toBeGreaterThan(first);
    expect(await reltuples('log')).toBeGreaterThanOrEqual(20_000);
  });

  it('are gathered when a database with datoms and none is opened', async () => {
    // Written without them (as by an older txclone), then opened again.
    const { db, reltuples, reopen } = await open({ tableUpkeep: false });
    await write(db, 1_000);
    await db.close();
    await reopen({});
    expect(await reltuples('eav')).toBeGreaterThanOrEqual(1_000);
    expect(await reltuples('log')).toBeGreaterThanOrEqual(1_000);
  });
});

// PGlite only: a server's autovacuum could analyze the tables meanwhile.
it('tables are left alone when tableUpkeep is false', async () => {
  const { db, reltuples } = await openPGlite({ tableUpkeep: false });
  await write(db, 5_000);
  expect(await reltuples('log')).toBe(-1);
});

describe('vacuum', () => {
  const LAST_VACUUM = `select last_vacuum from pg_stat_user_tables where schemaname = $1 and relname = 'eav'`;

  /** Replaces the value of 1,000 entities over and over: every replacement leaves a dead row. */
  async function update(db: Database, rounds: number): Promise<void> {
    await db.transact([{ ':db/ident': ':item/n', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' }]);
    const ids: number[] = [];
    for (let i = 0; i < 1_000; i += 100) {
      const reports = await db.transactBatch(Array.from({ length: 100 }, (_, j) => ({ ops: [{ ':db/id': 'x', ':item/n': i + j }] })));
      for (const r of reports) ids.push(r.tempids.x!);
    }
    for (let round = 1; round <= rounds; round++) {
      for (let i = 0; i < ids.length; i += 100) {
        await db.transactBatch(ids.slice(i, i + 100).map((e) => ({ ops: [[':db/add', e, ':item/n', round * 10_000 + e]] as TxOp[] })));
      }
    }
  }

  it('PGlite, which has no autovacuum, vacuums its tables as updates leave dead rows', async () => {
    const driver = await PGliteDriver.open({ schema: 'main' });
    const db = await DatomDatabase.open('pglite:memory', driver, {});
    closers.push(() => db.close());
    await update(db, 20);
    const [row] = await driver.query<{ last_vacuum: Date | null }>(LAST_VACUUM, ['main']);
    expect(row!.last_vacuum).toBeInstanceOf(Date);
  });

  it('a PostgreSQL server is left to its own autovacuum', async () => {
    const { db, sql, schema } = await openPostgres({});
    await update(db, 20);
    const [row] = await sql<{ last_vacuum: Date | null }>(LAST_VACUUM, [schema]);
    expect(row!.last_vacuum).toBeNull();
  });
});
