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
export * from './metrics';
export { LibraryWorkload, type WorkloadOptions } from './cli/workload';
export type { Logger } from './logger';
