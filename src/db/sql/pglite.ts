import { PGlite } from '@electric-sql/pglite';
import { DirectoryLock } from './lock';
import { INT8_OID, parseInt8, type SqlDriver, type SqlQueryable } from './driver';

export interface PGliteDriverOptions {
  /** A directory on disk, or undefined for memory. */
  dataDir?: string;
}

export class PGliteDriver implements SqlDriver {
  private constructor(
    private readonly db: PGlite,
    private readonly lock: DirectoryLock | null,
  ) {}

  static async open(options: PGliteDriverOptions): Promise<PGliteDriver> {
    // PGlite does not lock its directory; a second process opening it corrupts it.
    const lock = options.dataDir ? await DirectoryLock.acquire(options.dataDir) : null;
    try {
      const db = await PGlite.create({
        dataDir: options.dataDir,
        parsers: { [INT8_OID]: parseInt8 },
      });
      return new PGliteDriver(db, lock);
    } catch (err) {
      await lock?.release();
      throw err;
    }
  }

  async query<R>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    const result = await this.db.query<R>(sql, params as unknown[]);
    return result.rows;
  }

  async transaction<T>(fn: (q: SqlQueryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) =>
      fn({
        query: async <R>(sql: string, params?: readonly unknown[]) =>
          (await tx.query<R>(sql, params as unknown[])).rows,
      }),
    );
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  async close(): Promise<void> {
    try {
      if (!this.db.closed) await this.db.close();
    } finally {
      await this.lock?.release();
    }
  }
}
