// Segment encode/decode throughput on a ~200k-datom segment, what encryption costs, and what
// each gzip level costs.
// Run: npx tsx bench/segment.ts [datoms]
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Attribute, Transaction, TxDatom, ValueType } from '../src/db/types';
import { KeyRing, decodeSegment, encodeSegment, segmentCodec, type SegmentInput } from '../src/segment';
import { createEncoder } from '../src/segment/cbor';

const DATOMS = Number(process.argv[2] ?? 200_000);
const DATOMS_PER_TX = 20;
const RUNS = 5;

function attribute(id: number, ident: string, valueType: ValueType, extra: Partial<Attribute> = {}): Attribute {
  return {
    id, ident, valueType, cardinality: 'one', unique: null, isComponent: false, noHistory: false,
    tupleAttrs: null, tupleType: null, tupleTypes: null, ...extra,
  };
}

const SCHEMA = [
  attribute(12, ':db/txInstant', 'instant'),
  attribute(100, ':order/id', 'uuid', { unique: 'identity' }),
  attribute(101, ':order/customer', 'ref'),
  attribute(102, ':order/status', 'keyword'),
  attribute(103, ':order/total', 'double'),
  attribute(104, ':order/quantity', 'long'),
  attribute(105, ':order/note', 'string'),
  attribute(106, ':order/placed', 'instant'),
  attribute(107, ':order/paid', 'boolean'),
  attribute(108, ':order/amount', 'bigdec'),
];
const STATUSES = [':status/new', ':status/paid', ':status/shipped', ':status/cancelled'];

/** Orders of nine attributes each, as an application might write them; about DATOMS datoms. */
function workload(datoms: number): SegmentInput {
  const transactions: Transaction[] = [];
  const base = Date.UTC(2024, 0, 1);
  let e = 17592186045418;
  let n = 0;
  for (let t = 1; n < datoms; t++) {
    const tx = 13194139533312 + t;
    const instant = new Date(base + t * 37);
    const ds: TxDatom[] = [[tx, 12, instant, true]];
    while (ds.length < DATOMS_PER_TX - 8) {
      const id = e++;
      const k = id % 9973;
      ds.push(
        [id, 100, `${(k * 2654435761 >>> 0).toString(16).padStart(8, '0')}-1c2d-4e5f-8a9b-${String(id).padStart(12, '0').slice(-12)}`, true],
        [id, 101, 17592186000000 + (k % 500), true],
        [id, 102, STATUSES[k % 4]!, true],
        [id, 103, k % 7 === 0 ? k : k * 1.25 + 0.01, true],
        [id, 104, k % 20, true],
        [id, 105, k % 3 === 0 ? `deliver to door ${k}, ring twice` : 'none', true],
        [id, 106, new Date(base + k * 1000), true],
        [id, 107, k % 2 === 0, true],
        [id, 108, `${k}.${String(k % 100).padStart(2, '0')}`, true],
      );
    }
    transactions.push({ t, tx, instant, datoms: ds });
    n += ds.length;
  }
  return {
    database: 'bench',
    startT: 1,
    endT: transactions.length,
    sourceBasisT: transactions.length,
    createdAt: base,
    schema: SCHEMA,
    idents: [],
    transactions,
  };
}

/** Median and best of RUNS timed runs after one warm-up, in ms. */
function time(f: () => void): { median: number; best: number } {
  const times: number[] = [];
  f();
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    f();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, best: times[0]! };
}

const rate = (count: number, ms: number) => `${Math.round((count / ms) * 1000).toLocaleString('en-US')}/s`;
const figures = (t: { median: number; best: number }, count?: number) =>
  `median ${t.median.toFixed(0)} ms${count ? ` (${rate(count, t.median)} datoms)` : ''}, best ${t.best.toFixed(0)} ms${count ? ` (${rate(count, t.best)})` : ''}`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

