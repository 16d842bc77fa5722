// The figures an operator scrapes, after a real replication through Redis.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Metrics, startMetricsServer } from '../../src/metrics';
import { ConsumerService, ProducerService } from '../../src/queue';
import { freshRedis } from '../support/redis';
import { Resources, converged, librarySource, until } from '../queue/fixtures';

const resources = new Resources();
afterEach(() => resources.close());
afterAll(() => resources.dispose());

/** Prometheus text to `name{labels}` -> value (comments skipped). */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('metrics after a replication', () => {
  it('/metrics shows lag 0, positions at the source basis, and the counters; /healthz is 200', async () => {
    const redis = await freshRedis('metrics');
    const { source } = await librarySource(resources, 150, 701);
    const store = resources.store();
    const target = await resources.database();
    const metrics = new Metrics();
    const producer = resources.add(
      new ProducerService({ source, store, db: 'lib', redis: redis.url, prefix: redis.prefix, intervalMs: 100, export: { maxTxns: 50 }, metrics }),
    );
    const consumer = resources.add(new ConsumerService({ target, store, db: 'lib', redis: redis.url, prefix: redis.prefix, reconcileMs: 200, metrics }));
    const server = resources.add(
      await startMetricsServer({
        port: 0,
        metrics,
        health: async () => {
          const parts = [await producer.health(), await consumer.health()];
          return { ok: parts.every((p) => p.ok), detail: parts.map((p) => p.detail) };
        },
      }),
    );
    await producer.start();
    await consumer.start();
    await converged(source, target);
    const basis = await source.basisT();

    let samples = new Map<string, number>();
    await until('the lag gauges caught up', async () => {
      samples = parse(await (await fetch(`${server.url}/metrics`)).text());
      return samples.get('txclone_target_position_t{db="lib",target="default"}') === basis;
    });
    const lib = '{db="lib"}';
    const dr = '{db="lib",target="default"}';
    expect(samples.get(`txclone_source_basis_t${lib}`)).toBe(basis);
    expect(samples.get(`txclone_store_head_t${lib}`)).toBe(basis);
    expect(samples.get(`txclone_export_lag_transactions${lib}`)).toBe(0);
    expect(samples.get(`txclone_replication_lag_transactions${dr}`)).toBe(0);
    expect(samples.get(`txclone_replication_lag_seconds${dr}`)).toBe(0);
    expect(samples.get(`txclone_transactions_exported_total${lib}`)).toBe(basis);
    expect(samples.get(`txclone_segments_exported_total${lib}`)).toBe(3);
    expect(samples.get(`txclone_transactions_restored_total${dr}`)).toBe(basis);
    expect(samples.get(`txclone_segments_restored_total${dr}`)).toBe(3);
    expect(samples.get(`txclone_datoms_restored_total${dr}`)).toBe(samples.get(`txclone_datoms_exported_total${lib}`));
    expect(samples.get(`txclone_segment_restore_seconds_count${dr}`)).toBe(3);
    const hitRate = samples.get(`txclone_id_cache_hit_rate${dr}`)!;
    expect(hitRate).toBeGreaterThan(0);
    expect(hitRate).toBeLessThanOrEqual(1);

    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { ok: boolean; detail: Array<Record<string, unknown>> };
    expect(body.ok).toBe(true);
    expect(body.detail[1]).toMatchObject({ component: 'consumer', state: 'running', position: basis, storeHead: basis });

    await consumer.close();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
  });
});
