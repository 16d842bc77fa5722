/** A transaction was refused; nothing of it was written. */
export class TransactionError extends Error {
  override name = 'TransactionError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The database could not be opened, or was opened wrongly. */
export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}
