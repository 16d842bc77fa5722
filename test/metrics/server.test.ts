import { afterEach, describe, expect, it } from 'vitest';
import { Metrics, startMetricsServer, type MetricsServer } from '../../src/metrics';

const servers: MetricsServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

describe('metrics server', () => {
  it('binds a free port for port 0 and serves /metrics as Prometheus text', async () => {
    const metrics = new Metrics();
    metrics.segmentExported('lib', { transactions: 10, datoms: 42, bytes: 900 });
    const server = await startMetricsServer({ port: 0, metrics });
    servers.push(server);
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE txclone_datoms_exported_total counter');
    expect(text).toMatch(/^txclone_datoms_exported_total\{db="lib"\} 42$/m);
    expect(text).toMatch(/^txclone_transactions_exported_total\{db="lib"\} 10$/m);
  });

  it('answers /healthz with 200 when healthy, 503 when not or when the check throws', async () => {
    let state: 'ok' | 'bad' | 'throws' = 'ok';
    const server = await startMetricsServer({
      port: 0,
      metrics: new Metrics(),
      health: async () => {
        if (state === 'throws') throw new Error('database unreachable');
        return { ok: state === 'ok', detail: { state } };
      },
    });
    servers.push(server);
    const get = async () => {
      const res = await fetch(`${server.url}/healthz`);
      return { status: res.status, body: await res.json() };
    };
    expect(await get()).toEqual({ status: 200, body: { ok: true, detail: { state: 'ok' } } });
    state = 'bad';
    expect(await get()).toEqual({ status: 503, body: { ok: false, detail: { state: 'bad' } } });
    state = 'throws';
    expect(await get()).toEqual({ status: 503, body: { ok: false, detail: { error: 'database unreachable' } } });
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('keeps registries apart: two Metrics never share a series', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.error('consumer', new RangeError('x'));
    expect(await a.text()).toMatch(/^txclone_errors_total\{component="consumer",kind="RangeError"\} 1$/m);
    expect(await b.text()).not.toMatch(/^txclone_errors_total\{/m);
  });

  it('computes lag and hit rate from what it is told', async () => {
    const metrics = new Metrics();
    const now = Date.now();
    metrics.replicationPosition('lib', 'dr', { storeHeadT: 120, positionT: 100, appliedAt: new Date(now - 4_000), now });
    metrics.idCache('lib', 'dr', { hits: 30, lookups: 5, newAboveMark: 5 });
    let text = await metrics.text();
    expect(text).toMatch(/^txclone_replication_lag_transactions\{db="lib",target="dr"\} 20$/m);
    expect(text).toMatch(/^txclone_replication_lag_seconds\{db="lib",target="dr"\} 4$/m);
    expect(text).toMatch(/^txclone_id_cache_hit_rate\{db="lib",target="dr"\} 0\.75$/m);
    metrics.replicationPosition('lib', 'dr', { storeHeadT: 120, positionT: 120, appliedAt: new Date(now - 4_000), now });
    text = await metrics.text();
    expect(text).toMatch(/^txclone_replication_lag_seconds\{db="lib",target="dr"\} 0$/m);
  });

  it('closes even with a scraper holding a keep-alive connection', async () => {
    const server = await startMetricsServer({ port: 0, metrics: new Metrics() });
    await fetch(`${server.url}/metrics`, { headers: { connection: 'keep-alive' } }).then((r) => r.text());
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(fetch(`${server.url}/metrics`)).rejects.toThrow();
  });
});
