// Clone mode: the clone's txs, log and eav rows equal the source's, compared in SQL, on both
// drivers; roles, promotion, continuation of the store, clones of clones, divergence.
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CloneDivergedError,
  CloneRefusedError,
  DatabaseLoadingError,
  ReadOnlyCloneError,
} from '../../src/db/errors';
import type { Database } from '../../src/db/types';
import { compareClone, createRestorer, restoreAll } from '../../src/restore';
import { exportAll, exportRange } from '../../src/segment/export';
import { openMemoryStore } from '../../src/stores/memory';
import type { SegmentStore } from '../../src/stores/types';
import { LibraryWorkload } from '../../src/workload';
import { FIXTURES, type DatabaseFixture } from '../db/fixtures';
import { runWorkload } from '../db/harness';
import { workload } from '../db/workload';
import { sqlOf, tableRows } from '../support/tables';
import { exportInSizes, expectReplica } from './fixtures';

const DB = 'lib';

async function expectSameTables(source: Database, clone: Database): Promise<void> {
  const [a, b] = await Promise.all([tableRows(source), tableRows(clone)]);
  expect(b.txs).toEqual(a.txs);
  expect(b.log).toEqual(a.log);
  expect(b.eav).toEqual(a.eav);
  expect(a.log.length).toBeGreaterThan(0);
}

