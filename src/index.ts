// txclone's public API: what the package exports, each with a doc comment (where it is
// declared, or here). Folders export more for each other and for the tests; what only they
// need stays out of this list. The CLI (src/cli) is a thin layer over it.

// Databases: the port both source and target satisfy, and the datom database on PGlite or PostgreSQL.
export * from './db/types';
export { openDatabase, parseDatabaseUrl, type DatabaseLocation } from './db/open';
export { type DatomDatabaseOptions } from './db/datom-db';
export {
  TransactionError,
  DatabaseOpenError,
  DatabaseFencedError,
  ReadOnlyCloneError,
  DatabaseLoadingError,
  CloneRefusedError,
  CloneDivergedError,
  LogPositionError,
  type TransactionErrorCode,
} from './db/errors';
export { describeRole, type DatabaseRole, type Fence } from './db/roles';
export { ValueError } from './db/values';

// Segment stores: a directory, S3, or memory, behind one interface.
export type {
  ListOptions,
  PruneOptions,
  PruneResult,
  PutResult,
  SegmentInfo,
  SegmentRange,
  SegmentStore,
  StoreOptions,
  VerifyCorrupt,
  VerifyGap,
  VerifyOptions,
  VerifyOverlap,
  VerifyReport,
} from './stores/types';
export {
  InvalidDbNameError,
  InvalidSegmentRangeError,
  InvalidStoreUrlError,
  SegmentChecksumError,
  SegmentConflictError,
  SegmentNotFoundError,
  SegmentStoreError,
  StoreClosedError,
  StoreRequestError,
} from './stores/errors';
export { openStore, parseStoreUrl, type OpenStoreOptions, type StoreTarget } from './stores/open';
export { openDirectoryStore, type DirectoryStoreOptions } from './stores/directory';
export { openMemoryStore, MemoryBucket, type MemoryStoreOptions } from './stores/memory';
export { openS3Store, type S3ChecksumMode, type S3StoreOptions } from './stores/s3';
export { type RetryOptions } from './stores/retry';

// Segments: the format, and sealing with a key ring.
export {
  SEGMENT_FORMAT,
  SEGMENT_VERSION,
  decodeSegment,
  encodeSegment,
  segmentToEdn,
  sha256Hex,
  verifyChecksum,
  SegmentDecodeError,
  SegmentEncodeError,
  // The store's checksum error is the one readers meet; the format's is exported under its own name.
  SegmentChecksumError as SegmentFormatChecksumError,
  type DecodeOptions,
  type EncodedSegment,
  type EncodeOptions,
  type Segment,
  type SegmentHeader,
  type SegmentInput,
} from './segment';
export {
  /** Encodes and decodes a segment's stored bytes, clear or sealed: the seam every reader and writer of segments calls. */
  segmentCodec,
  /** The codec without keys: writes and reads clear segments, refuses sealed ones naming their key id. */
  clearCodec,
  /** The clear header of sealed bytes (format, key id, database, range), readable without keys; null for a clear segment. */
  sealedHeader,
  /** True when bytes are a sealed segment. */
  isSealed,
  /** Encryption keys by id, one active for sealing; prints and serializes as its ids only. */
  KeyRing,
  /** The key ring from TXCLONE_ENCRYPTION_KEYS's text and/or a key file. */
  loadKeyRing,
  /** A key ring could not be read or is invalid; its message names key ids, never keys. */
  KeyRingError,
  /** A sealed segment whose key is missing from the ring or is another key of the same id. */
  SegmentKeyError,
  /** Copies a store's segments into another store, sealed with the active key, each verified. */
  encryptSegments,
  type SegmentCodec,
  type CodecDecodeOptions,
  type SealedEncodedSegment,
  type SealedHeader,
  type SegmentPlace,
  type KeyRingSources,
  type EncryptSegmentsOptions,
  type EncryptResult,
  type EncryptedSegment,
} from './segment';
export {
  exportRange,
  exportNext,
  exportAll,
  backup,
  repair,
  findGaps,
  type ExportOptions,
  type ExportResult,
  type ExportedSegment,
  type BackupOptions,
  type SegmentLimits,
  type Gap,
} from './segment/export';
export { type PacingOptions } from './segment/pacing';

