// The producer: a BullMQ job scheduler runs an export every intervalMs; each run writes
// what is new to the store and announces it on every target's replay queue. The store
// is the truth, so announcing is best effort: every run also announces the head range,
// which tells consumers again after Redis lost its jobs.
import { Queue, Worker, type Job } from 'bullmq';
import type { Database } from '../db/types';
import { silentLogger, type Logger } from '../logger';
import { Outage } from './outage';
import { errorKind, type Metrics } from '../metrics/metrics';
import type { Health } from '../metrics/server';
import type { SegmentStore } from '../stores/types';
import { Compactor, type CompactorOptions } from '../compact/compactor';
import { Coalescer } from './coalesce';
import { exportNew, type ExportSettings } from './export-run';
import { DEFAULT_PREFIX, exportQueueName, exportSchedulerId, validateTargetName } from './names';
import { closeRedis, openRedis, type RedisConfig } from './redis';
import { ReplayQueue, type ReplayRange } from './replay-queue';

/** Options of ProducerService. */
export interface ProducerServiceOptions {
  source: Database;
  store: SegmentStore;
  /** The source database's name in the store. */
  db: string;
  /** The targets to announce segments to, by name; default ['default']. */
  targets?: string[];
  redis: RedisConfig;
  /** Export this often (ms); default 1000. With commit notifications this is only the fallback. */
  intervalMs?: number;
  /**
   * Export as soon as the source says a transaction committed (Database.onCommit), with at
   * most one export in flight and the next covering whatever committed meanwhile; default
   * true. The interval keeps running: a notification can be missed.
   */
  notify?: boolean;
  /** Run a compactor (and retention) beside the exports, on its own timer; off when absent. */
  compaction?: ProducerCompaction;
  /** How segments are cut (maxTxns, maxBytes) and paced. */
  export?: ExportSettings;
  logger?: Logger;
  metrics?: Metrics;
  /** Key prefix in Redis; default 'txclone'. */
  prefix?: string;
  /**
   * Upsert the job scheduler again this often (ms), so that a Redis that lost everything
   * (FLUSHALL, a restart without persistence) gets it back; default 5 × intervalMs.
   */
  watchdogMs?: number;
}

/** The compactor's settings, less what the producer gives it (store, db, logger, codec). */
export type ProducerCompaction = Omit<CompactorOptions, 'store' | 'db' | 'logger' | 'codec'>;

/** What one producer run exported and announced. */
export interface ProducerRun {
  /** Segment ranges this run wrote (or found written). */
  exported: ReplayRange[];
  /** Ranges announced to every target (the exported ones and the head). */
  announced: ReplayRange[];
  sourceBasisT: number;
  storeHeadT: number;
}

const EXPORT_JOB_NAME = 'export';

/**
 * The producer: a BullMQ job scheduler that exports the source's new transactions as segments and
 * announces them to the consumers; start(), then close().
 */
export class ProducerService {
  readonly db: string;
  readonly targets: readonly string[];
  private readonly options: ProducerServiceOptions;
  private readonly logger: Logger;
  private readonly outage = new Outage();
  private readonly intervalMs: number;
  private readonly stopping = new AbortController();
  private client: ReturnType<typeof openRedis> | null = null;
  private exportQueue: Queue | null = null;
  private worker: Worker | null = null;
  private replayQueues: ReplayQueue[] = [];
  private watchdog: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private startedAt: Date | null = null;
  private lastRun: { at: Date; sourceBasisT: number; storeHeadT: number } | null = null;
  private lastError: { at: Date; kind: string; message: string } | null = null;
  private readonly runs = new Coalescer(() => this.exportAndAnnounce(this.stopping.signal));
  private unsubscribe: (() => Promise<void>) | null = null;
  private compactor: Compactor | null = null;

  constructor(options: ProducerServiceOptions) {
    this.options = options;
    this.db = options.db;
    this.targets = [...new Set(options.targets ?? ['default'])];
    this.targets.forEach(validateTargetName);
    exportQueueName(this.db); // validates the db name
    this.logger = options.logger ?? silentLogger;
    this.intervalMs = options.intervalMs ?? 1000;
    if (!(Number.isFinite(this.intervalMs) && this.intervalMs > 0)) throw new RangeError(`intervalMs must be a positive number, got ${options.intervalMs}`);
    if (options.watchdogMs !== undefined && !(options.watchdogMs > 0)) throw new RangeError(`watchdogMs must be a positive number, got ${options.watchdogMs}`);
  }

  /** Upserts the scheduler and starts the worker that runs the exports. */
  async start(): Promise<void> {
    if (this.worker || this.closing) throw new Error(`producer for ${this.db} was already started`);
    const prefix = this.options.prefix ?? DEFAULT_PREFIX;
    const name = exportQueueName(this.db);
    this.client = openRedis(this.options.redis, { name: `txclone-producer-${this.db}`, logger: this.logger });
    this.exportQueue = new Queue(name, { connection: this.client, prefix });
    this.exportQueue.on('error', (err) => this.noteError('queue', err, 'export queue error'));
    this.replayQueues = this.targets.map((target) => new ReplayQueue({ db: this.db, target, redis: this.client!, prefix, logger: this.logger }));
    this.worker = new Worker(name, (job, _token, signal) => this.process(job, signal), { connection: this.client, prefix, concurrency: 1, autorun: false });
    this.worker.on('error', (err) => this.noteError('queue', err, 'export worker error'));
    this.startedAt = new Date();
    await this.upsertScheduler();
    this.worker.run().catch((err: Error) => this.noteError('queue', err, 'export worker stopped'));
    if (this.options.notify !== false && this.options.source.onCommit) {
      try {
        this.unsubscribe = await this.options.source.onCommit(() => {
          if (!this.stopping.signal.aborted) this.runOnce().catch(() => undefined); // noted in exportAndAnnounce
        });
      } catch (err) {
        this.noteError('producer', err, 'cannot listen for commits; exporting every interval only');
      }
    }
    if (this.options.compaction) {
      this.compactor = new Compactor({
        ...this.options.compaction,
        store: this.options.store,
        db: this.db,
        logger: this.logger,
        codec: this.options.export?.codec,
        onError: (err) => this.noteError('compactor', err, 'compaction pass failed; the next one tries again'),
      });
      this.compactor.start();
    }
    this.watchdog = setInterval(() => {
      this.upsertScheduler().catch((err: Error) => this.noteError('queue', err, 'could not upsert the export scheduler'));
    }, this.options.watchdogMs ?? 5 * this.intervalMs);
    this.logger.info({ db: this.db, targets: this.targets, intervalMs: this.intervalMs, source: this.options.source.location, store: this.options.store.location }, 'producer started');
  }

