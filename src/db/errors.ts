/** Why a transaction was refused. */
export type TransactionErrorCode =
  /** Not a list form or entity map, an unknown operation, or the wrong number of arguments. */
  | 'invalid-op'
  /** An attribute that does not exist (or an entity that is not an attribute). */
  | 'unknown-attribute'
  /** A value of the wrong type for its attribute (also a string holding U+0000). */
  | 'invalid-value'
  /** An ident that names no entity. */
  | 'unknown-ident'
  /** An entity id that was never allocated. */
  | 'unknown-entity'
  /** Not an entity id, tempid, ident or lookup ref. */
  | 'invalid-entity'
  /** A lookup ref whose attribute is unknown or not unique, or whose value is invalid. */
  | 'invalid-lookup-ref'
  /** A lookup ref no entity matches. */
  | 'lookup-ref-not-found'
  /** A tempid used as a value but never as an entity of the transaction. */
  | 'tempid-not-an-entity'
  /** A tempid whose :db.unique/identity values name different entities. */
  | 'upsert-conflict'
  /** A nested map under a ref that is not a component, holding no unique attribute. */
  | 'invalid-nested-entity'
  /** A unique value held by another entity. */
  | 'unique-conflict'
  /** A datom both asserted and retracted, or two values of a cardinality-one attribute. */
  | 'datoms-conflict'
  /** :db/cas found another value. */
  | 'cas-failed'
  /** :db/cas on a cardinality-many attribute. */
  | 'cas-cardinality'
  /** An assertion of a composite tuple, which the database derives. */
  | 'composite-tuple'
  /** With requireHeld: a retraction of a datom that does not hold. */
  | 'not-held'
  /** A txInstant that is not a valid Date, or two different ones. */
  | 'invalid-instant'
  /** A txInstant earlier than the previous transaction's. */
  | 'instant-in-past'
  /** A schema change that is not allowed (see schema-change.ts). */
  | 'schema-change';

/** A transaction was refused; nothing of it (nor of its batch) was written. */
export class TransactionError extends Error {
  override name = 'TransactionError';
  /** Which request of a transactBatch was refused (0 for a single transact). */
  batchIndex = 0;
  constructor(
    message: string,
    readonly code: TransactionErrorCode,
  ) {
    super(message);
  }
}

/** The database could not be opened, or was opened wrongly. */
export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

/** A migration fenced this database: it accepts no transaction until the fence is lifted. Retry against the new primary. */
export class DatabaseFencedError extends Error {
  override name = 'DatabaseFencedError';
  /** The write may succeed against the new primary, or here once the fence is lifted. */
  readonly retryable = true;
  constructor(
    location: string,
    /** The migration that set the fence. */
    readonly migration: string,
    /** The database that takes writes instead (a name, never credentials). */
    readonly newPrimary: string,
  ) {
    super(`${location} is fenced by migration ${migration}: it accepts no writes; the new primary is ${newPrimary}`);
  }
}

/** A clone follows its source and refuses ordinary transactions until it is promoted. */
export class ReadOnlyCloneError extends Error {
  override name = 'ReadOnlyCloneError';
}

/** A clone whose initial load has not finished cannot answer reads of the current datoms. */
export class DatabaseLoadingError extends Error {
  override name = 'DatabaseLoadingError';
}

/** A clone restore into a database that is not an empty database or a clone of the same source. */
export class CloneRefusedError extends Error {
  override name = 'CloneRefusedError';
}

/** Transactions applied to a clone must start right after its basis. */
export class LogPositionError extends Error {
  override name = 'LogPositionError';
  constructor(
    message: string,
    /** The clone's basis t when the write was tried. */
    readonly basisT: number,
  ) {
    super(message);
  }
}

/** The source's log contradicts the clone: a retraction of a datom it does not hold, or an assertion of one it holds. */
export class CloneDivergedError extends Error {
  override name = 'CloneDivergedError';
  constructor(
    message: string,
    /** The source t whose datom contradicts the clone. */
    readonly t: number,
  ) {
    super(message);
  }
}

/**
 * The file system holding a database is full (PostgreSQL's disk_full, SQLSTATE 53100). The
 * transaction was rolled back; free space and run the command again.
 */
export class DatabaseDiskFullError extends Error {
  override name = 'DatabaseDiskFullError';
  constructor(
    message: string,
    /** The data directory (PGlite) or the server. */
    readonly location: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