// Restoring: replay into a target, continuously or once, and comparing a replica with its source.
export { IdMapInconsistencyError, ORIGINAL_ID, type IdMapOptions, type IdMapStats } from './idmap/idmap';
export { createRestorer, restoreNext, restoreAll, type ReplicaRestorer, type ReplicaRestoreOptions } from './restore/restorer';
export { CloneRestorer, type CloneRestoreOptions } from './restore/clone';
export { replicaPosition, REPLICA_MODES, type ReplicaMode, type ReplicaPosition } from './restore/position';
export { compareClone, type CompareCloneOptions, type CompareCloneResult, type CloneDifference } from './restore/compare-clone';
export {
  Restorer,
  ConcurrentRestoreError,
  type RestoreOptions,
  type RestoreResult,
  type RestoreTotals,
  type RestoreProgress,
  type StepOptions,
} from './restore/restore';
export { continuousRestore, isFatal, type ContinuousRestoreOptions, type ContinuousRestoreSummary } from './restore/continuous';
export { compareReplica, type CompareOptions, type CompareResult, type Difference } from './restore/compare';
export { ForeignWriteError, ReplicaDivergedError, SegmentGapError, TargetRefusedError } from './restore/errors';
export { LAST_SOURCE_TRANSACTION, SOURCE_DATABASE, readPosition, type TargetPosition } from './restore/bookkeeping';
export type { Rewrite } from './restore/translate';

// The services: producer and consumer over BullMQ, or both in one process without Redis; metrics.
export { ProducerService, type ProducerRun, type ProducerServiceOptions } from './queue/producer';
export { ConsumerService, type ConsumerServiceOptions, type ReplayJobResult } from './queue/consumer';
export { InProcessReplicator, type InProcessReplicatorOptions } from './queue/in-process';
export type { ExportSettings } from './queue/export-run';
export type { RedisConfig } from './queue/redis';
export type { BackoffOptions } from './queue/backoff';
export {
  Metrics,
  type ExportPosition,
  type IdCacheCounts,
  type JobOutcome,
  type MetricsOptions,
  type ReplicationPosition,
  type SegmentCounts,
} from './metrics/metrics';
export { startMetricsServer, type Health, type MetricsServer, type MetricsServerOptions } from './metrics/server';

// Live migration: a clone caught up, then promoted at a fenced instant; the router and the journal.
export {
  /** Starts (or resumes, for an id whose journal exists) a live migration of a database into an empty target. */
  liveMigrate,
  /** A running migration: status(), cutover(), rollback(), abort(), finish(), close() and its router. */
  Migration,
  /** A router over databases opened by the caller (in any process): transact goes to the current primary. */
  openRouter,
  /** Routes transactions to a migration's primary; holds them while a fence is up; emits 'cutover'. */
  Router,
  /** A migration's journal: write-once EDN entries in the store under {db}/migrations/{id}/. */
  Journal,
  /** Every migration of a store database, oldest first. */
  listMigrations,
  /** The newest migration of a store database and its newest journal entry. */
  latestMigration,
  /** Asks the coordinator of a migration (in another process) to cut over, roll back, abort or finish, and waits for its answer. */
  sendControl,
  /** Base class of the errors a migration throws on purpose. */
  MigrationError,
  /** A request the migration's state does not allow (a cutover before ready, a rollback after finish, a second migration). */
  MigrationStateError,
  /** A cutover that did not complete; the old primary was unfenced and nothing was lost. */
  CutoverFailedError,
  /** Another coordinator advanced the journal first. */
  JournalConflictError,
  type LiveMigrateOptions,
  type CutoverResult,
  type MigrationStatus,
  type MigrationPhase,
  type MigrationState,
  type SideStatus,
  type RouterOptions,
  type CutoverEvent,
  type JournalEntry,
  type ControlAction,
  type ControlReply,
} from './migrate';

// Compaction and retention of a store's segments.
export {
  /** One compaction pass over every level: contiguous segments of level n-1 merged into level n, deterministically. */
  compact,
  /** Compaction and retention on a timer of their own, one pass at a time (the producer runs one). */
  Compactor,
  /** Deletes segments a compacted segment holds, once it has been stored for the grace period. */
  enforceRetention,
  /** The levels used when none are given: 100 tx/5 s, 1,000/1 min, 10,000/10 min, 50,000/1 h. */
  DEFAULT_LEVELS,
  /** Retention's default grace period (ms). */
  DEFAULT_GRACE_MS,
  /** Levels from text like `100/5s,1000/1m` (per level, transactions / window). */
  parseLevels,
  /** Levels as parseLevels reads them. */
  formatLevels,
  /** Checks that levels are numbered 1, 2, ... and grow. */
  validateLevels,
  /** Levels that are not valid; the message names the level. */
  CompactionSettingsError,
  /** Segments that cannot be merged (not contiguous, another database). */
  CompactionError,
  type CompactionLevel,
  type CompactOptions,
  type CompactResult,
  type CompactedSegment,
  type CompactorOptions,
  type CompactionPass,
  type RetentionOptions,
  type RetentionResult,
} from './compact';

// The seeded library workload the demo, the benches and the tests write.
export { LibraryWorkload, type WorkloadOptions } from './workload';
export type { Logger } from './logger';
