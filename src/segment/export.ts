// The producer: turns the source's transaction log into segments in a store.
import type { Attribute, Database, EntityId, Transaction } from '../db/types';
import { silentLogger, type Logger } from '../logger';
import type { SegmentInfo, SegmentStore } from '../stores/types';
import { clearCodec, type SegmentCodec } from './codec';
import { Pacer, type PacingOptions } from './pacing';

/** How large a segment may grow: transactions and approximate bytes. */
export interface SegmentLimits {
  /** Transactions per segment at most. */
  maxTxns?: number;
  /** Approximate uncompressed bytes per segment at most (a segment holds at least one transaction). */
  maxBytes?: number;
  /** gzip level. */
  level?: number;
}

/** Options of the export functions: segment limits, pacing, the codec and a logger. */
export interface ExportOptions extends SegmentLimits, PacingOptions {
  /** Writes the segments' bytes: clear, or sealed with a key ring's active key. Clear when absent. */
  codec?: SegmentCodec;
  logger?: Logger;
  /** Called after each segment written (or found already written). */
  onSegment?: (event: ExportedSegment) => void;
}

/** One segment an export wrote or found already written. */
export interface ExportedSegment {
  info: SegmentInfo;
  /** False when the same bytes were already stored. */
  written: boolean;
  transactions: number;
  datoms: number;
  /** Size of the CBOR before gzip. */
  uncompressedBytes: number;
  ms: number;
}

/** What an export covered and wrote. */
export interface ExportResult {
  /** The range covered, or null when there was nothing to export. */
  startT: number | null;
  endT: number | null;
  segments: ExportedSegment[];
  transactions: number;
  datoms: number;
}

export const DEFAULT_MAX_TXNS = 1000;
export const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Reads the schema and built-ins once per export run; a segment names the attributes it
 * uses with their definitions as the source holds them now.
 */
class SourceView {
  private schema: Map<EntityId, Attribute> | null = null;
  private builtins: Map<EntityId, string> | null = null;

  constructor(readonly source: Database) {}

  async attributes(ids: Set<EntityId>): Promise<Attribute[]> {
    this.schema ??= await this.source.schema();
    // An attribute installed after the schema was read: read it again.
    if ([...ids].some((id) => !this.schema!.has(id))) this.schema = await this.source.schema();
    const byIdent = new Map([...this.schema.values()].map((a) => [a.ident, a]));
    const out = new Map<EntityId, Attribute>();
    for (const id of ids) {
      const attribute = this.schema.get(id);
      if (!attribute) throw new Error(`source ${this.source.location}: datoms of attribute ${id}, which its schema does not hold`);
      out.set(id, attribute);
      for (const part of attribute.tupleAttrs ?? []) {
        const p = byIdent.get(part);
        if (p) out.set(p.id, p);
      }
    }
    return [...out.values()];
  }

  async builtinIdents(): Promise<Map<EntityId, string>> {
    return (this.builtins ??= await this.source.builtins());
  }
}

/**
 * Reads transactions from startT on (at most to endT) until the segment limits, encodes
 * and writes one segment. Its bytes depend only on the source's log, so two producers
 * writing the same range agree (and a retry is a no-op).
 */
