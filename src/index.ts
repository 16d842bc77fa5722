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
export * from './idmap';
export * from './restore';
export * from './queue';
export * from './metrics';
export { LibraryWorkload, type WorkloadOptions } from './workload';
export type { Logger } from './logger';
