// What a migration needs from src/db (roles, the fence, promotion, log digests, all on the
// Database port) and from src/restore (a clone-mode restorer), in the shapes it uses them.
import { DatabaseFencedError, ReadOnlyCloneError } from '../db/errors';
import type { Database } from '../db/types';
import type { SegmentStore } from '../stores/types';

export type { DatabaseRole, Fence } from '../db/roles';

/** A database a migration can move: the port, which carries roles. */
export type MigratableDatabase = Database;

/** One step of a clone restore, as src/restore's restorers take it. */
export interface CloneStep {
  untilT?: number;
  signal?: AbortSignal;
}

export interface CloneStepResult {
  status: 'restored' | 'caught-up';
  toT: number;
  transactions: number;
  datoms: number;
}

export interface CloneRestorer {
  next(step?: CloneStep): Promise<CloneStepResult>;
}

/** Makes a clone-mode restorer of store's db into target. */
export type CloneRestorerFactory = (target: Database, store: SegmentStore, db: string) => CloneRestorer;

/** A transaction refused because a migration fenced the database (retryable against the new primary). */
export function isFencedError(err: unknown): err is DatabaseFencedError {
  return err instanceof DatabaseFencedError;
}

/** A transaction refused because the database is a clone (it was demoted, or never promoted). */
export function isReadOnlyCloneError(err: unknown): err is ReadOnlyCloneError {
  return err instanceof ReadOnlyCloneError;
}
