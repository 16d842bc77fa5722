import { SegmentChecksumError, SegmentNotFoundError } from './errors';
import type {
  SegmentInfo,
  SegmentRange,
  VerifyCorrupt,
  VerifyGap,
  VerifyOptions,
  VerifyOverlap,
  VerifyReport,
} from './types';

export interface SegmentReader {
  list(db: string): AsyncIterable<SegmentInfo>;
  get(db: string, startT: number, endT: number, level?: number): Promise<Uint8Array>;
}

/** Reads every segment of db, one at a time, and reports what is wrong with the log. */
export async function verifySegments(reader: SegmentReader, db: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const gaps: VerifyGap[] = [];
  const overlaps: VerifyOverlap[] = [];
  const corrupt: VerifyCorrupt[] = [];
  let segments = 0;
  let bytes = 0;
  let firstT: number | null = null;
  // The segment reaching furthest so far (of any level), for gaps.
  let reach: SegmentRange | null = null;
  // Per level, the segment reaching furthest: segments of one level never overlap, and one
  // of another level either holds a segment whole or not at all (a compacted segment is
  // made of whole segments of the level below).
  const reachByLevel = new Map<number, SegmentRange & { level: number }>();

  for await (const segment of reader.list(db)) {
    segments += 1;
    bytes += segment.size;
    const range: SegmentRange = { startT: segment.startT, endT: segment.endT, key: segment.key };

    const problem = await readProblem(reader, segment);
    if (problem) corrupt.push({ ...range, ...problem });

    if (reach === null) {
      firstT = segment.startT;
      if (options.fromT !== undefined && segment.startT > options.fromT) {
        gaps.push({ startT: options.fromT, endT: segment.startT - 1 });
      }
    } else if (segment.startT > reach.endT + 1) {
      gaps.push({ startT: reach.endT + 1, endT: segment.startT - 1 });
    }
    for (const [level, other] of reachByLevel) {
      const overlapping = segment.startT <= other.endT;
      // Listing order is start order, so other starts at or before segment.
      const nested = segment.endT <= other.endT || segment.startT === other.startT;
      if (overlapping && (level === segment.level || !nested)) {
        overlaps.push({ startT: segment.startT, endT: Math.min(segment.endT, other.endT), first: { startT: other.startT, endT: other.endT, key: other.key }, second: range });
      }
    }
    const levelReach = reachByLevel.get(segment.level);
    if (levelReach === undefined || segment.endT > levelReach.endT) reachByLevel.set(segment.level, { ...range, level: segment.level });
    if (reach === null || segment.endT > reach.endT) reach = range;
  }

  return {
    db,
    ok: gaps.length === 0 && overlaps.length === 0 && corrupt.length === 0,
    segments,
    bytes,
    firstT,
    lastT: reach?.endT ?? null,
    gaps,
    overlaps,
    corrupt,
  };
}

async function readProblem(
  reader: SegmentReader,
  segment: SegmentInfo,
): Promise<Pick<VerifyCorrupt, 'reason' | 'expectedSha256' | 'actualSha256'> | null> {
  try {
    await reader.get(segment.db, segment.startT, segment.endT, segment.level);
    return null;
  } catch (err) {
    if (err instanceof SegmentChecksumError) {
      return {
        reason: err.message,
        ...(err.expectedSha256 === undefined ? {} : { expectedSha256: err.expectedSha256 }),
        actualSha256: err.actualSha256,
      };
    }
    // Listed a moment ago, gone now: a concurrent prune, or a store that lies.
    if (err instanceof SegmentNotFoundError) return { reason: err.message };
    throw err;
  }
}