async function exportSegment(
  view: SourceView,
  store: SegmentStore,
  db: string,
  startT: number,
  endT: number,
  options: SegmentLimits & { codec?: SegmentCodec },
): Promise<ExportedSegment | null> {
  const started = Date.now();
  const maxTxns = options.maxTxns ?? DEFAULT_MAX_TXNS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const transactions: Transaction[] = [];
  let bytes = 0;
  let datoms = 0;
  const attributeIds = new Set<EntityId>();
  for await (const tx of view.source.txRange(startT, endT)) {
    transactions.push(tx);
    datoms += tx.datoms.length;
    for (const d of tx.datoms) {
      attributeIds.add(d[1]);
      bytes += estimateBytes(d[2]);
    }
    if (transactions.length >= maxTxns || bytes >= maxBytes) break;
  }
  if (transactions.length === 0) return null;
  const first = transactions[0]!.t;
  const last = transactions[transactions.length - 1]!.t;
  if (first !== startT) throw new Error(`source ${view.source.location}: asked for t=${startT}, the log starts at t=${first}`);

  const attributes = await view.attributes(attributeIds);
  const builtins = await view.builtinIdents();
  const refTypes = new Map(attributes.map((a) => [a.id, a.valueType]));
  const idents = new Map<EntityId, string>();
  const noteBuiltin = (id: unknown) => {
    if (typeof id === 'number' && builtins.has(id)) idents.set(id, builtins.get(id)!);
  };
  for (const tx of transactions) {
    for (const [e, a, v] of tx.datoms) {
      noteBuiltin(e);
      if (refTypes.get(a) === 'ref') noteBuiltin(v);
      else if (refTypes.get(a) === 'tuple' && Array.isArray(v)) v.forEach(noteBuiltin);
    }
  }

  const encoded = (options.codec ?? clearCodec).encode(
    {
      database: db,
      startT: first,
      endT: last,
      // Deterministic on purpose (see above): the last transaction's instant and t,
      // not the wall clock and the source's moving basis. HEAD.edn says when it was written.
      sourceBasisT: last,
      createdAt: transactions[transactions.length - 1]!.instant.getTime(),
      schema: attributes,
      idents,
      transactions,
    },
    { level: options.level },
  );
  const put = await store.put(db, first, last, encoded.bytes);
  return {
    info: put.segment,
    written: put.written,
    transactions: transactions.length,
    datoms,
    uncompressedBytes: encoded.uncompressedBytes,
    ms: Date.now() - started,
  };
}

function estimateBytes(v: unknown): number {
  if (typeof v === 'string') return 24 + v.length;
  if (v instanceof Uint8Array) return 24 + v.length;
  if (Array.isArray(v)) return 24 + v.reduce((n: number, x) => n + estimateBytes(x), 0);
  return 32;
}

/** Exports startT..endT as segments cut at the limits. */
export async function exportRange(
  source: Database,
  store: SegmentStore,
  db: string,
  startT: number,
  endT: number,
  options: ExportOptions = {},
): Promise<ExportResult> {
  return exportWith(new SourceView(source), store, db, startT, endT, options, new Pacer(options));
}

async function exportWith(
  view: SourceView,
  store: SegmentStore,
  db: string,
  startT: number,
  endT: number,
  options: ExportOptions,
  pacer: Pacer,
): Promise<ExportResult> {
  checkRange(startT, endT);
  checkLimits(options);
  const logger = options.logger ?? silentLogger;
  const result: ExportResult = { startT: null, endT: null, segments: [], transactions: 0, datoms: 0 };
  let from = startT;
  while (from <= endT) {
    options.signal?.throwIfAborted();
    const segment = await exportSegment(view, store, db, from, endT, options);
    if (!segment) break;
    result.startT ??= segment.info.startT;
    result.endT = segment.info.endT;
    result.segments.push(segment);
    result.transactions += segment.transactions;
    result.datoms += segment.datoms;
    logger.info(
      {
        db,
        segment: `${segment.info.startT}-${segment.info.endT}`,
        transactions: segment.transactions,
        datoms: segment.datoms,
        bytes: segment.info.size,
        written: segment.written,
        ms: segment.ms,
      },
      'segment exported',
    );
    options.onSegment?.(segment);
    from = segment.info.endT + 1;
    await pacer.after(segment.transactions);
  }
  return result;
}

function checkRange(startT: number, endT: number): void {
  if (!Number.isSafeInteger(startT) || startT < 1) throw new RangeError(`startT must be a t of 1 or more, got ${startT}`);
  if (!Number.isSafeInteger(endT)) throw new RangeError(`endT must be an integer, got ${endT}`);
  if (endT < startT) throw new RangeError(`endT must not be before startT, got ${startT}..${endT}`);
}

