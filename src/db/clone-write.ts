// Writing a source's log into a clone: verbatim, in one statement per batch (or COPY during
// an initial load), with the clone's own state checked against what the log says it held.
import { CloneDivergedError } from './errors';
import { datomKey, type LogBatch } from './log-apply';
import { boolArray, int8Array, textArray } from './sql/arrays';
import { dropSecondaryIndexes, secondaryIndexes } from './sql/ddl';
import { quoteIdent, type SqlQueryable } from './sql/driver';
import type { StoredDatom } from './state';

/**
 * Writes the batch's txs and log rows and its net change to eav, and moves meta to its last t,
 * in one statement. The statement counts what contradicts the clone's state (an assertion
 * of a datom it holds, a retraction of one it does not); the caller rolls back unless both
 * counts are zero.
 */
export async function writeLogRows(q: SqlQueryable, batch: LogBatch): Promise<{ present: number; missing: number }> {
  const { txs, log, removed, added, absent } = batch;
  const [row] = await q.query<{ present: number; gone: number }>(
    `with
       present as (select count(*)::int8 as n from unnest($1::int8[], $2::int8[], $3::text[]) as r(e, a, v)
         where exists (select 1 from eav where eav.e = r.e and eav.a = r.a and eav.v = r.v)),
       gone as (delete from eav using unnest($4::int8[], $5::int8[], $6::text[]) as r(e, a, v)
         where eav.e = r.e and eav.a = r.a and eav.v = r.v returning 1),
       held as (insert into eav (e, a, v, t) select * from unnest($7::int8[], $8::int8[], $9::text[], $10::int8[])),
       new_txs as (insert into txs (t, tx, instant) select * from unnest($11::int8[], $12::int8[], $13::int8[])),
       new_log as (insert into log (t, seq, e, a, v, added)
         select * from unnest($14::int8[], $15::int4[], $16::int8[], $17::int8[], $18::text[], $19::bool[])),
       moved as (update meta set basis_t = $20, next_eid = greatest(next_eid, $21), schema_t = coalesce($22, schema_t), last_instant = $23)
     select (select n from present) as present, (select count(*)::int8 from gone) as gone`,
    [
      int8Array(absent.map((d) => d.e)),
      int8Array(absent.map((d) => d.a)),
      textArray(absent.map((d) => d.v)),
      int8Array(removed.map((d) => d.e)),
      int8Array(removed.map((d) => d.a)),
      textArray(removed.map((d) => d.v)),
      int8Array(added.map((d) => d.e)),
      int8Array(added.map((d) => d.a)),
      textArray(added.map((d) => d.v)),
      int8Array(added.map((d) => d.t)),
      int8Array(txs.t),
      int8Array(txs.tx),
      int8Array(txs.instant),
      int8Array(log.t),
      int8Array(log.seq),
      int8Array(log.e),
      int8Array(log.a),
      textArray(log.v),
      boolArray(log.added),
      batch.lastT,
      batch.maxEid + 1,
      batch.schemaT,
      batch.lastInstantMs,
    ],
  );
  return { present: row!.present, missing: removed.length - row!.gone };
}

/** The first datom of the batch that contradicts the clone's committed state, as an error. */
export async function firstContradiction(q: SqlQueryable, batch: LogBatch, location: string): Promise<CloneDivergedError | null> {
  const rows = await q.query<StoredDatom & { held: boolean }>(
    `select r.e, r.a, r.v, exists (select 1 from eav where eav.e = r.e and eav.a = r.a and eav.v = r.v) as held
     from unnest($1::int8[], $2::int8[], $3::text[]) as r(e, a, v)`,
    [
      int8Array([...batch.absent, ...batch.removed].map((d) => d.e)),
      int8Array([...batch.absent, ...batch.removed].map((d) => d.a)),
      textArray([...batch.absent, ...batch.removed].map((d) => d.v)),
    ],
  );
  let first: { t: number; message: string } | null = null;
  for (const row of rows) {
    const touch = batch.firstTouch.get(datomKey(row.e, row.a, row.v))!;
    // An assertion needs the datom absent; a retraction needs it held.
    if (touch.added !== row.held) continue;
    if (first && first.t <= touch.t) continue;
    first = {
      t: touch.t,
      message:
        `clone ${location} diverged from its source at t=${touch.t}: the source ${touch.added ? 'asserts' : 'retracts'} ` +
        `[${row.e} ${row.a} ${JSON.stringify(row.v)}], which the clone ${touch.added ? 'already holds' : 'does not hold'}`,
    };
  }
  return first ? new CloneDivergedError(first.message, first.t) : null;
}

/** Appends the batch's txs and log rows with COPY (an initial load: no indexes, eav comes later). */
export async function writeLogRowsBulk(q: SqlQueryable, batch: LogBatch): Promise<void> {
  if (!q.copyFrom) throw new Error('internal: bulk load needs a driver that supports COPY');
  await q.copyFrom('copy txs (t, tx, instant) from stdin', batch.copyTxs);
  await q.copyFrom('copy log (t, seq, e, a, v, added) from stdin', batch.copyLog);
  await q.query(
    'update meta set basis_t = $1, next_eid = greatest(next_eid, $2), schema_t = coalesce($3, schema_t), last_instant = $4',
    [batch.lastT, batch.maxEid + 1, batch.schemaT, batch.lastInstantMs],
  );
}

/** Drops the secondary indexes and marks the clone loading (it must be empty). */
export async function beginLoadSql(q: SqlQueryable, schema: string): Promise<void> {
  for (const statement of dropSecondaryIndexes(quoteIdent(schema))) await q.query(statement);
  await q.query('update meta set loading = true');
}

/**
 * Ends an initial load: checks that the log never asserts a datom already held or retracts
 * one not held, derives eav from the log, builds the indexes. One SQL transaction: a kill
 * leaves the clone loading, and the next finish starts again.
 */
export async function finishLoadSql(q: SqlQueryable, schema: string, location: string): Promise<void> {
  // The built-in datoms (t = 0) are held before the log begins.
  const [bad] = await q.query<{ t: number; e: number; a: number; v: string; added: boolean }>(
    `select t, e, a, v, added from (
       select t, seq, e, a, v, added,
              lag(added) over (partition by e, a, v order by t, seq) as before
       from (select 0::int8 as t, -1 as seq, e, a, v, true as added from eav where t = 0
             union all select t, seq, e, a, v, added from log) as ops
     ) as x
     where added = coalesce(before, false) and t > 0
     order by t, seq limit 1`,
  );
  if (bad) {
    throw new CloneDivergedError(
      `clone ${location} diverged from its source at t=${bad.t}: the source ${bad.added ? 'asserts' : 'retracts'} ` +
        `[${bad.e} ${bad.a} ${JSON.stringify(bad.v)}], which the clone ${bad.added ? 'already holds' : 'does not hold'}`,
      bad.t,
    );
  }
  await q.query(
    `create temporary table last_op on commit drop as
       select distinct on (e, a, v) e, a, v, t, added from log order by e, a, v, t desc, seq desc`,
  );
  await q.query('delete from eav using last_op where eav.e = last_op.e and eav.a = last_op.a and eav.v = last_op.v');
  await q.query('insert into eav (e, a, v, t) select e, a, v, t from last_op where added');
  for (const statement of secondaryIndexes(quoteIdent(schema))) await q.query(statement);
  await q.query('update meta set loading = false');
  await q.query('analyze txs');
  await q.query('analyze log');
  await q.query('analyze eav');
}
