// Losing Redis loses only hints: the producer puts its scheduler back, the consumer
// reconciles with the store, and the target converges without a wrong write.
import { afterAll, afterEach, describe, it } from 'vitest';
import { ConsumerService, ProducerService } from '../../src/queue';
import { disposableRedis } from '../support/redis';
import { Resources, captureLogger, converged, expectReplica, keepWriting, librarySource, position, until } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());
afterAll(() => resources.dispose());

async function replicate(redis: { url: string; prefix: string }, seed: number) {
  const { source, workload } = await librarySource(resources, 40, seed);
  const store = resources.store();
  const target = await resources.database();
  const logger = captureLogger();
  const producer = resources.add(
    new ProducerService({ source, store, db: 'lib', redis: redis.url, prefix: redis.prefix, intervalMs: 100, watchdogMs: 300, export: { maxTxns: 25 }, logger }),
  );
  const consumer = resources.add(new ConsumerService({ target, store, db: 'lib', redis: redis.url, prefix: redis.prefix, reconcileMs: 300, logger }));
  await producer.start();
  await consumer.start();
  await converged(source, target);
  return { source, workload, store, target, logger, producer, consumer };
}

describe('losing Redis', () => {
  it('FLUSHALL mid-run: the scheduler comes back and the target converges', async () => {
    const redis = await disposableRedis('flush');
    const { source, workload, target } = await replicate(redis, 301);

    const writing = keepWriting(workload, source, 120, 10, 10);
    await until('replication under way', async () => (await position(target)) > 60);
    await redis.flushAll();
    await writing;
    // Transactions written after the loss reach the target only through new export runs,
    // which only the scheduler starts: so it is back.
    await keepWriting(workload, source, 30, 10, 10);
    await converged(source, target);
    await expectReplica(source, target);
  });

  it('a Redis restart without persistence: the services reconnect and converge', async () => {
    const redis = await disposableRedis('restart');
    if (!redis.restart) return; // only a private redis-server can be restarted
    const { source, workload, target } = await replicate(redis, 302);

    const writing = keepWriting(workload, source, 100, 10, 10);
    await until('replication under way', async () => (await position(target)) > 50);
    await redis.restart();
    await writing;
    await keepWriting(workload, source, 30, 10, 10);
    await converged(source, target, 30_000);
    await expectReplica(source, target);
  });
});
