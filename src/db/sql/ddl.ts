// Tables of one logical datom database (one SQL schema).
//   meta: the single row every writer locks: basis t, next entity id, schema version.
//   txs:  one row per transaction.
//   log:  every datom every transaction recorded, in t order.
//   eav:  the current datoms (what holds now), with the t that asserted them.
export const FORMAT_VERSION = 1;

export const CREATE_TABLES = `
create table if not exists meta (
  id int primary key check (id = 1),
  format int not null,
  basis_t int8 not null,
  next_eid int8 not null,
  schema_t int8 not null,
  last_instant int8 not null
);
create table if not exists txs (
  t int8 primary key,
  tx int8 not null unique,
  instant int8 not null
);
create table if not exists log (
  t int8 not null,
  seq int4 not null,
  e int8 not null,
  a int8 not null,
  v text not null,
  added bool not null,
  primary key (t, seq)
);
create index if not exists log_e on log (e);
create table if not exists eav (
  e int8 not null,
  a int8 not null,
  v text not null,
  t int8 not null
);
create index if not exists eav_ea on eav (e, a);
create index if not exists eav_av on eav (a, md5(v));
`;
