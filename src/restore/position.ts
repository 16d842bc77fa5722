// Where a replica stands, whichever its mode: a remap replica's last-source-transaction, a
// clone's basis t. Refuses a target that is neither empty nor a replica of this source.
import { CloneRefusedError } from '../db/errors';
import type { Database } from '../db/types';
import { readPosition } from './bookkeeping';

/** remap: the target assigns its own ids; clone: it keeps the source's ids, t and log. */
export type ReplicaMode = 'remap' | 'clone';

export const REPLICA_MODES: readonly ReplicaMode[] = ['remap', 'clone'];

export interface ReplicaPosition {
  mode: ReplicaMode;
  /** The last source t the replica holds; 0 before the first. */
  position: number;
  /** A clone whose initial load has not finished. */
  loading: boolean;
}

export async function replicaPosition(target: Database, db: string, mode: ReplicaMode): Promise<ReplicaPosition> {
  if (mode === 'remap') {
    const role = await target.role();
    if (role.role === 'clone')
      throw new CloneRefusedError(`target ${target.location} is a clone of ${JSON.stringify(role.cloneOf)}: restore it with --mode clone`);
    return { mode, position: (await readPosition(target, db)).position, loading: false };
  }
  const [role, basisT] = await Promise.all([target.role(), target.basisT()]);
  if (role.role === 'clone') {
    if (role.cloneOf !== db)
      throw new CloneRefusedError(`target ${target.location} is a clone of ${JSON.stringify(role.cloneOf)}, not of ${JSON.stringify(db)}`);
    return { mode, position: basisT, loading: role.loading };
  }
  if (basisT === 0 && !role.fence) return { mode, position: 0, loading: false };
  throw new CloneRefusedError(
    `target ${target.location} is a primary at t=${basisT}${role.cloneOf ? ` (a promoted clone of ${JSON.stringify(role.cloneOf)})` : ''}: ` +
      `a clone restore writes only into an empty database or a clone of ${JSON.stringify(db)}`,
  );
}
