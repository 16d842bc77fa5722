/** Base class of every error a segment store throws on purpose. */
export class SegmentStoreError extends Error {
  override name = 'SegmentStoreError';
}

/** Two writers disagree about a range: different bytes for a segment that exists. */
export class SegmentConflictError extends SegmentStoreError {
  override name = 'SegmentConflictError';
  constructor(
    readonly location: string,
    readonly startT: number,
    readonly endT: number,
    readonly existingSha256: string,
    readonly newSha256: string,
  ) {
    super(
      `segment ${startT}..${endT} already exists with different bytes at ${location}: ` +
        `stored sha256 ${existingSha256}, new sha256 ${newSha256}; nothing was overwritten`,
    );
  }
}

/** A segment the store was asked for is not there. */
export class SegmentNotFoundError extends SegmentStoreError {
  override name = 'SegmentNotFoundError';
  constructor(readonly location: string) {
    super(`segment not found: ${location}`);
  }
}

/** The stored bytes do not match the stored checksum, or there is no checksum to check. */
export class SegmentChecksumError extends SegmentStoreError {
  override name = 'SegmentChecksumError';
  constructor(
    readonly location: string,
    readonly expectedSha256: string | undefined,
    readonly actualSha256: string,
  ) {
    super(
      expectedSha256 === undefined
        ? `segment ${location} has no stored sha256 (actual sha256 ${actualSha256}); refusing to use it`
        : `segment ${location} is corrupt: stored sha256 ${expectedSha256}, actual sha256 ${actualSha256}`,
    );
  }
}

/** A database name that cannot name a place in a store. */
export class InvalidDbNameError extends SegmentStoreError {
  override name = 'InvalidDbNameError';
  constructor(readonly db: string) {
    super(
      `invalid database name ${JSON.stringify(db)}: use 1 to 128 letters, digits, ` +
        `'.', '_' or '-', starting with a letter or digit`,
    );
  }
}

/** A segment range that is not whole numbers with startT <= endT. */
export class InvalidSegmentRangeError extends SegmentStoreError {
  override name = 'InvalidSegmentRangeError';
}

/** A store URL that cannot be opened; the message says why. */
export class InvalidStoreUrlError extends SegmentStoreError {
  override name = 'InvalidStoreUrlError';
  constructor(
    readonly url: string,
    problem: string,
  ) {
    super(`invalid store URL ${JSON.stringify(url)}: ${problem}`);
  }
}

/** A store used after close(). */
export class StoreClosedError extends SegmentStoreError {
  override name = 'StoreClosedError';
  constructor(location: string) {
    super(`segment store ${location} is closed`);
  }
}

/** A storage request failed for good: a permanent error, or a transient one past its retries. */
export class StoreRequestError extends SegmentStoreError {
  override name = 'StoreRequestError';
  constructor(
    message: string,
    readonly operation: string,
    readonly location: string,
    /** The service's error code (`NoSuchBucket`, `SlowDown`) or the system's (`ECONNRESET`). */
    readonly code: string | undefined,
    /** HTTP status, when there was a response. */
    readonly status: number | undefined,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A record (a write-once named object, e.g. a migration's journal entry) exists with different bytes. */
export class RecordConflictError extends SegmentStoreError {
  override name = 'RecordConflictError';
  constructor(
    readonly location: string,
    readonly existingSha256: string,
    readonly newSha256: string,
  ) {
    super(`record ${location} already exists with different bytes (stored sha256 ${existingSha256}, new ${newSha256}); nothing was overwritten`);
  }
}

/**
 * The file system holding a directory store is full (ENOSPC, or EDQUOT: over quota). The
 * write left nothing behind but what a rerun reuses; free space and run the command again.
 */
export class StoreDiskFullError extends StoreRequestError {
  override name = 'StoreDiskFullError';
}
