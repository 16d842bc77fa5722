import { Encoder } from 'cbor-x';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Transaction } from '../../src/db/types';
import {
  SegmentChecksumError,
  SegmentDecodeError,
  SegmentEncodeError,
  decodeSegment,
  encodeSegment,
  verifyChecksum,
  type SegmentInput,
} from '../../src/segment';
import { attribute, sampleInput, SCHEMA } from './fixtures';

const NAME = 'db1/00000000000000000005-00000000000000000007';

/** The sample's CBOR document as plain data, to corrupt and write back. */
function sampleDocument(): Record<string, any> {
  const cbor = gunzipSync(encodeSegment(sampleInput()).bytes);
  return new Encoder({ useRecords: false, mapsAsObjects: true }).decode(cbor);
}

function write(document: unknown): Buffer {
  return gzipSync(new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true }).encode(document));
}

function decodeError(bytes: Uint8Array, options: { maxDecompressedBytes?: number } = {}): SegmentDecodeError {
  try {
    decodeSegment(bytes, { name: NAME, ...options });
  } catch (e) {
    expect(e).toBeInstanceOf(SegmentDecodeError);
    expect((e as Error).message.startsWith(`segment ${NAME}: `)).toBe(true);
    return e as SegmentDecodeError;
  }
  throw new Error('decoded without error');
}

