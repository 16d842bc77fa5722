// What a migration needs from the database port beyond replication: roles, the fence,
// promotion and log digests (src/db), and a clone-mode restorer (src/restore).
import type { Database } from '../db/types';
import type { SegmentStore } from '../stores/types';

/** A migration's fence: names only, never credentials. */
export interface Fence {
  migration: string;
  newPrimary: string;
}

export interface DatabaseRole {
  role: 'primary' | 'clone';
  cloneOf: string | null;
  loading: boolean;
  fence: Fence | null;
}

/** A database a migration can move: the port plus roles. */
export interface MigratableDatabase extends Database {
  role(): Promise<DatabaseRole>;
  fence(fence: Fence): Promise<number>;
  unfence(migration: string): Promise<void>;
  promote(): Promise<void>;
  demote(cloneOf: string, migration: string): Promise<void>;
  logDigest(fromT: number, toT: number): Promise<string>;
}

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
export function isFencedError(err: unknown): err is Error & { migration: string; newPrimary: string } {
  return err instanceof Error && err.name === 'DatabaseFencedError';
}

/** A transaction refused because the database is a clone (it was demoted, or never promoted). */
export function isReadOnlyCloneError(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ReadOnlyCloneError';
}
