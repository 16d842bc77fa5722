// Compaction: levels of merged segments, and retention of what they hold.
export { compact, type CompactOptions, type CompactResult, type CompactedSegment } from './compact';
export { Compactor, type CompactionPass, type CompactorOptions } from './compactor';
export {
  CompactionSettingsError,
  DEFAULT_GRACE_MS,
  DEFAULT_LEVELS,
  formatLevels,
  parseDuration,
  parseLevels,
  validateLevels,
  type CompactionLevel,
} from './levels';
export { CompactionError, mergeSegments, type MergeInput } from './merge';
export { enforceRetention, type RetentionOptions, type RetentionResult } from './retention';