describe('decoding a bad segment names the segment and the problem', () => {
  it('refuses files that are not segments', () => {
    expect(decodeError(new Uint8Array(0)).message).toMatch(/is not a gzip stream/);
    expect(decodeError(Buffer.from('{"header": {}}')).message).toMatch(/is not a gzip stream \(incorrect header check\)/);
    expect(decodeError(gzipSync(Buffer.from('{"header": {}}'))).message).toMatch(/CBOR/);
    expect(decodeError(write({ hello: 'world' })).message).toBe(`segment ${NAME}: is not a txclone segment (no header)`);
    expect(decodeError(write({ header: { format: 'other', version: 1 } })).message).toMatch(
      /is not a txclone segment \(format string "other"\)/,
    );
  });

  it('refuses a format version it does not read', () => {
    const doc = sampleDocument();
    doc.header.version = 3;
    expect(decodeError(write(doc)).message).toBe(
      `segment ${NAME}: has format version 3, this txclone reads versions 1 and 2 (a newer txclone wrote it?)`,
    );
  });

  it('refuses, in a version-1 segment, what only version 2 holds', () => {
    const doc = sampleDocument();
    (doc.schema as Array<{ ident: string; valueType: string }>).find((a) => a.ident === ':person/score')!.valueType = 'float';
    expect(decodeError(write(doc)).message).toMatch(/value type float needs segment format version 2/);
  });

  it('refuses truncated bytes and bytes after the gzip stream', () => {
    const bytes = encodeSegment(sampleInput()).bytes;
    expect(decodeError(bytes.subarray(0, bytes.length - 1)).message).toMatch(/is not a gzip stream \(unexpected end of file\)/);
    expect(decodeError(Buffer.concat([bytes, Buffer.from([0])])).message).toMatch(/has 1 bytes after its gzip stream/);
  });

  it('names the transaction, the datom and the attribute of a bad value', () => {
    const doc = sampleDocument();
    doc.transactions[1][3][4][2] = 1.5; // :person/age
    expect(decodeError(write(doc)).message).toBe(
      `segment ${NAME}: transaction t=6 datom 4: value for :person/age (long) is not a safe integer (got number 1.5)`,
    );
    const doc2 = sampleDocument();
    doc2.transactions[1][3][6][2] = 1; // :person/score, an integer where a float64 belongs
    expect(decodeError(write(doc2)).message).toMatch(/transaction t=6 datom 6: value for :person\/score \(double\) is not a double \(one float64\) \(got number 1\)/);
    const doc3 = sampleDocument();
    doc3.transactions[1][3][16][2] = [1, 2]; // :person/scores holds doubles
    expect(decodeError(write(doc3)).message).toMatch(/datom 16: value for :person\/scores \(tuple\) element 0 is not a double/);
  });

  it('names an attribute that is not in the schema', () => {
    const doc = sampleDocument();
    doc.transactions[2][3][1][1] = 999;
    expect(decodeError(write(doc)).message).toBe(
      `segment ${NAME}: transaction t=7 datom 1: attribute 999 is not in the segment's schema`,
    );
  });

  it('refuses a t range that is not exactly startT..endT', () => {
    const gap = sampleDocument();
    gap.transactions[1][0] = 8;
    expect(decodeError(write(gap)).message).toMatch(/transaction 1 has t=8, expected t=6/);
    const short = sampleDocument();
    short.transactions.pop();
    expect(decodeError(write(short)).message).toMatch(/holds 2 transactions, the header says 3/);
    const counts = sampleDocument();
    counts.header.datomCount = 24;
    expect(decodeError(write(counts)).message).toMatch(/holds 25 datoms, the header says 24/);
    const range = sampleDocument();
    range.header.txCount = 4;
    expect(decodeError(write(range)).message).toMatch(/header\.txCount: txCount 4 does not match the range 5\.\.7/);
  });

  it('refuses a bad schema entry with where it is', () => {
    const doc = sampleDocument();
    doc.schema[0].valueType = 'text';
    expect(decodeError(write(doc)).message).toMatch(/schema\[0\]\.valueType: Invalid option/);
    const composite = sampleDocument();
    composite.schema = composite.schema.filter((a: { ident: string }) => a.ident !== ':person/age');
    expect(decodeError(write(composite)).message).toMatch(/composite tuple :person\/name\+age names :person\/age, which is not in the segment's schema/);
  });

  it('refuses CBOR features a segment does not use', () => {
    const shared = [1, 2, 3];
    const structured = new Encoder({ structuredClone: true, useRecords: false }).encode({ a: shared, b: shared });
    expect(decodeError(gzipSync(structured)).message).toMatch(/CBOR tag 28 \(not used by segments\)/);
    const records = new Encoder({ useRecords: true }).encode([{ a: 1 }, { a: 2 }]);
    expect(decodeError(gzipSync(records)).message).toMatch(/CBOR tag \d+ \(not used by segments\)/);
    const deep = Buffer.alloc(100_000, 0x81); // an array in an array in ...
    expect(decodeError(gzipSync(deep)).message).toMatch(/nesting too deep/);
    expect(decodeError(gzipSync(Buffer.from([0x9f, 0xff]))).message).toMatch(/indefinite length/);
    expect(decodeError(gzipSync(Buffer.from([0x9a, 0xff, 0xff, 0xff, 0xff]))).message).toMatch(/CBOR ends early/);
  });

  it('refuses a segment that decompresses beyond the limit (a gzip bomb)', () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    expect(decodeError(bomb, { maxDecompressedBytes: 1024 * 1024 }).message).toMatch(
      /decompresses to more than 1048576 bytes/,
    );
  });

  it('checks a checksum and names the segment', () => {
    const { bytes, sha256 } = encodeSegment(sampleInput());
    expect(() => verifyChecksum(bytes, sha256, NAME)).not.toThrow();
    expect(() => verifyChecksum(bytes, sha256.toUpperCase(), NAME)).not.toThrow();
    const flipped = Buffer.from(bytes);
    flipped[20]! ^= 1;
    expect(() => verifyChecksum(flipped, sha256, NAME)).toThrow(SegmentChecksumError);
    expect(() => verifyChecksum(flipped, sha256, NAME)).toThrow(
      new RegExp(`^segment ${NAME}: checksum mismatch: expected sha256 ${sha256}`),
    );
    expect(() => verifyChecksum(bytes, 'abc', NAME)).toThrow(/is not a SHA-256/);
    // a checksum error is a decode error: the segment is not applied either way
    expect(() => verifyChecksum(flipped, sha256, NAME)).toThrow(SegmentDecodeError);
    expect(() => decodeSegment(flipped, { name: NAME, sha256 })).toThrow(SegmentChecksumError);
    expect(decodeSegment(bytes, { name: NAME, sha256 }).header.endT).toBe(7);
  });

  it('reads huge values in time linear in their size', () => {
    // a quadratic regex or decimal BigInt parse would not finish within the test's timeout
    const huge = sampleDocument();
    huge.transactions[1][3][10][2] = '1'.repeat(1_000_000) + 'x'; // :person/balance (bigdec)
    expect(decodeError(write(huge)).message).toMatch(/value for :person\/balance \(bigdec\) is not an exact decimal/);
    const big = sampleDocument();
    big.transactions[1][3][5][2] = 'f'.repeat(2_000_000); // :person/big (bigint), 8 million bits
    const value = decodeSegment(write(big), { name: NAME }).transactions[1]!.datoms[5]![2] as bigint;
    expect(value).toBe(2n ** 8_000_000n - 1n);
  });
});

