// Clone-mode restore: the target keeps the source's t, ids, instants and datoms. Each batch
// is written verbatim (LogBatch), checked against the clone's basis under its meta lock, so
// replay is exactly-once with no bookkeeping datoms. An empty clone far behind loads like
// pg_restore: COPY into index-less tables, then the current datoms and indexes at the end.
import { LogBatch } from '../db/log-apply';
import type { Database, Transaction } from '../db/types';
import { silentLogger, type Logger } from '../logger';
import type { SegmentCodec } from '../segment/codec';
import type { SegmentInfo, SegmentStore } from '../stores/types';
import { replicaPosition } from './position';
import type { RestoreProgress, RestoreResult, RestoreTotals, StepOptions } from './restore';
import { gapError, stepUntilCaughtUp } from './steps';
import { SegmentReader, type LoadedSegment } from './segments';

/**
 * Options of a clone restore: where to stop, batching, the codec; a clone keeps the source's log,
 * so nothing is elided or rewritten.
 */
export interface CloneRestoreOptions {
  /** Point-in-time: stop after the last transaction with t <= untilT. */
  untilT?: number;
  /** Point-in-time: stop after the last transaction at or before this instant. */
  untilInstant?: Date;
  /** Source transactions per SQL commit. */
  batchTxns?: number;
  /** Datoms per SQL commit (a batch closes at whichever limit comes first). */
  batchDatoms?: number;
  /** Segments fetched and decoded ahead of the one being applied. */
  prefetch?: number;
  /**
   * An empty clone at least this many transactions behind the store's head loads in bulk:
   * COPY into tables without indexes, indexes built when it has caught up.
   */
  bulkLoadMinTxns?: number;
  codec?: SegmentCodec;
  logger?: Logger;
  onProgress?: (progress: RestoreProgress) => void;
}

const DEFAULT_BATCH_TXNS = 2_000;
const DEFAULT_BATCH_DATOMS = 20_000;
/** A bulk batch is one COPY per table: larger batches cost fewer commits. */
const BULK_BATCH_DATOMS = 100_000;
const DEFAULT_BULK_LOAD_MIN_TXNS = 20_000;

/** Restores a clone from one source's segments. */
export class CloneRestorer {
  private readonly reader: SegmentReader;
  private readonly logger: Logger;
  private step: StepOptions = {};

  constructor(
    private readonly target: Database,
    private readonly store: SegmentStore,
    private readonly db: string,
    private readonly options: CloneRestoreOptions = {},
  ) {
    this.reader = new SegmentReader(store, db, options.prefetch ?? 2, options.codec);
    this.logger = options.logger ?? silentLogger;
    for (const [name, value] of [
      ['batchTxns', options.batchTxns],
      ['batchDatoms', options.batchDatoms],
      ['bulkLoadMinTxns', options.bulkLoadMinTxns],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1))
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }

  /** Applies the rest of the segment holding position + 1; finishes an initial load once caught up. */
  async next(options: StepOptions = {}): Promise<RestoreResult> {
    this.step = options;
    const { position: from, loading } = await replicaPosition(this.target, this.db, 'clone');
    const idle = async (untilReached: boolean): Promise<RestoreResult> => {
      if (loading) await this.finishLoad(from);
      return { status: 'caught-up', fromT: from, toT: from, transactions: 0, datoms: 0, untilReached, segment: null, lastInstant: null, ms: 0 };
    };
    if (this.untilT !== undefined && from >= this.untilT) return idle(true);
    const next = await this.reader.loadAfter(from, (info) => {
      if (info.startT > from + 1) throw gapError(this.store, this.db, from, info);
    });
    if (!next) return idle(false);
    const { info, loaded } = next;
    const bulk = loading || (from === 0 && (await this.farBehind(from)));
    const started = Date.now();
    const outcome = await this.applySegment(loaded, info, from, bulk);
    if (bulk && outcome.untilReached) await this.finishLoad(outcome.position);
    this.logger.info(
      { db: this.db, segment: `${info.startT}-${info.endT}`, fromT: from, toT: outcome.position, transactions: outcome.transactions, datoms: outcome.datoms, bulk, ms: Date.now() - started },
      'segment cloned',
    );
    return {
      status: 'restored',
      fromT: from,
      toT: outcome.position,
      transactions: outcome.transactions,
      datoms: outcome.datoms,
      untilReached: outcome.untilReached,
      segment: info,
      lastInstant: outcome.lastInstant,
      ms: Date.now() - started,
    };
  }

