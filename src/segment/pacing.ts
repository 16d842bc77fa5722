// Pacing: keep an export from loading the source harder than asked.
import { sleep } from '../sleep';

/** How an export paces its reads of the source, so a busy source is not swamped. */
export interface PacingOptions {
  /** At most this many transactions read per second (averaged over the run). */
  maxTxPerSecond?: number;
  /** A pause after every segment (ms). */
  pauseMs?: number;
  signal?: AbortSignal;
}

/** The longest delay setTimeout takes (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Pacer {
  private readonly started = Date.now();
  private transactions = 0;

  constructor(private readonly options: PacingOptions = {}) {
    const { maxTxPerSecond, pauseMs } = options;
    if (maxTxPerSecond !== undefined && !(maxTxPerSecond > 0)) throw new RangeError(`maxTxPerSecond must be positive, got ${maxTxPerSecond}`);
    if (pauseMs !== undefined && !(pauseMs >= 0 && pauseMs <= MAX_TIMER_MS))
      throw new RangeError(`pauseMs must be 0..${MAX_TIMER_MS} ms, got ${pauseMs}`);
  }

  /** Called after each segment with the transactions it read; waits as long as the pace needs. */
  async after(transactions: number): Promise<void> {
    this.transactions += transactions;
    let wait = this.options.pauseMs ?? 0;
    if (this.options.maxTxPerSecond) {
      const due = this.started + (this.transactions / this.options.maxTxPerSecond) * 1000;
      wait = Math.max(wait, due - Date.now());
    }
    // setTimeout fires after 1 ms for a delay beyond MAX_TIMER_MS: a longer wait goes in steps.
    const until = Date.now() + wait;
    for (let left = wait; left > 0 && !this.options.signal?.aborted; left = until - Date.now())
      await sleep(Math.min(left, MAX_TIMER_MS), this.options.signal);
  }
}
