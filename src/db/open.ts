import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatomDatabase, type DatomDatabaseOptions } from './datom-db';
import { DatabaseOpenError } from './errors';
import { SCHEMA_NAME } from './sql/driver';
import type { Database } from './types';

/** A parsed database URL: a PGlite directory (or memory) or a PostgreSQL server, with its SQL schema. */
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
    throw new DatabaseOpenError(`invalid database URL ${JSON.stringify(withoutPassword(url))}: ${why}`);
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
    const shown = `${display.toString()}${display.search ? '&' : '?'}schema=${schema}`;
    return { kind: 'postgres', connectionString: parsed.toString(), schema, display: shown };
  }
  return fail('expected pglite:memory, pglite:///dir or postgres://user@host:port/db?schema=NAME');
}

/** The URL as errors show it: a password replaced by ***, even in a URL that does not parse. */
function withoutPassword(url: string): string {
  // scheme://user:password@host: everything between the first ':' after '//' and the last '@' of the authority.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#:@]*):.*@/i, '$1:***@');
}

/** Opens (creating when new) the datom database at url. close() releases everything. */
export async function openDatabase(url: string, options: DatomDatabaseOptions = {}): Promise<Database> {
  const location = parseDatabaseUrl(url);
  // Each driver is loaded when first opened: PGlite's module alone takes about 45 MB, and a
  // process that only uses PGlite never loads pg.
  const driver =
    location.kind === 'pglite'
      ? await (await import('./sql/pglite')).PGliteDriver.open({ dataDir: location.dataDir, schema: location.schema })
      : new (await import('./sql/postgres')).PostgresDriver({ connectionString: location.connectionString, schema: location.schema });
  return DatomDatabase.open(location.display, driver, options);
}
