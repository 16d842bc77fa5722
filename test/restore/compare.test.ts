// compareReplica finds the same differences however many passes its memory bound takes.
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/types';
import { compareReplica, type CompareResult } from '../../src/restore/compare';
import { restoreAll } from '../../src/restore';
import { Resources, exportInSizes, librarySource } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());

const summary = (r: CompareResult) => ({
  equal: r.equal,
  sourceDatoms: r.sourceDatoms,
  targetDatoms: r.targetDatoms,
  transactions: r.transactions,
  differenceCount: r.differenceCount,
  differences: [...r.differences].sort((a, b) => a.detail.localeCompare(b.detail)),
});

/** A library source of `count` transactions and its replica, restored in full. */
async function replicaOf(count: number, seed: number): Promise<{ source: Database; target: Database }> {
  const { source } = await librarySource(resources, count, seed);
  const store = resources.memoryStore();
  await exportInSizes(source, store, 'lib', [40]);
  const target = await resources.database();
  await restoreAll(target, store, 'lib');
  return { source, target };
}

describe('compareReplica', () => {
  it('holds at most maxDatomsInMemory source datoms, in passes, and finds the same', async () => {
    const { source, target } = await replicaOf(150, 51);

    const whole = await compareReplica(source, target);
    expect(whole.equal).toBe(true);
    expect(whole.passes).toBe(1);
    const inPasses = await compareReplica(source, target, { maxDatomsInMemory: 100 });
    expect(inPasses.passes).toBeGreaterThan(whole.sourceDatoms / 100);
    expect(summary(inPasses)).toEqual(summary(whole));

    // A foreign transaction changes a value, retracts a datom and adds an entity: each is
    // found once, in whichever pass holds its entity, and so is the transaction itself (an
    // extra target transaction, whose entity has no source either).
    const schema = await target.schema();
    const ident = (name: string) => [...schema.values()].find((a) => a.ident === name)!.id;
    const members: number[] = [];
    for await (const [e, a] of target.datoms()) if (a === ident(':member/name')) members.push(e);
    await target.transact(
      [
        [':db/add', members[0]!, ':member/name', 'Changed'],
        [':db/retract', members[1]!, ':member/name', (await target.entity(members[1]!))![':member/name']!],
        { ':member/name': 'Nobody', ':member/email': 'nobody@example.org' },
      ],
      {},
    );
    const differentWhole = await compareReplica(source, target, { maxDifferences: 1000 });
    const differentInPasses = await compareReplica(source, target, { maxDifferences: 1000, maxDatomsInMemory: 70 });
    expect(differentWhole.equal).toBe(false);
    expect(differentInPasses.passes).toBeGreaterThan(1);
    expect(summary(differentInPasses)).toEqual(summary(differentWhole));
    const kinds = differentWhole.differences.map((d) => d.kind).sort();
    expect(kinds).toEqual(['extra-in-target', 'missing-in-target', 'missing-in-target', 'transactions', 'unmapped-entity', 'unmapped-entity']);
  });

  it('refuses a maxDatomsInMemory that is not a positive integer', async () => {
    const { source, target } = await replicaOf(20, 52);
    await expect(compareReplica(source, target, { maxDatomsInMemory: 0 })).rejects.toThrow(/maxDatomsInMemory must be a positive integer, got 0/);
  });
});
