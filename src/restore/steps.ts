// What both modes' restorers share: stepping until caught up, and the gap error.
import type { SegmentInfo, SegmentStore } from '../stores/types';
import { SegmentGapError } from './errors';
import type { RestoreResult, RestoreTotals, StepOptions } from './restore';

/** Steps until caught up (or the until bound is reached), adding up what each step applied. */
export async function stepUntilCaughtUp(
  next: (options: StepOptions) => Promise<RestoreResult>,
  idMap: () => RestoreTotals['idMap'],
  signal?: AbortSignal,
): Promise<RestoreTotals> {
  let first: number | null = null;
  const totals = { segments: 0, transactions: 0, datoms: 0 };
  for (;;) {
    signal?.throwIfAborted();
    const result = await next({ signal });
    first ??= result.fromT;
    if (result.status === 'restored') {
      totals.segments++;
      totals.transactions += result.transactions;
      totals.datoms += result.datoms;
    }
    if (result.status === 'caught-up' || result.untilReached) {
      return { fromT: first, toT: result.toT, ...totals, untilReached: result.untilReached, idMap: idMap() };
    }
  }
}

/** The next segment starts after position + 1: restore stops at the gap. */
export function gapError(store: SegmentStore, db: string, position: number, next: SegmentInfo): SegmentGapError {
  return new SegmentGapError(
    `store ${store.location} db ${db}: no segment holds t=${position + 1} (the next segment starts at t=${next.startT}); ` +
      `restore stops at the gap: run 'txclone repair' on the producer side`,
    position + 1,
    next.startT - 1,
  );
}
