import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConsumerService, ProducerService } from '../../src/queue';
import { freshRedis } from '../support/redis';
import { Resources, converged, expectReplica, keepWriting, librarySource, position } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());
afterAll(() => resources.dispose());

describe('producer and consumer through Redis', () => {
  it('converge while the source keeps writing', async () => {
    const redis = await freshRedis('converge');
    const { source, workload } = await librarySource(resources, 30, 101);
    const store = resources.store();
    const target = await resources.database();
    const producer = resources.add(
      new ProducerService({ source, store, db: 'lib', redis: redis.url, prefix: redis.prefix, intervalMs: 100, export: { maxTxns: 40 } }),
    );
    const consumer = resources.add(new ConsumerService({ target, store, db: 'lib', redis: redis.url, prefix: redis.prefix, reconcileMs: 60_000 }));
    await producer.start();
    await consumer.start();

    await keepWriting(workload, source, 150, 10, 10);
    // Replication keeps up while writing: the target is past the first batch before the writer stops.
    expect(await position(target)).toBeGreaterThan(30);
    await converged(source, target);
    await expectReplica(source, target);
    expect((await producer.health()).ok).toBe(true);
    expect((await consumer.health()).ok).toBe(true);
  });
});
