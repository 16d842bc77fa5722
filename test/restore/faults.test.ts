import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ORIGINAL_ID } from '../../src/idmap/idmap';
import { LAST_SOURCE_TRANSACTION } from '../../src/restore/bookkeeping';
import { ForeignWriteError, ReplicaDivergedError, SegmentGapError, TargetRefusedError } from '../../src/restore/errors';
import { ConcurrentRestoreError, Restorer, restoreAll, restoreNext } from '../../src/restore';
import { exportRange } from '../../src/segment/export';
import { segmentKey } from '../../src/stores/keys';
import { Resources, exportInSizes, expectReplica, librarySource } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());

describe('restore refuses what would corrupt the target', () => {
  it('applying the same segment twice changes nothing: the CAS refuses the second', async () => {
    const { source } = await librarySource(resources, 60, 11);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [60]);
    const target = await resources.database();
    // Two restorers read position 0 at once and both try to apply t=1..60.
    const outcomes = await Promise.allSettled([
      new Restorer(target, store, 'lib').next(),
      new Restorer(target, store, 'lib').next(),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won.length).toBeGreaterThanOrEqual(1);
    for (const o of lost) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrentRestoreError);
    expect(await target.basisT()).toBe(60);
    await expectReplica(source, target);
    // And once more, from scratch: nothing left to do, nothing written.
    const again = await restoreNext(target, store, 'lib');
    expect(again.status).toBe('caught-up');
    expect(await target.basisT()).toBe(60);
  });

  it('stops loudly at a gap, applies nothing after it, and goes on once the gap is filled', async () => {
    const { source } = await librarySource(resources, 60, 12);
    const store = resources.memoryStore();
    await exportRange(source, store, 'lib', 1, 20, { maxTxns: 20 });
    await exportRange(source, store, 'lib', 41, 60, { maxTxns: 20 });
    const target = await resources.database();
    const error = await restoreAll(target, store, 'lib').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SegmentGapError);
    expect((error as Error).message).toContain('t=21');
    expect((error as SegmentGapError).missingFromT).toBe(21);
    expect((error as SegmentGapError).missingToT).toBe(40);
    expect((await target.entity(LAST_SOURCE_TRANSACTION))![LAST_SOURCE_TRANSACTION]).toBe(20);
    expect(await target.basisT()).toBe(20);
    await exportRange(source, store, 'lib', 21, 40, { maxTxns: 20 });
    await restoreAll(target, store, 'lib');
    await expectReplica(source, target);
  });

  it('never applies a corrupt segment; the error names it', async () => {
    const { source } = await librarySource(resources, 40, 13);
    const { store, dir } = await resources.directoryStore();
    await exportInSizes(source, store, 'lib', [20]);
    // Flip bytes inside the second segment, behind the store's back.
    const file = path.join(dir, segmentKey('lib', 21, 40));
    await writeFile(file, Buffer.from('not a segment at all'));
    const target = await resources.database();
    const error = await restoreAll(target, store, 'lib').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/00000000000000000021-00000000000000000040/);
    expect(await target.basisT()).toBe(20);
  });

  it('refuses a target that is not empty and holds no bookkeeping', async () => {
    const { source } = await librarySource(resources, 10, 14);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [10]);
    const target = await resources.database();
    await target.transact([{ ':db/ident': ':foreign/thing', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]);
    const error = await restoreAll(target, store, 'lib').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetRefusedError);
    expect((error as Error).message).toMatch(/not empty/);
    expect(await target.basisT()).toBe(1);
  });

  it('refuses a replica of another source database', async () => {
    const { source } = await librarySource(resources, 10, 15);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [10]);
    await exportInSizes(source, store, 'other', [10]);
    const target = await resources.database();
    await restoreAll(target, store, 'lib');
    const error = await restoreAll(target, store, 'other').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetRefusedError);
    expect((error as Error).message).toContain('"lib"');
  });

  it('detects a foreign write to the target, and goes on when told to allow it', async () => {
    const { source } = await librarySource(resources, 40, 16);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [20]);
    const target = await resources.database();
    await restoreAll(target, store, 'lib', { untilT: 20 });
    await target.transact([{ ':db/ident': ':foreign/note', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]);
    const error = await restoreAll(target, store, 'lib').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForeignWriteError);
    expect((error as Error).message).toContain('t=21');
    await restoreAll(target, store, 'lib', { allowForeignWrites: true });
    expect((await target.entity(LAST_SOURCE_TRANSACTION))![LAST_SOURCE_TRANSACTION]).toBe(40);
  });

  it('a retraction of a datom the target does not hold stops with the source t, the datom and the target entity', async () => {
    const source = await resources.database();
    await source.transact([{ ':db/ident': ':p/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]);
    const { tempids } = await source.transact([{ ':db/id': 'p', ':p/name': 'Ann' }]);
    const store = resources.memoryStore();
    await exportRange(source, store, 'p', 1, 2);
    const target = await resources.database();
    await restoreAll(target, store, 'p');
    const [replicaOfAnn] = await target.datomsAVET(ORIGINAL_ID, tempids.p!);
    // Someone changes the replica behind txclone's back...
    await target.transact([[':db/retract', replicaOfAnn!, ':p/name', 'Ann']]);
    // ...then the source retracts what the replica no longer holds.
    await source.transact([{ ':p/name': 'Bob' }]);
    await source.transact([[':db/retract', tempids.p!, ':p/name', 'Ann']]);
    await source.transact([{ ':p/name': 'Cy' }]);
    await exportRange(source, store, 'p', 3, 5);
    const error = await restoreAll(target, store, 'p', { allowForeignWrites: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplicaDivergedError);
    const message = (error as Error).message;
    expect(message).toContain('at source t=4:');
    expect(message).toContain(String(replicaOfAnn));
    expect(message).toContain(':p/name');
    expect((await target.entity(LAST_SOURCE_TRANSACTION))![LAST_SOURCE_TRANSACTION]).toBe(2);
  });
});