const input = workload(DATOMS);
const encoded = encodeSegment(input);
const count = encoded.datomCount;
const ratio = (size: number) => `${(encoded.uncompressedBytes / size).toFixed(3)}x`;
console.log(`segment: ${count.toLocaleString('en-US')} datoms in ${encoded.txCount.toLocaleString('en-US')} transactions, ${RUNS} runs each`);
console.log(`CBOR ${mb(encoded.uncompressedBytes)}, gzipped (default level) ${mb(encoded.bytes.length)}, ratio ${ratio(encoded.bytes.length)}, ${(encoded.bytes.length / count).toFixed(1)} bytes/datom`);
console.log(`encode (check, CBOR, gzip, sha256):     ${figures(time(() => encodeSegment(input)), count)}`);
console.log(`decode (gunzip, check, CBOR, validate): ${figures(time(() => decodeSegment(encoded.bytes, { name: 'bench' })), count)}`);

// Encryption: clear and sealed runs alternate (ABBA, so that neither always runs in the
// other's garbage), so that both see the same machine.
function timePair(f: () => void, g: () => void): [{ median: number; best: number }, { median: number; best: number }] {
  const a: number[] = [];
  const b: number[] = [];
  f();
  g();
  for (let i = 0; i < 2 * RUNS; i++) {
    const pair = [[f, a], [g, b]] as const;
    for (const [run, times] of i % 2 === 0 ? pair : [pair[1], pair[0]]) {
      const start = performance.now();
      run();
      times.push(performance.now() - start);
    }
  }
  const summary = (times: number[]) => {
    times.sort((x, y) => x - y);
    return { median: times[Math.floor(times.length / 2)]!, best: times[0]! };
  };
  return [summary(a), summary(b)];
}
const codec = segmentCodec(new KeyRing([['bench', randomBytes(32)]]));
const sealed = codec.encode(input);
const place = { database: 'bench', startT: 1, endT: encoded.txCount };
console.log(`sealed (AES-256-GCM, clear header): ${mb(sealed.bytes.length)}, ${sealed.bytes.length - encoded.bytes.length} bytes more than clear`);
const [clearEncode, sealedEncode] = timePair(() => encodeSegment(input), () => codec.encode(input));
const [clearDecode, sealedDecode] = timePair(
  () => decodeSegment(encoded.bytes, { name: 'bench' }),
  () => codec.decode(sealed.bytes, { name: 'bench', place }),
);
const ratio2 = (x: { median: number; best: number }, y: { median: number; best: number }) =>
  `${(y.median / x.median).toFixed(3)}x the clear time (best to best ${(y.best / x.best).toFixed(3)}x)`;
console.log(`encode clear:  ${figures(clearEncode, count)}`);
console.log(`encode sealed: ${figures(sealedEncode, count)}; ${ratio2(clearEncode, sealedEncode)}`);
console.log(`decode clear:  ${figures(clearDecode, count)}`);
console.log(`decode sealed: ${figures(sealedDecode, count)}; ${ratio2(clearDecode, sealedDecode)}`);
const throughput = (t: { median: number }) => `median ${t.median.toFixed(2)} ms, ${((encoded.bytes.length / 1024 / 1024 / t.median) * 1000).toFixed(0)} MiB/s`;
console.log(`  seal alone (HMAC nonce + GCM): ${throughput(time(() => codec.seal(encoded.bytes, place)))}`);
console.log(`  open alone (GCM):              ${throughput(time(() => codec.open(sealed.bytes, { name: 'bench', place })))}`);

// Where the time goes: each layer alone.
const cbor = gunzipSync(encoded.bytes);
const doc = createEncoder().decode(cbor);
console.log(`  CBOR encode alone: ${figures(time(() => createEncoder().encode(doc)))}`);
console.log(`  gunzip alone:      ${figures(time(() => gunzipSync(encoded.bytes)))}`);
console.log(`  sha256 alone:      ${figures(time(() => createHash('sha256').update(encoded.bytes).digest()))}`);

console.log('gzip levels on this CBOR: compress time, ratio, and the whole encode');
for (const level of [1, 3, 4, 5, 6, 9]) {
  const size = gzipSync(cbor, { level }).length;
  const gz = time(() => gzipSync(cbor, { level }));
  const whole = time(() => encodeSegment(input, { level }));
  console.log(`  level ${level}: gzip ${gz.median.toFixed(0)} ms, ${ratio(size)}; encode ${figures(whole, count)}`);
}
