// The predecessor of this design broke in these ways; each test here would catch it.
import { afterEach, describe, expect, it } from 'vitest';
import type { SegmentStore } from '../../src/stores/types';
import { ORIGINAL_ID } from '../../src/idmap/idmap';
import { Restorer, restoreAll } from '../../src/restore';
import { exportAll, exportRange } from '../../src/segment/export';
import { Resources, exportInSizes, expectReplica, librarySource } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());

async function originalIdsAreUnique(target: import('../../src/db/types').Database): Promise<number> {
  const schema = await target.schema();
  const attr = [...schema.values()].find((a) => a.ident === ORIGINAL_ID)!.id;
  const seen = new Map<number, number>();
  for await (const [e, a, v] of target.datoms()) {
    if (a !== attr) continue;
    expect(seen.has(v as number), `original id ${v} on entities ${seen.get(v as number)} and ${e}`).toBe(false);
    seen.set(v as number, e);
  }
  return seen.size;
}

describe('where the predecessor broke', () => {
  it('a restarted restore (new process state) never recreates entities it restored before', async () => {
    const { source, workload } = await librarySource(resources, 100, 21);
    const store = resources.memoryStore();
    await exportAll(source, store, 'lib', { maxTxns: 30 });
    const target = await resources.database();
    await new Restorer(target, store, 'lib').all();
    const before = await originalIdsAreUnique(target);
    // More source transactions, most of them about entities restored before the restart.
    await workload.run(source, 80, 10);
    await exportAll(source, store, 'lib', { maxTxns: 30 });
    // A new Restorer starts with an empty cache: the high-water mark comes from the target.
    const restarted = new Restorer(target, store, 'lib');
    await restarted.all();
    const stats = restarted.stats();
    expect(stats.highWater).toBeGreaterThan(1000);
    expect(stats.lookups + stats.hits).toBeGreaterThan(0);
    expect(await originalIdsAreUnique(target)).toBeGreaterThan(before);
    await expectReplica(source, target);
  });

  it('reads the high-water mark once per restore, and after another restore wrote, advances it from what that one wrote', async () => {
    const { source } = await librarySource(resources, 90, 23);
    const store = resources.memoryStore();
    await exportAll(source, store, 'lib', { maxTxns: 10 });
    const target = await resources.database();
    // Every id taken for new is checked against the target: a stale mark would fail the restore.
    const first = new Restorer(target, store, 'lib', { idMap: { verifyNewRate: 1 } });
    for (let i = 0; i < 4; i++) expect((await first.next()).status).toBe('restored');
    expect(first.stats().markReads).toBe(1);

    const second = new Restorer(target, store, 'lib', { untilT: 60 });
    await second.all();
    expect(second.stats().markReads).toBe(1);
    // The first restorer's mark is stale now: the original ids the second wrote raise it.
    expect((await first.next()).fromT).toBe(60);
    expect(first.stats().markReads).toBe(1);
    await first.all();
    expect(first.stats().markReads).toBe(1);
    expect(first.stats().verified).toBeGreaterThan(0);
    expect(first.stats().highWater).toBe(await target.maxValue(ORIGINAL_ID));
    await expectReplica(source, target);
  });

  it('two targets of one source in one process keep separate state', async () => {
    const { source } = await librarySource(resources, 80, 22);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [17, 23]);
    const [a, b] = [await resources.database(), await resources.database()];
    // Shift b's ids so that a shared cache would map wrongly.
    await Promise.all([restoreAll(a, store, 'lib', { batchTxns: 7 }), restoreAll(b, store, 'lib', { batchTxns: 13 })]);
    await expectReplica(source, a);
    await expectReplica(source, b);
  });

  it('keeps transactions dated before 2000 with their instants', async () => {
    const source = await resources.database();
    await source.transact([{ ':db/ident': ':old/v', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }], {
      txInstant: new Date('1969-07-20T20:17:40Z'),
    });
    await source.transact([{ ':old/v': 'one small step' }], { txInstant: new Date('1969-07-21T02:56:15Z') });
    await source.transact([{ ':old/v': 'y2k' }], { txInstant: new Date('1999-12-31T23:59:59.999Z') });
    const store = resources.memoryStore();
    await exportAll(source, store, 'old');
    const target = await resources.database();
    await restoreAll(target, store, 'old');
    const instants: string[] = [];
    for await (const tx of target.txRange(1, 10)) instants.push(tx.instant.toISOString());
    expect(instants).toEqual(['1969-07-20T20:17:40.000Z', '1969-07-21T02:56:15.000Z', '1999-12-31T23:59:59.999Z']);
    await expectReplica(source, target);
  });

  it('lists only after the current position, never the whole store', async () => {
    const { source } = await librarySource(resources, 100, 23);
    const inner = resources.memoryStore();
    await exportInSizes(source, inner, 'lib', [10]);
    const listed: Array<number | undefined> = [];
    let segmentsListed = 0;
    const store: SegmentStore = Object.create(inner, {
      list: {
        value: async function* (db: string, options?: { afterT?: number; limit?: number }) {
          listed.push(options?.afterT);
          for await (const info of inner.list(db, options)) {
            segmentsListed++;
            yield info;
          }
        },
      },
    });
    const target = await resources.database();
    await restoreAll(target, store, 'lib', { prefetch: 1 });
    expect(listed.every((t) => t !== undefined)).toBe(true);
    // Ten segments: each listing asks for a couple of segments after the position, not all ten.
    expect(segmentsListed).toBeLessThanOrEqual(3 * 11);
    await expectReplica(source, target);
  });

  it('restores a ref to an entity the source has retracted (a dangling id)', async () => {
    const source = await resources.database();
    await source.transact([
      { ':db/ident': ':n/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' },
      { ':db/ident': ':n/next', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/one' },
    ]);
    const { tempids } = await source.transact([{ ':db/id': 'gone', ':n/name': 'gone' }]);
    await source.transact([[':db/retractEntity', tempids.gone!]]);
    // The id was allocated and now holds nothing; the source accepts a ref to it.
    await source.transact([{ ':n/name': 'points at nothing', ':n/next': tempids.gone! }]);
    const store = resources.memoryStore();
    await exportAll(source, store, 'n', { maxTxns: 2 });
    const target = await resources.database();
    await restoreAll(target, store, 'n');
    await expectReplica(source, target);
  });

  it('restores a source that is itself a replica, writing its own bookkeeping', async () => {
    const { source } = await librarySource(resources, 60, 24);
    const store = resources.memoryStore();
    await exportAll(source, store, 'lib', { maxTxns: 25 });
    const replica = await resources.database();
    await restoreAll(replica, store, 'lib');
    await exportAll(replica, store, 'replica', { maxTxns: 25 });
    const second = await resources.database();
    await restoreAll(second, store, 'replica');
    await expectReplica(replica, second);
    expect(await second.basisT()).toBe(await source.basisT());
  });

  it('restores schema installed and used in the same transaction, and derives composite tuples itself', async () => {
    const source = await resources.database();
    await source.transact([
      { ':db/id': 'a', ':db/ident': ':x/a', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' },
      { ':db/id': 'b', ':db/ident': ':x/b', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' },
      { ':db/ident': ':x/ab', ':db/valueType': ':db.type/tuple', ':db/tupleAttrs': [':x/a', ':x/b'], ':db/cardinality': ':db.cardinality/one', ':db/unique': ':db.unique/identity' },
      [':db/add', 'e', ':x/a', 5],
      [':db/add', 'e', ':x/b', 'five'],
    ]);
    await source.transact([{ ':x/a': 6, ':x/b': 'six' }]);
    const store = resources.memoryStore();
    await exportRange(source, store, 'x', 1, 2);
    const target = await resources.database();
    await restoreAll(target, store, 'x');
    expect(await target.datomsAVET(':x/ab', [6, 'six'])).toHaveLength(1);
    await expectReplica(source, target);
  });
});

describe('schema changes after the fact', () => {
  it('an attribute renamed after its data was restored keeps replicating', async () => {
    const source = await resources.database();
    await source.transact([{ ':db/ident': ':x/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]);
    await source.transact([{ ':db/id': 'a', ':x/name': 'ann' }]);
    const store = resources.memoryStore();
    await exportAll(source, store, 'x');
    const target = await resources.database();
    await restoreAll(target, store, 'x');
    // Renamed in the source, then used under the new name and retracted under the old one's datom.
    await source.transact([[':db/add', ':x/name', ':db/ident', ':x/label']]);
    await source.transact([{ ':db/id': 'b', ':x/label': 'bob' }]);
    await exportAll(source, store, 'x');
    await restoreAll(target, store, 'x');
    expect(await target.datomsAVET(':x/label', 'bob')).toHaveLength(1);
    await expectReplica(source, target);
  });

  it('an attribute renamed before its segments were written restores under both names', async () => {
    const source = await resources.database();
    await source.transact([{ ':db/ident': ':y/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]);
    await source.transact([{ ':db/id': 'a', ':y/name': 'ann' }]);
    await source.transact([[':db/add', ':y/name', ':db/ident', ':y/label']]);
    await source.transact([{ ':db/id': 'b', ':y/label': 'bob' }]);
    // One segment written after the rename: its schema names the attribute :y/label throughout.
    const store = resources.memoryStore();
    await exportAll(source, store, 'y');
    const target = await resources.database();
    await restoreAll(target, store, 'y');
    expect(await target.datomsAVET(':y/label', 'ann')).toHaveLength(1);
    await expectReplica(source, target);
  });
});
