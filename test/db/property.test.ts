// Random workloads against the database and the reference model (test/db/model.ts): after
// every run the current datoms, the whole log and the database as of a few t agree.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openDatabase } from '../../src/db';
import { FIXTURES, type DatabaseFixture } from './fixtures';
import { runWorkload } from './harness';
import { workload } from './workload';

const RUNS = Number(process.env.TXCLONE_PROPERTY_RUNS ?? 30);
// A failure shrinks for at most two minutes (each run opens a database).
const LIMITS = { interruptAfterTimeLimit: 120_000 };

describe.each(FIXTURES)('on %s, random workloads agree with the model', (_name, make) => {
  let fixture: DatabaseFixture;
  beforeAll(async () => {
    fixture = await make();
  });
  afterAll(() => fixture?.close());

  it('schema growth, refs, components, card many, retractions, upserts, cas, enums, tuples, tx metadata, batches', async () => {
    await fc.assert(
      fc.asyncProperty(workload(40), async (steps) => {
        // Batches are written in parts of a few datoms, so that parts meet every kind of change.
        const db = await fixture.open({ txPageSize: 7, entityPageSize: 5, writePartDatoms: 3 });
        try {
          await runWorkload(db, steps);
        } finally {
          await db.close();
        }
      }),
      { numRuns: RUNS, ...LIMITS },
    );
  });
});

describe('on pglite:memory opened by its URL', () => {
  it('a random workload agrees with the model', async () => {
    // Each run gets its own database, opened beforehand; PGlite takes seconds to start, so two runs.
    let run = 0;
    const dbs = await Promise.all([1, 2].map(() => openDatabase('pglite:memory', { txPageSize: 3 })));
    try {
      await fc.assert(
        fc.asyncProperty(workload(40), (steps) => runWorkload(dbs[run++]!, steps).then(() => undefined)),
        { numRuns: dbs.length, endOnFailure: true },
      );
    } finally {
      for (const db of dbs) await db.close();
    }
  });
});
