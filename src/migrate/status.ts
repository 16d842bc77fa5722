import type { JournalEntry } from './journal';
import type { DatabaseRole } from './port';
import type { MigrationState } from './states';

/**
 * Where a migration is, in the words: copy (the initial clone restore), stream
 * (following), ready (following with lag under the threshold), cutover / rollback (a fence
 * is up), after-cutover (the target is the primary; the old source follows it), and the ends.
 */
export type MigrationPhase = 'copy' | 'stream' | 'ready' | 'cutover' | 'rollback' | 'after-cutover' | 'aborted' | 'finished';

/** One database of a migration: its name, role and t. */
export interface SideStatus {
  readonly name: string;
  readonly basisT: number;
  readonly role: DatabaseRole;
}

/** Where a migration stands: its state, phase, lag and both databases. */
export interface MigrationStatus {
  readonly id: string;
  readonly db: string;
  readonly state: MigrationState;
  readonly phase: MigrationPhase;
  /** The name of the database that accepts writes (the one fenced, during a cutover). */
  readonly primary: string;
  /** The name of the database that follows it. */
  readonly clone: string;
  readonly source: SideStatus;
  readonly target: SideStatus;
  /** Transactions the clone is behind the primary. */
  readonly lag: number;
  /** Following with lag <= readyLag and the clone's indexes built: a cutover may start. */
  readonly ready: boolean;
  readonly readyLag: number;
  /** The newest journal entry. */
  readonly journal: JournalEntry;
  /** The last error of the streaming loop (it retries), or null. */
  readonly error: string | null;
}

export function phaseOf(state: MigrationState, ready: boolean): MigrationPhase {
  switch (state) {
    case 'copying':
      return 'copy';
    case 'streaming':
    case 'unfenced':
    case 'rolled-back':
      return ready ? 'ready' : 'stream';
    case 'fenced':
      return 'cutover';
    case 'rollback-fenced':
      return 'rollback';
    case 'cut-over':
    case 'rollback-unfenced':
      return 'after-cutover';
    case 'aborted':
      return 'aborted';
    case 'finished':
      return 'finished';
  }
}
