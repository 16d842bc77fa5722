// A database written before float, symbol and canonical bigdecs is brought up to date when
// opened: the new built-in types appear, and its stored bigdecs take their canonical form.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import { collect } from './fixtures';
import { freshPostgresUrl } from '../support/postgres';

describe('opening a database written by an earlier txclone', () => {
  it('adds the new built-in types and rewrites old bigdecs canonically', async () => {
    const url = await freshPostgresUrl();
    const db = await openDatabase(url);
    await db.transact([
      { ':db/ident': ':p/price', ':db/valueType': ':db.type/bigdec', ':db/cardinality': ':db.cardinality/many' },
      { ':db/ident': ':p/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one', ':db/unique': ':db.unique/identity' },
    ]);
    const { tempids } = await db.transact([{ ':db/id': 'x', ':p/name': 'x', ':p/price': ['12.50', '7', '3.0'] }]);
    const x = tempids['x']!;
    await db.close();

    // What an earlier txclone left: no float or symbol type entities, and bigdecs as written.
    const schema = new URL(url).searchParams.get('schema')!;
    const server = new URL(url);
    server.searchParams.delete('schema');
    const client = new pg.Client({ connectionString: server.toString() });
    await client.connect();
    try {
      await client.query(`set search_path to "${schema}"`);
      await client.query(`delete from eav where e in (33, 34)`);
      await client.query(`update eav set v = '+12.50' where v = '12.50'`);
      await client.query(`update eav set v = '+7' where v = '7'`);
      await client.query(`update log set v = '+12.50' where v = '12.50'`);
      await client.query(`insert into eav (e, a, v, t) select e, a, '03.0', t from eav where v = '3.0'`); // becomes a twin of 3.0
    } finally {
      await client.end();
    }

    const reopened = await openDatabase(url);
    try {
      expect(((await reopened.entity(x))![':p/price'] as string[]).sort()).toEqual(['12.50', '3.0', '7']);
      // Asserting an equal bigdec records nothing; the log reads canonical too.
      const report = await reopened.transact([[':db/add', x, ':p/price', '+12.50']]);
      expect(report.datoms).toHaveLength(1);
      const log = await collect(reopened.txRange(1, 2));
      expect(log[1]!.datoms.map((d) => d[2])).toContain('12.50');
      // The new types can be installed and used.
      await reopened.transact([{ ':db/ident': ':p/ratio', ':db/valueType': ':db.type/float', ':db/cardinality': ':db.cardinality/one' }]);
      await reopened.transact([[':db/add', x, ':p/ratio', 0.5]]);
      expect((await reopened.entity(x))![':p/ratio']).toBe(0.5);
    } finally {
      await reopened.close();
    }
    // Opening again changes nothing more.
    const third = await openDatabase(url);
    expect(((await third.entity(x))![':p/price'] as string[]).sort()).toEqual(['12.50', '3.0', '7']);
    await third.close();
  }, 120_000);
});
