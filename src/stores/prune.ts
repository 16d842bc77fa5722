import { validateT } from './keys';
import type { PruneOptions, PruneResult, SegmentInfo } from './types';

/**
 * The last t prune may delete up to: below beforeT, and nothing a target still needs.
 * Returns the inclusive bound on endT.
 */
export function pruneLimit(options: PruneOptions): number {
  validateT('beforeT', options.beforeT);
  let limit = options.beforeT - 1;
  if (options.keepAfterT !== undefined) {
    validateT('keepAfterT', options.keepAfterT);
    limit = Math.min(limit, options.keepAfterT);
  }
  for (const position of options.targetPositions ?? []) {
    validateT('targetPositions[]', position);
    limit = Math.min(limit, position);
  }
  return limit;
}

/**
 * Deletes, oldest first, the segments with endT <= limit, except the newest segment of
 * the log (readers and HEAD need to know where the log ends). Oldest first, so a crash
 * half way leaves a log that is still contiguous.
 */
export async function pruneSegments(
  segments: AsyncIterable<SegmentInfo>,
  remove: (segment: SegmentInfo) => Promise<void>,
  options: PruneOptions,
): Promise<PruneResult> {
  const limit = pruneLimit(options);
  const doomed: SegmentInfo[] = [];
  let newerExists = false;
  for await (const segment of segments) {
    if (segment.endT <= limit) {
      doomed.push(segment);
    } else {
      newerExists = true;
      // Keys are in startT order and endT >= startT: nothing further can qualify.
      if (segment.startT > limit) break;
    }
  }
  if (!newerExists && doomed.length > 0) {
    const newest = doomed.reduce((a, b) => (b.endT >= a.endT ? b : a));
    doomed.splice(doomed.indexOf(newest), 1);
  }
  if (!options.dryRun) {
    for (const segment of doomed) await remove(segment);
  }
  return { deleted: doomed };
}
