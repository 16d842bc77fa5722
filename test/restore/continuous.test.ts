import { afterEach, describe, expect, it } from 'vitest';
import { LAST_SOURCE_TRANSACTION } from '../../src/restore/bookkeeping';
import { continuousRestore } from '../../src/restore/continuous';
import { exportAll, exportRange } from '../../src/segment/export';
import { Resources, expectReplica, librarySource } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('continuous restore', () => {
  it('follows the store as segments appear, backs off over a gap, and stops on abort', async () => {
    const { source, workload } = await librarySource(resources, 50, 41);
    const store = resources.memoryStore();
    await exportAll(source, store, 'lib', { maxTxns: 20 });
    const target = await resources.database();
    const controller = new AbortController();
    const errors: unknown[] = [];
    const running = continuousRestore(target, store, 'lib', {
      signal: controller.signal,
      pollMs: 50,
      backoffMs: 20,
      maxBackoffMs: 100,
      onError: (err) => errors.push(err),
    });
    const position = async () => ((await target.entity(LAST_SOURCE_TRANSACTION))?.[LAST_SOURCE_TRANSACTION] as number) ?? 0;
    await until(async () => (await position()) === 50);

    // New transactions, exported with a hole first: the loop waits at the gap.
    await workload.run(source, 40, 10);
    await exportRange(source, store, 'lib', 71, 90);
    await until(async () => errors.length >= 2);
    expect(await position()).toBe(50);
    await exportRange(source, store, 'lib', 51, 70);
    await until(async () => (await position()) === 90);

    controller.abort();
    const summary = await running;
    expect(summary.position).toBe(90);
    expect(summary.errors).toBeGreaterThanOrEqual(2);
    await expectReplica(source, target);
  });
});