/** Limits that would be silently ignored (NaN) or misread (0, -1, 1.5) are refused before anything is read. */
function checkLimits(options: SegmentLimits): void {
  const { maxTxns, maxBytes, level } = options;
  if (maxTxns !== undefined && !(Number.isSafeInteger(maxTxns) && maxTxns >= 1))
    throw new RangeError(`maxTxns must be a positive integer, got ${maxTxns}`);
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 1))
    throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
  if (level !== undefined && !(Number.isInteger(level) && level >= 0 && level <= 9))
    throw new RangeError(`level must be a gzip level 0..9, got ${level}`);
}

/** Writes the next segment after the store's head, or returns null when the store has everything. */
export async function exportNext(
  source: Database,
  store: SegmentStore,
  db: string,
  options: ExportOptions = {},
): Promise<ExportedSegment | null> {
  checkLimits(options);
  const head = await store.head(db);
  const from = head ? head.endT + 1 : 1;
  const basis = await source.basisT();
  if (from > basis) return null;
  const segment = await exportSegment(new SourceView(source), store, db, from, basis, options);
  if (segment) options.onSegment?.(segment);
  return segment;
}

/** Exports everything after the store's head, segment by segment, until the source's basis. */
export async function exportAll(
  source: Database,
  store: SegmentStore,
  db: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  checkLimits(options);
  new Pacer(options); // checks the pacing options even when there is nothing to export
  const head = await store.head(db);
  const from = head ? head.endT + 1 : 1;
  const basis = await source.basisT();
  if (from > basis) return { startT: null, endT: null, segments: [], transactions: 0, datoms: 0 };
  return exportRange(source, store, db, from, basis, options);
}

/** A range of t missing from the store. */
export interface Gap {
  startT: number;
  endT: number;
}

/** Ranges of 1..upToT no segment holds (only the listing is read, never the segments). */
export async function findGaps(store: SegmentStore, db: string, options: { upToT?: number } = {}): Promise<Gap[]> {
  const gaps: Gap[] = [];
  let next = 1;
  for await (const info of store.list(db)) {
    if (info.startT > next) gaps.push({ startT: next, endT: info.startT - 1 });
    next = Math.max(next, info.endT + 1);
  }
  if (options.upToT !== undefined && next <= options.upToT) gaps.push({ startT: next, endT: options.upToT });
  return gaps;
}

/** Options of backup: fixed segment cuts and parallelism. */
export interface BackupOptions extends ExportOptions {
  /** Transactions per segment (fixed cuts, so a rerun finds the same ranges). */
  segmentTxns?: number;
  /** Segments exported at once. */
  parallel?: number;
}

/**
 * A fast initial backup: every range the store lacks up to the source's basis, cut into
 * segmentTxns-sized segments, exported `parallel` at a time. A rerun writes only what is missing.
 */
export async function backup(source: Database, store: SegmentStore, db: string, options: BackupOptions = {}): Promise<ExportResult> {
  const plan = checkBackupOptions(options);
  const basis = await source.basisT();
  return exportGaps(source, store, db, await findGaps(store, db, { upToT: basis }), options, plan);
}

/** Re-exports exactly the missing ranges below the store's head. */
export async function repair(source: Database, store: SegmentStore, db: string, options: BackupOptions = {}): Promise<ExportResult> {
  const plan = checkBackupOptions(options);
  const head = await store.head(db);
  if (!head) return { startT: null, endT: null, segments: [], transactions: 0, datoms: 0 };
  const basis = await source.basisT();
  const gaps = await findGaps(store, db, { upToT: head.endT });
  for (const gap of gaps) {
    if (gap.endT > basis) throw new Error(`store holds t up to ${head.endT} but source ${source.location} only reaches t=${basis}: is it the right source?`);
  }
  if (gaps.length > 0) await checkSameSource(source, store, db, gaps[0]!, options.codec ?? clearCodec);
  return exportGaps(source, store, db, gaps, options, plan);
}

/**
 * Another database long enough to cover the gaps would fill them with its own transactions:
 * the stored transaction next to the first gap must be the source's (same tx, instant, datoms).
 */
