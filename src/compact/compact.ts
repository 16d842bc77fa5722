// The compactor: for each level n, merges the contiguous level n-1 segments after the last
// level n segment into level n segments, cut where levels.ts says. It only ever adds
// write-once segments holding exactly the transactions of segments already stored, so a
// compactor killed at any instant leaves a store that restores as before, and two
// compactors write the same bytes for the same range (a retry or a race is a no-op).
import { silentLogger, type Logger } from '../logger';
import { clearCodec, type SegmentCodec } from '../segment/codec';
import type { Segment } from '../segment/format';
import { SegmentNotFoundError } from '../stores/errors';
import type { SegmentInfo, SegmentStore } from '../stores/types';
import { DEFAULT_LEVELS, validateLevels, type CompactionLevel } from './levels';
import { mergeSegments } from './merge';

/** A compaction pass's store, database, levels and codec. */
export interface CompactOptions {
  /** Default DEFAULT_LEVELS. */
  levels?: readonly CompactionLevel[];
  /** Reads the inputs and writes the result: clear, or sealed with the ring's active key. Clear when absent. */
  codec?: SegmentCodec;
  /** gzip level of the segments written (0..9); the encoder's default when absent. */
  gzipLevel?: number;
  logger?: Logger;
  /** Stops between two segments. */
  signal?: AbortSignal;
  /**
   * The first transaction's instant of segments read before, by key: a long-lived
   * compactor passes the same map to every run so that an input waiting for its group to
   * fill is read once, not on every run. Keys are write-once, so entries never go stale.
   */
  instants?: Map<string, number>;
}

/** A segment a compaction pass wrote, and the inputs it merged. */
export interface CompactedSegment {
  info: SegmentInfo;
  /** False when another compactor (or an earlier run) had written the same bytes. */
  written: boolean;
  inputs: number;
  transactions: number;
}

/** What one compaction pass wrote. */
export interface CompactResult {
  /** What this run produced, by level then t. */
  segments: CompactedSegment[];
  /**
   * Every segment of the store as this run saw it (its listing, plus what it wrote), in
   * key order: retention may take it instead of listing again (one listing per pass).
   */
  listed: SegmentInfo[];
}

/** One compaction pass over every level, lowest first (a level's new segments feed the next). */
export async function compact(store: SegmentStore, db: string, options: CompactOptions = {}): Promise<CompactResult> {
  const levels = options.levels ?? DEFAULT_LEVELS;
  validateLevels(levels);
  const byLevel = new Map<number, SegmentInfo[]>();
  const listed: SegmentInfo[] = [];
  for await (const info of store.list(db)) {
    listed.push(info);
    const list = byLevel.get(info.level) ?? [];
    list.push(info);
    byLevel.set(info.level, list);
  }
  const run = new LevelRun(store, db, options);
  const segments: CompactedSegment[] = [];
  for (const spec of levels) {
    options.signal?.throwIfAborted();
    const outputs = byLevel.get(spec.level) ?? [];
    const produced = await run.compactLevel(spec, byLevel.get(spec.level - 1) ?? [], outputs);
    segments.push(...produced);
    byLevel.set(spec.level, mergeByStart(outputs, produced.map((p) => p.info)));
  }
  const known = new Set(listed.map((s) => s.key));
  for (const s of segments) if (!known.has(s.info.key)) listed.push(s.info);
  listed.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return { segments, listed };
}

class LevelRun {
  private readonly codec: SegmentCodec;
  private readonly logger: Logger;
  private readonly instants: Map<string, number>;

  constructor(
    private readonly store: SegmentStore,
    private readonly db: string,
    private readonly options: CompactOptions,
  ) {
    this.codec = options.codec ?? clearCodec;
    this.logger = options.logger ?? silentLogger;
    this.instants = options.instants ?? new Map();
  }

