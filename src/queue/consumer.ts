// The consumer: a BullMQ worker on one target's replay queue, plus a reconcile timer that
// restores from the store when no job comes. A job is a hint (invariant 3): whatever it
// says, the consumer asks the target where it stands and applies what the store holds next.
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Database } from '../db/types';
import { silentLogger, type Logger } from '../logger';
import { Outage } from './outage';
import { errorKind, type JobOutcome, type Metrics } from '../metrics/metrics';
import type { Health } from '../metrics/server';
import { isFatal } from '../restore/continuous';
import { SegmentGapError } from '../restore/errors';
import { ConcurrentRestoreError } from '../restore/restore';
import type { ReplicaRestoreOptions } from '../restore/restorer';
import type { SegmentStore } from '../stores/types';
import { backoff, type BackoffOptions } from './backoff';
import { DEFAULT_PREFIX, replayQueueName } from './names';
import { observeTarget, type TargetStanding } from './observe';
import { closeRedis, openRedis, type RedisConfig } from './redis';
import type { ReplayJobData } from './replay-queue';
import { Replayer } from './replayer';

/** Options of ConsumerService. */
export interface ConsumerServiceOptions {
  target: Database;
  store: SegmentStore;
  /** The source database's name in the store. */
  db: string;
  /** The name the producer announces this target by; default 'default'. */
  targetName?: string;
  redis: RedisConfig;
  /** Key prefix in Redis; default 'txclone'. */
  prefix?: string;
  restore?: ReplicaRestoreOptions;
  logger?: Logger;
  metrics?: Metrics;
  /** Restore from the store this often when idle, so a lost job never leaves the target behind (ms); default 30 000. */
  reconcileMs?: number;
  /** How long a job stays locked without a renewal before another worker may take it (ms); default 30 000. */
  lockDurationMs?: number;
  /** How often to look for jobs whose worker died (ms); default 30 000. */
  stalledIntervalMs?: number;
  /** Waits before a job whose segments are not in the store yet, or that lost a race, runs again. */
  backoff?: BackoffOptions;
  /** A job still waiting for its segments after this long fails (the reconcile timer keeps trying) (ms); default 1 hour. */
  maxWaitMs?: number;
}

/** What one replay job did, and the target's position after it. */
export interface ReplayJobResult {
  outcome: JobOutcome;
  /** The target's position when the job finished. */
  position: number;
}

/**
 * The consumer: a BullMQ worker that replays the store's segments into a target, in the target's
 * order; start(), then close().
 */
export class ConsumerService {
  readonly db: string;
  readonly targetName: string;
  readonly queueName: string;
  private readonly options: ConsumerServiceOptions;
  private readonly logger: Logger;
  private readonly outage = new Outage();
  private readonly replayer: Replayer;
  private readonly stopping = new AbortController();
  private client: ReturnType<typeof openRedis> | null = null;
  private worker: Worker<ReplayJobData, ReplayJobResult> | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private reconciling: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private fatal: Error | null = null;
  private lastError: { at: Date; kind: string; message: string } | null = null;
  private standing: (TargetStanding & { at: Date }) | null = null;

