// Retention after compaction: a segment that a segment of a higher level holds whole is
// redundant, and is deleted once that higher segment has been in the store for the grace
// period (readers that listed before it appeared still find what they listed; a reader
// that finds a segment gone lists again). Nothing else is deleted: every t stays in some
// segment, so no replica, however far behind, loses what it needs (`prune` is what
// deletes history). The segment that ends the log is kept too: HEAD names it.
import { silentLogger, type Logger } from '../logger';
import type { SegmentInfo, SegmentStore } from '../stores/types';
import { DEFAULT_GRACE_MS } from './levels';

/** Retention's store, database and grace period. */
export interface RetentionOptions {
  /** Delete a covered segment this long after its cover was written (ms); default DEFAULT_GRACE_MS. */
  graceMs?: number;
  /** The clock the grace is measured with; default `() => new Date()`. */
  now?: () => Date;
  /** Report what would be deleted without deleting it. */
  dryRun?: boolean;
  logger?: Logger;
  signal?: AbortSignal;
  /**
   * The store's segments as just listed (compact()'s `listed`), instead of listing again.
   * A segment without a modifiedAt (one just written) covers nothing until listed.
   */
  segments?: readonly SegmentInfo[];
}

/** The segments retention deleted, and those it kept for their grace period. */
export interface RetentionResult {
  /** Oldest first. */
  deleted: SegmentInfo[];
  /** Covered segments kept because their cover is younger than the grace period. */
  waiting: number;
}

export async function enforceRetention(store: SegmentStore, db: string, options: RetentionOptions = {}): Promise<RetentionResult> {
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  if (!(Number.isFinite(graceMs) && graceMs >= 0)) throw new RangeError(`graceMs must be a non-negative number, got ${graceMs}`);
  const logger = options.logger ?? silentLogger;
  const now = (options.now ?? (() => new Date()))().getTime();
  const all: SegmentInfo[] = options.segments ? [...options.segments] : [];
  if (!options.segments) for await (const info of store.list(db)) all.push(info);
  const lastT = all.reduce((max, s) => Math.max(max, s.endT), 0);
  const byLevel = new Map<number, SegmentInfo[]>();
  for (const s of all) {
    const list = byLevel.get(s.level) ?? [];
    list.push(s);
    byLevel.set(s.level, list);
  }
  const levels = [...byLevel.keys()].sort((a, b) => a - b);

  const deleted: SegmentInfo[] = [];
  let waiting = 0;
  for (const segment of all) {
    if (segment.endT === lastT) continue;
    let cover: SegmentInfo | null = null;
    for (const level of levels) {
      if (level <= segment.level) continue;
      const candidate = holder(byLevel.get(level)!, segment);
      // Any old-enough holder will do; a young one makes the segment wait.
      if (candidate && (cover === null || age(candidate, now) > age(cover, now))) cover = candidate;
    }
    if (cover === null) continue;
    if (age(cover, now) < graceMs) {
      waiting++;
      continue;
    }
    options.signal?.throwIfAborted();
    if (!options.dryRun) {
      await store.delete(db, segment);
      logger.debug({ db, segment: segment.key, heldBy: cover.key }, 'retention: deleted a segment a compacted one holds');
    }
    deleted.push(segment);
  }
  if (deleted.length > 0) logger.info({ db, deleted: deleted.length, waiting, dryRun: Boolean(options.dryRun) }, 'retention: deleted segments that compacted ones hold');
  return { deleted, waiting };
}

/** The segment of a level (sorted by start) holding segment whole, if any. */
function holder(level: readonly SegmentInfo[], segment: SegmentInfo): SegmentInfo | null {
  let lo = 0;
  let hi = level.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (level[mid]!.startT <= segment.startT) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  // The last one starting at or before segment, and the ones before it with the same start.
  for (let i = found; i >= 0 && level[i]!.startT <= segment.startT; i--) {
    if (level[i]!.endT >= segment.endT) return level[i]!;
    if (level[i]!.startT < segment.startT) break;
  }
  return null;
}

/** Unknown write times count as new: nothing is deleted on a guess. */
function age(segment: SegmentInfo, now: number): number {
  return segment.modifiedAt ? now - segment.modifiedAt.getTime() : -Infinity;
}
