import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { LibraryWorkload } from '../../src/workload';
import { restoreAll } from '../../src/restore';
import { freshPostgresUrl } from '../support/postgres';
import { Resources, exportInSizes, expectReplica } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());

describe('a random workload, exported in random segments and restored, is an exact replica', () => {
  it('on PGlite, for random workloads, segment sizes and batch sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 20, max: 160 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 5, max: 60 }),
        fc.integer({ min: 1, max: 400 }),
        async (seed, count, sizes, batchTxns, stageEvery, writePartDatoms) => {
          const local = new Resources();
          try {
            const source = await local.database();
            await new LibraryWorkload({ seed, stageEvery }).run(source, count, 10);
            const store = local.memoryStore();
            await exportInSizes(source, store, 'lib', sizes);
            // Commits written in parts of any size, down to a datom.
            const target = await local.database('pglite:memory', { writePartDatoms });
            const totals = await restoreAll(target, store, 'lib', { batchTxns });
            expect(totals.toT).toBe(await source.basisT());
            await expectReplica(source, target);
          } finally {
            await local.close();
          }
        },
      ),
      { numRuns: 6 },
    );
  }, 300_000);

  it('on the PostgreSQL server, source and target each in their own schema', async () => {
    const sourceUrl = await freshPostgresUrl();
    const targetUrl = await freshPostgresUrl();
    const source = await resources.database(sourceUrl);
    await new LibraryWorkload({ seed: 99, stageEvery: 60 }).run(source, 400, 20);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [37, 100, 9]);
    // Small parts: the server writes one while the next is computed.
    const target = await resources.database(targetUrl, { writePartDatoms: 50 });
    await restoreAll(target, store, 'lib', { batchTxns: 64 });
    await expectReplica(source, target);
  });
});
