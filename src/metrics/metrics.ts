// What an operator watches: how far behind a replica is, how much flows through, how
// well the id cache works, and which errors happen. Each Metrics owns its registry, so
// two services (or two tests) in one process never share a counter.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Options of Metrics. */
export interface MetricsOptions {
  /** Also export the process's own metrics (CPU, memory, event loop lag); default false. */
  processMetrics?: boolean;
  /** Labels added to every series, e.g. `{ instance: 'replica-1' }`. */
  defaultLabels?: Record<string, string>;
}

/** Transactions and datoms in a segment exported or applied. */
export interface SegmentCounts {
  transactions: number;
  datoms: number;
}

/** The producer's position: the source's newest t and the store's last. */
export interface ExportPosition {
  /** The source's newest t. */
  sourceBasisT: number;
  /** The last t the store holds (0 for an empty store). */
  storeHeadT: number;
}

/** A consumer's position: the store's last t, the target's, and when the source wrote the target's last. */
export interface ReplicationPosition {
  storeHeadT: number;
  /** The last source t the target has applied. */
  positionT: number;
  /** The source instant of that transaction (restored transactions keep it); null before the first. */
  appliedAt: Date | null;
  now?: number;
}

/** The parts of the id map's statistics that make its hit rate. */
export interface IdCacheCounts {
  hits: number;
  lookups: number;
  newAboveMark: number;
}

/** What a replay job did: applied, already covered, waiting for segments, conflict, failed or interrupted. */
export type JobOutcome = 'applied' | 'covered' | 'waiting' | 'conflict' | 'failed' | 'interrupted';

/**
 * Prometheus metrics of the services (positions, lag, segments, jobs, errors, id cache) in their
 * own registry.
 */
export class Metrics {
  readonly registry = new Registry();

