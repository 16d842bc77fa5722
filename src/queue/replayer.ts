// The consumer's restore loop: one long-lived Restorer (so its id cache outlives a job),
// one restore at a time, stopping between segments when asked.
import type { Database } from '../db/types';
import { silentLogger, type Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import { isFatal } from '../restore/continuous';
import { ConcurrentRestoreError } from '../restore/restore';
import { createRestorer, type ReplicaRestoreOptions, type ReplicaRestorer } from '../restore/restorer';
import { replicaPosition } from '../restore/position';
import type { SegmentStore } from '../stores/types';

export interface ReplayerOptions {
  target: Database;
  store: SegmentStore;
  db: string;
  targetName: string;
  restore?: ReplicaRestoreOptions;
  logger?: Logger;
  metrics?: Metrics;
}

export interface Drained {
  /** The target's position before and after. */
  fromT: number;
  toT: number;
  segments: number;
  transactions: number;
  datoms: number;
  /** The signal stopped the restore between two segments. */
  aborted: boolean;
}

export class Replayer {
  private restorer: ReplicaRestorer | null = null;
  /** The position the last drain left the target at, and whether that restorer ever wrote. */
  private reached: number | null = null;
  private wrote = false;
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(private readonly options: ReplayerOptions) {}

  /** A restore runs or waits to run. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Runs fn after every restore queued before it: a job and the reconcile timer never restore at once. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run.finally(() => this.pending--);
  }

  /** The last source t the target has applied. */
  async position(): Promise<number> {
    return (await replicaPosition(this.options.target, this.options.db, this.options.restore?.mode ?? 'remap')).position;
  }

  /** Applies segment after segment until the target has caught up with the store. Call it inside exclusive(). */
  async drain(signal?: AbortSignal): Promise<Drained> {
    const { target, store, db, targetName, metrics } = this.options;
    const start = await replicaPosition(target, db, this.options.restore?.mode ?? 'remap');
    // A restorer that has written notices when someone else moved the target; one that has
    // only read would keep a stale high-water mark, so it is replaced.
    if (!this.restorer || !this.wrote || start.position !== this.reached) {
      this.restorer = createRestorer(target, store, db, { logger: this.options.logger ?? silentLogger, ...this.options.restore });
      this.wrote = false;
    }
    const restorer = this.restorer;
    const drained: Drained = { fromT: start.position, toT: start.position, segments: 0, transactions: 0, datoms: 0, aborted: false };
    try {
      for (;;) {
        if (signal?.aborted) {
          drained.aborted = true;
          break;
        }
        const started = performance.now();
        const step = await restorer.next();
        drained.toT = step.toT;
        if (step.status === 'caught-up') break;
        drained.segments++;
        drained.transactions += step.transactions;
        drained.datoms += step.datoms;
        if (step.transactions > 0) this.wrote = true;
        metrics?.segmentRestored(db, targetName, { transactions: step.transactions, datoms: step.datoms, seconds: (performance.now() - started) / 1000 });
        if (step.untilReached) break;
      }
    } catch (err) {
      // Whatever happened, the next drain starts over from what the target says.
      this.restorer = null;
      throw await this.explain(err, drained.toT);
    } finally {
      const stats = restorer.stats();
      if (stats) metrics?.idCache(db, targetName, stats);
    }
    this.reached = drained.toT;
    return drained;
  }

  /**
   * The Restorer turns a refused commit into ConcurrentRestoreError when the target moved,
   * but checks before the commit can trip over another consumer's writes too: the
   * last-writer check reads basis and position in two statements (a commit in between
   * looks like a foreign write), and the id map's high-water mark can be stale. A
   * "fatal" error while the target moved is a lost race, not a broken replica.
   */
  private async explain(err: unknown, known: number): Promise<unknown> {
    if (err instanceof ConcurrentRestoreError || !isFatal(err)) return err;
    const now = await this.position().catch(() => known);
    if (now === known) return err;
    const conflict = new ConcurrentRestoreError(
      `target ${this.options.target.location} moved from t=${known} to t=${now} during the restore (${(err as Error).message})`,
    );
    conflict.cause = err;
    return conflict;
  }
}