  /**
   * One run, as the scheduler or a commit notification triggers it: export what is new,
   * announce it and the head range to every target. Runs by hand too (e.g. a final run
   * before shutdown). One run at a time: a call during a run gets the next one, which
   * every call meanwhile shares.
   */
  runOnce(): Promise<ProducerRun> {
    return this.runs.run();
  }

  private async exportAndAnnounce(signal: AbortSignal): Promise<ProducerRun> {
    try {
      const run = await this.exportAndAnnounceOnce(signal);
      this.outage.succeeded(this.logger, { db: this.db }, 'export recovered');
      return run;
    } catch (err) {
      if (!signal.aborted) {
        this.outage.failed();
        this.noteError('producer', err, 'export run failed; the next one tries again');
      }
      throw err;
    }
  }

  private async exportAndAnnounceOnce(signal: AbortSignal): Promise<ProducerRun> {
    const { source, store, metrics } = this.options;
    const run = await exportNew(source, store, this.db, { export: this.options.export, logger: this.logger, metrics, signal });
    const exported = run.segments.map((s) => ({ startT: s.info.startT, endT: s.info.endT }));
    const announced = [...exported];
    if (run.head && !announced.some((r) => r.endT === run.head!.endT)) announced.push({ startT: run.head.startT, endT: run.head.endT });
    if (announced.length > 0) await Promise.all(this.replayQueues.map((queue) => queue.addMany(announced)));
    const storeHeadT = run.head?.endT ?? 0;
    this.lastRun = { at: new Date(), sourceBasisT: run.sourceBasisT, storeHeadT };
    if (exported.length > 0) this.logger.info({ db: this.db, segments: exported.length, storeHeadT, sourceBasisT: run.sourceBasisT }, 'exported and announced');
    return { exported, announced, sourceBasisT: run.sourceBasisT, storeHeadT };
  }

  /** Lets the run in flight finish (it stops between segments and announces what it wrote), then closes everything it opened. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping.abort();
      if (this.watchdog) clearInterval(this.watchdog);
      await this.unsubscribe?.().catch(() => undefined);
      await this.compactor?.close();
      await this.worker?.close();
      await this.runs.idle();
      await Promise.all(this.replayQueues.map((queue) => queue.close()));
      await this.exportQueue?.close();
      if (this.client) await closeRedis(this.client);
      this.logger.info({ db: this.db }, 'producer closed');
    })();
    return this.closing;
  }

  /** Healthy while running and a run succeeded lately (within 10 intervals, at least 30 s). */
  async health(): Promise<Health> {
    const staleMs = Math.max(10 * this.intervalMs, 30_000);
    const since = this.lastRun?.at ?? this.startedAt;
    const running = this.worker !== null && this.closing === null;
    const ok = running && since !== null && Date.now() - since.getTime() <= staleMs;
    return {
      ok,
      detail: {
        component: 'producer',
        db: this.db,
        targets: this.targets,
        state: this.closing ? 'closed' : this.worker ? 'running' : 'not-started',
        redis: this.client?.status ?? 'none',
        ...(this.lastRun ? { lastRun: this.lastRun.at.toISOString(), sourceBasis: this.lastRun.sourceBasisT, storeHead: this.lastRun.storeHeadT } : {}),
        ...(this.lastError ? { lastError: { ...this.lastError, at: this.lastError.at.toISOString() } } : {}),
      },
    };
  }

  /** Idempotent: the same id and interval keep the next run where it was. */
  private async upsertScheduler(): Promise<void> {
    const queue = this.exportQueue;
    if (!queue || this.stopping.signal.aborted) return;
    const id = exportSchedulerId(this.db);
    const existing = await queue.getJobScheduler(id);
    if (!existing && this.lastRun) this.logger.warn({ db: this.db, scheduler: id }, 'the export scheduler was gone from Redis; creating it again');
    await queue.upsertJobScheduler(
      id,
      { every: this.intervalMs },
      { name: EXPORT_JOB_NAME, data: { db: this.db }, opts: { removeOnComplete: true, removeOnFail: { count: 100 } } },
    );
  }

  private async process(job: Job, signal?: AbortSignal): Promise<ProducerRun | null> {
    if (job.name !== EXPORT_JOB_NAME) return null;
    try {
      return await this.runOnce();
    } catch (err) {
      if (signal?.aborted) return null;
      throw err;
    }
  }

  private noteError(component: string, err: unknown, message: string): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.lastError = { at: new Date(), kind: errorKind(e), message: e.message };
    this.options.metrics?.error(component, e);
    this.logger.error({ db: this.db, kind: errorKind(e), err: e.message }, message);
  }
}
