// The segment format: versioned CBOR + gzip, checksummed with SHA-256, optionally sealed
// (AES-256-GCM) through a SegmentCodec holding a key ring.
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
export { SegmentChecksumError, SegmentDecodeError, SegmentEncodeError, SegmentKeyError } from './errors';
export { clearCodec, sealedHeader, segmentCodec, type CodecDecodeOptions, type SealedEncodedSegment, type SegmentCodec } from './codec';
export { SEALED_FORMAT, SEALED_VERSION, isSealed, type SealedHeader, type SegmentPlace } from './envelope';
export { KEY_BYTES, KEY_ID, KeyRing, KeyRingError, loadKeyRing, parseKeyEntries, type KeyRingSources } from './keyring';
export { encryptSegments, type EncryptedSegment, type EncryptResult, type EncryptSegmentsOptions } from './encrypt';
