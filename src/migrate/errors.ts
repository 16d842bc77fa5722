import type { JournalEntry } from './journal';

/** Base class of the errors a migration throws on purpose; the message says what and where. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Another coordinator advanced the journal first; this one must stop (or resume from the journal). */
export class JournalConflictError extends MigrationError {
  override name = 'JournalConflictError';
  constructor(
    message: string,
    readonly winner: JournalEntry | null,
  ) {
    super(message);
  }
}

/** A request that the migration's state does not allow: a cutover before ready, a rollback after finish. */
export class MigrationStateError extends MigrationError {
  override name = 'MigrationStateError';
}

/** A cutover that did not complete: the old primary is unfenced and accepts writes again. */
export class CutoverFailedError extends MigrationError {
  override name = 'CutoverFailedError';
  constructor(
    message: string,
    readonly fenceT: number | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