describe('the encoder refuses what is not a valid segment', () => {
  function encodeError(change: (input: SegmentInput & { transactions: Transaction[] }) => void): string {
    const input = sampleInput() as SegmentInput & { transactions: Transaction[] };
    change(input);
    try {
      encodeSegment(input);
    } catch (e) {
      expect(e).toBeInstanceOf(SegmentEncodeError);
      return (e as Error).message;
    }
    throw new Error('encoded without error');
  }

  it('names t, datom and attribute of a value of the wrong type', () => {
    expect(encodeError((i) => (i.transactions[1]!.datoms[4]![2] = 2 ** 53))).toBe(
      'segment db1 5..7: transaction t=6 datom 4: value for :person/age (long) is not a long (a signed 64-bit integer) (got number 9007199254740992)',
    );
    expect(encodeError((i) => (i.transactions[1]!.datoms[4]![2] = '42'))).toMatch(
      /transaction t=6 datom 4: value for :person\/age \(long\) is not a long \(a signed 64-bit integer\) \(got string "42"\)/,
    );
    expect(encodeError((i) => (i.transactions[1]!.datoms[5]![2] = 5))).toMatch(/datom 5: value for :person\/big \(bigint\) is not a bigint/);
    expect(encodeError((i) => (i.transactions[1]!.datoms[2]![2] = 'active'))).toMatch(/value for :person\/status \(keyword\) is not a keyword/);
    expect(encodeError((i) => (i.transactions[1]!.datoms[12]![2] = '0B5F6C2E-6D1A-4D8E-9C1B-2A3F4E5D6C7B'))).toMatch(
      /:person\/uuid \(uuid\) is not a canonical lowercase uuid/,
    );
    expect(encodeError((i) => (i.transactions[1]!.datoms[11]![2] = new Date(NaN)))).toMatch(/:person\/born \(instant\) is not an instant/);
    expect(encodeError((i) => (i.transactions[1]!.datoms[1]![2] = 'lone \ud800'))).toMatch(/:person\/name \(string\) is not a well-formed string/);
    expect(encodeError((i) => (i.transactions[1]!.datoms[17]![2] = ['x']))).toMatch(/:person\/pair \(tuple\) is a tuple of 1 elements, expected 2/);
    expect(encodeError((i) => (i.transactions[1]!.datoms[18]![2] = ['Ann', 1.5]))).toMatch(
      /:person\/name\+age \(tuple\) element 1 is not a long \(a signed 64-bit integer\)/,
    );
    expect(encodeError((i) => (i.transactions[1]!.datoms[10]![2] = '1.2.3'))).toMatch(/:person\/balance \(bigdec\) is not an exact decimal/);
  });

  it('names an attribute missing from the schema, and bad datoms', () => {
    expect(encodeError((i) => (i.transactions[2]!.datoms[1]![1] = 999))).toBe(
      "segment db1 5..7: transaction t=7 datom 1: attribute 999 is not in the segment's schema",
    );
    expect(encodeError((i) => (i.transactions[2]!.datoms[1]![0] = -1))).toMatch(/t=7 datom 1: entity -1 is not an entity id/);
    expect(encodeError((i) => ((i.transactions[2]!.datoms[1] as unknown[]).length = 3))).toMatch(/t=7 datom 1: array\[3\] is not \[e, a, v, added\]/);
  });

  it('refuses transactions that are not exactly startT..endT', () => {
    expect(encodeError((i) => (i.transactions = []))).toMatch(/has no transactions/);
    expect(encodeError((i) => (i.startT = 8))).toBe('segment db1 8..7: 8..7 is not a range of t');
    expect(encodeError((i) => i.transactions.splice(1, 1))).toMatch(/transaction 1 has t=7, expected t=6/);
    expect(encodeError((i) => i.transactions.pop())).toMatch(/holds t 5\.\.6, expected 5\.\.7/);
    expect(encodeError((i) => (i.sourceBasisT = 6))).toMatch(/header\.sourceBasisT: sourceBasisT 6 is before endT 7/);
    expect(encodeError((i) => (i.transactions[0]!.tx = 1.5))).toMatch(/transaction t=5: tx 1.5 is not an entity id/);
  });

  it('refuses a schema that cannot type its values', () => {
    expect(encodeError((i) => (i.schema = [...SCHEMA, attribute(115, ':x/bad', 'tuple')]))).toMatch(
      /schema\[18\]: tuple attribute :x\/bad needs exactly one of tupleAttrs, tupleType, tupleTypes/,
    );
    expect(encodeError((i) => (i.schema = [...SCHEMA, attribute(100, ':x/dup', 'long')]))).toMatch(/attribute id 100 appears twice/);
  });
});
