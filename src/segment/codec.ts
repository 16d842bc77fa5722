// The one seam between segments as values and segments as stored bytes. Everything that
// writes a segment (export, backup, repair, a compactor) calls encode; everything that
// reads one (restore's reader, repair's source check, `segments inspect`, a compactor)
// calls decode. A codec without keys writes clear segments and reads clear ones; with a
// key ring it seals what it writes with the active key and reads clear segments and
// segments sealed with any key of the ring, so a store may hold both.
import { sha256Hex, verifyChecksum } from './checksum';
import { isSealed, placeText, readSealedHeader, seal, unseal, type SealedHeader, type SegmentPlace } from './envelope';
import { SegmentDecodeError } from './errors';
import { decodeSegment, encodeSegmentBytes, type EncodedSegment, type EncodeOptions, type Segment, type SegmentInput } from './format';
import type { KeyRing } from './keyring';

/** Options of SegmentCodec.decode. */
export interface CodecDecodeOptions {
  /** How errors name the segment: its store and key. */
  name: string;
  /** Where the segment was found: its header (clear or sealed) must name the same place. */
  place: SegmentPlace;
  /** Refuse a segment that decompresses to more than this; 512 MiB when absent. */
  maxDecompressedBytes?: number;
  /** When given, the stored bytes must have this SHA-256 (hex). */
  sha256?: string;
}

/** A segment's stored bytes, with the key they are sealed with. */
export interface SealedEncodedSegment extends EncodedSegment {
  /** The key the bytes are sealed with, or null for a clear segment. */
  keyId: string | null;
}

/** Encodes and decodes segments' stored bytes: clear, or sealed with a key ring's active key. */
export interface SegmentCodec {
  /** The key that seals what encode writes, or null: segments are written in clear. */
  readonly activeKeyId: string | null;
  /** A segment's stored bytes: encodeSegment's, sealed with the active key when there is one. */
  encode(input: SegmentInput, options?: EncodeOptions): SealedEncodedSegment;
  /** A segment from stored bytes, clear or sealed, checked to belong at options.place. */
  decode(bytes: Uint8Array, options: CodecDecodeOptions): Segment;
  /** The clear segment bytes within stored bytes (the same bytes when they are clear). */
  open(bytes: Uint8Array, options: { name: string; place: SegmentPlace }): Uint8Array;
  /** Stored bytes for a clear segment's bytes: sealed with the active key, or as they are. */
  seal(clear: Uint8Array, place: SegmentPlace): Uint8Array;
}

/** A codec with the given key ring (sealing with its active key), or without keys. */
export function segmentCodec(keys: KeyRing | null = null): SegmentCodec {
  const open = (bytes: Uint8Array, { name, place }: { name: string; place: SegmentPlace }): Uint8Array =>
    isSealed(bytes) ? unseal(bytes, place, keys, name) : bytes;
  const sealBytes = (clear: Uint8Array, place: SegmentPlace): Uint8Array => (keys === null ? clear : seal(clear, place, keys));
  return {
    activeKeyId: keys?.activeKeyId ?? null,
    encode(input, options) {
      const encoded = encodeSegmentBytes(input, options);
      const { database, startT, endT } = encoded.header;
      const bytes = keys === null ? encoded.bytes : seal(encoded.bytes, { database, startT, endT }, keys);
      return { ...encoded, bytes, sha256: sha256Hex(bytes), keyId: keys?.activeKeyId ?? null };
    },
    decode(bytes, options) {
      const { name, place } = options;
      if (options.sha256 !== undefined) verifyChecksum(bytes, options.sha256, name);
      const segment = decodeSegment(open(bytes, options), { name, maxDecompressedBytes: options.maxDecompressedBytes });
      const { header } = segment;
      if (header.database !== place.database || header.startT !== place.startT || header.endT !== place.endT)
        // Applied, it would land in the wrong place (or, holding only t already applied, never finish).
        throw new SegmentDecodeError(name, `holds ${placeText(header)}, but is stored as ${placeText(place)}`);
      return segment;
    },
    open,
    seal: sealBytes,
  };
}

/** The codec without keys: clear segments only. */
export const clearCodec: SegmentCodec = Object.freeze(segmentCodec());

/** The clear header of a sealed segment's bytes (no key needed), or null for a clear segment. */
export function sealedHeader(bytes: Uint8Array, name: string): SealedHeader | null {
  return isSealed(bytes) ? readSealedHeader(bytes, name).header : null;
}
