export * from './types';
export { openDatabase, parseDatabaseUrl, type DatabaseLocation } from './open';
export { DatomDatabase, type DatomDatabaseOptions } from './datom-db';
export { TransactionError, DatabaseOpenError, type TransactionErrorCode } from './errors';
export { FIRST_USER_ENTITY_ID } from './builtins';
export { ValueError } from './values';
export { commitChannel, type CommitListener, type Unsubscribe } from './commits';
