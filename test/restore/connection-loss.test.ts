// The target's server drops the restore's connections at random moments, mid-part,
// mid-batch and mid-commit: every failed attempt leaves the target at a transaction
// boundary, the next attempt resumes, and the replica ends exact with nothing duplicated.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/types';
import { ORIGINAL_ID } from '../../src/idmap/idmap';
import { Restorer } from '../../src/restore/restore';
import { sleep } from '../../src/sleep';
import { freshPostgresUrl, startPostgres } from '../support/postgres';
import { Resources, exportInSizes, expectReplica, librarySource } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());

describe('a target whose connections are killed', () => {
  it('restores exactly: each failure rolls back whole batches, and the next attempt goes on', async () => {
    const { source } = await librarySource(resources, 400, 41);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [60, 25]);

    // An application_name of its own, so that only this test's connections are killed.
    const application = `txclone_kill_${randomBytes(4).toString('hex')}`;
    const url = new URL(await freshPostgresUrl());
    url.searchParams.set('application_name', application);
    // Small batches written in small parts: kills land in every phase of a commit.
    const target = await resources.database(url.toString(), { writePartDatoms: 15 });

    const admin = new pg.Client({ connectionString: (await startPostgres()).url });
    await admin.connect();
    resources.onClose(() => admin.end());
    let killed = 0;
    let restoring = true;
    const killer = (async () => {
      for (let i = 0; restoring; i++) {
        await sleep(15 + ((i * 37) % 60));
        const { rowCount } = await admin.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()',
          [application],
        );
        killed += rowCount ?? 0;
      }
    })();

    const failures: string[] = [];
    const basis = await source.basisT();
    const restorer = new Restorer(target, store, 'lib', { batchTxns: 12 });
    try {
      for (let attempt = 0; attempt < 2_000; attempt++) {
        try {
          if ((await restorer.all()).toT === basis) break;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    } finally {
      restoring = false;
      await killer;
    }
    // The pool learns of its last killed idle connections when their notices arrive.
    await sleep(300);

    expect(killed).toBeGreaterThan(0);
    expect(failures.length).toBeGreaterThan(0);
    // Only lost connections, never a refused or diverged transaction.
    for (const message of failures) expect(message).toMatch(/terminat|Connection|connection|ECONNRESET|closed/);
    expect(await target.basisT()).toBe(basis);
    await expectReplica(source, target);
    expect(await duplicatedOriginalIds(target)).toEqual([]);
  }, 180_000);
});

async function duplicatedOriginalIds(target: Database): Promise<unknown[]> {
  const attr = await target.resolve(ORIGINAL_ID);
  const seen = new Set<unknown>();
  const duplicated: unknown[] = [];
  for await (const [, a, v] of target.datoms()) {
    if (a !== attr) continue;
    if (seen.has(v)) duplicated.push(v);
    seen.add(v);
  }
  return duplicated;
}
