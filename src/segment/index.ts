// The segment format: versioned CBOR + gzip, checksummed with SHA-256.
export {
  SEGMENT_FORMAT,
  SEGMENT_VERSION,
  decodeSegment,
  encodeSegment,
  type DecodeOptions,
  type EncodedSegment,
  type EncodeOptions,
  type Segment,
  type SegmentHeader,
  type SegmentInput,
} from './format';
export { sha256Hex, verifyChecksum } from './checksum';
export { DEFAULT_GZIP_LEVEL, DEFAULT_MAX_DECOMPRESSED_BYTES } from './compression';
export { segmentToEdn } from './edn';
export { SegmentChecksumError, SegmentDecodeError, SegmentEncodeError } from './errors';
