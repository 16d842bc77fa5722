// Live migration: the journal in the store, the fence, the router, cutover and rollback.
export { Journal, validateMigrationId, formatEntry, parseEntry, type JournalEntry, type JournalOptions, type NewEntry } from './journal';
export { MigrationError, JournalConflictError, MigrationStateError, CutoverFailedError } from './errors';
export { MIGRATION_STATES, primaryIn, isTerminal, type MigrationState, type Side } from './states';
