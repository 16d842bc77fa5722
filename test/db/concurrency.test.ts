// Concurrent writers: several Database instances on one PostgreSQL schema (as several
// processes would be), concurrent first opens of a new schema, and concurrent calls on one
// instance of either driver. The log must hold t = 1..N with no hole and every write once.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db';
import type { Database, TxOp } from '../../src/db/types';
import { attribute } from './attributes';
import { collect, FIXTURES, type DatabaseFixture } from './fixtures';
import { freshSchema, startPostgres, type PostgresTestServer, type TestSchema } from '../support/postgres';

const MARKER = attribute(':w/marker', 'string', { unique: 'identity' });

/** Every t from 1 to the basis once, and each marker written exactly once. */
async function expectEveryWriteOnce(db: Database, markers: string[]): Promise<void> {
  const log = await collect(db.txRange(1, Number.MAX_SAFE_INTEGER));
  const basis = await db.basisT();
  expect(log.map((tx) => tx.t)).toEqual(Array.from({ length: basis }, (_, i) => i + 1));
  expect(new Set(log.map((tx) => tx.tx)).size).toBe(log.length);
  for (let i = 1; i < log.length; i++) expect(log[i]!.instant.getTime()).toBeGreaterThanOrEqual(log[i - 1]!.instant.getTime());
  const written = log.flatMap((tx) => tx.datoms.filter((d) => typeof d[2] === 'string' && d[2].startsWith('m-')).map((d) => d[2] as string));
  expect(written.sort()).toEqual([...markers].sort());
  const found = await db.datomsAVETMany(':w/marker', markers);
  expect(found.every((holders) => holders.length === 1)).toBe(true);
}

describe('on PostgreSQL, several instances on one schema', () => {
  let server: PostgresTestServer;
  const schemas: TestSchema[] = [];
  const opened: Database[] = [];
  const open = async (url: string) => {
    const db = await openDatabase(url);
    opened.push(db);
    return db;
  };
  const fresh = () => {
    const schema = freshSchema(server);
    schemas.push(schema);
    return schema;
  };
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    for (const db of opened) await db.close();
    for (const s of schemas) await s.drop();
    await server?.close();
  });

  it('never leave a hole or a duplicate t, and lose no write', async () => {
    const { url } = fresh();
    const writers = await Promise.all([open(url), open(url), open(url)]);
    await writers[0]!.transact([MARKER]);
    const markers: string[] = [];
    const work = writers.map(async (db, w) => {
      for (let i = 0; i < 25; i++) {
        if (i % 5 === 4) {
          const batch = [0, 1, 2].map((k) => `m-${w}-${i}-${k}`);
          markers.push(...batch);
          await db.transactBatch(batch.map((m) => ({ ops: [{ ':w/marker': m }] })));
        } else {
          const m = `m-${w}-${i}`;
          markers.push(m);
          await db.transact([{ ':w/marker': m }]);
        }
      }
    });
    await Promise.all(work);
    expect(await writers[1]!.basisT()).toBe(1 + 20 * 3 + 5 * 3 * 3);
    await expectEveryWriteOnce(writers[2]!, markers);
  });

  it('upsert the same identity from several instances onto one entity', async () => {
    const { url } = fresh();
    const writers = await Promise.all([open(url), open(url), open(url)]);
    await writers[0]!.transact([MARKER, attribute(':w/count', 'long', { many: true })]);
    const reports = await Promise.all(
      writers.flatMap((db, w) => [0, 1, 2].map((i) => db.transact([{ ':db/id': 'x', ':w/marker': 'm-shared', ':w/count': w * 10 + i }]))),
    );
    expect(new Set(reports.map((r) => r.tempids.x)).size).toBe(1);
    expect(((await writers[1]!.entity([':w/marker', 'm-shared']))![':w/count'] as number[]).sort((x, y) => x - y)).toEqual([0, 1, 2, 10, 11, 12, 20, 21, 22]);
  });

  it('see each other’s schema changes at once', async () => {
    const { url } = fresh();
    const [a, b] = await Promise.all([open(url), open(url)]);
    await b.schema();
    await a.transact([attribute(':w/name', 'string'), { ':db/ident': ':color/red' }]);
    const report = await b.transact([{ ':db/id': 'x', ':w/name': 'seen by b' }]);
    expect(await b.entity(report.tempids.x!)).toEqual({ ':w/name': 'seen by b' });
    expect([...(await b.schema()).values()].map((x) => x.ident)).toContain(':w/name');
    await a.transact([[':db/retractEntity', ':color/red']]);
    expect(await b.resolve(':color/red')).toBeNull();
    await a.transact([[':db/add', ':w/name', ':db/ident', ':w/title']]);
    expect(await b.entity(report.tempids.x!)).toEqual({ ':w/title': 'seen by b' });
    await expect(b.transact([{ ':w/name': 'old name' }])).rejects.toMatchObject({ code: 'unknown-attribute' });
  });

  it('open a new schema concurrently without error, creating it once', async () => {
    const { url, schema } = fresh();
    const dbs = await Promise.all(Array.from({ length: 5 }, () => open(url)));
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const { rows } = await client.query(`select count(*)::int as n from "${schema}".eav where t = 0`);
    const single = await collect((await open(fresh().url)).datoms());
    await client.end();
    expect(rows[0].n).toBe(single.length);
    await dbs[0]!.transact([MARKER]);
    const markers = dbs.map((_, i) => `m-open-${i}`);
    await Promise.all(dbs.map((db, i) => db.transact([{ ':w/marker': markers[i] }])));
    await expectEveryWriteOnce(dbs[4]!, markers);
  });
});

describe.each(FIXTURES)('on %s, concurrent calls on one instance', (_name, make) => {
  let fixture: DatabaseFixture;
  beforeAll(async () => {
    fixture = await make();
  });
  afterAll(() => fixture?.close());

  it('are serialized: no hole, no duplicate, every write once', async () => {
    const db = await fixture.open();
    await db.transact([MARKER]);
    const markers = Array.from({ length: 30 }, (_, i) => `m-${i}`);
    const ops = (m: string): TxOp[] => [{ ':w/marker': m }];
    await Promise.all([
      ...markers.slice(0, 20).map((m) => db.transact(ops(m))),
      db.transactBatch(markers.slice(20, 25).map((m) => ({ ops: ops(m) }))),
      db.transactBatch(markers.slice(25).map((m) => ({ ops: ops(m) }))),
      collect(db.datoms()),
      collect(db.txRange(1, 100)),
    ]);
    await expectEveryWriteOnce(db, markers);
  });
});
