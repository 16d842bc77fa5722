// Run by stalled.test.ts: a consumer service in a process of its own, which the test may
// SIGKILL. Prints one JSON line per log call and per commit, so the test can follow it.
// argv: target URL, store directory, redis URL, key prefix.
import { openDatabase } from '../../src/db/open';
import type { Logger } from '../../src/logger';
import { ConsumerService } from '../../src/queue/consumer';
import { openDirectoryStore } from '../../src/stores/directory';

const [targetUrl, storeDir, redis, prefix] = process.argv.slice(2) as [string, string, string, string];
const line = (level: string) => (obj: object, msg?: string) => process.stdout.write(`${JSON.stringify({ pid: process.pid, level, msg, ...obj })}\n`);
const logger: Logger = { debug: () => undefined, info: line('info'), warn: line('warn'), error: line('error') };

const target = await openDatabase(targetUrl);
const store = openDirectoryStore({ path: storeDir });
const consumer = new ConsumerService({
  target,
  store,
  db: 'lib',
  redis,
  prefix,
  logger,
  // Short locks and a quick stall check, so a dead worker's job is taken over in seconds.
  lockDurationMs: 2_000,
  stalledIntervalMs: 500,
  // No reconcile round after the first: only the job may restore.
  reconcileMs: 3_600_000,
  restore: { batchTxns: 3, onProgress: (p) => line('info')({ position: p.position }, 'committed') },
});
await consumer.start();
await consumer.reconcile();
line('info')({}, 'ready');
process.on('SIGTERM', () => {
  void consumer.close().then(async () => {
    await target.close();
    await store.close();
    process.exit(0);
  });
});
