// Compaction as a service: a compaction pass and then retention, on a timer of their own,
// one pass at a time. The producer runs one; `txclone compact` runs one pass.
import { silentLogger, type Logger } from '../logger';
import type { SegmentCodec } from '../segment/codec';
import { sleep } from '../sleep';
import type { SegmentStore } from '../stores/types';
import { compact, type CompactResult } from './compact';
import { DEFAULT_GRACE_MS, validateLevels, DEFAULT_LEVELS, type CompactionLevel } from './levels';
import { enforceRetention, type RetentionResult } from './retention';

/** The compactor's store, database, levels, grace period and interval. */
export interface CompactorOptions {
  store: SegmentStore;
  db: string;
  levels?: readonly CompactionLevel[];
  /** Run a pass this often (ms); default 1000. */
  intervalMs?: number;
  /** Retention's grace period (ms); default DEFAULT_GRACE_MS. */
  graceMs?: number;
  /** Delete covered segments; default true. */
  retention?: boolean;
  codec?: SegmentCodec;
  gzipLevel?: number;
  logger?: Logger;
  /** Called with each pass's outcome (tests and metrics). */
  onPass?: (pass: CompactionPass) => void;
  /** Called with each failed pass's error; the next pass tries again. */
  onError?: (error: unknown) => void;
}

/** What one pass of compaction and retention did. */
export interface CompactionPass {
  compacted: CompactResult;
  retention: RetentionResult | null;
}

export class Compactor {
  private readonly options: CompactorOptions;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly stopping = new AbortController();
  /** First instants of inputs already read (see CompactOptions.instants). */
  private readonly instants = new Map<string, number>();
  private loop: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private passing: Promise<CompactionPass> | null = null;

  constructor(options: CompactorOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.intervalMs = options.intervalMs ?? 1000;
    if (!(Number.isFinite(this.intervalMs) && this.intervalMs > 0)) throw new RangeError(`compaction intervalMs must be a positive number, got ${options.intervalMs}`);
    validateLevels(options.levels ?? DEFAULT_LEVELS);
    const grace = options.graceMs ?? DEFAULT_GRACE_MS;
    if (!(Number.isFinite(grace) && grace >= 0)) throw new RangeError(`graceMs must be a non-negative number, got ${options.graceMs}`);
  }

  /** Starts the timer; the first pass runs at once. */
  start(): void {
    if (this.loop || this.closing) throw new Error(`compactor for ${this.options.db} was already started`);
    this.loop = (async () => {
      const signal = this.stopping.signal;
      while (!signal.aborted) {
        await this.pass().catch(() => undefined); // reported by pass()
        await sleep(this.intervalMs, signal);
      }
    })();
  }

  /** One pass (compaction, then retention); a pass already running is joined, not doubled. */
  pass(): Promise<CompactionPass> {
    this.passing ??= this.runPass().finally(() => {
      this.passing = null;
    });
    return this.passing;
  }

  /** Lets the pass in flight stop at its next segment, and waits for it. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping.abort();
      await this.loop;
      await this.passing?.catch(() => undefined);
    })();
    return this.closing;
  }

  private async runPass(): Promise<CompactionPass> {
    const { store, db } = this.options;
    const signal = this.stopping.signal;
    try {
      const compacted = await compact(store, db, {
        levels: this.options.levels,
        codec: this.options.codec,
        gzipLevel: this.options.gzipLevel,
        logger: this.logger,
        signal,
        instants: this.instants,
      });
      const retention =
        this.options.retention === false ? null : await enforceRetention(store, db, { graceMs: this.options.graceMs, logger: this.logger, signal, segments: compacted.listed });
      const pass = { compacted, retention };
      this.options.onPass?.(pass);
      return pass;
    } catch (err) {
      if (!signal.aborted) {
        this.logger.error({ db, err: (err as Error).message }, 'compaction pass failed; the next one tries again');
        this.options.onError?.(err);
      }
      throw err;
    }
  }
}
