// Continuous restore: follow the store, apply what appears, back off on errors.
import type { Database } from '../db/types';
import { silentLogger } from '../logger';
import type { SegmentStore } from '../stores/types';
import { ForeignWriteError, ReplicaDivergedError, TargetRefusedError } from './errors';
import { ConcurrentRestoreError, type RestoreResult } from './restore';
import { createRestorer, type ReplicaRestoreOptions } from './restorer';
import { CloneDivergedError, CloneRefusedError, LogPositionError, ReadOnlyCloneError } from '../db/errors';
import { IdMapInconsistencyError, type IdMapStats } from '../idmap/idmap';
import { SegmentKeyError } from '../segment/errors';
import { sleep } from '../sleep';

/** Options of continuousRestore: those of a restore (remap or clone), the signal that stops it, polling and backoff. */
export interface ContinuousRestoreOptions extends ReplicaRestoreOptions {
  /** Stops the loop; the batch in flight finishes first. */
  signal: AbortSignal;
  /** Wait between polls when caught up (ms). */
  pollMs?: number;
  /** First wait after an error (ms); doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Called after every step, whatever its outcome. */
  onStep?: (result: RestoreResult) => void;
  /** Called for every error that the loop retries. */
  onError?: (error: unknown, attempt: number) => void;
}

/** Where a continuous restore stopped, and how many steps and errors it had. */
export interface ContinuousRestoreSummary {
  position: number;
  steps: number;
  errors: number;
  idMap: IdMapStats | null;
}

/** Errors that no retry can mend: the loop stops and throws them. */
export function isFatal(err: unknown): boolean {
  return (
    err instanceof TargetRefusedError ||
    err instanceof ReplicaDivergedError ||
    err instanceof ForeignWriteError ||
    err instanceof IdMapInconsistencyError ||
    // The key ring is read once at start: a missing or wrong key stays so until an operator acts.
    err instanceof SegmentKeyError ||
    err instanceof CloneDivergedError ||
    err instanceof CloneRefusedError ||
    err instanceof ReadOnlyCloneError ||
    err instanceof RangeError
  );
}

/**
 * Restores what the store holds, then polls for more (prefetching, backing off on errors) until the
 * signal aborts; stops on a fatal error.
 */
export async function continuousRestore(
  target: Database,
  store: SegmentStore,
  db: string,
  options: ContinuousRestoreOptions,
): Promise<ContinuousRestoreSummary> {
  const logger = options.logger ?? silentLogger;
  const restorer = createRestorer(target, store, db, options);
  const pollMs = options.pollMs ?? 1000;
  const backoffMs = options.backoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const summary: ContinuousRestoreSummary = { position: 0, steps: 0, errors: 0, idMap: restorer.stats() };
  let failures = 0;
  /** When the current run of failures began. */
  let failingSince: number | null = null;
  while (!options.signal.aborted) {
    let wait = 0;
    try {
      const result = await restorer.next({ signal: options.signal });
      summary.steps++;
      summary.idMap = restorer.stats();
      summary.position = result.toT;
      if (failingSince !== null) {
        logger.warn({ db, failures, recoveredAfterMs: Date.now() - failingSince, position: result.toT }, 'restore recovered');
        failingSince = null;
      }
      failures = 0;
      options.onStep?.(result);
      if (result.untilReached) break;
      if (result.status === 'caught-up') wait = pollMs;
    } catch (err) {
      if (err instanceof ConcurrentRestoreError || err instanceof LogPositionError) {
        logger.warn({ db, err: err.message }, 'another restore advanced the target; reading its position again');
        continue;
      }
      if (isFatal(err)) throw err;
      failures++;
      failingSince ??= Date.now();
      summary.errors++;
      options.onError?.(err, failures);
      // Full jitter: spread retries of many replicas over the whole window.
      wait = Math.random() * Math.min(maxBackoffMs, backoffMs * 2 ** (failures - 1));
      logger.error({ db, err: (err as Error).message, attempt: failures, retryInMs: Math.round(wait) }, 'restore step failed');
    }
    if (wait > 0) await sleep(wait, options.signal);
  }
  return summary;
}
