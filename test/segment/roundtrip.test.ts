import { decode as plainCborDecode } from 'cbor-x';
import fc from 'fast-check';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeSegment, encodeSegment, sha256Hex, type SegmentInput } from '../../src/segment';
import { segmentInputArb } from './arbitraries';
import { sampleInput } from './fixtures';
import { exactDatoms, inputOf } from './support';

function roundTrip(input: SegmentInput) {
  const encoded = encodeSegment(input);
  const segment = decodeSegment(encoded.bytes, { name: 'test' });
  return { encoded, segment };
}

describe('segment round trip', () => {
  it('keeps every value of the sample exactly, with its JS type', () => {
    const input = sampleInput();
    const { encoded, segment } = roundTrip(input);

    expect(exactDatoms(segment)).toEqual(exactDatoms(input));
    expect(segment.header).toEqual({
      format: 'txclone.segment',
      version: 1,
      database: 'db1',
      startT: 5,
      endT: 7,
      txCount: 3,
      datomCount: 25,
      sourceBasisT: 9,
      createdAt: Date.UTC(2024, 0, 2),
    });
    expect(encoded.datomCount).toBe(25);
    expect(encoded.sha256).toBe(sha256Hex(encoded.bytes));
    expect(segment.schema).toEqual([...input.schema].sort((a, b) => a.id - b.id));
    expect(segment.idents).toEqual(input.idents);
    expect(segment.transactions.map((t) => [t.t, t.tx, t.instant.getTime()])).toEqual(
      input.transactions.map((t) => [t.t, t.tx, t.instant.getTime()]),
    );
  });

  it('writes doubles as float64 in the CBOR, whole ones included', () => {
    const { encoded } = roundTrip(sampleInput());
    const cbor = gunzipSync(encoded.bytes);
    // tag 86 (RFC 8746 float64, little-endian), a byte string of 8, then 1.0's IEEE-754 bytes
    const oneAsFloat64 = Buffer.from('d85648000000000000f03f', 'hex');
    expect(cbor.includes(oneAsFloat64)).toBe(true);

    const raw = plainCborDecode(cbor) as { transactions: unknown[][] };
    const datoms = raw.transactions[1]![3] as unknown[][];
    const scores = datoms.filter((d) => d[1] === 105).map((d) => d[2]);
    expect(scores).toHaveLength(4);
    for (const v of scores) {
      expect(v).toBeInstanceOf(Float64Array);
    }
    expect(Object.is((scores[1] as Float64Array)[0], -0)).toBe(true);
  });

  it('encodes deterministically: decoding and encoding again gives the same bytes', () => {
    const { encoded, segment } = roundTrip(sampleInput());
    const again = encodeSegment(inputOf(segment));
    expect(Buffer.compare(again.bytes, encoded.bytes)).toBe(0);
    expect(again.sha256).toBe(encoded.sha256);
  });

  it('hands out plain Uint8Array bytes, independent of each other', () => {
    const { segment } = roundTrip(sampleInput());
    const photo = segment.transactions[1]!.datoms.find((d) => d[1] === 110)![2] as Uint8Array;
    expect(Object.getPrototypeOf(photo)).toBe(Uint8Array.prototype);
    expect([...photo]).toEqual([0, 1, 2, 255]);
    expect(photo.buffer.byteLength).toBe(4);
  });

  it('compresses at the level asked for', () => {
    const input = sampleInput();
    const stored = encodeSegment(input, { level: 0 });
    const best = encodeSegment(input, { level: 9 });
    expect(stored.bytes.length).toBeGreaterThan(best.bytes.length);
    expect(exactDatoms(decodeSegment(stored.bytes, { name: 'l0' }))).toEqual(exactDatoms(input));
  });

  it('round-trips random segments of every value type exactly (property)', () => {
    fc.assert(
      fc.property(segmentInputArb, (input) => {
        const { encoded, segment } = roundTrip(input);
        expect(exactDatoms(segment)).toEqual(exactDatoms(input));
        expect(segment.header.datomCount).toBe(input.transactions.reduce((n, t) => n + t.datoms.length, 0));
        expect(segment.schema).toEqual(input.schema);
        const again = encodeSegment(inputOf(segment));
        expect(Buffer.compare(again.bytes, encoded.bytes)).toBe(0);
        // read without the schema, every double is still a float64 in the CBOR
        const doubles = new Set([...input.schema].filter((a) => a.valueType === 'double').map((a) => a.id));
        const raw = plainCborDecode(gunzipSync(encoded.bytes)) as { transactions: [number, number, number, unknown[][]][] };
        for (const [, , , datoms] of raw.transactions) {
          for (const d of datoms) if (doubles.has(d[1] as number)) expect(d[2]).toBeInstanceOf(Float64Array);
        }
      }),
      { numRuns: 300 },
    );
  });
});