  constructor(options: ConsumerServiceOptions) {
    this.options = options;
    this.db = options.db;
    this.targetName = options.targetName ?? 'default';
    this.queueName = replayQueueName(this.db, this.targetName);
    this.logger = options.logger ?? silentLogger;
    this.replayer = new Replayer({
      target: options.target,
      store: options.store,
      db: this.db,
      targetName: this.targetName,
      restore: options.restore,
      logger: this.logger,
      metrics: options.metrics,
    });
    for (const [name, value] of [['reconcileMs', options.reconcileMs], ['lockDurationMs', options.lockDurationMs], ['stalledIntervalMs', options.stalledIntervalMs]] as const) {
      if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number of milliseconds, got ${value}`);
    }
  }

  /** Starts the worker and the reconcile timer (its first round at once). Redis need not be up: the store is enough to catch up. */
  async start(): Promise<void> {
    if (this.worker || this.closing) throw new Error(`consumer ${this.queueName} was already started`);
    this.client = openRedis(this.options.redis, { name: `txclone-consumer-${this.db}-${this.targetName}`, logger: this.logger });
    this.worker = new Worker<ReplayJobData, ReplayJobResult>(this.queueName, (job, token, signal) => this.process(job, token, signal), {
      connection: this.client,
      prefix: this.options.prefix ?? DEFAULT_PREFIX,
      concurrency: 1,
      autorun: false,
      lockDuration: this.options.lockDurationMs ?? 30_000,
      stalledInterval: this.options.stalledIntervalMs ?? 30_000,
    });
    this.worker.on('error', (err) => this.noteError('queue', err, 'replay worker error'));
    this.worker.on('failed', (job, err) => {
      this.options.metrics?.job(this.db, this.targetName, 'failed');
      this.logger.error({ queue: this.queueName, job: job?.id, attempts: job?.attemptsMade, err: err.message }, 'replay job failed');
    });
    this.worker.on('stalled', (jobId) => this.logger.warn({ queue: this.queueName, job: jobId }, 'replay job stalled (its worker stopped answering); it runs again'));
    this.worker.run().catch((err: Error) => this.noteError('queue', err, 'replay worker stopped'));
    this.scheduleReconcile(0);
    this.logger.info({ queue: this.queueName, target: this.options.target.location, store: this.options.store.location }, 'consumer started');
  }

  /**
   * Restores whatever the store holds beyond the target's position, now (what the
   * reconcile timer does); resolves with the position reached.
   */
  async reconcile(): Promise<number> {
    if (this.fatal) throw this.fatal;
    try {
      const drained = await this.replayer.exclusive(() => this.replayer.drain(this.stopping.signal));
      if (drained.segments > 0) this.logger.info({ queue: this.queueName, fromT: drained.fromT, toT: drained.toT, transactions: drained.transactions }, 'reconciled with the store');
      this.outage.succeeded(this.logger, { queue: this.queueName, position: drained.toT }, 'replay recovered');
      await this.observe();
      return drained.toT;
    } catch (err) {
      this.classify(err);
      throw err;
    }
  }

  /** Finishes the segment in flight, then closes the worker and the Redis connection; the target and store stay open (the caller owns them). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping.abort();
      if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
      // Worker.close waits for the active job, which stops at the next segment boundary.
      await this.worker?.close();
      await this.reconciling;
      if (this.client) await closeRedis(this.client);
      this.logger.info({ queue: this.queueName }, 'consumer closed');
    })();
    return this.closing;
  }

  async health(): Promise<Health> {
    const ok = this.worker !== null && this.closing === null && this.fatal === null;
    return {
      ok,
      detail: {
        component: 'consumer',
        db: this.db,
        target: this.targetName,
        state: this.fatal ? 'stopped-fatal' : this.closing ? 'closed' : this.worker ? 'running' : 'not-started',
        redis: this.client?.status ?? 'none',
        ...(this.fatal ? { fatal: this.fatal.message } : {}),
        ...(this.standing ? { position: this.standing.positionT, storeHead: this.standing.storeHeadT, observedAt: this.standing.at.toISOString() } : {}),
        ...(this.lastError ? { lastError: { ...this.lastError, at: this.lastError.at.toISOString() } } : {}),
      },
    };
  }

  private async process(job: Job<ReplayJobData, ReplayJobResult>, token: string | undefined, jobSignal?: AbortSignal): Promise<ReplayJobResult> {
    const { db, startT, endT } = job.data;
    if (db !== this.db) throw new UnrecoverableError(`job ${job.id} is for db ${JSON.stringify(db)}, this consumer restores ${JSON.stringify(this.db)}`);
    if (!Number.isSafeInteger(endT) || endT < 1) throw new UnrecoverableError(`job ${job.id} has no valid endT: ${JSON.stringify(job.data)}`);
    if (this.fatal) throw new UnrecoverableError(`consumer ${this.queueName} stopped after a fatal error: ${this.fatal.message}`);
    const signal = jobSignal ? AbortSignal.any([this.stopping.signal, jobSignal]) : this.stopping.signal;
    const log = { queue: this.queueName, job: job.id, range: `${startT}-${endT}` };
    let result: ReplayJobResult;
    try {
      result = await this.replayer.exclusive(async () => {
        const position = await this.replayer.position();
        if (position >= endT) return { outcome: 'covered' as const, position };
        const drained = await this.replayer.drain(signal);
        const outcome: JobOutcome = drained.toT >= endT ? 'applied' : drained.aborted ? 'interrupted' : 'waiting';
        if (drained.segments > 0) this.logger.info({ ...log, fromT: drained.fromT, toT: drained.toT, transactions: drained.transactions }, 'replayed');
        return { outcome, position: drained.toT };
      });
    } catch (err) {
      return this.jobFailed(job, token, err);
    }
    this.options.metrics?.job(this.db, this.targetName, result.outcome);
    this.outage.succeeded(this.logger, { queue: this.queueName, job: job.id, position: result.position }, 'replay recovered');
    await this.observe().catch((err: Error) => this.logger.warn({ ...log, err: err.message }, 'could not read the replication lag'));
    if (result.outcome === 'interrupted') {
      // Shutting down: the job goes back at once for another consumer (or this one restarted).
      return this.delay(job, token, 0);
    }
    if (result.outcome === 'waiting') {
      this.logger.warn({ ...log, position: result.position }, 'the store does not hold this range yet; the job waits');
      return this.wait(job, token, new Error(`the store ${this.options.store.location} holds ${this.db} only up to t=${result.position}, not ${endT}`));
    }
    return result;
  }

  /** Decides what an error means for the job: wait, retry later, or fail for good. */
  private async jobFailed(job: Job<ReplayJobData, ReplayJobResult>, token: string | undefined, err: unknown): Promise<never> {
    const kind = this.classify(err);
    const log = { queue: this.queueName, job: job.id, range: `${job.data.startT}-${job.data.endT}`, err: (err as Error).message };
    if (kind === 'gap') {
      this.options.metrics?.job(this.db, this.targetName, 'waiting');
      return this.wait(job, token, err as Error);
    }
    if (kind === 'conflict') {
      this.options.metrics?.job(this.db, this.targetName, 'conflict');
      this.logger.info(log, 'another consumer advanced the target first; the job runs again');
      return this.delay(job, token, backoff(job.attemptsStarted, { backoffMs: 50, maxBackoffMs: 1000 }));
    }
    if (kind === 'fatal') throw new UnrecoverableError(`${errorKind(err)}: ${(err as Error).message}`);
    // Anything else may pass (a connection reset): BullMQ retries with backoff.
    throw err;
  }

  /** A job whose segments are not (all) in the store: it waits, with a growing delay, up to maxWaitMs. */
  private async wait(job: Job<ReplayJobData, ReplayJobResult>, token: string | undefined, reason: Error): Promise<never> {
    const maxWaitMs = this.options.maxWaitMs ?? 3_600_000;
    if (Date.now() - job.timestamp > maxWaitMs) {
      throw new UnrecoverableError(`waited more than ${maxWaitMs} ms for the store to hold ${job.data.startT}-${job.data.endT}: ${reason.message}`);
    }
    return this.delay(job, token, backoff(job.attemptsStarted, this.options.backoff));
  }

  private async delay(job: Job<ReplayJobData, ReplayJobResult>, token: string | undefined, ms: number): Promise<never> {
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError();
  }

  /** Logs and counts an error, and stops the consumer for good on a fatal one. */
  private classify(err: unknown): 'gap' | 'conflict' | 'fatal' | 'other' {
    if (err instanceof ConcurrentRestoreError) {
      this.options.metrics?.error('consumer', err);
      return 'conflict';
    }
    if (err instanceof SegmentGapError) {
      // Invariant 4: nothing after a gap is applied, and the gap is reported loudly until repaired.
      this.noteError('consumer', err, 'replay stopped at a gap in the store');
      return 'gap';
    }
    if (isFatal(err)) {
      this.stopForGood(err as Error);
      return 'fatal';
    }
    this.outage.failed();
    this.noteError('consumer', err, 'replay failed');
    return 'other';
  }

  /** A fatal error cannot be mended by retrying: stop restoring, fail loudly, report unhealthy. */
  private stopForGood(err: Error): void {
    this.noteError('consumer', err, 'replication stopped: this error needs an operator');
    if (this.fatal) return;
    this.fatal = err;
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    // Jobs stay queued for a consumer restarted after the repair.
    this.worker?.pause(true).catch(() => undefined);
  }

  private noteError(component: string, err: unknown, message: string): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.lastError = { at: new Date(), kind: errorKind(e), message: e.message };
    this.options.metrics?.error(component, e);
    this.logger.error({ queue: this.queueName, kind: errorKind(e), err: e.message }, message);
  }

  private async observe(): Promise<void> {
    const standing = await observeTarget(this.options.target, this.options.store, this.db, this.options.restore?.mode ?? 'remap');
    this.standing = { ...standing, at: new Date() };
    this.options.metrics?.replicationPosition(this.db, this.targetName, standing);
  }

  private scheduleReconcile(ms: number): void {
    if (this.stopping.signal.aborted || this.fatal) return;
    this.reconcileTimer = setTimeout(() => {
      // Only when idle: a job in flight restores anyway.
      this.reconciling = (this.replayer.busy ? Promise.resolve() : this.reconcile().then(() => undefined))
        .catch(() => undefined) // classified and logged by reconcile()
        .finally(() => this.scheduleReconcile(this.options.reconcileMs ?? 30_000));
    }, ms);
  }
}
