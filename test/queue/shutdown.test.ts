// close() while a restore is under way: the segment in flight finishes, nothing after
// it starts, the job goes back to the queue, and a new consumer picks it up.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConsumerService, ProducerService, ReplayQueue } from '../../src/queue';
import { compareReplica } from '../../src/restore/compare';
import { exportRange } from '../../src/segment/export';
import { freshRedis } from '../support/redis';
import { Resources, converged, expectReplica, keepWriting, librarySource, position, until } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());
afterAll(() => resources.dispose());

describe('graceful shutdown', () => {
  it('a consumer closed mid-restore stops at a segment boundary; a new one resumes the job', async () => {
    const redis = await freshRedis('shutdown');
    const { source } = await librarySource(resources, 200, 501);
    const store = resources.store();
    for (let t = 1; t <= 200; t += 10) await exportRange(source, store, 'lib', t, t + 9, { maxTxns: 10 });
    const target = await resources.database();
    const queue = resources.add(new ReplayQueue({ db: 'lib', redis: redis.url, prefix: redis.prefix }));
    const options = { target, store, db: 'lib', redis: redis.url, prefix: redis.prefix, reconcileMs: 60_000 };

    // Closed from inside the restore, after its first commits, so the close surely lands mid-way.
    let closed: Promise<number> | null = null;
    const first: ConsumerService = new ConsumerService({
      ...options,
      restore: {
        batchTxns: 2,
        onProgress: ({ position }) => {
          if (position < 20 || closed) return;
          const started = Date.now();
          closed = first.close().then(() => Date.now() - started);
        },
      },
    });
    await queue.add(1, 200);
    await first.start();
    await until('close() called', () => closed !== null);
    expect(await closed!).toBeLessThan(5_000);

    const stopped = await position(target);
    expect(stopped).toBeLessThan(200);
    expect(stopped % 10).toBe(0); // a segment boundary
    const basis = await target.basisT();
    await new Promise((r) => setTimeout(r, 300));
    expect(await target.basisT()).toBe(basis); // nothing runs after close
    expect((await compareReplica(source, target)).equal).toBe(true); // consistent as of its position
    const counts = await queue.counts();
    expect(counts.failed).toBe(0);
    expect(counts.delayed + counts.waiting).toBe(1); // the job went back, not lost

    const second = resources.add(new ConsumerService({ ...options, restore: { batchTxns: 2 } }));
    await second.start();
    await converged(source, target);
    await expectReplica(source, target);
    await until('the job completed', async () => (await queue.counts()).completed === 1);
  });

  it('a producer closed mid-run leaves a consistent store; a new one goes on', async () => {
    const redis = await freshRedis('shutdown-producer');
    const { source, workload } = await librarySource(resources, 120, 502);
    const store = resources.store();
    const options = { source, store, db: 'lib', redis: redis.url, prefix: redis.prefix, intervalMs: 100, export: { maxTxns: 5, pauseMs: 20 } };
    const first = new ProducerService(options);
    await first.start();
    await until('export under way', async () => ((await store.head('lib'))?.endT ?? 0) >= 20);
    await first.close();
    const head = (await store.head('lib'))!.endT;
    expect(head).toBeLessThan(120);
    expect((await store.verify('lib', { fromT: 1 })).ok).toBe(true);

    const second = resources.add(new ProducerService(options));
    await second.start();
    await keepWriting(workload, source, 20);
    const basis = await source.basisT();
    await until('everything exported', async () => (await store.head('lib'))?.endT === basis);
    expect((await store.verify('lib', { fromT: 1 })).ok).toBe(true);
  });
});
