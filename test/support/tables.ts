// A datom database's tables read in SQL, for tests that compare two databases row by row.
import type { SqlDriver } from '../../src/db/sql/driver';
import type { Database } from '../../src/db/types';

export interface TableRows {
  txs: unknown[];
  log: unknown[];
  eav: unknown[];
}

/** The driver under a DatomDatabase (tests only: the port does not expose SQL). */
export function sqlOf(db: Database): SqlDriver {
  const driver = (db as unknown as { driver?: SqlDriver }).driver;
  if (!driver) throw new Error(`${db.location} is not a DatomDatabase`);
  return driver;
}

/** Every row of txs, log and eav, in a total order. */
export async function tableRows(db: Database): Promise<TableRows> {
  const q = sqlOf(db);
  const [txs, log, eav] = await Promise.all([
    q.query('select t, tx, instant from txs order by t'),
    q.query('select t, seq, e, a, v, added from log order by t, seq'),
    q.query('select e, a, v, t from eav order by e, a, v collate "C", t'),
  ]);
  return { txs, log, eav };
}
