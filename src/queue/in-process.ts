// --no-queue: the producer loop and the consumer loop in one process, without Redis.
// The consumer polls the store; nothing is lost by not having jobs, since they are only hints.
import type { Database } from '../db/types';
import { silentLogger, type Logger } from '../logger';
import { Outage } from './outage';
import { errorKind, type Metrics } from '../metrics/metrics';
import type { Health } from '../metrics/server';
import { continuousRestore, type ContinuousRestoreSummary } from '../restore/continuous';
import type { ReplicaRestoreOptions } from '../restore/restorer';
import type { SegmentStore } from '../stores/types';
import { sleep, type BackoffOptions } from './backoff';
import { exportNew, type ExportSettings } from './export-run';
import { validateTargetName } from './names';
import { observeTarget } from './observe';

/** Options of InProcessReplicator. */
export interface InProcessReplicatorOptions {
  source: Database;
  target: Database;
  store: SegmentStore;
  /** The source database's name in the store. */
  db: string;
  /** The target's name in metrics; default 'default'. */
  targetName?: string;
  /** Export (and poll the store) this often (ms); default 1000. */
  intervalMs?: number;
  export?: ExportSettings;
  restore?: ReplicaRestoreOptions;
  /** Waits after a failed restore step. */
  backoff?: BackoffOptions;
  logger?: Logger;
  metrics?: Metrics;
}

/**
 * The producer and consumer loops in one process, without Redis: exports new transactions, then
 * restores them; start(), then close().
 */
export class InProcessReplicator {
  readonly db: string;
  readonly targetName: string;
  private readonly options: InProcessReplicatorOptions;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly stopping = new AbortController();
  private loops: Promise<unknown> | null = null;
  private closing: Promise<void> | null = null;
  private fatal: Error | null = null;
  private lastError: { at: Date; kind: string; message: string } | null = null;
  private standing: { positionT: number; storeHeadT: number; sourceBasisT: number; at: Date } | null = null;

  constructor(options: InProcessReplicatorOptions) {
    this.options = options;
    this.db = options.db;
    this.targetName = options.targetName ?? 'default';
    validateTargetName(this.targetName);
    this.logger = options.logger ?? silentLogger;
    this.intervalMs = options.intervalMs ?? 1000;
    if (!(Number.isFinite(this.intervalMs) && this.intervalMs > 0)) throw new RangeError(`intervalMs must be a positive number, got ${options.intervalMs}`);
  }

  async start(): Promise<void> {
    if (this.loops || this.closing) throw new Error(`replicator for ${this.db} was already started`);
    this.loops = Promise.all([this.produce(), this.consume()]);
    this.logger.info({ db: this.db, source: this.options.source.location, target: this.options.target.location, store: this.options.store.location }, 'in-process replication started');
  }

  /** Stops both loops between segments; the databases and the store stay open (the caller owns them). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping.abort();
      await this.loops;
      this.logger.info({ db: this.db }, 'in-process replication closed');
    })();
    return this.closing;
  }

  async health(): Promise<Health> {
    const running = this.loops !== null && this.closing === null;
    return {
      ok: running && this.fatal === null,
      detail: {
        component: 'in-process',
        db: this.db,
        target: this.targetName,
        state: this.fatal ? 'stopped-fatal' : this.closing ? 'closed' : running ? 'running' : 'not-started',
        ...(this.fatal ? { fatal: this.fatal.message } : {}),
        ...(this.standing
          ? { position: this.standing.positionT, storeHead: this.standing.storeHeadT, sourceBasis: this.standing.sourceBasisT, observedAt: this.standing.at.toISOString() }
          : {}),
        ...(this.lastError ? { lastError: { ...this.lastError, at: this.lastError.at.toISOString() } } : {}),
      },
    };
  }

  private async produce(): Promise<void> {
    const { source, target, store, metrics } = this.options;
    const signal = this.stopping.signal;
    const outage = new Outage();
    while (!signal.aborted) {
      try {
        const run = await exportNew(source, store, this.db, { export: this.options.export, logger: this.logger, metrics, signal });
        const standing = await observeTarget(target, store, this.db);
        metrics?.replicationPosition(this.db, this.targetName, standing);
        this.standing = { ...standing, sourceBasisT: run.sourceBasisT, at: new Date() };
        outage.succeeded(this.logger, { db: this.db }, 'export recovered');
      } catch (err) {
        outage.failed();
        this.noteError('producer', err, 'export run failed; the next one tries again');
      }
      await sleep(this.intervalMs, signal);
    }
  }

  private async consume(): Promise<ContinuousRestoreSummary | null> {
    const { target, store, metrics } = this.options;
    try {
      return await continuousRestore(target, store, this.db, {
        logger: this.logger,
        ...this.options.restore,
        ...this.options.backoff,
        signal: this.stopping.signal,
        pollMs: this.intervalMs,
        onStep: (step) => {
          if (step.status === 'restored') metrics?.segmentRestored(this.db, this.targetName, step);
        },
        onError: (err) => this.noteError('consumer', err, 'restore step failed; retrying'),
      });
    } catch (err) {
      // continuousRestore gives up only on errors no retry can mend.
      this.fatal = err instanceof Error ? err : new Error(String(err));
      this.noteError('consumer', err, 'replication stopped: this error needs an operator');
      return null;
    }
  }

  private noteError(component: string, err: unknown, message: string): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.lastError = { at: new Date(), kind: errorKind(e), message: e.message };
    this.options.metrics?.error(component, e);
    this.logger.error({ db: this.db, component, kind: errorKind(e), err: e.message }, message);
  }
}