describe.each(FIXTURES)('clone mode on %s', (_name, make) => {
  let fixture: DatabaseFixture;
  const stores: SegmentStore[] = [];
  beforeAll(async () => {
    fixture = await make();
  });
  afterAll(() => fixture?.close());
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  const store = () => {
    const s = openMemoryStore();
    stores.push(s);
    return s;
  };

  async function library(count: number, seed = 1): Promise<{ source: Database; workload: LibraryWorkload }> {
    const source = await fixture.open();
    const w = new LibraryWorkload({ seed, stageEvery: Math.max(5, Math.floor(count / 4)) });
    await w.run(source, count, 25);
    return { source, workload: w };
  }

  it('incremental: the clone holds the same rows, and follows new writes', async () => {
    const { source, workload: w } = await library(300);
    const s = store();
    await exportInSizes(source, s, DB, [37, 80, 5]);
    const clone = await fixture.open();
    const totals = await restoreAll(clone, s, DB, { mode: 'clone', bulkLoadMinTxns: 1_000_000, batchTxns: 50 });
    expect(totals.toT).toBe(300);
    expect(totals.idMap).toBeNull();
    await expectSameTables(source, clone);
    expect(await clone.role()).toEqual({ role: 'clone', cloneOf: DB, loading: false, fence: null });
    await w.run(source, 120, 25);
    await exportAll(source, s, DB, { maxTxns: 40 });
    await restoreAll(clone, s, DB, { mode: 'clone' });
    await expectSameTables(source, clone);
    expect((await compareClone(source, clone, { rangeTxns: 64 })).equal).toBe(true);
  });

  it('initial load: COPY without indexes, loading until caught up, then the same rows and indexes', async () => {
    const { source, workload: w } = await library(400, 2);
    const s = store();
    await exportInSizes(source, s, DB, [100]);
    const clone = await fixture.open();
    const restorer = createRestorer(clone, s, DB, { mode: 'clone', bulkLoadMinTxns: 10 });
    const first = await restorer.next();
    expect(first.toT).toBe(100);
    expect((await clone.role()).loading).toBe(true);
    await expect(clone.datomsAVET(':author/name', 'x')).rejects.toBeInstanceOf(DatabaseLoadingError);
    await expect(clone.promote()).rejects.toBeInstanceOf(DatabaseLoadingError);
    const indexes = await sqlOf(clone).query<{ indexname: string }>(
      `select indexname from pg_indexes where schemaname = current_schema() and tablename in ('log', 'eav')`,
    );
    expect(indexes).toEqual([]);
    await restorer.all();
    expect((await clone.role()).loading).toBe(false);
    await expectSameTables(source, clone);
    const built = await sqlOf(clone).query<{ indexname: string }>(
      `select indexname from pg_indexes where schemaname = current_schema() and tablename in ('log', 'eav') order by indexname`,
    );
    expect(built.map((r) => r.indexname)).toEqual(['eav_av', 'eav_ea', 'log_e', 'log_pkey']);
    // After the load, batches go incrementally.
    await w.run(source, 50, 10);
    await exportAll(source, s, DB, { maxTxns: 20 });
    await restoreAll(clone, s, DB, { mode: 'clone', bulkLoadMinTxns: 1 });
    await expectSameTables(source, clone);
  });

  it('point in time: untilT stops there, and a bulk load stopped by it is finished', async () => {
    const { source } = await library(200, 3);
    const s = store();
    await exportInSizes(source, s, DB, [60]);
    const clone = await fixture.open();
    const totals = await restoreAll(clone, s, DB, { mode: 'clone', bulkLoadMinTxns: 1, untilT: 130 });
    expect(totals.untilReached).toBe(true);
    expect(await clone.basisT()).toBe(130);
    expect((await clone.role()).loading).toBe(false);
    const asOf = await compareClone(source, clone);
    expect(asOf.equal).toBe(true);
    expect(asOf.asOfT).toBe(130);
  });

  it('random workloads with schema changes, renames, retractEntity, tuples and every value type', async () => {
    await fc.assert(
      fc.asyncProperty(workload(25), fc.integer({ min: 1, max: 30 }), fc.boolean(), async (steps, segment, bulk) => {
        const source = await fixture.open();
        const clone = await fixture.open();
        try {
          await runWorkload(source, steps);
          const schema = await source.schema();
          const renamable = [...schema.values()].find((a) => a.ident.startsWith(':w/'));
          if (renamable) await source.transact([{ ':db/id': renamable.id, ':db/ident': `${renamable.ident}-renamed` }]);
          if ((await source.basisT()) === 0) return;
          const s = store();
          await exportInSizes(source, s, DB, [segment]);
          await restoreAll(clone, s, DB, { mode: 'clone', bulkLoadMinTxns: bulk ? 1 : 1_000_000, batchTxns: 3 });
          await expectSameTables(source, clone);
        } finally {
          await source.close();
          await clone.close();
        }
      }),
      { numRuns: 6 },
    );
  });

  it('roles: a clone refuses writes until promoted; a promoted clone refuses clone restores', async () => {
    const { source } = await library(60, 4);
    const s = store();
    await exportAll(source, s, DB, { maxTxns: 25 });
    const clone = await fixture.open();
    await restoreAll(clone, s, DB, { mode: 'clone' });
    await expect(clone.transact([{ ':author/name': 'X' }])).rejects.toBeInstanceOf(ReadOnlyCloneError);
    await expect(clone.transact([{ ':author/name': 'X' }])).rejects.toThrow(/clone of "lib".*promote/);
    // A remap restore into a clone is refused before anything is written.
    await expect(restoreAll(clone, s, DB, { mode: 'remap' })).rejects.toThrow();
    // A clone of another source, or a non-empty primary, is refused.
    await expect(restoreAll(clone, s, 'other', { mode: 'clone' })).rejects.toBeInstanceOf(CloneRefusedError);
    await expect(restoreAll(source, s, DB, { mode: 'clone' })).rejects.toBeInstanceOf(CloneRefusedError);
    await clone.promote();
    expect(await clone.role()).toEqual({ role: 'primary', cloneOf: DB, loading: false, fence: null });
    const report = await clone.transact([{ ':author/name': 'Promoted' }]);
    expect(report.t).toBe(61);
    // New ids come after the source's.
    const sourceMax = await sqlOf(source).query<{ m: number }>('select max(e) as m from log');
    expect(Math.min(...Object.values(report.tempids), report.tx)).toBeGreaterThan(sourceMax[0]!.m);
    await expect(restoreAll(clone, s, DB, { mode: 'clone' })).rejects.toBeInstanceOf(CloneRefusedError);
  });

  it('a promoted clone continues the store with identical segments; a remap replica of the old source keeps following', async () => {
    const { source } = await library(150, 5);
    const s = store();
    await exportAll(source, s, DB, { maxTxns: 40 });
    const clone = await fixture.open();
    await restoreAll(clone, s, DB, { mode: 'clone' });
    const downstream = await fixture.open();
    await restoreAll(downstream, s, DB, { mode: 'remap' });
    // The promoted clone's segments for the shared t are byte for byte the source's.
    const again = store();
    await exportAll(clone, again, DB, { maxTxns: 40 });
    for await (const info of s.list(DB)) {
      expect(Buffer.from(await again.get(DB, info.startT, info.endT)).equals(Buffer.from(await s.get(DB, info.startT, info.endT)))).toBe(true);
    }
    await clone.promote();
    const w = new LibraryWorkload({ seed: 55, stageEvery: 1_000_000 });
    await w.run(clone, 40, 10);
    const continued = await exportAll(clone, s, DB, { maxTxns: 40 });
    expect(continued.segments.length).toBeGreaterThan(0);
    expect(continued.segments[0]!.info.startT).toBe(151);
    await restoreAll(downstream, s, DB, { mode: 'remap' });
    await expectReplica(clone, downstream);
  });

  it('a clone of a clone holds the same rows', async () => {
    const { source } = await library(120, 6);
    const first = store();
    await exportAll(source, first, DB, { maxTxns: 30 });
    const clone = await fixture.open();
    await restoreAll(clone, first, DB, { mode: 'clone' });
    const second = store();
    await exportAll(clone, second, DB, { maxTxns: 30 });
    const grandchild = await fixture.open();
    await restoreAll(grandchild, second, DB, { mode: 'clone', bulkLoadMinTxns: 1 });
    await expectSameTables(source, grandchild);
  });

  it('divergence: a retraction of a datom the clone lacks, or an assertion it holds, stops it naming t and the datom', async () => {
    const source = await fixture.open();
    await source.transact([{ ':db/ident': ':p/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]);
    const { tempids } = await source.transact([{ ':db/id': 'p', ':p/name': 'Ann' }]);
    const p = tempids.p!;
    const s = store();
    await exportRange(source, s, DB, 1, 2);
    const lacking = await fixture.open();
    await restoreAll(lacking, s, DB, { mode: 'clone' });
    const holding = await fixture.open();
    await restoreAll(holding, s, DB, { mode: 'clone' });
    await source.transact([[':db/add', p, ':p/name', 'Bea']]); // t=3 retracts "Ann", asserts "Bea"
    await exportRange(source, s, DB, 3, 3);
    await sqlOf(lacking).query(`delete from eav where e = $1 and v = 'Ann'`, [p]);
    const [nameAttr] = await sqlOf(holding).query<{ e: number }>(`select e from eav where a = 1 and v = ':p/name'`);
    await sqlOf(holding).query(`insert into eav (e, a, v, t) values ($1, $2, 'Bea', 2)`, [p, nameAttr!.e]);
    for (const [clone, what] of [[lacking, /t=3: the source retracts .*"Ann".*does not hold/], [holding, /t=3: the source asserts .*"Bea".*already holds/]] as const) {
      const err = await restoreAll(clone, s, DB, { mode: 'clone' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CloneDivergedError);
      expect((err as CloneDivergedError).t).toBe(3);
      expect((err as Error).message).toMatch(what);
      expect(await clone.basisT()).toBe(2); // nothing of t=3 applied
    }
  });

  it('compareClone names the transaction and datom where a log was tampered with', async () => {
    const { source } = await library(80, 7);
    const s = store();
    await exportAll(source, s, DB, { maxTxns: 20 });
    const clone = await fixture.open();
    await restoreAll(clone, s, DB, { mode: 'clone' });
    expect((await compareClone(source, clone, { rangeTxns: 16 })).equal).toBe(true);
    await sqlOf(clone).query(`update log set v = v || 'x' where t = 50 and seq = 0`);
    const result = await compareClone(source, clone, { rangeTxns: 16 });
    expect(result.equal).toBe(false);
    expect(result.differingRanges).toBe(1);
    expect(result.differences[0]!.detail).toMatch(/^t=50 datom 0:/);
  });
});
