// Readers at every position while the producer exports, the compactor merges and retention
// deletes (with no grace at all, so segments vanish between a reader's listing and its
// read): no reader fails, and every replica compares equal to the source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Compactor, parseLevels } from '../../src/compact';
import type { Database } from '../../src/db/types';
import { Restorer } from '../../src/restore/restore';
import { exportAll } from '../../src/segment/export';
import { LibraryWorkload } from '../../src/workload';
import { Sources } from '../export/support';
import { Resources, expectReplica } from '../restore/fixtures';

// PGlite answers without a turn of the event loop: loops over it let the compactor's timer run.
const yieldToTimers = () => new Promise((resolve) => setTimeout(resolve, 1));

const resources = new Resources();
const databases = new Sources();
let source: Database;
beforeAll(async () => {
  source = await databases.open('live');
}, 120_000);
afterAll(async () => {
  await resources.close();
  await databases.close();
});

describe('compaction while everything runs', () => {
  it('readers at every position never fail for good, and the replicas are exact', async () => {
    const store = resources.memoryStore();
    const workload = new LibraryWorkload({ seed: 61, stageEvery: 40 });
    const total = 160;
    let writing = true;
    const writer = (async () => {
      for (let written = 0; written < total; written += 2) {
        await workload.run(source, 2, 2);
        await yieldToTimers();
      }
      writing = false;
    })();
    const producer = (async () => {
      while (writing) {
        await exportAll(source, store, 'lib', { maxTxns: 3 });
        await yieldToTimers();
      }
      await exportAll(source, store, 'lib', { maxTxns: 3 });
    })();
    let passes = 0;
    let deleted = 0;
    const errors: unknown[] = [];
    const compactor = new Compactor({
      store,
      db: 'lib',
      levels: parseLevels('9/1h,27/1h,81/1h'),
      intervalMs: 5,
      graceMs: 0,
      onError: (err) => errors.push(err),
      onPass: (pass) => {
        passes++;
        deleted += pass.retention?.deleted.length ?? 0;
      },
    });
    compactor.start();

    // One replica follows the log; another is restored a few transactions at a time by a
    // fresh Restorer each step (as after a restart), so readers start at every position.
    const follower = await databases.open('follower');
    const stepper = await databases.open('stepper');
    const follow = new Restorer(follower, store, 'lib');
    let stepperAt = 0;
    let step = 0;
    while (writing || stepperAt < (await source.basisT())) {
      await follow.next();
      const next = stepperAt + 1 + (step++ % 4);
      const result = await new Restorer(stepper, store, 'lib', { untilT: next }).next();
      stepperAt = result.toT;
      await yieldToTimers();
    }
    await writer;
    await producer;
    await follow.all();
    await new Restorer(stepper, store, 'lib').all();
    await compactor.close();

    expect(errors).toEqual([]);
    expect(passes).toBeGreaterThan(3);
    expect(deleted).toBeGreaterThan(0);
    expect(await source.basisT()).toBe(total);
    await expectReplica(source, follower);
    await expectReplica(source, stepper);
    const report = await store.verify('lib', { fromT: 1 });
    expect(report).toMatchObject({ ok: true, gaps: [], overlaps: [] });
  });
});
