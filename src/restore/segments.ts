// Finds the segment holding the next transaction and reads segments ahead of the writer.
import type { Transaction } from '../db/types';
import { clearCodec, type SegmentCodec } from '../segment/codec';
import { SegmentNotFoundError } from '../stores/errors';
import type { SegmentInfo, SegmentStore } from '../stores/types';
import { sourceSchema, type SourceSchema } from './translate';

export interface LoadedSegment {
  startT: number;
  endT: number;
  schema: SourceSchema;
  transactions: Transaction[];
}

export interface PendingSegment {
  info: SegmentInfo;
  /** Fetched and decoded; started as soon as the segment was listed. */
  load(): Promise<LoadedSegment>;
}

/** Fetches and decodes one segment (clear, or sealed with a key of the codec's ring). */
export async function loadSegment(store: SegmentStore, info: SegmentInfo, codec: SegmentCodec = clearCodec): Promise<LoadedSegment> {
  const bytes = await store.get(info.db, info.startT, info.endT, info.level);
  const place = { database: info.db, startT: info.startT, endT: info.endT };
  const segment = codec.decode(bytes, { name: `${store.location} ${info.key}`, place });
  return {
    startT: segment.header.startT,
    endT: segment.header.endT,
    schema: sourceSchema(segment.schema, segment.idents),
    transactions: segment.transactions,
  };
}

/**
 * Lists only after the current position (never the whole store) and keeps up to `ahead`
 * segments fetched and decoded while the current one is applied. Where compaction levels
 * overlap, it takes, among the segments holding the next t, the one reaching furthest:
 * a reader standing where a compacted segment starts reads that one instead of the many
 * it holds, and a catch-up reads few objects.
 */
export class SegmentReader {
  private queue: PendingSegment[] = [];
  /** Bumped by every refill, so that a read-ahead started before it does not add stale entries. */
  private generation = 0;

  constructor(
    private readonly store: SegmentStore,
    private readonly db: string,
    private readonly ahead: number,
    private readonly codec: SegmentCodec = clearCodec,
  ) {}

  /** The segment holding position + 1 (or the first after it, which the caller reports as a gap). */
  async segmentAfter(position: number): Promise<PendingSegment | null> {
    while (this.queue.length && this.queue[0]!.info.endT <= position) this.queue.shift();
    const head = this.queue[0];
    if (!head || head.info.startT > position + 1) await this.refill(position);
    const next = this.queue.shift() ?? null;
    // Start reading the following segments while the caller applies this one.
    if (next) void this.topUp(next.info.endT);
    return next;
  }

  /**
   * The segment holding position + 1, loaded. checkGap sees it first (and throws when it
   * starts after position + 1). A segment listed and then deleted before it was read
   * (compaction's retention deletes only what a compacted segment holds) is looked for
   * again: the listing then offers the segment holding it.
   */
  async loadAfter(position: number, checkGap: (info: SegmentInfo) => void): Promise<{ info: SegmentInfo; loaded: LoadedSegment } | null> {
    for (let attempt = 1; ; attempt++) {
      const segment = await this.segmentAfter(position);
      if (!segment) return null;
      checkGap(segment.info);
      try {
        return { info: segment.info, loaded: await segment.load() };
      } catch (err) {
        if (!(err instanceof SegmentNotFoundError) || attempt >= 5) throw err;
        this.reset();
      }
    }
  }

  /** Forgets what was listed: the next call lists again (a listed segment was gone when read). */
  reset(): void {
    this.queue = [];
    this.generation++;
  }

  private async refill(position: number): Promise<void> {
    this.reset();
    const generation = this.generation;
    const chain = await this.plan(position, this.ahead + 1);
    if (generation === this.generation) this.queue = chain.map((info) => this.pending(info));
  }

  private async topUp(afterT: number): Promise<void> {
    if (this.ahead === 0 || this.queue.length >= this.ahead) return;
    const generation = this.generation;
    try {
      const last = this.queue[this.queue.length - 1]?.info.endT ?? afterT;
      const chain = await this.plan(last, this.ahead - this.queue.length);
      for (const info of chain) {
        const tail = this.queue[this.queue.length - 1]?.info.endT ?? afterT;
        if (generation !== this.generation || info.startT > tail + 1 || info.endT <= tail) return;
        this.queue.push(this.pending(info));
      }
    } catch {
      // Read-ahead is a hint: the next call lists again and reports any error itself.
    }
  }

  /**
   * Up to count segments that take a reader at position furthest, each the one reaching
   * furthest among those holding the t after the one before; a first segment starting
   * after position + 1 is returned alone (the caller reports the gap). One listing.
   */
  private async plan(position: number, count: number): Promise<SegmentInfo[]> {
    const chain: SegmentInfo[] = [];
    let frontier = position;
    let best: SegmentInfo | null = null;
    for await (const info of this.store.list(this.db, { afterT: position })) {
      if (info.endT <= frontier) continue;
      if (info.startT > frontier + 1 && best !== null) {
        chain.push(best);
        frontier = best.endT;
        best = null;
        if (chain.length >= count) return chain;
        if (info.endT <= frontier) continue;
      }
      if (info.startT > frontier + 1) {
        if (chain.length === 0) chain.push(info);
        return chain;
      }
      if (best === null || info.endT > best.endT) best = info;
    }
    if (best !== null) chain.push(best);
    return chain;
  }

  private pending(info: SegmentInfo): PendingSegment {
    let promise: Promise<LoadedSegment> | null = this.ahead > 0 ? loadSegment(this.store, info, this.codec) : null;
    // An error of a segment read ahead surfaces when (if) it is used, not as an unhandled rejection.
    promise?.catch(() => undefined);
    return {
      info,
      load: async () => {
        try {
          return await (promise ??= loadSegment(this.store, info, this.codec));
        } catch (err) {
          promise = null; // a later attempt reads again
          throw err;
        }
      },
    };
  }
}
