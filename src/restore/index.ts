export { Restorer, restoreNext, restoreAll, ConcurrentRestoreError, type RestoreOptions, type RestoreResult, type RestoreTotals, type RestoreProgress, type StepOptions } from './restore';
export { continuousRestore, isFatal, type ContinuousRestoreOptions, type ContinuousRestoreSummary } from './continuous';
export { compareReplica, type CompareOptions, type CompareResult, type Difference } from './compare';
export { ForeignWriteError, ReplicaDivergedError, SegmentGapError, TargetRefusedError } from './errors';
export { LAST_SOURCE_TRANSACTION, SOURCE_DATABASE, readPosition, type TargetPosition } from './bookkeeping';
export type { Rewrite } from './translate';
