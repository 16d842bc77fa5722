// Format versions: a segment holding nothing new is version 1, byte for byte what earlier
// txclone wrote; floats, symbols and longs beyond 2^53 make it version 2, and they come
// back exactly.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { SegmentInput } from '../../src/segment';
import { decodeSegment, encodeSegment, segmentToEdn } from '../../src/segment';
import { attribute, sampleInput } from './fixtures';

/** sha256 of sampleInput()'s segment as txclone wrote it before format version 2 existed (main at 5258b2e). */
const VERSION_1_SHA256 = '06d172ecc11efcb4503fab5f059c06db919a90ed55727742cf0fb0f6fbdafbb5';

function withDatoms(extra: SegmentInput['schema'], values: Array<[number, unknown]>): SegmentInput {
  const input = sampleInput();
  const tx = input.transactions[0]!;
  return {
    ...input,
    schema: [...input.schema, ...extra],
    transactions: [{ ...tx, datoms: [...tx.datoms, ...values.map(([a, v]) => [3000, a, v, true] as never)] }, ...input.transactions.slice(1)],
  };
}

describe('segment format versions', () => {
  it('a segment without new types or wide longs keeps version 1 and its exact bytes', () => {
    const encoded = encodeSegment(sampleInput());
    expect(encoded.header.version).toBe(1);
    expect(encoded.sha256).toBe(VERSION_1_SHA256);
  });

  it('a long beyond 2^53 makes version 2 and comes back as the same bigint; safe ones stay numbers', () => {
    const input = withDatoms([attribute(200, ':x/big', 'long', { cardinality: 'many' })], [
      [200, 2n ** 63n - 1n],
      [200, -(2n ** 63n)],
      [200, 9007199254740993n],
      [200, 5n],
    ]);
    const encoded = encodeSegment(input);
    expect(encoded.header.version).toBe(2);
    const values = decodeSegment(encoded.bytes, { name: 'v2' }).transactions[0]!.datoms.filter((d) => d[1] === 200).map((d) => d[2]);
    expect(values).toEqual([2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n, 5]);
    expect(() => encodeSegment(withDatoms([attribute(200, ':x/big', 'long')], [[200, 2n ** 63n]]))).toThrow(/is not a long/);
    // Only safe longs: still version 1.
    expect(encodeSegment(withDatoms([attribute(200, ':x/big', 'long')], [[200, 2 ** 52]])).header.version).toBe(1);
  });

  it('floats stay float32 (never an integer or a double) and symbols stay symbols', () => {
    const input = withDatoms(
      [attribute(201, ':x/ratio', 'float', { cardinality: 'many' }), attribute(202, ':x/fn', 'symbol')],
      [
        [201, 1],
        [201, Math.fround(0.1)],
        [201, -0],
        [201, NaN],
        [202, 'clojure.core/inc'],
      ],
    );
    const encoded = encodeSegment(input);
    expect(encoded.header.version).toBe(2);
    // A float is RFC 8746's float32 array (tag 85, 0xd855, then 4 bytes), never CBOR's integer 1.
    expect(gunzipSync(encoded.bytes).includes(Buffer.from([0xd8, 0x55, 0x44, 0x00, 0x00, 0x80, 0x3f]))).toBe(true);
    const segment = decodeSegment(encoded.bytes, { name: 'v2' });
    const values = segment.transactions[0]!.datoms.filter((d) => d[1] === 201 || d[1] === 202).map((d) => d[2]);
    expect(values).toEqual([1, Math.fround(0.1), -0, NaN, 'clojure.core/inc']);
    expect(Object.is(values[2], -0)).toBe(true);
    expect(() => encodeSegment(withDatoms([attribute(201, ':x/ratio', 'float')], [[201, 0.1]]))).toThrow(/exact in 32 bits/);
    expect(() => encodeSegment(withDatoms([attribute(202, ':x/fn', 'symbol')], [[202, ':kw']]))).toThrow(/is not a symbol/);
    const edn = segmentToEdn(segment);
    expect(edn).toContain(':version 2');
    expect(edn).toContain('[3000 :x/ratio 1.0 5000 true]');
    expect(edn).toContain('[3000 :x/fn clojure.core/inc 5000 true]');
    expect(edn).toContain(':db/valueType :db.type/float');
  });

  it('EDN writes a long beyond 2^53 as an integer without N', () => {
    const segment = decodeSegment(encodeSegment(withDatoms([attribute(200, ':x/big', 'long')], [[200, 2n ** 63n - 1n]])).bytes, { name: 'e' });
    expect(segmentToEdn(segment)).toContain('[3000 :x/big 9223372036854775807 5000 true]');
  });
});
