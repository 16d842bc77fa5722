// The router on its own, against real databases: writes held while a fence is up, sent on
// in arrival order when a primary answers, one bad write failing alone, and the hold limit.
import { afterEach, expect, test } from 'vitest';
import { openDatabase } from '../../src/db/open';
import type { Database } from '../../src/db/types';
import { MigrationError, openRouter, type Router } from '../../src/migrate';
import { sleep } from '../../src/sleep';
import { freshPostgresUrl } from '../support/postgres';
import { WRITER_SCHEMA } from './support';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close().catch(() => undefined);
});

async function primary(): Promise<Database> {
  const db = await openDatabase(await freshPostgresUrl());
  opened.push(db);
  await db.transact(WRITER_SCHEMA);
  return db;
}

function router(db: Database, options: { holdTimeoutMs?: number } = {}): Router {
  const r = openRouter({ databases: { only: db }, pollMs: 10, watchMs: 0, ...options });
  opened.push(r);
  return r;
}

test('writes held by a fence go on in arrival order when it is lifted; a bad one fails alone', async () => {
  const db = await primary();
  const r = router(db);
  await r.transact([{ ':writer/key': 'before' }]);
  await db.fence({ migration: 'm', newPrimary: 'elsewhere' });
  const held = [
    r.transact([{ ':writer/key': 'one' }]),
    r.transact([{ ':writer/nonsense': 'two' }]),
    r.transact([{ ':writer/key': 'three' }]),
  ];
  const outcomes = Promise.allSettled(held);
  await sleep(200);
  expect(r.heldWrites).toBe(3);
  expect(r.current).toBeNull();
  const basis = await db.basisT();
  await db.unfence('m');
  const [one, two, three] = await outcomes;
  expect(one).toMatchObject({ status: 'fulfilled', value: { t: basis + 1 } });
  expect(two).toMatchObject({ status: 'rejected', reason: { name: 'TransactionError', code: 'unknown-attribute', batchIndex: 0 } });
  expect(three).toMatchObject({ status: 'fulfilled', value: { t: basis + 2 } });
  expect(r.current).toBe('only');
  expect(await db.datomsAVET(':writer/key', 'three')).toHaveLength(1);
});

test('a write held longer than holdTimeoutMs fails, naming the fence, and is never written', async () => {
  const db = await primary();
  const r = router(db, { holdTimeoutMs: 150 });
  await db.fence({ migration: 'slow', newPrimary: 'new-db' });
  const basis = await db.basisT();
  const err = await r.transact([{ ':writer/key': 'late' }]).catch((e: unknown) => e as Error);
  expect(err).toBeInstanceOf(MigrationError);
  expect((err as Error).message).toMatch(/while a fence was up \(migration slow, new primary new-db\), longer than holdTimeoutMs 150; it was not written/);
  await db.unfence('slow');
  await sleep(100);
  expect(await db.basisT()).toBe(basis);
});
