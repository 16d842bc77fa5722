// Where a target stands against the store: for the lag gauges and for health.
import type { Database } from '../db/types';
import type { Metrics } from '../metrics/metrics';
import { readPosition } from '../restore/bookkeeping';
import type { ReplicaMode } from '../restore/position';
import type { SegmentStore } from '../stores/types';

export interface TargetStanding {
  /** The last source t applied. */
  positionT: number;
  /** The last t in the store (0 when empty). */
  storeHeadT: number;
  /** The source instant of the last transaction applied, or null before the first. */
  appliedAt: Date | null;
}

export async function observeTarget(target: Database, store: SegmentStore, db: string, mode: ReplicaMode = 'remap'): Promise<TargetStanding> {
  const [at, head] = await Promise.all([
    mode === 'clone' ? target.basisT().then((basisT) => ({ position: basisT, installed: basisT > 0, basisT })) : readPosition(target, db),
    store.head(db),
  ]);
  let appliedAt: Date | null = null;
  // A restored transaction keeps its source instant, so the target's newest one tells when the source wrote it.
  if (at.installed && at.basisT > 0) {
    for await (const tx of target.txRange(at.basisT, at.basisT)) appliedAt = tx.instant;
  }
  return { positionT: at.position, storeHeadT: head?.endT ?? 0, appliedAt };
}

export function reportStanding(metrics: Metrics | undefined, db: string, targetName: string, standing: TargetStanding): void {
  metrics?.replicationPosition(db, targetName, standing);
}
