// Tables of one logical datom database (one SQL schema).
//   meta: the single row every writer locks: basis t, next entity id, schema version.
//   txs:  one row per transaction.
//   log:  every datom every transaction recorded, in t order.
//   eav:  the current datoms (what holds now), with the t that asserted them.
// Values are text (see values.ts). eav_av indexes a 64-bit hash of v, not v, so that long
// values stay indexable and the index stays small and cheap to maintain; every lookup
// compares the hash (to use the index) and then v itself (hashes collide).
import { quoteIdent, type SqlQueryable } from './driver';

export const FORMAT_VERSION = 1;

/** The indexed hash of a value column or parameter: lookups by value match on it, then on v. */
export function valueHash(v: string): string {
  return `hashtextextended(${v}, 0)`;
}

const tables = (s: string) => [
  `create table if not exists ${s}.meta (
    id int primary key check (id = 1),
    format int not null,
    basis_t int8 not null,
    next_eid int8 not null,
    schema_t int8 not null,
    last_instant int8 not null
  )`,
  `create table if not exists ${s}.txs (
    t int8 primary key,
    tx int8 not null unique,
    instant int8 not null
  )`,
  `create table if not exists ${s}.log (
    t int8 not null,
    seq int4 not null,
    e int8 not null,
    a int8 not null,
    v text not null,
    added bool not null,
    constraint log_pkey primary key (t, seq)
  )`,
  `create table if not exists ${s}.eav (
    e int8 not null,
    a int8 not null,
    v text not null,
    t int8 not null
  )`,
];

/**
 * The secondary indexes (and log's primary key): absent while a clone's initial load copies
 * rows, built when it finishes (pg_restore's order).
 */
export const secondaryIndexes = (s: string) => [
  `do $$ begin
     if not exists (select 1 from pg_constraint where conname = 'log_pkey' and connamespace = '${s.replace(/'/g, "''")}'::regnamespace) then
       alter table ${s}.log add constraint log_pkey primary key (t, seq);
     end if;
   end $$`,
  `create index if not exists log_e on ${s}.log (e)`,
  `create index if not exists eav_ea on ${s}.eav (e, a)`,
  `create index if not exists eav_av on ${s}.eav (a, ${valueHash('v')})`,
];

/** Drops what secondaryIndexes builds, for a clone's initial load into empty tables. */
export const dropSecondaryIndexes = (s: string) => [
  `alter table ${s}.log drop constraint if exists log_pkey`,
  `drop index if exists ${s}.log_e`,
  `drop index if exists ${s}.eav_ea`,
  `drop index if exists ${s}.eav_av`,
];

/** The role columns of meta, added to a database made before roles existed. */
const ROLE_COLUMNS: Array<[string, string]> = [
  ['role', `text not null default 'primary'`],
  ['clone_of', 'text'],
  ['loading', 'bool not null default false'],
  ['fence', 'text'],
];

/**
 * Creates the schema and its tables when absent. Runs in the caller's transaction, under a
 * lock on the schema's name, so that processes opening a new database at once do not race.
 */
export async function ensureTables(q: SqlQueryable, schema: string): Promise<void> {
  await q.query(`select pg_advisory_xact_lock(hashtext('txclone schema ' || $1::text))`, [schema]);
  await q.query(`create schema if not exists ${quoteIdent(schema)}`);
  const s = quoteIdent(schema);
  for (const statement of tables(s)) await q.query(statement);
  const present = await q.query<{ column_name: string }>(
    `select column_name from information_schema.columns where table_schema = $1 and table_name = 'meta'`,
    [schema],
  );
  const have = new Set(present.map((c) => c.column_name));
  for (const [name, type] of ROLE_COLUMNS) if (!have.has(name)) await q.query(`alter table ${s}.meta add column ${name} ${type}`);
  const [meta] = await q.query<{ loading: boolean }>(`select loading from ${s}.meta`);
  if (!meta?.loading) for (const statement of secondaryIndexes(s)) await q.query(statement);
}
