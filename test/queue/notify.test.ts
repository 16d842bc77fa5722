// Commit notifications: the database's own commit tells listeners (PostgreSQL LISTEN/NOTIFY
// across connections, PGlite in process), a rolled-back transaction tells nobody, and the
// producer exports on a notification long before its interval comes round.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import type { Database } from '../../src/db/types';
import { ProducerService } from '../../src/queue';
import { Coalescer } from '../../src/queue/coalesce';
import { freshPostgresUrl } from '../support/postgres';
import { freshRedis } from '../support/redis';
import { Resources, librarySource, until } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());
afterAll(() => resources.dispose());

const SCHEMA = [{ ':db/ident': ':n/v', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' }];

async function heard(db: Database): Promise<{ ts: Array<number | null>; stop: () => Promise<void> }> {
  const ts: Array<number | null> = [];
  const stop = await db.onCommit!((t) => ts.push(t));
  return { ts, stop };
}

describe('commit notifications', () => {
  it('PostgreSQL: a commit on one connection pool is heard by a listener on another; a rollback is not', async () => {
    const url = await freshPostgresUrl();
    const writer = resources.add(await openDatabase(url));
    const reader = resources.add(await openDatabase(url));
    const { ts, stop } = await heard(reader);
    await writer.transact(SCHEMA);
    await writer.transact([{ ':n/v': 1 }]);
    await until('both commits heard', () => ts.filter((t) => t !== null).length >= 2);
    expect(ts.filter((t) => t !== null)).toEqual([1, 2]);
    await expect(writer.transact([[':db/add', 'x', ':no/such', 1]])).rejects.toThrow();
    await writer.transact([{ ':n/v': 2 }]);
    await until('the third commit heard', () => ts.includes(3));
    expect(ts.filter((t) => t !== null)).toEqual([1, 2, 3]);
    await stop();
    await writer.transact([{ ':n/v': 3 }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(ts.filter((t) => t !== null)).toEqual([1, 2, 3]);
  });

  it('PGlite: the commit is heard in process, once per transaction batch at least', async () => {
    const db = await resources.database();
    const { ts, stop } = await heard(db);
    await db.transact(SCHEMA);
    await db.transactBatch([{ ops: [{ ':n/v': 1 }] }, { ops: [{ ':n/v': 2 }] }]);
    await until('the batch heard', () => ts.includes(3));
    expect(new Set(ts)).toEqual(new Set([1, 3]));
    await stop();
  });

  it('a coalescer runs one at a time, and every call during a run shares the next one', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const coalescer = new Coalescer(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return ++runs;
    });
    const results = await Promise.all(Array.from({ length: 50 }, () => coalescer.run()));
    expect(most).toBe(1);
    expect(runs).toBe(2);
    expect(new Set(results)).toEqual(new Set([1, 2]));
  });

  it('the producer exports on a commit notification, not at its interval', async () => {
    const redis = await freshRedis('notify');
    const { source, workload } = await librarySource(resources, 20, 301);
    const store = resources.store();
    // An interval no test waits for: only a notification can explain an export.
    const producer = resources.add(new ProducerService({ source, store, db: 'lib', redis: redis.url, prefix: redis.prefix, intervalMs: 600_000 }));
    await producer.start();
    await until('the first scheduled run exported t=20', async () => (await store.head('lib'))?.endT === 20);
    for (let i = 0; i < 5; i++) workload.observe(await source.transact(workload.next()));
    await until('the notifications exported t=25', async () => (await store.head('lib'))?.endT === 25, 60_000);
  });

  it('the producer compacts the store on its own timer, and retention deletes what is held', async () => {
    const redis = await freshRedis('compacting');
    const { source, workload } = await librarySource(resources, 0, 302);
    const store = resources.store();
    const producer = resources.add(
      new ProducerService({
        source, store, db: 'lib', redis: redis.url, prefix: redis.prefix, intervalMs: 600_000, export: { maxTxns: 5 },
        compaction: { levels: [{ level: 1, maxTxns: 20, windowMs: 3_600_000 }], intervalMs: 50, graceMs: 0 },
      }),
    );
    await producer.start();
    for (let i = 0; i < 45; i++) workload.observe(await source.transact(workload.next()));
    const levels = async () => {
      const out: string[] = [];
      for await (const s of store.list('lib')) out.push(`${s.startT}-${s.endT}/L${s.level}`);
      return out;
    };
    await until('compacted and retained', async () => (await levels()).filter((s) => s.endsWith('/L1')).length >= 2 && (await levels()).filter((s) => s.endsWith('/L0')).length <= 4, 60_000);
    const report = await store.verify('lib', { fromT: 1 });
    expect(report).toMatchObject({ ok: true, gaps: [], overlaps: [] });
  });
});