  /** Level spec.level from the level below, after the last segment of spec.level. */
  async compactLevel(spec: CompactionLevel, inputs: readonly SegmentInfo[], outputs: readonly SegmentInfo[]): Promise<CompactedSegment[]> {
    const frontier = outputs.reduce<number | null>((max, s) => (max === null || s.endT > max ? s.endT : max), null);
    let i = frontier === null ? 0 : inputs.findIndex((s) => s.startT > frontier);
    if (i < 0 || i >= inputs.length) return [];
    if (frontier !== null && inputs[i]!.startT !== frontier + 1) {
      this.logger.warn({ db: this.db, level: spec.level, frontier, next: inputs[i]!.key }, 'compaction: no segment of the level below starts after this level ends; waiting for it');
      return [];
    }
    const produced: CompactedSegment[] = [];
    const decoded = new Map<string, Segment>();
    let group: SegmentInfo[] = [];
    let txns = 0;
    let window = 0;
    const emit = async () => {
      produced.push(await this.write(spec.level, group, decoded));
      for (const s of group) decoded.delete(s.key);
      group = [];
      txns = 0;
    };
    try {
      for (let previousEnd: number | null = null; i < inputs.length; i++) {
        const input = inputs[i]!;
        if (previousEnd !== null && input.startT !== previousEnd + 1) break; // a hole: wait for repair
        previousEnd = input.endT;
        this.options.signal?.throwIfAborted();
        const w = Math.floor((await this.firstInstant(input, decoded)) / spec.windowMs);
        if (group.length > 0 && w !== window) await emit();
        if (group.length === 0) window = w;
        group.push(input);
        txns += input.endT - input.startT + 1;
        if (txns >= spec.maxTxns) await emit();
      }
    } catch (err) {
      // Listed a moment ago and gone now: another compactor's retention. The next run lists again.
      if (!(err instanceof SegmentNotFoundError)) throw err;
      this.logger.warn({ db: this.db, level: spec.level, err: err.message }, 'compaction: an input vanished; stopping this level until the next run');
    }
    return produced;
  }

  private async firstInstant(info: SegmentInfo, decoded: Map<string, Segment>): Promise<number> {
    const known = this.instants.get(info.key);
    if (known !== undefined) return known;
    const segment = await this.read(info);
    decoded.set(info.key, segment);
    const instant = segment.transactions[0]!.instant.getTime();
    this.instants.set(info.key, instant);
    return instant;
  }

  private async read(info: SegmentInfo): Promise<Segment> {
    const bytes = await this.store.get(this.db, info.startT, info.endT, info.level);
    return this.codec.decode(bytes, {
      name: `${this.store.location} ${info.key}`,
      place: { database: this.db, startT: info.startT, endT: info.endT },
    });
  }

  private async write(level: number, group: readonly SegmentInfo[], decoded: Map<string, Segment>): Promise<CompactedSegment> {
    const inputs = [];
    for (const info of group) inputs.push({ name: `${this.store.location} ${info.key}`, segment: decoded.get(info.key) ?? (await this.read(info)) });
    const merged = mergeSegments(this.db, inputs);
    const encoded = this.codec.encode(merged, { level: this.options.gzipLevel });
    const put = await this.store.put(this.db, merged.startT, merged.endT, encoded.bytes, { level });
    for (const info of group) this.instants.delete(info.key);
    this.instants.set(put.segment.key, merged.transactions[0]!.instant.getTime());
    this.logger.info(
      { db: this.db, level, segment: `${merged.startT}-${merged.endT}`, inputs: group.length, transactions: merged.transactions.length, bytes: put.segment.size, written: put.written },
      'segments compacted',
    );
    return { info: put.segment, written: put.written, inputs: group.length, transactions: merged.transactions.length };
  }
}

function mergeByStart(a: readonly SegmentInfo[], b: readonly SegmentInfo[]): SegmentInfo[] {
  return [...a, ...b].sort((x, y) => x.startT - y.startT || x.endT - y.endT);
}
