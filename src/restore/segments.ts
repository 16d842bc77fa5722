// Finds the segment holding the next transaction and reads segments ahead of the writer.
import type { Transaction } from '../db/types';
import { clearCodec, type SegmentCodec } from '../segment/codec';
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
  const bytes = await store.get(info.db, info.startT, info.endT);
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
 * segments fetched and decoded while the current one is applied.
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

  private async refill(position: number): Promise<void> {
    this.queue = [];
    this.generation++;
    for await (const info of this.store.list(this.db, { afterT: position, limit: this.ahead + 1 })) {
      this.queue.push(this.pending(info));
    }
  }

  private async topUp(afterT: number): Promise<void> {
    if (this.ahead === 0 || this.queue.length >= this.ahead) return;
    const generation = this.generation;
    try {
      const last = this.queue[this.queue.length - 1]?.info.endT ?? afterT;
      for await (const info of this.store.list(this.db, { afterT: last, limit: this.ahead - this.queue.length })) {
        const tail = this.queue[this.queue.length - 1]?.info.endT ?? afterT;
        if (generation !== this.generation || info.startT <= tail) return;
        this.queue.push(this.pending(info));
      }
    } catch {
      // Read-ahead is a hint: the next call lists again and reports any error itself.
    }
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
