// txclone's public API. The CLI (src/cli) is a thin layer over it.
export * from './db';
export * from './stores';
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
export { Pacer, type PacingOptions } from './segment/pacing';
export * from './idmap';
export * from './restore';
export * from './queue';
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
export * from './metrics';
export { LibraryWorkload, type WorkloadOptions } from './workload';
export type { Logger } from './logger';
