// One entry point for both replica modes.
import type { Database } from '../db/types';
import type { IdMapStats } from '../idmap/idmap';
import type { SegmentStore } from '../stores/types';
import { CloneRestorer, type CloneRestoreOptions } from './clone';
import type { ReplicaMode } from './position';
import { Restorer, type RestoreOptions, type RestoreResult, type RestoreTotals, type StepOptions } from './restore';

export interface ReplicaRestoreOptions extends RestoreOptions, CloneRestoreOptions {
  /** remap (the default): the target assigns its own ids; clone: it keeps the source's ids, t and log. */
  mode?: ReplicaMode;
}

/** What both modes' restorers do. */
export interface ReplicaRestorer {
  next(options?: StepOptions): Promise<RestoreResult>;
  all(signal?: AbortSignal): Promise<RestoreTotals>;
  /** The id cache's figures (remap mode), or null. */
  stats(): IdMapStats | null;
}

export function createRestorer(target: Database, store: SegmentStore, db: string, options: ReplicaRestoreOptions = {}): ReplicaRestorer {
  const { mode = 'remap', ...rest } = options;
  if (mode === 'clone') {
    const unsupported = (['elide', 'rewrite', 'allowForeignWrites'] as const).filter((k) => rest[k] !== undefined && rest[k] !== false);
    if (unsupported.length)
      throw new RangeError(`clone mode keeps the source's log as it is: ${unsupported.join(', ')} need remap mode`);
    return new CloneRestorer(target, store, db, rest);
  }
  if (mode !== 'remap') throw new RangeError(`mode must be remap or clone, got ${JSON.stringify(mode)}`);
  return new Restorer(target, store, db, rest);
}

/** Applies the rest of the segment holding the target's next transaction. */
export async function restoreNext(target: Database, store: SegmentStore, db: string, options: ReplicaRestoreOptions = {}): Promise<RestoreResult> {
  return createRestorer(target, store, db, options).next();
}

/** Applies segments until the target has caught up with the store (or reached until). */
export async function restoreAll(
  target: Database,
  store: SegmentStore,
  db: string,
  options: ReplicaRestoreOptions & { signal?: AbortSignal } = {},
): Promise<RestoreTotals> {
  return createRestorer(target, store, db, options).all(options.signal);
}
