import { setTimeout as sleep } from 'node:timers/promises';
import { SegmentStoreError } from './errors';

/** How a store retries a transient failure: attempts and backoff. */
export interface RetryOptions {
  /** Attempts in all, the first included; 1 means no retry. */
  readonly attempts: number;
  /** The ceiling of the first backoff; it doubles with every attempt. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 8, baseDelayMs: 100, maxDelayMs: 10_000 };

export interface RetryPolicy extends RetryOptions {
  readonly isTransient: (err: unknown) => boolean;
  /** Uniform in [0, 1); for tests. */
  readonly random?: () => number;
}

export function validateRetryOptions(options: RetryOptions): RetryOptions {
  const { attempts, baseDelayMs, maxDelayMs } = options;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new SegmentStoreError(`retry attempts must be an integer >= 1, got ${attempts}`);
  }
  if (!(baseDelayMs >= 0) || !(maxDelayMs >= 0)) {
    throw new SegmentStoreError(`retry delays must be >= 0 ms, got base ${baseDelayMs}, max ${maxDelayMs}`);
  }
  return { attempts, baseDelayMs, maxDelayMs };
}

/**
 * Exponential backoff with full jitter: the wait before attempt n+1 is uniform in
 * [0, min(max, base * 2^(n-1))), which spreads out clients that failed together.
 */
export function backoffDelay(failedAttempt: number, options: RetryOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.floor(random() * ceiling);
}

/** Runs op until it succeeds, fails permanently, or runs out of attempts; rethrows the last error. */
export async function retry<T>(op: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await op(attempt);
    } catch (err) {
      if (attempt >= policy.attempts || !policy.isTransient(err)) throw err;
      await sleep(backoffDelay(attempt, policy, policy.random));
    }
  }
}
