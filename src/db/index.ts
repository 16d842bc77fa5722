export * from './types';
export { openDatabase, parseDatabaseUrl, type DatabaseLocation } from './open';
export { DatomDatabase, type DatomDatabaseOptions } from './datom-db';
export {
  TransactionError,
  DatabaseOpenError,
  DatabaseFencedError,
  ReadOnlyCloneError,
  DatabaseLoadingError,
  CloneRefusedError,
  CloneDivergedError,
  LogPositionError,
  DatabaseDiskFullError,
  type TransactionErrorCode,
} from './errors';
export { isServerUnavailable, waitOutUnavailable, DEFAULT_UNAVAILABLE_WAIT_MS, type WaitOutOptions } from './unavailable';
export { LogBatch, type PrepareOptions } from './log-apply';
export { describeRole, type DatabaseRole, type Fence } from './roles';
export { FIRST_USER_ENTITY_ID } from './builtins';
export { ValueError } from './values';
export { commitChannel, type CommitListener, type Unsubscribe } from './commits';
