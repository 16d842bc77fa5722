// A database server that is briefly unavailable (restarting, failing over, shutting down a
// connection) fails whatever is in flight with a connection error. What txclone writes is
// safe to run again (a restore step is guarded by its CAS, an export writes the same bytes
// again), so the work waits the outage out: it runs again with a growing pause until it
// succeeds or the outage lasts longer than the bound, and says how long it took.
import type { Logger } from '../logger';
import { sleep } from '../sleep';

/** Node's codes for a connection that could not be made or was lost. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTCONN']);

/**
 * PostgreSQL SQLSTATEs of an unavailable server: class 08 (connection exception), 57P01
 * admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or shutting
 * down), 53300 too_many_connections.
 */
const SERVER_CODES = /^(08...|57P01|57P02|57P03|53300)$/;

/** node-postgres' messages for a connection lost mid-query (they carry no code). */
const LOST = /Connection terminated|connection error|Client was closed|Connection refused|the database system is (starting up|shutting down|in recovery mode)/i;

/** True when err (or an error it wraps) says the database server could not be reached or went away. */
export function isServerUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_CODES.test(code))) return true;
    if (LOST.test(e.message)) return true;
    // AggregateError: a connection attempt to several addresses, all refused.
    if (e instanceof AggregateError && e.errors.some((x) => isServerUnavailable(x))) return true;
  }
  return false;
}

export interface WaitOutOptions {
  /** What is being done, for the log lines: 'restore', 'export'. */
  what: string;
  /** Give up when the server has been unavailable this long (ms); default 120 000. */
  maxWaitMs?: number;
  /** The first pause (ms), doubling up to maxPauseMs; default 250. */
  pauseMs?: number;
  maxPauseMs?: number;
  logger?: Logger;
  signal?: AbortSignal;
}

export const DEFAULT_UNAVAILABLE_WAIT_MS = 120_000;

/**
 * Runs work, and runs it again while it fails because the database server is unavailable,
 * for at most maxWaitMs from the first such failure. Any other error, or an outage longer
 * than the bound, is thrown (the last error, with how long it was waited out). A recovery
 * is logged with the time it took.
 */
export async function waitOutUnavailable<T>(work: () => Promise<T>, options: WaitOutOptions): Promise<T> {
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_UNAVAILABLE_WAIT_MS;
  const firstPause = options.pauseMs ?? 250;
  const maxPause = options.maxPauseMs ?? 2_000;
  let since: number | null = null;
  let attempts = 0;
  for (;;) {
    try {
      const result = await work();
      if (since !== null) {
        options.logger?.warn({ what: options.what, unavailableMs: Date.now() - since, attempts }, `${options.what}: the database server is back; recovered`);
      }
      return result;
    } catch (err) {
      if (!isServerUnavailable(err) || options.signal?.aborted) throw err;
      since ??= Date.now();
      attempts++;
      const waited = Date.now() - since;
      if (waited >= maxWaitMs) {
        throw new Error(`${options.what}: the database server stayed unavailable for ${waited} ms (the limit is ${maxWaitMs} ms): ${(err as Error).message}`, { cause: err });
      }
      const pause = Math.min(maxPause, firstPause * 2 ** Math.min(attempts - 1, 20), maxWaitMs - waited);
      options.logger?.warn({ what: options.what, err: (err as Error).message, attempt: attempts, unavailableMs: waited, retryInMs: pause }, `${options.what}: the database server is unavailable; waiting`);
      await sleep(pause, options.signal);
    }
  }
}
