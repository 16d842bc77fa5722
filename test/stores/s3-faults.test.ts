import { afterAll, beforeAll, expect, test } from 'vitest';
import { openS3Store, type SegmentInfo } from '../../src/stores';
import { ALL_FAULTS, startFaultProxy, type FaultProxy } from '../support/faults';
import { startS3, type S3TestServer } from '../support/s3';
import { s3Options } from './s3-fixture';

let s3: S3TestServer;
let proxy: FaultProxy;
let bucket: string;

beforeAll(async () => {
  s3 = await startS3();
  bucket = await s3.createBucket('faults');
  // FAULT_SEED replays another fault sequence.
  proxy = await startFaultProxy({ target: s3.endpoint, rate: 0.2, seed: Number(process.env.FAULT_SEED ?? 20240601) });
});

afterAll(async () => {
  await proxy?.close();
  await s3?.close();
});

/** Distinct, incompressible-looking bytes of a few KB per segment. */
function payload(startT: number, endT: number): Uint8Array {
  const size = 1_000 + ((startT * 7919) % 30_000);
  const bytes = new Uint8Array(size);
  let x = (startT * 2654435761) ^ endT;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

async function inBatches<T>(items: readonly T[], width: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(run));
}

test('with a fifth of S3 requests failing (500, 503 SlowDown, dropped connections) everything completes and matches', async () => {
  // Enough attempts that 0.2^attempts is negligible over a few thousand requests.
  const store = openS3Store(
    s3Options(s3, bucket, { endpoint: proxy.endpoint, pageSize: 3, retry: { attempts: 12, baseDelayMs: 2, maxDelayMs: 40 }, warn: () => {} }),
  );
  try {
    const ranges: [number, number][] = Array.from({ length: 40 }, (_, i) => [i * 10 + 1, i * 10 + 10]);

    await inBatches(ranges, 4, async ([s, e]) => {
      await store.put('orders', s, e, payload(s, e));
    });
    // A producer retrying after a crash: every put is a no-op, still under faults.
    await inBatches(ranges, 4, async ([s, e]) => {
      expect((await store.put('orders', s, e, payload(s, e))).written).toBe(false);
    });

    const listed: SegmentInfo[] = [];
    for await (const segment of store.list('orders')) listed.push(segment);
    expect(listed.map((s) => [s.startT, s.endT])).toEqual(ranges);
    expect(listed.map((s) => s.size)).toEqual(ranges.map(([s, e]) => payload(s, e).length));

    const tail: number[] = [];
    for await (const segment of store.list('orders', { afterT: 155 })) tail.push(segment.startT);
    expect(tail).toEqual(ranges.slice(15).map(([s]) => s));

    await inBatches(ranges, 4, async ([s, e]) => {
      expect(Buffer.from(await store.get('orders', s, e)).equals(payload(s, e))).toBe(true);
    });

    expect(await store.head('orders')).toMatchObject({ startT: 391, endT: 400, size: payload(391, 400).length });
    expect(await store.verify('orders', { fromT: 1 })).toMatchObject({ ok: true, segments: 40, firstT: 1, lastT: 400 });

    const pruned = await store.prune('orders', { beforeT: 101, targetPositions: [250] });
    expect(pruned.deleted.map((s) => s.startT)).toEqual([1, 11, 21, 31, 41, 51, 61, 71, 81, 91]);
    expect(await store.verify('orders')).toMatchObject({ ok: true, segments: 30, firstT: 101 });

    // The faults really happened, every kind of them.
    for (const kind of ALL_FAULTS) expect(proxy.faults[kind], kind).toBeGreaterThan(3);
    const injected = Object.values(proxy.faults).reduce((a, b) => a + b, 0);
    expect(injected / proxy.requests.length).toBeGreaterThan(0.12);
  } finally {
    await store.close();
  }
});
