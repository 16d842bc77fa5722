// Tempid unification, as Datomic does it: a transaction's clauses are a set, and tempids are
// resolved against the database as it was before the transaction. Tempids that claim the
// same :db.unique/identity value are one entity (transitively); a class of such tempids is
// the existing entity one of its values names, or a new entity when none does, whatever the
// order of the clauses. Two different existing entities in one class is a conflict.
import type { EntityId } from './types';

/** One tempid's identity claims: [attribute id, stored value]. */
export type Claims = ReadonlyMap<string, ReadonlyArray<readonly [EntityId, string]>>;

export interface TempidClass {
  /** The class's tempids, in the order given. */
  tempids: string[];
  /** The existing entities its identity values name (more than one is a conflict). */
  holders: EntityId[];
  /** The values that named each holder, for messages: [attribute id, stored value, holder]. */
  named: Array<[EntityId, string, EntityId]>;
}

/** Partitions tempids (in first-appearance order) into classes; classes come in the order of their first tempid. */
export function unifyTempids(
  tempids: readonly string[],
  claims: Claims,
  holdersOf: (a: EntityId, v: string) => Iterable<EntityId>,
): TempidClass[] {
  const parent = new Map<string, string>(tempids.map((t) => [t, t]));
  const root = (t: string): string => {
    let r = t;
    while (parent.get(r) !== r) r = parent.get(r)!;
    for (let x = t; x !== r; ) {
      const next = parent.get(x)!;
      parent.set(x, r);
      x = next;
    }
    return r;
  };
  const byValue = new Map<string, string>();
  for (const t of tempids) {
    for (const [a, v] of claims.get(t) ?? []) {
      const key = `${a}\u0001${v}`;
      const other = byValue.get(key);
      if (other === undefined) byValue.set(key, t);
      else parent.set(root(t), root(other));
    }
  }
  const classes = new Map<string, TempidClass>();
  const order: TempidClass[] = [];
  for (const t of tempids) {
    const r = root(t);
    let c = classes.get(r);
    if (!c) {
      c = { tempids: [], holders: [], named: [] };
      classes.set(r, c);
      order.push(c);
    }
    c.tempids.push(t);
    for (const [a, v] of claims.get(t) ?? []) {
      for (const h of holdersOf(a, v)) {
        if (!c.holders.includes(h)) c.holders.push(h);
        c.named.push([a, v, h]);
      }
    }
  }
  for (const c of order) c.holders.sort((x, y) => x - y);
  return order;
}
