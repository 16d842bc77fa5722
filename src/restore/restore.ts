// Replaying segments into a target: one source transaction as one target transaction,
// many of them per SQL commit, each guarded by the CAS on last-source-transaction.
import { TransactionError } from '../db/errors';
import type { Database, EntityId, Transaction, TxRequest } from '../db/types';
import { IdMap, IdMapInconsistencyError, ORIGINAL_ID, type IdMapOptions, type IdMapStats } from '../idmap/idmap';
import { silentLogger, type Logger } from '../logger';
import type { SegmentCodec } from '../segment/codec';
import type { SegmentInfo, SegmentStore } from '../stores/types';
import { LAST_SOURCE_TRANSACTION, advanceOp, installOps, readPosition, type TargetPosition } from './bookkeeping';
import { ForeignWriteError, ReplicaDivergedError, SegmentGapError } from './errors';
import { gapError, stepUntilCaughtUp } from './steps';
import { SegmentReader, type LoadedSegment } from './segments';
import { referencedIds, tempidFor, translateTx, type Rewrite, type SourceSchema, type TranslateOptions } from './translate';

/**
 * Options of a restore: eliding and rewriting attributes, where to stop, batching, the codec and
 * the id map.
 */
export interface RestoreOptions {
  /** Attributes (idents) whose datoms are not restored. */
  elide?: Iterable<string>;
  /** Attribute (ident) to a function of the value: masking data in a staging copy. */
  rewrite?: Record<string, Rewrite> | ReadonlyMap<string, Rewrite>;
  /** Point-in-time: stop after the last transaction with t <= untilT. */
  untilT?: number;
  /** Point-in-time: stop after the last transaction at or before this instant. */
  untilInstant?: Date;
  /** Accept a target that others write to as well (off: such writes stop the restore). */
  allowForeignWrites?: boolean;
  /** Source transactions per SQL commit. */
  batchTxns?: number;
  /** Datoms per SQL commit (a batch closes at whichever limit comes first). */
  batchDatoms?: number;
  /** Segments fetched and decoded ahead of the one being applied. */
  prefetch?: number;
  /** Reads the segments: clear ones, and sealed ones with a key of its ring. Clear only when absent. */
  codec?: SegmentCodec;
  idMap?: IdMapOptions;
  logger?: Logger;
  /** Called after every commit. */
  onProgress?: (progress: RestoreProgress) => void;
}

/** Progress of a restore, reported after each batch. */
export interface RestoreProgress {
  db: string;
  /** The last source t applied. */
  position: number;
  /** The last t of the segment being applied. */
  segmentEndT: number;
  transactions: number;
  datoms: number;
}

/** Options of one Restorer.step. */
export interface StepOptions {
  /** Stops at the next batch boundary. */
  signal?: AbortSignal;
  /** This step applies nothing after this t (on top of the restorer's own untilT). */
  untilT?: number;
}

/** What one restore step did. */
export interface RestoreResult {
  /** 'restored': transactions were applied (or another restorer applied them); 'caught-up': nothing to apply. */
  status: 'restored' | 'caught-up';
  /** The position before and after (last source t applied). */
  fromT: number;
  toT: number;
  transactions: number;
  datoms: number;
  /** The until bound was reached: nothing more will be applied. */
  untilReached: boolean;
  segment: SegmentInfo | null;
  /** The instant of the last source transaction applied by this step, or null. */
  lastInstant: Date | null;
  ms: number;
}

/** What restoreAll did: the positions before and after, and what it applied. */
export interface RestoreTotals {
  fromT: number;
  toT: number;
  segments: number;
  transactions: number;
  datoms: number;
  untilReached: boolean;
  /** The id cache's figures (remap mode); null for a clone, which maps no ids. */
  idMap: IdMapStats | null;
}

/** Restores one target from one source's segments; keeps its id cache between steps. */
export class Restorer {
  private readonly idMap: IdMap;
  private readonly translate: TranslateOptions;
  private readonly reader: SegmentReader;
  private readonly logger: Logger;
  /** The target basis the id high-water mark accounts for; null until it was first read. */
  private markBasisT: number | null = null;
  /** The target's basis and position after this restorer's last commit. */
  private lastWritten: { basisT: number; position: number } | null = null;
  /** The position this restorer last read or wrote. */
  private lastSeen: number | null = null;
  private positionAttribute: EntityId | null = null;
  private step: StepOptions = {};

