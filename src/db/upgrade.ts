// Brings a database written by an earlier txclone up to what this one expects, when it is
// opened. Each step finds its own work, so running it again does nothing:
//   - built-in entities added since (the value types float and symbol) get their datoms;
//   - bigdec values stored before bigdecs were canonical ('+12.50') are rewritten in their
//     canonical form ('12.50', see decimal.ts), and a value that becomes equal to one the
//     entity holds already is dropped. The log keeps what was written; reads of it give the
//     canonical form (values.ts).
// Bigdecs inside tuples are read in canonical form but not rewritten.
import { DB_VALUE_TYPE, typeEntityId } from './builtins';
import { canonicalBigdec } from './decimal';
import type { SqlQueryable } from './sql/driver';
import { storedBuiltinDatoms } from './write';

/** Stored texts that may not be canonical: anything but plain digits, and the forms decimal.ts rewrites. */
const MAYBE_NOT_CANONICAL = String.raw`v !~ '^-?(0|[1-9][0-9]*)(\.[0-9]+)?$' or v ~ '^-0(\.0*)?$' or v ~ '^-?0\.0{6}'`;

export async function upgradeStored(q: SqlQueryable): Promise<void> {
  await addBuiltins(q);
  await canonicalBigdecs(q);
}

/** Inserts the datoms of built-in entities the database does not hold at all. */
async function addBuiltins(q: SqlQueryable): Promise<void> {
  const builtins = storedBuiltinDatoms();
  const ids = [...new Set(builtins.map((d) => d[0]))];
  const held = await q.query<{ e: number | string }>('select distinct e from eav where e = any($1::int8[])', [ids]);
  const present = new Set(held.map((r) => Number(r.e)));
  const missing = builtins.filter((d) => !present.has(d[0]));
  if (missing.length === 0) return;
  await q.query(
    'insert into eav (e, a, v, t) select e, a, v, 0 from unnest($1::int8[], $2::int8[], $3::text[]) as d(e, a, v)',
    [missing.map((d) => d[0]), missing.map((d) => d[1]), missing.map((d) => d[2])],
  );
}

async function canonicalBigdecs(q: SqlQueryable): Promise<void> {
  const attrs = await q.query<{ e: number | string }>('select e from eav where a = $1 and v = $2', [
    DB_VALUE_TYPE,
    String(typeEntityId('bigdec')),
  ]);
  if (attrs.length === 0) return;
  const rows = await q.query<{ e: number | string; a: number | string; v: string }>(
    `select e, a, v from eav where a = any($1::int8[]) and (${MAYBE_NOT_CANONICAL})`,
    [attrs.map((r) => Number(r.e))],
  );
  for (const { e, a, v } of rows) {
    const canonical = canonicalBigdec(v);
    if (canonical === v) continue;
    const [twin] = await q.query('select 1 from eav where e = $1 and a = $2 and v = $3', [e, a, canonical]);
    if (twin) await q.query('delete from eav where e = $1 and a = $2 and v = $3', [e, a, v]);
    else await q.query('update eav set v = $4 where e = $1 and a = $2 and v = $3', [e, a, v, canonical]);
  }
}
