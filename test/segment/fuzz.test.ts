// Mutated and foreign bytes: each must be refused with a SegmentDecodeError naming the
// segment, or (when a mutation happens to leave a valid segment) decode to a segment the
// encoder accepts. Never another error, never a hang.
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeSegment, encodeSegment, SegmentDecodeError } from '../../src/segment';
import { SegmentProblem } from '../../src/segment/errors';
import { sampleInput } from './fixtures';
import { inputOf } from './support';

const NAME = 'fuzz/segment';

/** A small seeded generator (mulberry32): the same cases on every run. */
function random(seed: number) {
  let a = seed;
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { int, bytes };
}

class Outcomes {
  rejected = 0;
  accepted = 0;
  failures: string[] = [];

  check(bytes: Uint8Array, what: string): void {
    let segment;
    try {
      segment = decodeSegment(bytes, { name: NAME });
    } catch (e) {
      if (!(e instanceof SegmentDecodeError)) this.failures.push(`${what}: ${String(e)}`);
      else if (!e.message.startsWith(`segment ${NAME}: `)) this.failures.push(`${what}: message ${e.message}`);
      // every refusal is a problem the decoder recognised, not an accident deep inside it
      else if (!(e.cause instanceof SegmentProblem)) this.failures.push(`${what}: unexpected ${e.message}`);
      else this.rejected++;
      return;
    }
    try {
      encodeSegment(inputOf(segment));
      this.accepted++;
    } catch (e) {
      this.failures.push(`${what}: decoded, but the encoder refuses it: ${String(e)}`);
    }
  }

  expectSound(): void {
    expect(this.failures.slice(0, 5)).toEqual([]);
    expect(this.rejected).toBeGreaterThan(0);
  }
}

const cborWriter = () => new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true });
const regzip = (cbor: Uint8Array) => gzipSync(cbor, { level: 1 });

describe('decoding mutated and foreign bytes', () => {
  const sample = encodeSegment(sampleInput()).bytes;
  const cbor = gunzipSync(sample);

  it('refuses every truncation and bit flips in every byte of the gzipped bytes', () => {
    const outcomes = new Outcomes();
    const r = random(5);
    for (let n = 0; n < sample.length; n++) outcomes.check(sample.subarray(0, n), `truncated to ${n}`);
    for (let i = 0; i < sample.length; i++) {
      // every bit of the gzip header and the start of the deflate stream, then two bits a byte
      const bits = i < 32 ? [0, 1, 2, 3, 4, 5, 6, 7] : [r.int(8), r.int(8)];
      for (const bit of bits) {
        const flipped = Buffer.from(sample);
        flipped[i]! ^= 1 << bit;
        outcomes.check(flipped, `bit ${bit} of byte ${i} flipped`);
      }
    }
    outcomes.expectSound();
    // every truncation must fail; a flip may survive only in gzip header fields nothing reads
    expect(outcomes.accepted).toBeLessThan(sample.length);
  });

  it('refuses byte insertions, deletions and replacements', () => {
    const outcomes = new Outcomes();
    const r = random(1);
    for (let k = 0; k < 3000; k++) {
      const target = k % 2 === 0 ? sample : cbor;
      const at = r.int(target.length + 1);
      const kind = r.int(3);
      const changed =
        kind === 0
          ? Buffer.concat([target.subarray(0, at), r.bytes(1 + r.int(4)), target.subarray(at)])
          : kind === 1
            ? Buffer.concat([target.subarray(0, at), target.subarray(at + 1 + r.int(4))])
            : Buffer.concat([target.subarray(0, at), r.bytes(1), target.subarray(at + 1)]);
      outcomes.check(target === sample ? changed : regzip(changed), `mutation ${k}`);
    }
    outcomes.expectSound();
  });

  it('refuses CBOR with any byte changed or cut short, behind a valid gzip', () => {
    const outcomes = new Outcomes();
    const r = random(2);
    for (let i = 0; i < cbor.length; i++) {
      const flipped = Buffer.from(cbor);
      flipped[i]! ^= 1 << r.int(8);
      outcomes.check(regzip(flipped), `CBOR byte ${i} flipped`);
      if (i % 3 === 0) {
        const replaced = Buffer.from(cbor);
        replaced[i] = r.int(256);
        outcomes.check(regzip(replaced), `CBOR byte ${i} replaced`);
      }
      outcomes.check(regzip(cbor.subarray(0, i)), `CBOR truncated to ${i}`);
    }
    outcomes.expectSound();
  });

  it('refuses random bytes, gzipped or not', () => {
    const outcomes = new Outcomes();
    const r = random(3);
    for (let k = 0; k < 1000; k++) {
      const bytes = r.bytes(r.int(600));
      outcomes.check(bytes, `random ${k}`);
      outcomes.check(regzip(bytes), `gzipped random ${k}`);
      outcomes.check(Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0]), bytes]), `gzip magic then random ${k}`);
    }
    outcomes.expectSound();
    expect(outcomes.accepted).toBe(0);
  });

  it('refuses valid CBOR of other shapes', () => {
    const outcomes = new Outcomes();
    const values = fc.sample(fc.anything({ withBigInt: true, withDate: true, withTypedArray: true, withNullPrototype: true, maxDepth: 4 }), {
      numRuns: 500,
      seed: 4,
    });
    for (const [k, value] of values.entries()) {
      let written: Uint8Array;
      try {
        written = cborWriter().encode(value);
      } catch {
        continue; // not every JS value is CBOR; only the decoder is under test
      }
      outcomes.check(regzip(written), `anything ${k}`);
      outcomes.check(regzip(cborWriter().encode({ header: value, schema: [], idents: [], transactions: [] })), `header ${k}`);
    }
    outcomes.expectSound();
    expect(outcomes.accepted).toBe(0);
  });

  it('refuses the sample document with any part replaced or removed', () => {
    const outcomes = new Outcomes();
    const document = cborWriter().decode(cbor) as unknown;
    const paths: Array<Array<string | number>> = [];
    const walk = (node: unknown, path: Array<string | number>): void => {
      paths.push(path);
      if (node instanceof Uint8Array || node instanceof Float64Array) return;
      if (Array.isArray(node)) node.forEach((child, i) => walk(child, [...path, i]));
      else if (node && typeof node === 'object') for (const [k, child] of Object.entries(node)) walk(child, [...path, k]);
    };
    walk(document, []);
    const replacements: unknown[] = [null, true, -1, 1.5, 2 ** 53, ':a/b', [], [1, 2], { a: 1 }, new Uint8Array(2), Float64Array.of(1)];
    for (const path of paths.slice(1)) {
      for (const replacement of [...replacements, undefined]) {
        const copy = structuredClone(document) as Record<string | number, unknown>;
        let parent = copy;
        for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
        const last = path.at(-1)!;
        if (replacement === undefined) {
          if (Array.isArray(parent)) parent.splice(last as number, 1);
          else delete parent[last];
        } else {
          parent[last] = replacement;
        }
        outcomes.check(regzip(cborWriter().encode(copy)), `${path.join('.')} = ${String(replacement)}`);
      }
    }
    outcomes.expectSound();
  });
});