async function checkSameSource(source: Database, store: SegmentStore, db: string, gap: Gap, codec: SegmentCodec): Promise<void> {
  // The last t before the gap, or for a gap from t=1 the first t after it.
  const t = gap.startT > 1 ? gap.startT - 1 : gap.endT + 1;
  let info: SegmentInfo | undefined;
  for await (const s of store.list(db, { afterT: t - 1, limit: 1 })) info = s;
  if (!info || info.startT > t) return;
  let theirs: Transaction | undefined;
  for await (const tx of source.txRange(t, t)) theirs = tx;
  if (!theirs) return; // beyond the source's basis: the gap check above speaks for that
  const name = `${store.location} ${info.key}`;
  const place = { database: db, startT: info.startT, endT: info.endT };
  const stored = codec.decode(await store.get(db, info.startT, info.endT, info.level), { name, place }).transactions[t - info.startT]!;
  const same =
    stored.tx === theirs.tx &&
    stored.instant.getTime() === theirs.instant.getTime() &&
    stored.datoms.length === theirs.datoms.length &&
    stored.datoms.every(([e, a, , added], i) => {
      const d = theirs!.datoms[i]!;
      return d[0] === e && d[1] === a && d[3] === added;
    });
  if (!same)
    throw new Error(
      `source ${source.location} does not hold the transactions of ${name}: its t=${t} is tx ${theirs.tx} at ${theirs.instant.toISOString()} ` +
        `with ${theirs.datoms.length} datoms, the stored one tx ${stored.tx} at ${stored.instant.toISOString()} with ${stored.datoms.length}: is it the right source?`,
    );
}

/** Every option checked before anything is read or written. */
function checkBackupOptions(options: BackupOptions): { segmentTxns: number; parallel: number } {
  const segmentTxns = options.segmentTxns ?? options.maxTxns ?? DEFAULT_MAX_TXNS;
  const parallel = options.parallel ?? 2;
  if (!Number.isSafeInteger(segmentTxns) || segmentTxns < 1) throw new RangeError(`segmentTxns must be a positive integer, got ${segmentTxns}`);
  if (!Number.isSafeInteger(parallel) || parallel < 1) throw new RangeError(`parallel must be a positive integer, got ${parallel}`);
  checkLimits({ ...options, maxTxns: segmentTxns });
  new Pacer(options);
  return { segmentTxns, parallel };
}

async function exportGaps(
  source: Database,
  store: SegmentStore,
  db: string,
  gaps: Gap[],
  options: BackupOptions,
  { segmentTxns, parallel }: { segmentTxns: number; parallel: number },
): Promise<ExportResult> {
  const ranges: Gap[] = [];
  for (const gap of gaps) {
    for (let s = gap.startT; s <= gap.endT; s += segmentTxns) ranges.push({ startT: s, endT: Math.min(gap.endT, s + segmentTxns - 1) });
  }
  const view = new SourceView(source);
  const pacer = new Pacer(options);
  const results: ExportResult[] = [];
  let nextRange = 0;
  let failed = false;
  const worker = async () => {
    while (nextRange < ranges.length && !failed) {
      const range = ranges[nextRange++]!;
      try {
        // A range is one segment unless maxBytes cuts it further.
        results.push(await exportWith(view, store, db, range.startT, range.endT, { ...options, maxTxns: segmentTxns }, pacer));
      } catch (err) {
        failed = true; // the other workers stop taking ranges
        throw err;
      }
    }
  };
  // Every worker finishes its segment before the first error is thrown: a caller that closes
  // the store or the source on error must not race exports still under way.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(parallel, ranges.length) }, worker));
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  const segments = results.flatMap((r) => r.segments).sort((x, y) => x.info.startT - y.info.startT);
  return {
    startT: segments[0]?.info.startT ?? null,
    endT: segments[segments.length - 1]?.info.endT ?? null,
    segments,
    transactions: segments.reduce((n, s) => n + s.transactions, 0),
    datoms: segments.reduce((n, s) => n + s.datoms, 0),
  };
}
