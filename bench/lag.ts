// Replication lag: a steady --rate transactions/s (default 200) into a PostgreSQL source for
// --seconds (default 60), the BullMQ producer and consumer running over the local Redis
// into a PostgreSQL target; for every source transaction, the time from its commit to the
// commit of its target transaction. Prints p50, p99 and max, and the objects in the store.
// The producer exports on commit notifications (LISTEN/NOTIFY) and compacts the store
// (default levels and grace); --no-notify measures polling alone at --interval ms
// (default 500; with notifications it is only the fallback), --no-compact without
// compaction. --store dir (default) or s3 (s3rver here, S3_ENDPOINT when set).
//   npx tsx bench/lag.ts [--rate 200] [--seconds 60] [--interval 500] [--store dir|s3] [--no-notify] [--no-compact]
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LibraryWorkload } from '../src/workload';
import { openDatabase } from '../src/db/open';
import { ConsumerService, ProducerService } from '../src/queue';
import { openDirectoryStore } from '../src/stores/directory';
import { openS3Store } from '../src/stores/s3';
import type { SegmentStore } from '../src/stores/types';
import { startS3, type S3TestServer } from '../test/support/s3';
import { argNumber, dropSchema, postgresUrl } from './support';

const rate = argNumber('rate', 200);
const seconds = argNumber('seconds', 60);
const interval = argNumber('interval', 500);
const storeKind = process.argv.includes('--store') ? process.argv[process.argv.indexOf('--store') + 1] : 'dir';
if (storeKind !== 'dir' && storeKind !== 's3') throw new Error(`--store must be dir or s3, got ${storeKind}`);
const notify = !process.argv.includes('--no-notify');
const compaction = !process.argv.includes('--no-compact');
const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = randomBytes(4).toString('hex');
const db = `lag-${run}`;
const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-bench-lag-'));
const source = await openDatabase(postgresUrl(`bench_lag_source_${run}`));
const target = await openDatabase(postgresUrl(`bench_lag_target_${run}`));
let s3: S3TestServer | null = null;
let store: SegmentStore;
if (storeKind === 's3') {
  s3 = await startS3();
  const bucket = await s3.createBucket(`lag-${run}`);
  store = openS3Store({
    bucket, prefix: 'lag', endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials, checksums: 'WHEN_REQUIRED',
  });
} else {
  store = openDirectoryStore({ path: dir });
}

const committedAt = new Map<number, number>();
const lags: number[] = [];
let applied = 0;
const producer = new ProducerService({ source, store, db, redis, intervalMs: interval, targets: ['lag'], notify, ...(compaction ? { compaction: {} } : {}) });
const consumer = new ConsumerService({
  target,
  store,
  db,
  targetName: 'lag',
  redis,
  reconcileMs: 60_000,
  restore: {
    onProgress: ({ position }) => {
      const now = Date.now();
      for (let t = applied + 1; t <= position; t++) {
        const at = committedAt.get(t);
        if (at !== undefined) lags.push(now - at);
        committedAt.delete(t);
      }
      applied = Math.max(applied, position);
    },
  },
});

try {
  // Schema first, then the timed phase.
  const workload = new LibraryWorkload({ seed: 3, stageEvery: 1_000_000 });
  await workload.run(source, 3, 1);
  for (let i = 0; i < 20; i++) await workload.run(source, 1, 1);
  await producer.start();
  await consumer.start();

  const started = Date.now();
  let sent = 0;
  while (Date.now() - started < seconds * 1000) {
    const due = started + (sent * 1000) / rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const report = await source.transact(workload.next());
    committedAt.set(report.t, Date.now());
    workload.observe(report);
    sent++;
  }
  const basis = await source.basisT();
  const deadline = Date.now() + 60_000;
  while (applied < basis && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

  lags.sort((a, b) => a - b);
  const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? NaN;
  const achieved = sent / ((Date.now() - started) / 1000);
  let objects = 0;
  for await (const _ of store.list(db)) objects++;
  console.log(
    `lag over ${lags.length} transactions at ${rate} tx/s for ${seconds} s (${storeKind === 's3' ? `s3 (${s3!.kind})` : 'directory store'}, ` +
      `${notify ? 'commit notifications' : 'polling only'}, interval ${interval} ms, ${compaction ? 'compaction on' : 'no compaction'}; ` +
      `achieved ~${Math.round(Math.min(achieved, rate))} tx/s): p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${lags[lags.length - 1]} ms; ${objects} objects in the store`,
  );
  if (applied < basis) console.log(`WARNING: the replica reached t=${applied} of ${basis} within a minute of the last write`);
} finally {
  await consumer.close();
  await producer.close();
  await store.close();
  await s3?.close();
  await source.close();
  await target.close();
  await dropSchema(`bench_lag_source_${run}`);
  await dropSchema(`bench_lag_target_${run}`);
  await rm(dir, { recursive: true, force: true });
}
