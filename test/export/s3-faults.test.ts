// The producer against S3 through a network that breaks a fifth of the requests: 500
// InternalError, 503 SlowDown, connections dropped before the request reaches the server
// and after the server acted on it. The backup completes; every segment read back through
// the same faulty path decodes to exactly the source's log.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/types';
import { backup, exportAll, findGaps } from '../../src/segment/export';
import { openS3Store } from '../../src/stores';
import { ALL_FAULTS, startFaultProxy, type FaultProxy } from '../support/faults';
import { startS3, type S3TestServer } from '../support/s3';
import { s3Options } from '../stores/s3-fixture';
import { readSegments, sourceLog, Sources, typedLog } from './support';

const sources = new Sources();
let lib: Database;
let s3: S3TestServer;
let proxy: FaultProxy;

beforeAll(async () => {
  [lib, s3] = await Promise.all([sources.library(400, 23), startS3()]);
  // FAULT_SEED replays another fault sequence.
  proxy = await startFaultProxy({ target: s3.endpoint, rate: 0.2, seed: Number(process.env.FAULT_SEED ?? 777) });
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await s3?.close();
  await sources.close();
});

it('a parallel backup through a faulty S3 completes and reads back exactly', async () => {
  const bucket = await s3.createBucket('export-faults');
  const store = openS3Store(
    s3Options(s3, bucket, {
      endpoint: proxy.endpoint,
      checksums: 'WHEN_REQUIRED',
      pageSize: 7, // listings take several pages, each of which may fail
      // Enough attempts that 0.2^attempts is negligible over the few thousand requests.
      retry: { attempts: 12, baseDelayMs: 2, maxDelayMs: 40 },
      warn: () => {},
    }),
  );
  try {
    const requestsBefore = proxy.requests.length;
    const result = await backup(lib, store, 'lib', { segmentTxns: 10, parallel: 3 });
    expect(result).toMatchObject({ startT: 1, endT: 400, transactions: 400 });
    expect(result.segments.map((s) => [s.info.startT, s.info.endT])).toEqual(Array.from({ length: 40 }, (_, i) => [i * 10 + 1, i * 10 + 10]));

    // Read back through the same faulty path: contiguous, decoded, equal with types.
    const segments = await readSegments(store, 'lib');
    expect(segments).toHaveLength(40);
    expect(typedLog(segments.flatMap((s) => s.segment.transactions))).toEqual(typedLog(await sourceLog(lib)));
    // The bytes read are the bytes the backup wrote.
    const written = new Map(result.segments.map((s) => [s.info.startT, s.info.sha256]));
    for (const { info } of segments) if (info.sha256 !== undefined) expect(info.sha256).toBe(written.get(info.startT));
    expect(await store.verify('lib', { fromT: 1 })).toMatchObject({ ok: true, segments: 40, firstT: 1, lastT: 400, gaps: [], overlaps: [], corrupt: [] });

    // A rerun (a retried job) finds nothing missing; so does exportAll from the head.
    expect(await findGaps(store, 'lib', { upToT: 400 })).toEqual([]);
    expect((await backup(lib, store, 'lib', { segmentTxns: 10, parallel: 3 })).segments).toEqual([]);
    expect((await exportAll(lib, store, 'lib', { maxTxns: 10 })).segments).toEqual([]);

    // The faults really happened, every kind of them.
    const requests = proxy.requests.length - requestsBefore;
    const faults = Object.values(proxy.faults).reduce((a, b) => a + b, 0);
    for (const kind of ALL_FAULTS) expect(proxy.faults[kind], kind).toBeGreaterThan(0);
    expect(faults / requests).toBeGreaterThan(0.1);
    console.info(`${requests} S3 requests, ${faults} broken: ${JSON.stringify(proxy.faults)}`);
  } finally {
    await store.close();
  }
}, 120_000);
