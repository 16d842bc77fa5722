// The SQL drivers behind the datom database: PGlite (embedded) and node-postgres.
// Both hand the rest of the code the same values: int8 as a JS number.

export interface SqlQueryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** `copy <table> (<columns>) from stdin` with data in COPY's text format; inside a transaction. */
  copyFrom?(sql: string, data: string): Promise<void>;
}

export interface SqlDriver extends SqlQueryable {
  /** The SQL schema holding the database's tables; every statement runs with it as search_path. */
  readonly schema: string;
  /** Whether something else vacuums the tables (a server's autovacuum); PGlite has nothing that does. */
  readonly autovacuum: boolean;
  /** Runs fn inside one SQL transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (q: SqlQueryable) => Promise<T>): Promise<T>;
  /**
   * LISTENs on channel until the returned function is called: onNotify gets each
   * notification's payload, and '' after the listening session reconnected (notifications
   * may have been missed meanwhile). Absent where the database cannot notify.
   */
  listen?(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export const INT8_OID = 20;

/** int8 as a number: every int8 the database stores (ids, t, ms) is a safe integer. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 ${text} is outside the safe integer range`);
  return n;
}

export const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}
