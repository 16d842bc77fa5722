// Two consumers on one target race for every job and every reconcile; the CAS on
// last-source-transaction lets exactly one apply each source transaction.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import type { Database } from '../../src/db/types';
import { Metrics } from '../../src/metrics';
import { ConsumerService, ProducerService } from '../../src/queue';
import { freshPostgresUrl } from '../support/postgres';
import { freshRedis } from '../support/redis';
import { Resources, converged, expectReplica, keepWriting, librarySource } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());
afterAll(() => resources.dispose());

async function race(targets: [Database, Database], seed: number): Promise<void> {
  const redis = await freshRedis('two');
  const { source, workload } = await librarySource(resources, 30, seed);
  const store = resources.store();
  const producer = resources.add(new ProducerService({ source, store, db: 'lib', redis: redis.url, prefix: redis.prefix, intervalMs: 100, export: { maxTxns: 15 } }));
  const metrics = new Metrics();
  const consumers = targets.map((target) =>
    resources.add(
      new ConsumerService({
        target,
        store,
        db: 'lib',
        redis: redis.url,
        prefix: redis.prefix,
        reconcileMs: 100,
        metrics,
        // Small batches for many chances to collide; every new id checked against the target, so a stale high-water mark would show.
        restore: { batchTxns: 5, idMap: { verifyNewRate: 1 } },
        backoff: { backoffMs: 20, maxBackoffMs: 100 },
      }),
    ),
  );
  await producer.start();
  await Promise.all(consumers.map((c) => c.start()));
  await keepWriting(workload, source, 120, 10, 5);
  await converged(source, targets[0]);

  // Equal datoms, and target basisT = source basisT: one target transaction per source transaction, none twice.
  await expectReplica(source, targets[0]);
  for (const consumer of consumers) expect((await consumer.health()).ok).toBe(true);
  const text = await metrics.text();
  const restored = [...text.matchAll(/^txclone_transactions_restored_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  expect(restored).toBe(await source.basisT());
}

describe('two consumers on one target', () => {
  it('share one PGlite target: every source transaction applied once', async () => {
    const target = await resources.database();
    await race([target, target], 401);
  });

  it('each with its own connection to one PostgreSQL target: every source transaction applied once', async () => {
    const url = await freshPostgresUrl();
    const first = resources.add(await openDatabase(url));
    const second = resources.add(await openDatabase(url));
    await race([first, second], 402);
  });
});
