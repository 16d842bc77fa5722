// The CBOR layer of a segment: cbor-x configured for plain data, and a check that a byte
// string uses only the part of CBOR a segment is made of before cbor-x reads it.
//
// cbor-x also understands records, shared references (tags 28/29, which let a few bytes
// describe a structure that is exponentially large to walk), packed values, Sets, Errors
// and RegExps. A segment uses none of them, so the check refuses them, along with
// indefinite lengths, nesting deeper than a segment needs and trailing bytes. What passes
// decodes in time and memory linear in its size.
import { Decoder, Encoder } from 'cbor-x';
import { SegmentProblem } from './errors';

/** RFC 8746: a little-endian float64 typed array; a segment's doubles (values.ts). */
export const FLOAT64_TAG = 86;
/** RFC 8746: a little-endian float32 typed array; a segment's floats (format version 2). */
export const FLOAT32_TAG = 85;

/** Deepest nesting a segment needs: document, transactions, row, datoms, datom, tuple, plus room. */
const MAX_DEPTH = 8;

export function createEncoder(): Encoder {
  // variableMapSize: the shortest map headers, so equal documents give equal bytes.
  return new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true, useFloat32: 0 });
}

export function createDecoder(): Decoder {
  return new Decoder({ useRecords: false, mapsAsObjects: true });
}

/** Throws SegmentProblem if bytes are not exactly one CBOR item of the subset a segment uses. */
export function checkCborSubset(bytes: Uint8Array): void {
  const end = bytes.length;
  let pos = 0;

  const fail = (what: string): never => {
    throw new SegmentProblem(`CBOR ${what} at byte ${pos}`);
  };
  const need = (n: number): void => {
    if (n > end - pos) fail('ends early');
  };

  // Returns the item's argument (a count, a length or a number) and leaves pos after its head.
  const head = (info: number): number => {
    if (info < 24) return info;
    switch (info) {
      case 24:
        need(1);
        return bytes[pos++]!;
      case 25:
        need(2);
        pos += 2;
        return (bytes[pos - 2]! << 8) | bytes[pos - 1]!;
      case 26:
        need(4);
        pos += 4;
        return bytes[pos - 4]! * 0x1000000 + ((bytes[pos - 3]! << 16) | (bytes[pos - 2]! << 8) | bytes[pos - 1]!);
      case 27: {
        need(8);
        const high = bytes[pos]! * 0x1000000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
        const low = bytes[pos + 4]! * 0x1000000 + ((bytes[pos + 5]! << 16) | (bytes[pos + 6]! << 8) | bytes[pos + 7]!);
        pos += 8;
        // Only compared against lengths that fit in memory; beyond 2^53 exactness does not matter.
        return high * 0x100000000 + low;
      }
      case 31:
        return fail('indefinite length (not used by segments)');
      default:
        return fail(`reserved additional information ${info}`);
    }
  };

  const item = (depth: number): void => {
    need(1);
    const initial = bytes[pos++]!;
    const major = initial >> 5;
    const info = initial & 31;
    if (major === 7) {
      // false, true, null, and half, single and double floats.
      if (info === 20 || info === 21 || info === 22) return;
      if (info >= 25 && info <= 27) {
        head(info);
        return;
      }
      pos--;
      fail(`simple value ${info} (not used by segments)`);
    }
    const arg = head(info);
    switch (major) {
      case 0:
      case 1:
        return;
      case 2:
      case 3:
        need(arg);
        pos += arg;
        return;
      case 4:
        if (depth >= MAX_DEPTH) fail('nesting too deep');
        need(arg); // each element takes at least one byte
        for (let i = 0; i < arg; i++) item(depth + 1);
        return;
      case 5:
        if (depth >= MAX_DEPTH) fail('nesting too deep');
        need(arg * 2);
        for (let i = 0; i < arg; i++) {
          need(1);
          if (bytes[pos]! >> 5 !== 3) fail('map key that is not text');
          item(depth + 1);
          item(depth + 1);
        }
        return;
      default: // 6, a tag
        if (arg === FLOAT32_TAG) {
          need(5);
          if (bytes[pos] !== 0x44) fail('float32 tag not followed by 4 bytes');
          pos += 5;
          return;
        }
        if (arg !== FLOAT64_TAG) fail(`tag ${arg} (not used by segments)`);
        need(9);
        if (bytes[pos] !== 0x48) fail('float64 tag not followed by 8 bytes');
        pos += 9;
        return;
    }
  };

  item(0);
  if (pos !== end) fail('has trailing bytes');
}