  private readonly sourceBasis: Gauge<'db'>;
  private readonly storeHead: Gauge<'db'>;
  private readonly exportLag: Gauge<'db'>;
  private readonly targetPosition: Gauge<'db' | 'target'>;
  private readonly lagTransactions: Gauge<'db' | 'target'>;
  private readonly lagSeconds: Gauge<'db' | 'target'>;
  private readonly segmentsExported: Counter<'db'>;
  private readonly transactionsExported: Counter<'db'>;
  private readonly datomsExported: Counter<'db'>;
  private readonly bytesExported: Counter<'db'>;
  private readonly segmentsRestored: Counter<'db' | 'target'>;
  private readonly transactionsRestored: Counter<'db' | 'target'>;
  private readonly datomsRestored: Counter<'db' | 'target'>;
  private readonly restoreSeconds: Histogram<'db' | 'target'>;
  private readonly idCacheHitRate: Gauge<'db' | 'target'>;
  private readonly errors: Counter<'component' | 'kind'>;
  private readonly jobs: Counter<'db' | 'target' | 'outcome'>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });

    this.sourceBasis = new Gauge({ name: 'txclone_source_basis_t', help: "The source's newest t, as the producer last saw it.", labelNames: ['db'], registers });
    this.storeHead = new Gauge({ name: 'txclone_store_head_t', help: 'The last t the segment store holds.', labelNames: ['db'], registers });
    this.exportLag = new Gauge({
      name: 'txclone_export_lag_transactions',
      help: 'Source transactions not yet in the store (source basis minus store head).',
      labelNames: ['db'],
      registers,
    });
    this.targetPosition = new Gauge({
      name: 'txclone_target_position_t',
      help: 'The last source t the target has applied (:txclone/last-source-transaction).',
      labelNames: ['db', 'target'],
      registers,
    });
    this.lagTransactions = new Gauge({
      name: 'txclone_replication_lag_transactions',
      help: 'Transactions in the store the target has not applied (store head minus target position).',
      labelNames: ['db', 'target'],
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'txclone_replication_lag_seconds',
      help: 'Seconds since the newest source transaction the target has applied, while the store holds newer ones; 0 when caught up.',
      labelNames: ['db', 'target'],
      registers,
    });
    this.segmentsExported = new Counter({ name: 'txclone_segments_exported_total', help: 'Segments written to the store.', labelNames: ['db'], registers });
    this.transactionsExported = new Counter({ name: 'txclone_transactions_exported_total', help: 'Source transactions written to the store.', labelNames: ['db'], registers });
    this.datomsExported = new Counter({ name: 'txclone_datoms_exported_total', help: 'Datoms written to the store.', labelNames: ['db'], registers });
    this.bytesExported = new Counter({ name: 'txclone_segment_bytes_exported_total', help: 'Segment bytes (compressed) written to the store.', labelNames: ['db'], registers });
    this.segmentsRestored = new Counter({ name: 'txclone_segments_restored_total', help: 'Segments applied to the target.', labelNames: ['db', 'target'], registers });
    this.transactionsRestored = new Counter({
      name: 'txclone_transactions_restored_total',
      help: 'Source transactions applied to the target.',
      labelNames: ['db', 'target'],
      registers,
    });
    this.datomsRestored = new Counter({ name: 'txclone_datoms_restored_total', help: 'Datoms applied to the target.', labelNames: ['db', 'target'], registers });
    this.restoreSeconds = new Histogram({
      name: 'txclone_segment_restore_seconds',
      help: 'Time to fetch and apply one segment.',
      labelNames: ['db', 'target'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.idCacheHitRate = new Gauge({
      name: 'txclone_id_cache_hit_rate',
      help: 'Share of source ids resolved without asking the target: hits / (hits + lookups + new above the mark).',
      labelNames: ['db', 'target'],
      registers,
    });
    this.errors = new Counter({ name: 'txclone_errors_total', help: 'Errors by the part that met them and their class.', labelNames: ['component', 'kind'], registers });
    this.jobs = new Counter({
      name: 'txclone_replay_jobs_total',
      help: 'Replay jobs handled, by outcome: applied, covered (nothing to do), waiting (segments not in the store yet), conflict (another consumer won), interrupted (shutdown), failed.',
      labelNames: ['db', 'target', 'outcome'],
      registers,
    });
  }

  segmentExported(db: string, segment: SegmentCounts & { bytes: number }): void {
    this.segmentsExported.inc({ db });
    this.transactionsExported.inc({ db }, segment.transactions);
    this.datomsExported.inc({ db }, segment.datoms);
    this.bytesExported.inc({ db }, segment.bytes);
  }

  exportPosition(db: string, position: ExportPosition): void {
    this.sourceBasis.set({ db }, position.sourceBasisT);
    this.storeHead.set({ db }, position.storeHeadT);
    this.exportLag.set({ db }, Math.max(0, position.sourceBasisT - position.storeHeadT));
  }

  /** seconds: the time to fetch and apply the segment, when known. */
  segmentRestored(db: string, target: string, segment: SegmentCounts & { seconds?: number }): void {
    this.segmentsRestored.inc({ db, target });
    this.transactionsRestored.inc({ db, target }, segment.transactions);
    this.datomsRestored.inc({ db, target }, segment.datoms);
    if (segment.seconds !== undefined) this.restoreSeconds.observe({ db, target }, segment.seconds);
  }

  replicationPosition(db: string, target: string, position: ReplicationPosition): void {
    const behind = Math.max(0, position.storeHeadT - position.positionT);
    this.storeHead.set({ db }, position.storeHeadT);
    this.targetPosition.set({ db, target }, position.positionT);
    this.lagTransactions.set({ db, target }, behind);
    if (behind === 0) this.lagSeconds.set({ db, target }, 0);
    else if (position.appliedAt) {
      const now = position.now ?? Date.now();
      this.lagSeconds.set({ db, target }, Math.max(0, (now - position.appliedAt.getTime()) / 1000));
    }
  }

  idCache(db: string, target: string, counts: IdCacheCounts): void {
    const total = counts.hits + counts.lookups + counts.newAboveMark;
    if (total > 0) this.idCacheHitRate.set({ db, target }, counts.hits / total);
  }

  error(component: string, err: unknown): void {
    this.errors.inc({ component, kind: errorKind(err) });
  }

  job(db: string, target: string, outcome: JobOutcome): void {
    this.jobs.inc({ db, target, outcome });
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** An error's class name: ConcurrentRestoreError, SegmentGapError, Error, ... */
export function errorKind(err: unknown): string {
  if (err instanceof Error) return err.name && err.name !== 'Error' ? err.name : err.constructor.name;
  return typeof err;
}
