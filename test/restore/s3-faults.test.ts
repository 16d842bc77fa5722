// The consumer's side of a faulty S3: restore and continuous restore read through a network
// that breaks a fifth of the requests in every way the export fault test uses (500
// InternalError, 503 SlowDown, a connection dropped before the server sees the request and
// one dropped after it answered). Both end with the same replica as a restore through a
// healthy S3, equal to the source.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/types';
import { continuousRestore } from '../../src/restore/continuous';
import { readPosition } from '../../src/restore/bookkeeping';
import { Restorer } from '../../src/restore/restore';
import { exportRange } from '../../src/segment/export';
import { openS3Store, type S3StoreOptions, type SegmentStore } from '../../src/stores';
import { ALL_FAULTS, startFaultProxy, type FaultProxy } from '../support/faults';
import { startS3, type S3TestServer } from '../support/s3';
import { s3Options } from '../stores/s3-fixture';
import { Resources, expectReplica, librarySource } from './fixtures';

const resources = new Resources();
let source: Database;
let s3: S3TestServer;
let proxy: FaultProxy;
let settings: S3StoreOptions;
let healthy: SegmentStore;

const TRANSACTIONS = 200;
const SEGMENT = 10;

beforeAll(async () => {
  [{ source }, s3] = await Promise.all([librarySource(resources, TRANSACTIONS, 29), startS3()]);
  proxy = await startFaultProxy({ target: s3.endpoint, rate: 0, seed: Number(process.env.FAULT_SEED ?? 1313) });
  settings = s3Options(s3, await s3.createBucket('restore-faults'), { checksums: 'WHEN_REQUIRED', warn: () => {} });
  healthy = openS3Store(settings);
  // The first half now; the rest while the continuous restore runs.
  for (let t = 1; t <= TRANSACTIONS / 2; t += SEGMENT) await exportRange(source, healthy, 'lib', t, t + SEGMENT - 1, { maxTxns: SEGMENT });
}, 180_000);

afterAll(async () => {
  await healthy?.close();
  await proxy?.close();
  await s3?.close();
  await resources.close();
});

/** The same store, reached through the fault proxy. */
function faultyStore(): SegmentStore {
  const store = openS3Store({
    ...settings,
    endpoint: proxy.endpoint,
    pageSize: 4, // listings take several pages, each of which may fail
    // Enough attempts that 0.2^attempts is negligible over the few thousand requests.
    retry: { attempts: 12, baseDelayMs: 2, maxDelayMs: 40 },
  });
  resources.onClose(() => store.close());
  return store;
}

it('restore and continuous restore through an S3 failing a fifth of its requests give the same exact replica', async () => {
  const requestsBefore = proxy.requests.length;
  proxy.setRate(0.2);

  // Continuous restore follows the store while the second half is exported.
  const followed = await resources.database();
  const controller = new AbortController();
  const retried: string[] = [];
  const following = continuousRestore(followed, faultyStore(), 'lib', {
    signal: controller.signal,
    batchTxns: 7,
    pollMs: 20,
    backoffMs: 10,
    maxBackoffMs: 100,
    onError: (err) => retried.push((err as Error).message),
  });
  for (let t = TRANSACTIONS / 2 + 1; t <= TRANSACTIONS; t += SEGMENT) await exportRange(source, healthy, 'lib', t, t + SEGMENT - 1, { maxTxns: SEGMENT });
  const deadline = Date.now() + 150_000;
  while ((await readPosition(followed, 'lib')).position < TRANSACTIONS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  controller.abort();
  const summary = await following;
  expect(summary.position).toBe(TRANSACTIONS);

  // A one-shot restore of everything, through the same faulty path.
  const restored = await resources.database();
  const totals = await new Restorer(restored, faultyStore(), 'lib', { batchTxns: 13 }).all();
  expect(totals).toMatchObject({ fromT: 0, toT: TRANSACTIONS, segments: TRANSACTIONS / SEGMENT, transactions: TRANSACTIONS });
  proxy.setRate(0);

  await expectReplica(source, followed);
  await expectReplica(source, restored);
  // The same replica, datom for datom: ids are assigned in the same order either way.
  expect(await datoms(followed)).toEqual(await datoms(restored));

  const requests = proxy.requests.length - requestsBefore;
  const faults = Object.values(proxy.faults).reduce((a, b) => a + b, 0);
  for (const kind of ALL_FAULTS) expect(proxy.faults[kind], kind).toBeGreaterThan(0);
  expect(faults / requests).toBeGreaterThan(0.1);
  console.info(
    `${requests} S3 requests, ${faults} broken: ${JSON.stringify(proxy.faults)}; continuous restore retried ${retried.length} steps` +
      (retried.length ? ` (first: ${retried[0]})` : ''),
  );
}, 300_000);

async function datoms(db: Database): Promise<string[]> {
  const out: string[] = [];
  for await (const d of db.datoms()) out.push(JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
  return out.sort();
}
