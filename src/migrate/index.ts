// Live migration: the journal in the store, the fence, the router, cutover and rollback.
export { liveMigrate, Migration, type LiveMigrateOptions, type CutoverResult } from './migration';
export { Router, openRouter, type RouterOptions, type CutoverEvent, type RouterEvents } from './router';
export { phaseOf, type MigrationPhase, type MigrationStatus, type SideStatus } from './status';
export { Journal, validateMigrationId, formatEntry, parseEntry, type JournalEntry, type JournalOptions, type NewEntry } from './journal';
export { listMigrations, latestMigration, claimMigration, type Claim } from './registry';
export { sendControl, ControlInbox, CONTROL_ACTIONS, type ControlAction, type ControlReply, type ControlRequest, type SendOptions } from './control';
export { MigrationError, JournalConflictError, MigrationStateError, CutoverFailedError } from './errors';
export { MIGRATION_STATES, primaryIn, isTerminal, type MigrationState, type Side } from './states';
export type { CloneRestorer, CloneRestorerFactory, CloneStep, CloneStepResult, MigratableDatabase } from './port';
