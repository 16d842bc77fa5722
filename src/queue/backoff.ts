// Waiting between attempts: full jitter, so many consumers that failed together do not retry together.

/** How a loop waits after an error: doubling from backoffMs up to a ceiling. */
export interface BackoffOptions {
  /** The first wait (ms); doubles with every attempt. */
  backoffMs?: number;
  /** The longest wait (ms). */
  maxBackoffMs?: number;
}

export const DEFAULT_BACKOFF_MS = 500;
export const DEFAULT_MAX_BACKOFF_MS = 30_000;

/** A random wait up to backoffMs * 2^(attempt-1), capped at maxBackoffMs; attempt counts from 1. */
export function backoff(attempt: number, options: BackoffOptions = {}): number {
  const base = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const max = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  // At least a tenth of the ceiling, so a retry never spins.
  return Math.round(ceiling / 10 + Math.random() * ceiling * 0.9);
}

export { sleep } from '../sleep';
