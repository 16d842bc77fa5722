import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatomDatabase, type DatomDatabaseOptions } from './datom-db';
import { DatabaseOpenError } from './errors';
import { PGliteDriver } from './sql/pglite';
import { PostgresDriver, quoteIdent } from './sql/postgres';
import type { Database } from './types';

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export type DatabaseLocation =
  | { kind: 'pglite'; dataDir: string | undefined; schema: string; display: string }
  | { kind: 'postgres'; connectionString: string; schema: string; display: string };

/**
 * Parses a database URL:
 *   pglite:memory, pglite:///abs/dir, pglite://./relative/dir, pglite:relative/dir
 *   postgres://user@host:port/dbname?schema=NAME (postgresql:// too)
 */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  const fail = (why: string): never => {
    throw new DatabaseOpenError(`invalid database URL ${JSON.stringify(url)}: ${why}`);
  };
  if (url.startsWith('pglite:')) {
    const rest = url.slice('pglite:'.length);
    const [pathPart, query = ''] = rest.split('?', 2) as [string, string?];
    const schema = new URLSearchParams(query).get('schema') ?? 'public';
    if (!SCHEMA_NAME.test(schema)) fail(`schema ${JSON.stringify(schema)} is not a plain SQL identifier`);
    if (pathPart === 'memory' || pathPart === '//memory') return { kind: 'pglite', dataDir: undefined, schema, display: url };
    let dir: string;
    if (pathPart.startsWith('///')) dir = fileURLToPath('file://' + pathPart.slice(2));
    else if (pathPart.startsWith('//')) dir = resolve(decodeURIComponent(pathPart.slice(2)));
    else dir = resolve(decodeURIComponent(pathPart));
    if (!pathPart || dir === resolve('')) fail('no directory given (use pglite:memory for an in-memory database)');
    return { kind: 'pglite', dataDir: dir, schema, display: `pglite://${dir}` };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return fail('not a valid URL');
    }
    const schema = parsed.searchParams.get('schema') ?? 'public';
    if (!SCHEMA_NAME.test(schema)) fail(`schema ${JSON.stringify(schema)} is not a plain SQL identifier`);
    parsed.searchParams.delete('schema');
    const display = new URL(parsed.toString());
    if (display.password) display.password = '***';
    return { kind: 'postgres', connectionString: parsed.toString(), schema, display: `${display.toString()}${display.search ? '&' : '?'}schema=${schema}` };
  }
  return fail('expected pglite:memory, pglite:///dir or postgres://user@host:port/db?schema=NAME');
}

/** Opens (creating when new) the datom database at url. close() releases everything. */
export async function openDatabase(url: string, options: DatomDatabaseOptions = {}): Promise<Database> {
  const location = parseDatabaseUrl(url);
  if (location.kind === 'pglite') {
    const driver = await PGliteDriver.open({ dataDir: location.dataDir });
    try {
      await driver.exec(`create schema if not exists ${quoteIdent(location.schema)}; set search_path to ${quoteIdent(location.schema)}`);
    } catch (err) {
      await driver.close();
      throw err;
    }
    return DatomDatabase.open(location.display, driver, options);
  }
  const driver = new PostgresDriver({ connectionString: location.connectionString, schema: location.schema });
  try {
    await driver.exec(`create schema if not exists ${quoteIdent(location.schema)}`);
  } catch (err) {
    await driver.close();
    throw new DatabaseOpenError(`cannot open database ${location.display}: ${(err as Error).message}`, { cause: err });
  }
  return DatomDatabase.open(location.display, driver, options);
}
