// Keeps the planner's statistics of a database's tables up to date as this process writes.
//
// PostgreSQL plans a lookup such as `e = any($1)` from the table's statistics. Without any
// (a table never analyzed) it assumes each key matches 0.5% of the rows and, for a few
// hundred keys, scans the whole table: loading the entities of one restore batch took 40 ms
// instead of 5 on a million datoms. Autovacuum normally analyzes tables, but PGlite has no
// autovacuum at all and servers may run with it off. So the database analyzes its own
// tables whenever this process has written as many rows as they held at the last analyze
// (a doubling schedule: a handful of analyzes however large the table grows).
import type { SqlQueryable } from './sql/driver';

/** Rows written before the first analyze of a table that has never been analyzed. */
const FIRST_ANALYZE_ROWS = 2_000;
/** Never analyze again before this many rows were written. */
const MIN_ANALYZE_ROWS = 20_000;

export class StatisticsKeeper {
  /** Rows written since the last analyze, and how many trigger the next one; null: not read yet. */
  private written = 0;
  private threshold: number | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly q: SqlQueryable,
    private readonly schema: string,
  ) {}

  /**
   * At open: a database with datoms whose tables were never analyzed (written by an older
   * txclone, or loaded by other means, with no autovacuum) is analyzed now, so that reading
   * it does not scan whole tables for every page.
   */
  async opened(): Promise<void> {
    try {
      if ((await this.rowEstimate()) >= 0) return;
      const [row] = await this.q.query<{ basis_t: number }>('select basis_t from meta');
      if (!row || row.basis_t === 0) return;
      await this.q.query('analyze txs, log, eav');
      this.threshold = thresholdFor(await this.rowEstimate());
    } catch {
      // As in wrote(): statistics only guide the planner.
    }
  }

  /**
   * Counts rows a committed write added, and analyzes the tables when they are due. Runs
   * after the commit, never inside a write transaction; a failure to analyze is not a
   * failure of the write (the next due write tries again).
   */
  async wrote(rows: number): Promise<void> {
    this.written += rows;
    if (this.running) return;
    this.running = this.analyzeIfDue().finally(() => {
      this.running = null;
    });
    await this.running;
  }

  private async analyzeIfDue(): Promise<void> {
    try {
      this.threshold ??= thresholdFor(await this.rowEstimate());
      if (this.written < this.threshold) return;
      this.written = 0;
      await this.q.query('analyze txs, log, eav');
      this.threshold = thresholdFor(await this.rowEstimate());
    } catch {
      // Statistics only guide the planner; a broken connection surfaces on the next real query.
    }
  }

  /** The planner's idea of how many rows the log holds: -1 when it was never analyzed. */
  private async rowEstimate(): Promise<number> {
    const [row] = await this.q.query<{ reltuples: number }>(
      `select c.reltuples::float8 as reltuples from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and c.relname = 'log'`,
      [this.schema],
    );
    return row?.reltuples ?? -1;
  }
}

function thresholdFor(estimate: number): number {
  return estimate < 0 ? FIRST_ANALYZE_ROWS : Math.max(MIN_ANALYZE_ROWS, estimate);
}
