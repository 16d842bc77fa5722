// Fresh databases on both drivers. PGlite takes seconds to initialize, so the PGlite
// fixture keeps one in-memory instance and gives each database its own SQL schema in it;
// the PostgreSQL fixture gives each its own schema on the test server and drops it after.
import type { PGlite } from '@electric-sql/pglite';
import { DatomDatabase, openDatabase, type DatomDatabaseOptions } from '../../src/db';
import { PGliteDriver, createPGlite } from '../../src/db/sql/pglite';
import type { Database } from '../../src/db/types';
import { freshSchema, startPostgres, type PostgresTestServer, type TestSchema } from '../support/postgres';

export interface DatabaseFixture {
  readonly driver: 'pglite' | 'postgres';
  /** A new, empty database. */
  open(options?: DatomDatabaseOptions): Promise<Database>;
  /** Closes every database it opened and drops what it created. */
  close(): Promise<void>;
}

export type FixtureFactory = () => Promise<DatabaseFixture>;

export const FIXTURES: Array<[DatabaseFixture['driver'], FixtureFactory]> = [
  ['pglite', pgliteFixture],
  ['postgres', postgresFixture],
];

export async function pgliteFixture(): Promise<DatabaseFixture> {
  const instance: PGlite = await createPGlite();
  const opened: Database[] = [];
  let schemas = 0;
  return {
    driver: 'pglite',
    async open(options) {
      const schema = `db_${++schemas}`;
      const db = await DatomDatabase.open(`pglite:memory?schema=${schema}`, PGliteDriver.shared(instance, schema), options);
      opened.push(db);
      return db;
    },
    async close() {
      for (const db of opened) await db.close();
      await instance.close();
    },
  };
}

export async function postgresFixture(): Promise<DatabaseFixture> {
  const server: PostgresTestServer = await startPostgres();
  const opened: Database[] = [];
  const schemas: TestSchema[] = [];
  return {
    driver: 'postgres',
    async open(options) {
      const schema = freshSchema(server);
      schemas.push(schema);
      const db = await openDatabase(schema.url, options);
      opened.push(db);
      return db;
    },
    async close() {
      for (const db of opened) await db.close().catch(() => undefined);
      for (const schema of schemas) await schema.drop();
      await server.close();
    },
  };
}

/** Everything a stream yields. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}
