import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { INT8_OID, parseInt8, quoteIdent, type SqlDriver, type SqlQueryable } from './driver';

export interface PostgresDriverOptions {
  connectionString: string;
  /** Set as search_path on every connection. */
  schema: string;
  maxConnections?: number;
}

export class PostgresDriver implements SqlDriver {
  private readonly pool: pg.Pool;
  readonly schema: string;
  readonly autovacuum = true;
  private readonly connectionString: string;

  constructor(options: PostgresDriverOptions) {
    this.schema = options.schema;
    this.connectionString = options.connectionString;
    // Type parsers belong to this pool, not to the pg module (no global state).
    const types = {
      getTypeParser: (oid: number, format?: string) =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as 'text'),
    };
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 4,
      types: types as pg.CustomTypesConfig,
      options: `-c search_path=${quoteIdent(options.schema)}`,
    });
    // An idle client's error (the server restarting) must not crash the process.
    this.pool.on('error', () => undefined);
  }

  async query<R>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    const result = await this.pool.query(sql, params as unknown[]);
    return result.rows as R[];
  }

  async transaction<T>(fn: (q: SqlQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    // A checked-out client's connection can die (the server restarts, an admin kills it):
    // the pool listens only to idle clients, and an 'error' nobody listens to crashes the
    // process. The query in flight fails with the same error, which is what the caller sees.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('begin');
      const result = await fn({
        query: async <R>(sql: string, params?: readonly unknown[]) =>
          (await client.query(sql, params as unknown[])).rows as R[],
        copyFrom: async (sql: string, data: string) => {
          await pipeline(Readable.from([data]), client.query(copyFromStdin(sql)));
        },
      });
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.off('error', onError);
      // A client whose connection died or whose rollback failed is in an unknown state: discard it.
      client.release(broken);
    }
  }

  /**
   * A session of its own (LISTEN holds a connection) that reconnects every second while
   * the server is away, then reports '' since notifications were missed.
   */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    let client: pg.Client | null = null;
    let closed = false;
    let retry: NodeJS.Timeout | null = null;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.connectionString });
      c.on('notification', (message) => {
        if (message.channel === channel) onNotify(message.payload ?? '');
      });
      c.on('error', () => reconnect(c));
      c.on('end', () => reconnect(c));
      try {
        await c.connect();
        await c.query(`listen ${quoteIdent(channel)}`);
      } catch (err) {
        await c.end().catch(() => undefined);
        throw err;
      }
      if (closed) await c.end().catch(() => undefined);
      else client = c;
    };
    const reconnect = (from: pg.Client) => {
      if (closed || retry || (client !== null && client !== from)) return;
      client = null;
      retry = setTimeout(() => {
        retry = null;
        connect().then(
          () => onNotify(''),
          () => reconnect(from),
        );
      }, 1000);
    };
    await connect();
    return async () => {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

