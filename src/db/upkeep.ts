// Keeps a database's tables fit as this process writes them: planner statistics always,
// and on PGlite, which has no autovacuum, the dead rows too.
//
// PostgreSQL plans a lookup such as `e = any($1)` from the table's statistics. Without any
// (a table never analyzed) it assumes each key matches 0.5% of the rows and, for a few
// hundred keys, scans the whole table: loading the entities of one restore batch took 40 ms
// instead of 5 on a million datoms. Autovacuum normally analyzes tables, but PGlite has no
// autovacuum at all and servers may run with it off. So the database analyzes its own
// tables whenever this process has written as many rows as they held at the last analyze
// (a doubling schedule: a handful of analyzes however large the table grows).
//
// Every retracted or replaced datom leaves a dead row in eav until a vacuum. On a server
// that is autovacuum's job (and its DBA's); on PGlite nobody else would do it, so every
// 50,000 rows written the dead rows of eav are counted, and the tables vacuumed when they
// reach a fifth of the live ones (autovacuum's own rule). A restore that mostly adds
// datoms never gets there.
import type { SqlQueryable } from './sql/driver';

/** Rows written before the first analyze of a table that has never been analyzed. */
const FIRST_ANALYZE_ROWS = 2_000;
/** Never analyze again before this many rows were written. */
const MIN_ANALYZE_ROWS = 20_000;
/** Rows written between two counts of eav's dead rows. */
const VACUUM_CHECK_ROWS = 50_000;
/** Vacuum when dead rows reach this share of live ones, and at least MIN_DEAD_ROWS. */
const VACUUM_DEAD_SHARE = 0.2;
const MIN_DEAD_ROWS = 1_000;

const TABLES = 'txs, log, eav';

export interface TableUpkeepOptions {
  /** Vacuum the tables too (where nothing else does: PGlite). */
  vacuum: boolean;
}

export class TableUpkeep {
  /** Log rows written since the last analyze, and since dead rows were last counted. */
  private sinceAnalyze = 0;
  private sinceDeadCount = 0;
  /** How many rows trigger the next analyze; null until the estimate was read. */
  private threshold: number | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly q: SqlQueryable,
    private readonly schema: string,
    private readonly options: TableUpkeepOptions,
  ) {}

  /**
   * At open: a database with datoms whose tables were never analyzed (written by an older
   * txclone, or loaded by other means, with no autovacuum) is analyzed now, so that reading
   * it does not scan whole tables for every page.
   */
  async opened(): Promise<void> {
    try {
      if ((await this.logEstimate()) >= 0) return;
      const [row] = await this.q.query<{ basis_t: number }>('select basis_t from meta');
      if (!row || row.basis_t === 0) return;
      await this.q.query(`analyze ${TABLES}`);
      this.threshold = thresholdFor(await this.logEstimate());
    } catch {
      // As in wrote(): statistics only guide the planner.
    }
  }

  /**
   * Counts log rows a committed write added, and analyzes (or vacuums) the tables when due.
   * Runs after the commit, never inside a write transaction; a failure here is not a failure
   * of the write (the next due write tries again).
   */
  async wrote(rows: number): Promise<void> {
    this.sinceAnalyze += rows;
    this.sinceDeadCount += rows;
    if (this.running) return;
    this.running = this.upkeepIfDue().finally(() => {
      this.running = null;
    });
    await this.running;
  }

  private async upkeepIfDue(): Promise<void> {
    try {
      this.threshold ??= thresholdFor(await this.logEstimate());
      let vacuum = false;
      if (this.options.vacuum && this.sinceDeadCount >= VACUUM_CHECK_ROWS) {
        this.sinceDeadCount = 0;
        vacuum = await this.manyDeadRows();
      }
      if (!vacuum && this.sinceAnalyze < this.threshold) return;
      this.sinceAnalyze = 0;
      if (vacuum) await this.vacuumOrAnalyze();
      else await this.q.query(`analyze ${TABLES}`);
      this.threshold = thresholdFor(await this.logEstimate());
    } catch {
      // Statistics only guide the planner; a broken connection surfaces on the next real query.
    }
  }

  private async manyDeadRows(): Promise<boolean> {
    const [row] = await this.q.query<{ live: number; dead: number }>(
      `select n_live_tup::float8 as live, n_dead_tup::float8 as dead from pg_stat_user_tables
       where schemaname = $1 and relname = 'eav'`,
      [this.schema],
    );
    return row !== undefined && row.dead >= Math.max(MIN_DEAD_ROWS, VACUUM_DEAD_SHARE * row.live);
  }

  private async vacuumOrAnalyze(): Promise<void> {
    try {
      await this.q.query(`vacuum (analyze) ${TABLES}`);
    } catch {
      // VACUUM cannot run inside a transaction, which is how a shared PGlite instance runs
      // every statement: statistics at least.
      await this.q.query(`analyze ${TABLES}`);
    }
  }

  /** The planner's idea of how many rows the log holds: -1 when it was never analyzed. */
  private async logEstimate(): Promise<number> {
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
