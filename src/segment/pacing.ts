// Pacing: keep an export from loading the source harder than asked.
export interface PacingOptions {
  /** At most this many transactions read per second (averaged over the run). */
  maxTxPerSecond?: number;
  /** A pause after every segment (ms). */
  pauseMs?: number;
  signal?: AbortSignal;
}

export class Pacer {
  private readonly started = Date.now();
  private transactions = 0;

  constructor(private readonly options: PacingOptions = {}) {
    const { maxTxPerSecond, pauseMs } = options;
    if (maxTxPerSecond !== undefined && !(maxTxPerSecond > 0)) throw new RangeError(`maxTxPerSecond must be positive, got ${maxTxPerSecond}`);
    if (pauseMs !== undefined && !(pauseMs >= 0)) throw new RangeError(`pauseMs must be zero or more, got ${pauseMs}`);
  }

  /** Called after each segment with the transactions it read; waits as long as the pace needs. */
  async after(transactions: number): Promise<void> {
    this.transactions += transactions;
    let wait = this.options.pauseMs ?? 0;
    if (this.options.maxTxPerSecond) {
      const due = this.started + (this.transactions / this.options.maxTxPerSecond) * 1000;
      wait = Math.max(wait, due - Date.now());
    }
    if (wait > 0) await sleep(wait, this.options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