  constructor(
    private readonly target: Database,
    private readonly store: SegmentStore,
    private readonly db: string,
    private readonly options: RestoreOptions = {},
  ) {
    this.idMap = new IdMap(target, options.idMap);
    this.translate = {
      elide: new Set(options.elide ?? []),
      rewrite: options.rewrite instanceof Map ? options.rewrite : new Map(Object.entries(options.rewrite ?? {})),
    };
    this.reader = new SegmentReader(store, db, options.prefetch ?? 2, options.codec);
    this.logger = options.logger ?? silentLogger;
    for (const [name, value] of [['batchTxns', options.batchTxns], ['batchDatoms', options.batchDatoms]] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1))
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }

  /**
   * Applies what comes next: the rest of the segment holding position + 1. An aborted
   * signal stops it at the next batch boundary (the result says how far it got).
   */
  async next(options: StepOptions = {}): Promise<RestoreResult> {
    this.step = options;
    const at = await this.position();
    const from = at.position;
    const idle = (untilReached: boolean): RestoreResult => ({
      status: 'caught-up', fromT: from, toT: from, transactions: 0, datoms: 0, untilReached, segment: null, lastInstant: null, ms: 0,
    });
    if (this.untilReached(from)) return idle(true);
    const next = await this.nextSegment(from);
    if (!next) return idle(false);
    const { info, loaded } = next;
    const started = Date.now();
    const outcome = await this.applySegment(loaded, at);
    this.logger.info(
      {
        db: this.db,
        segment: `${info.startT}-${info.endT}`,
        fromT: from,
        toT: outcome.position,
        transactions: outcome.transactions,
        datoms: outcome.datoms,
        ms: Date.now() - started,
      },
      'segment restored',
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

  /** The segment holding from + 1, loaded (see SegmentReader.loadAfter); a gap stops the restore. */
  private nextSegment(from: number): Promise<{ info: SegmentInfo; loaded: LoadedSegment } | null> {
    return this.reader.loadAfter(from, (info) => {
      if (info.startT > from + 1) throw gapError(this.store, this.db, from, info);
    });
  }

  /** Applies segments until caught up (or the until bound is reached). */
  async all(signal?: AbortSignal): Promise<RestoreTotals> {
    return stepUntilCaughtUp((options) => this.next(options), () => this.idMap.stats(), signal);
  }

  stats(): IdMapStats {
    return this.idMap.stats();
  }

  private get untilT(): number | undefined {
    const bounds = [this.options.untilT, this.step.untilT].filter((t): t is number => t !== undefined);
    return bounds.length ? Math.min(...bounds) : undefined;
  }

  private untilReached(position: number): boolean {
    return this.untilT !== undefined && position >= this.untilT;
  }

  /** Where the target stands, checking that nobody else wrote to it since. */
  private async position(): Promise<TargetPosition> {
    const at = await readPosition(this.target, this.db);
    if (this.markBasisT === null) {
      await this.idMap.load();
      this.markBasisT = at.basisT;
    } else if (this.lastSeen !== at.position) {
      // Another restorer advanced the target: the original ids it wrote raise the mark.
      await this.advanceMark(at.basisT);
    }
    this.lastSeen = at.position;
    const unchanged = this.lastWritten?.basisT === at.basisT;
    if (at.installed && !unchanged && !this.options.allowForeignWrites) await this.checkLastWriter(at);
    return at;
  }

  /**
   * Raises the high-water mark by the original ids the target's transactions after
   * markBasisT assert: reading what was written since costs less than reading the mark
   * again, unless that is a long stretch.
   */
  private async advanceMark(basisT: number): Promise<void> {
    const from = this.markBasisT! + 1;
    if (basisT - from + 1 > MARK_ADVANCE_MAX_TRANSACTIONS) {
      await this.idMap.load();
    } else {
      const originalId = await this.target.resolve(ORIGINAL_ID);
      if (originalId !== null) {
        for await (const tx of this.target.txRange(from, basisT)) {
          for (const [, a, v, added] of tx.datoms) if (added && a === originalId) this.idMap.advance(v as number);
        }
      }
    }
    this.markBasisT = basisT;
  }

  /** The target's newest transaction must be one a restore wrote, advancing to the position. */
  private async checkLastWriter(at: TargetPosition): Promise<void> {
    if (this.positionAttribute === null) {
      const schema = await this.target.schema();
      this.positionAttribute = [...schema.values()].find((a) => a.ident === LAST_SOURCE_TRANSACTION)?.id ?? null;
    }
    let ours = false;
    for await (const tx of this.target.txRange(at.basisT, at.basisT)) {
      ours = tx.datoms.some(([, a, v, added]) => added && a === this.positionAttribute && v === at.position);
    }
    if (!ours) {
      // basisT and the position are two reads: another restore may have committed between them.
      const again = await readPosition(this.target, this.db);
      if (again.position !== at.position || again.basisT !== at.basisT) {
        throw new ConcurrentRestoreError(
          `target ${this.target.location} moved from t=${at.position} to t=${again.position} while this restore read it: another restore is writing to it`,
        );
      }
      throw new ForeignWriteError(
        `target ${this.target.location}: transaction t=${at.basisT} was not written by a txclone restore ` +
          `(it does not advance ${LAST_SOURCE_TRANSACTION} to ${at.position}); another writer breaks instants and ids. ` +
          `Pass allowForeignWrites to replicate into it anyway`,
      );
    }
  }

  private async applySegment(
    segment: LoadedSegment,
    at: TargetPosition,
  ): Promise<{ position: number; transactions: number; datoms: number; untilReached: boolean; lastInstant: Date | null }> {
    let position = at.position;
    let installed = at.installed;
    let transactions = 0;
    let datoms = 0;
    let untilReached = false;
    let lastInstant: Date | null = null;
    const pending: Transaction[] = [];
    let pendingDatoms = 0;
    const batchTxns = this.options.batchTxns ?? 200;
    const batchDatoms = this.options.batchDatoms ?? 20_000;

    const flush = async () => {
      if (pending.length === 0) return;
      const applied = await this.applyBatch(pending, segment.schema, position, installed);
      position = applied.position;
      lastInstant = pending[pending.length - 1]!.instant;
      installed = true;
      transactions += applied.transactions;
      datoms += applied.datoms;
      pending.length = 0;
      pendingDatoms = 0;
      this.options.onProgress?.({ db: this.db, position, segmentEndT: segment.endT, transactions, datoms });
    };

    const untilT = this.untilT;
    for (const tx of segment.transactions) {
      if (tx.t <= position) continue;
      if (this.step.signal?.aborted) break;
      if (
        (untilT !== undefined && tx.t > untilT) ||
        (this.options.untilInstant !== undefined && tx.instant.getTime() > this.options.untilInstant.getTime())
      ) {
        untilReached = true;
        break;
      }
      pending.push(tx);
      pendingDatoms += tx.datoms.length;
      // After a schema change the batch ends, so that later transactions name the attribute
      // by its committed target id (an ident may have been renamed since).
      if (pending.length >= batchTxns || pendingDatoms >= batchDatoms || changesIdents(tx, segment.schema)) await flush();
    }
    if (!this.step.signal?.aborted) await flush();
    if (untilT !== undefined && position >= untilT) untilReached = true;
    return { position, transactions, datoms, untilReached, lastInstant };
  }

  private async applyBatch(
    txs: Transaction[],
    schema: SourceSchema,
    position: number,
    installed: boolean,
  ): Promise<{ position: number; transactions: number; datoms: number }> {
    const ids = new Set<EntityId>();
    for (const tx of txs) referencedIds(tx, schema, ids);
    let resolved: Map<EntityId, EntityId | null>;
    try {
      resolved = await this.idMap.resolve(ids);
    } catch (err) {
      // A "new" id found in the target: fatal, unless another restore just created it.
      if (err instanceof IdMapInconsistencyError) throw await this.explainRace(err, position);
      throw err;
    }
    const createdInBatch = new Set<EntityId>();
    const requests: TxRequest[] = [];
    const created: EntityId[][] = [];
    let datoms = 0;
    let at = position;
    let isInstalled = installed;
    for (const tx of txs) {
      if (tx.t !== at + 1) {
        throw new SegmentGapError(`db ${this.db}: after t=${at} the segment holds t=${tx.t}`, at + 1, tx.t - 1);
      }
      const translated = translateTx(tx, schema, { resolved, createdInBatch }, this.translate);
      const ops = isInstalled ? translated.ops : [...installOps(this.db), ...translated.ops];
      ops.push(advanceOp(at, tx.t, isInstalled));
      requests.push({ ops, txInstant: tx.instant, requireHeld: true });
      created.push(translated.created);
      for (const id of translated.created) createdInBatch.add(id);
      datoms += tx.datoms.length;
      at = tx.t;
      isInstalled = true;
    }
    if (this.options.allowForeignWrites) await this.clampInstants(requests);
    let reports;
    try {
      reports = await this.target.transactBatch(requests, { datoms: false });
    } catch (err) {
      throw await this.explain(err, txs, position);
    }
    reports.forEach((report, i) => {
      this.idMap.record(txs[i]!.tx, report.tx);
      for (const id of created[i]!) this.idMap.record(id, report.tempids[tempidFor(id)]!);
    });
    this.lastWritten = { basisT: reports[reports.length - 1]!.t, position: at };
    this.lastSeen = at;
    // A commit whose CAS held followed every other restore's: the mark covers the target.
    this.markBasisT = this.lastWritten.basisT;
    return { position: at, transactions: txs.length, datoms };
  }

  /**
   * With other writers allowed, their transactions may carry later instants than the
   * source's; the target refuses time going backwards, so such instants move up to it.
   */
  private async clampInstants(requests: TxRequest[]): Promise<void> {
    const basis = await this.target.basisT();
    let floor = 0;
    for await (const tx of this.target.txRange(basis, basis)) floor = tx.instant.getTime();
    for (const request of requests) {
      if (request.txInstant && request.txInstant.getTime() < floor) request.txInstant = new Date(floor);
      floor = Math.max(floor, request.txInstant?.getTime() ?? floor);
    }
  }

  /** err, or a ConcurrentRestoreError when the target moved past position meanwhile. */
  private async explainRace(err: Error, position: number, what = 'the next batch'): Promise<Error> {
    const now = await readPosition(this.target, this.db).catch(() => null);
    if (!now || now.position === position) return err;
    return new ConcurrentRestoreError(
      `target ${this.target.location} moved from t=${position} to t=${now.position} while this restore applied ${what}: another restore is writing to it`,
      { cause: err },
    );
  }

  /** Turns a refused batch into an error that says what happened in source terms. */
  private async explain(err: unknown, txs: Transaction[], position: number): Promise<unknown> {
    if (!(err instanceof TransactionError)) return err;
    const range = `source t=${txs[0]!.t}..${txs[txs.length - 1]!.t}`;
    // Whatever check refused the batch, a target that moved on means another restore won the race.
    const raced = await this.explainRace(err, position, range);
    if (raced !== err) return raced;
    if (err.code === 'not-held') {
      const t = txs[err.batchIndex]?.t;
      return new ReplicaDivergedError(
        `target ${this.target.location} diverged from the source at source t=${t}: ${err.message.replace(/^transaction \d+ of \d+ in the batch: /, '')}`,
      );
    }
    const wrapped = new Error(`target ${this.target.location} refused ${range}: ${err.message}`, { cause: err });
    wrapped.name = 'RestoreTransactionError';
    return wrapped;
  }
}

/** Beyond this many transactions written by another restore, the mark is read again whole. */
const MARK_ADVANCE_MAX_TRANSACTIONS = 5_000;

/** Another restore advanced the target first; the caller reads the position again. */
export class ConcurrentRestoreError extends Error {
  override name = 'ConcurrentRestoreError';
}


function changesIdents(tx: Transaction, schema: SourceSchema): boolean {
  return tx.datoms.some(([, a]) => schema.attributes.get(a)?.ident === ':db/ident');
}
