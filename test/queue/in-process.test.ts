// --no-queue: the same loops in one process, no Redis.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics';
import { InProcessReplicator } from '../../src/queue';
import { compareClone } from '../../src/restore';
import { Resources, converged, expectReplica, keepWriting, librarySource, position, until } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());
afterAll(() => resources.dispose());

describe('in-process replication', () => {
  it('converges while the source keeps writing, and closes cleanly', async () => {
    const { source, workload } = await librarySource(resources, 30, 601);
    const store = resources.store();
    const target = await resources.database();
    const metrics = new Metrics();
    const replicator = resources.add(new InProcessReplicator({ source, target, store, db: 'lib', intervalMs: 100, export: { maxTxns: 30 }, metrics }));
    await replicator.start();
    await keepWriting(workload, source, 120, 10, 10);
    await converged(source, target);
    await expectReplica(source, target);
    expect((await replicator.health()).ok).toBe(true);

    await replicator.close();
    expect((await replicator.health()).ok).toBe(false);
    // Closed means closed: new writes stay in the source.
    await workload.run(source, 10, 10);
    await new Promise((r) => setTimeout(r, 300));
    expect(await position(target)).toBe((await source.basisT()) - 10);

    const text = await metrics.text();
    expect(text).toMatch(new RegExp(`^txclone_transactions_restored_total\\{db="lib",target="default"\\} ${(await source.basisT()) - 10}$`, 'm'));
    expect(text).toMatch(/^txclone_segments_exported_total\{db="lib"\} [1-9]\d*$/m);
  });

  it("in clone mode: the target follows as a clone and its log equals the source's", async () => {
    const { source, workload } = await librarySource(resources, 30, 602);
    const store = resources.store();
    const target = await resources.database();
    const replicator = resources.add(
      new InProcessReplicator({ source, target, store, db: 'lib', intervalMs: 100, export: { maxTxns: 30 }, restore: { mode: 'clone' } }),
    );
    await replicator.start();
    await keepWriting(workload, source, 90, 10, 10);
    const basis = await source.basisT();
    await until(`the clone reaches t=${basis}`, async () => (await target.basisT()) >= basis);
    expect(await target.role()).toMatchObject({ role: 'clone', cloneOf: 'lib' });
    const logs = await compareClone(source, target);
    expect(logs.differences).toEqual([]);
    expect(logs.equal).toBe(true);
    expect(logs.transactions).toBe(basis);
    await replicator.close();
  });
});
