// Jobs are hints (invariant 3): duplicates, jobs out of order and jobs ahead of the store
// never corrupt the target; the consumer always starts from the target's own position.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics';
import { ConsumerService, ReplayQueue } from '../../src/queue';
import { exportRange } from '../../src/segment/export';
import { freshRedis } from '../support/redis';
import { Resources, captureLogger, expectReplica, librarySource, position, until } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());
afterAll(() => resources.dispose());

/** The replay jobs counted by outcome. */
async function outcomes(metrics: Metrics): Promise<Record<string, number>> {
  const values = (await metrics.registry.getSingleMetric('txclone_replay_jobs_total')!.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
}

describe('replay jobs are hints', () => {
  it('jobs in reverse order and duplicates: the first restores everything, the rest are no-ops', async () => {
    const redis = await freshRedis('hints');
    const { source } = await librarySource(resources, 120, 202);
    const store = resources.store();
    const target = await resources.database();
    const metrics = new Metrics();
    // Started before anything is exported, so its first reconcile finds nothing and the jobs do the work.
    const consumer = resources.add(new ConsumerService({ target, store, db: 'lib', redis: redis.url, prefix: redis.prefix, reconcileMs: 60_000, metrics }));
    await consumer.start();
    await until('the first reconcile ran', async () => 'position' in ((await consumer.health()).detail as object));

    const ranges = [];
    for (let t = 1; t <= 120; t += 30) {
      await exportRange(source, store, 'lib', t, t + 29, { maxTxns: 30 });
      ranges.push({ startT: t, endT: t + 29 });
    }
    const queue = resources.add(new ReplayQueue({ db: 'lib', redis: redis.url, prefix: redis.prefix }));
    const reversed = [...ranges].reverse();
    // Every range three times, newest first, in one go so that the order is exactly this.
    await queue.addMany([...reversed, ...reversed, ...reversed]);

    await until('every job completed', async () => (await queue.counts()).completed >= ranges.length);
    await new Promise((r) => setTimeout(r, 200));
    expect(await queue.counts()).toMatchObject({ completed: ranges.length, waiting: 0, delayed: 0, failed: 0 }); // the duplicates never became jobs
    expect(await outcomes(metrics)).toEqual({ applied: 1, covered: ranges.length - 1 });
    expect(await position(target)).toBe(120);
    await expectReplica(source, target);

    // The same hints once more, after the fact: nothing is written.
    const basis = await target.basisT();
    await queue.addMany(ranges); // still known as completed: deduplicated
    await queue.add(1, 120); // new
    await until('the new hint handled', async () => ((await outcomes(metrics)).covered ?? 0) === ranges.length);
    expect(await target.basisT()).toBe(basis);
  });

  it('a job ahead of a gap waits, applies nothing past the gap, and completes once the gap is filled', async () => {
    const redis = await freshRedis('gap');
    const { source } = await librarySource(resources, 90, 203);
    const store = resources.store();
    const target = await resources.database();
    const metrics = new Metrics();
    const consumer = resources.add(
      new ConsumerService({
        target,
        store,
        db: 'lib',
        redis: redis.url,
        prefix: redis.prefix,
        reconcileMs: 60_000,
        metrics,
        backoff: { backoffMs: 50, maxBackoffMs: 200 },
      }),
    );
    await exportRange(source, store, 'lib', 1, 30, { maxTxns: 30 });
    await exportRange(source, store, 'lib', 61, 90, { maxTxns: 30 });
    await consumer.start();
    const queue = resources.add(new ReplayQueue({ db: 'lib', redis: redis.url, prefix: redis.prefix }));
    await queue.add(61, 90);

    await until('the job waited twice', async () => ((await outcomes(metrics)).waiting ?? 0) >= 2);
    expect(await position(target)).toBe(30);
    const counts = await queue.counts();
    expect(counts.delayed + counts.active + counts.waiting).toBe(1);
    expect(counts.failed).toBe(0);
    const text = await metrics.text();
    expect(text).toMatch(/txclone_errors_total\{component="consumer",kind="SegmentGapError"\} [1-9]/);

    await exportRange(source, store, 'lib', 31, 60, { maxTxns: 30 });
    await until('the job completed', async () => (await outcomes(metrics)).applied === 1);
    expect(await position(target)).toBe(90);
    await expectReplica(source, target);
  });

  it('a fatal error fails the job once, loudly, and stops the consumer instead of retrying', async () => {
    const redis = await freshRedis('fatal');
    const { source, workload } = await librarySource(resources, 20, 204);
    const store = resources.store();
    const target = await resources.database();
    const metrics = new Metrics();
    const logger = captureLogger();
    const consumer = resources.add(new ConsumerService({ target, store, db: 'lib', redis: redis.url, prefix: redis.prefix, reconcileMs: 60_000, metrics, logger }));
    const queue = resources.add(new ReplayQueue({ db: 'lib', redis: redis.url, prefix: redis.prefix }));
    await consumer.start();
    await exportRange(source, store, 'lib', 1, 20);
    await queue.add(1, 20);
    await until('replicated', async () => (await position(target)) === 20);

    // Someone writes to the replica behind txclone's back: no retry can mend that.
    await target.transact([{ ':db/ident': ':foreign/note', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]);
    const basis = await target.basisT();
    await workload.run(source, 10, 10);
    await exportRange(source, store, 'lib', 21, 30);
    await queue.add(21, 30);
    await until('the job failed', async () => (await queue.counts()).failed === 1);

    const health = await consumer.health();
    expect(health.ok).toBe(false);
    expect(health.detail).toMatchObject({ state: 'stopped-fatal', fatal: expect.stringMatching(/not written by a txclone restore/) });
    expect(logger.entries.some((e) => e.level === 'error' && /needs an operator/.test(e.msg))).toBe(true);
    expect(await metrics.text()).toMatch(/^txclone_errors_total\{component="consumer",kind="ForeignWriteError"\} 1$/m);

    // Stopped, not spinning: later jobs wait for a consumer restarted after the repair.
    await queue.add(1, 30);
    await new Promise((r) => setTimeout(r, 500));
    expect(await queue.counts()).toMatchObject({ failed: 1, waiting: 1 });
    expect(await metrics.text()).toMatch(/^txclone_errors_total\{component="consumer",kind="ForeignWriteError"\} 1$/m);
    expect(await target.basisT()).toBe(basis);
  });
});
