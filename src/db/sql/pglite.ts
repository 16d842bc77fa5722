import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { INT8_OID, parseInt8, quoteIdent, type SqlDriver, type SqlQueryable } from './driver';
import { DatabaseDiskFullError } from '../errors';
import { DirectoryLock } from './lock';

/** PostgreSQL's disk_full. */
const DISK_FULL = '53100';

export interface PGliteDriverOptions {
  /** A directory on disk, or undefined for memory. */
  dataDir?: string;
  schema: string;
}

/**
 * PostgreSQL's shared buffers inside PGlite's WebAssembly memory, which never shrinks: its
 * default costs about 115 MB of RSS more than this, for no gain measured in txclone's work.
 */
const SHARED_BUFFERS = '32MB';

/** A PGlite instance that parses int8 the way the drivers agree on. */
export async function createPGlite(dataDir?: string): Promise<PGlite> {
  if (dataDir && !existsSync(path.join(dataDir, 'PG_VERSION'))) await initializeDataDir(dataDir);
  return PGlite.create({
    dataDir,
    parsers: { [INT8_OID]: parseInt8 },
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`],
  });
}

/**
 * Creates a new data directory in a child process: PGlite's initdb grows the WebAssembly
 * memory by about 500 MB, which would stay in this process's RSS for its whole life.
 */
async function initializeDataDir(dataDir: string): Promise<void> {
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = `require(${JSON.stringify(pglite)}).PGlite.create({ dataDir: process.argv[1] }).then((db) => db.close())`;
  try {
    await promisify(execFile)(process.execPath, ['-e', script, dataDir], { timeout: 120_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`cannot create the PGlite data directory ${dataDir}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

export class PGliteDriver implements SqlDriver {
  readonly autovacuum = false;

  private constructor(
    private readonly db: PGlite,
    readonly schema: string,
    /** Owned: the driver closes the instance (and releases the directory lock). */
    private readonly owned: { lock: DirectoryLock | null } | null,
    /** The data directory, for errors; undefined in memory. */
    private readonly dataDir?: string,
  ) {}

  /** Opens its own PGlite instance, locking its directory for this process. */
  static async open(options: PGliteDriverOptions): Promise<PGliteDriver> {
    // PGlite does not lock its directory; a second process opening it corrupts it.
    const lock = options.dataDir ? await DirectoryLock.acquire(options.dataDir) : null;
    let db: PGlite | undefined;
    try {
      db = await createPGlite(options.dataDir);
      await db.exec(`set search_path to ${quoteIdent(options.schema)}`);
      return new PGliteDriver(db, options.schema, { lock }, options.dataDir);
    } catch (err) {
      await db?.close().catch(() => undefined);
      await lock?.release();
      throw err;
    }
  }

  /**
   * A driver over an instance the caller keeps (close() leaves it open), so that several
   * logical databases can share one instance. Every statement runs in a transaction that
   * sets its search_path, since the instance has one session.
   */
  static shared(db: PGlite, schema: string): PGliteDriver {
    return new PGliteDriver(db, schema, null);
  }

  async query<R>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    if (!this.owned) return this.transaction((q) => q.query<R>(sql, params));
    try {
      return (await this.db.query<R>(sql, params as unknown[])).rows;
    } catch (err) {
      throw this.explain(err);
    }
  }

  async transaction<T>(fn: (q: SqlQueryable) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(async (tx) => {
        if (!this.owned) await tx.exec(`set local search_path to ${quoteIdent(this.schema)}`);
        return fn({
          query: async <R>(sql: string, params?: readonly unknown[]) => (await tx.query<R>(sql, params as unknown[])).rows,
          // PGlite reads COPY input from a blob it names /dev/blob.
          copyFrom: async (sql: string, data: string) => {
            await tx.query(sql.replace(/from stdin$/i, `from '/dev/blob'`), [], { blob: new Blob([data]) });
          },
        });
      });
    } catch (err) {
      throw this.explain(err);
    }
  }

  /** A full disk (SQLSTATE 53100) names the data directory; other errors pass as they are. */
  private explain(err: unknown): unknown {
    if ((err as { code?: unknown }).code !== DISK_FULL) return err;
    const where = this.dataDir ?? 'memory';
    return new DatabaseDiskFullError(
      `pglite://${where}: no space left on the file system holding ${where} (${(err as Error).message}); ` +
        `the transaction was rolled back: free space and run the command again, it resumes`,
      where,
      { cause: err },
    );
  }

  /** PGlite's own in-process LISTEN: it delivers what pg_notify sends in this instance. */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.db.listen(channel, onNotify);
    return async () => {
      if (!this.db.closed) await unlisten();
    };
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    try {
      if (!this.db.closed) await this.db.close();
    } finally {
      await this.owned.lock?.release();
    }
  }
}
