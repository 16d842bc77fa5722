// Reading the database as of a t from the log, page by page of entities: the built-in
// datoms (t = 0, not in the log) with every logged datom of t <= asOfT applied in order.
import type { SqlQueryable } from './sql/driver';
import type { StoredDatom } from './state';
import type { EntityId } from './types';
import { storedBuiltinDatoms } from './write';

type EntityDatoms = Map<string, StoredDatom>;

const byAttributeAndValue = (x: StoredDatom, y: StoredDatom) => x.a - y.a || (x.v < y.v ? -1 : x.v > y.v ? 1 : 0);

/** The datoms that held at asOfT, in pages of whole entities, in entity order. */
export async function* datomPagesAsOf(q: SqlQueryable, asOfT: number, pageSize: number): AsyncGenerator<StoredDatom[]> {
  const builtins = new Map<EntityId, EntityDatoms>();
  for (const [e, a, v] of storedBuiltinDatoms()) {
    const entity = builtins.get(e) ?? new Map();
    entity.set(`${a}\u0001${v}`, { e, a, v });
    builtins.set(e, entity);
  }
  const builtinIds = [...builtins.keys()].sort((x, y) => x - y);
  let after = -1;
  for (;;) {
    const rows = await q.query<StoredDatom & { added: boolean }>(
      `select e, a, v, added from log
       where t <= $2 and e in (select distinct e from log where e > $1 and t <= $2 order by e limit $3)
       order by e, t, seq`,
      [after, asOfT, pageSize],
    );
    const last = rows.length ? rows[rows.length - 1]!.e : Infinity;
    const entities = new Map<EntityId, EntityDatoms>();
    for (const e of builtinIds) if (e > after && e <= last) entities.set(e, new Map(builtins.get(e)));
    for (const r of rows) {
      let entity = entities.get(r.e);
      if (!entity) entities.set(r.e, (entity = new Map()));
      const k = `${r.a}\u0001${r.v}`;
      if (r.added) entity.set(k, { e: r.e, a: r.a, v: r.v });
      else entity.delete(k);
    }
    const page: StoredDatom[] = [];
    for (const e of [...entities.keys()].sort((x, y) => x - y)) page.push(...[...entities.get(e)!.values()].sort(byAttributeAndValue));
    if (page.length) yield page;
    if (rows.length === 0) return;
    after = last;
  }
}