  /** Applies segments until caught up (or the until bound is reached). */
  async all(signal?: AbortSignal): Promise<RestoreTotals> {
    return stepUntilCaughtUp((options) => this.next(options), () => null, signal);
  }

  stats(): null {
    return null;
  }

  private get untilT(): number | undefined {
    const bounds = [this.options.untilT, this.step.untilT].filter((t): t is number => t !== undefined);
    return bounds.length ? Math.min(...bounds) : undefined;
  }

  private async farBehind(position: number): Promise<boolean> {
    const head = await this.store.head(this.db);
    return head !== null && head.endT - position >= (this.options.bulkLoadMinTxns ?? DEFAULT_BULK_LOAD_MIN_TXNS);
  }

  private async finishLoad(position: number): Promise<void> {
    const started = Date.now();
    this.logger.info({ db: this.db, position }, 'initial load caught up: deriving current datoms and building indexes');
    await this.target.finishLoad();
    this.logger.info({ db: this.db, position, ms: Date.now() - started }, 'initial load finished');
  }

  private async applySegment(
    segment: LoadedSegment,
    info: SegmentInfo,
    from: number,
    bulk: boolean,
  ): Promise<{ position: number; transactions: number; datoms: number; untilReached: boolean; lastInstant: Date | null }> {
    let position = from;
    let transactions = 0;
    let datoms = 0;
    let untilReached = false;
    let lastInstant: Date | null = null;
    const batchTxns = bulk ? Number.MAX_SAFE_INTEGER : (this.options.batchTxns ?? DEFAULT_BATCH_TXNS);
    const batchDatoms = bulk ? BULK_BATCH_DATOMS : (this.options.batchDatoms ?? DEFAULT_BATCH_DATOMS);
    let pending: Transaction[] = [];
    let pendingDatoms = 0;
    // One batch is written while the next is prepared: the server's work and JavaScript's overlap.
    let inFlight: Promise<void> | null = null;

    const flush = async () => {
      if (pending.length === 0) return;
      const txs = pending;
      pending = [];
      pendingDatoms = 0;
      const batch = LogBatch.prepare(txs, segment.schema.attributes, { bulk });
      await inFlight;
      const write = this.target.applyLog(batch, { source: this.db, bulk }).then(() => {
        position = batch.lastT;
        lastInstant = txs[txs.length - 1]!.instant;
        transactions += txs.length;
        datoms += batch.datoms;
        this.options.onProgress?.({ db: this.db, position, segmentEndT: info.endT, transactions, datoms });
      });
      write.catch(() => undefined); // awaited by the next flush or at the end; this keeps it from being unhandled meanwhile
      inFlight = write;
    };

    const untilT = this.untilT;
    const untilMs = this.options.untilInstant?.getTime();
    for (const tx of segment.transactions) {
      if (tx.t <= from) continue;
      if (this.step.signal?.aborted) break;
      if ((untilT !== undefined && tx.t > untilT) || (untilMs !== undefined && tx.instant.getTime() > untilMs)) {
        untilReached = true;
        break;
      }
      pending.push(tx);
      pendingDatoms += tx.datoms.length;
      if (pending.length >= batchTxns || pendingDatoms >= batchDatoms) await flush();
    }
    if (!this.step.signal?.aborted) await flush();
    await inFlight;
    if (untilT !== undefined && position >= untilT) untilReached = true;
    return { position, transactions, datoms, untilReached, lastInstant };
  }
}
