// The state a write batch sees: the committed database, read lazily and in batches,
// with the batch's own changes laid over it. Lives for one SQL transaction.
import type { SqlQueryable } from './sql/driver';
import type { StoredEntity } from './schema';
import type { EntityId } from './types';

export interface StoredDatom {
  e: EntityId;
  a: EntityId;
  v: string;
}

interface Change extends StoredDatom {
  /** Held before the batch. */
  before: boolean;
  /** Held now. */
  now: boolean;
  t: number;
}

const key = (e: EntityId, a: EntityId, v: string) => `${e}\u0001${a}\u0001${v}`;
const avKey = (a: EntityId, v: string) => `${a}\u0001${v}`;

export class BatchState {
  private readonly entities = new Map<EntityId, StoredEntity>();
  /** Holders of (a, v) for unique attributes: what the batch knows or has changed. */
  private readonly holders = new Map<string, Set<EntityId>>();
  private readonly changes = new Map<string, Change>();

  constructor(private readonly q: SqlQueryable) {}

  /** Reads the entities not yet known, in one query. */
  async load(eids: Iterable<EntityId>): Promise<void> {
    const missing = [...new Set(eids)].filter((e) => !this.entities.has(e));
    if (missing.length === 0) return;
    for (const e of missing) this.entities.set(e, new Map());
    const rows = await this.q.query<StoredDatom>('select e, a, v from eav where e = any($1::int8[])', [missing]);
    for (const row of rows) addTo(this.entities.get(row.e)!, row.a, row.v);
  }

  /** A new entity holds nothing; no read needed. */
  markNew(e: EntityId): void {
    this.entities.set(e, new Map());
  }

  /** The entity's datoms; it must have been loaded. */
  entity(e: EntityId): StoredEntity {
    const entity = this.entities.get(e);
    if (!entity) throw new Error(`internal: entity ${e} used before it was loaded`);
    return entity;
  }

  values(e: EntityId, a: EntityId): ReadonlySet<string> {
    return this.entity(e).get(a) ?? EMPTY;
  }

  loadedEntities(): IterableIterator<[EntityId, StoredEntity]> {
    return this.entities.entries();
  }

  /** Reads who holds each (a, v) not yet known, in one query. */
  async loadHolders(pairs: Iterable<[EntityId, string]>): Promise<void> {
    const missing = new Map<string, [EntityId, string]>();
    for (const [a, v] of pairs) {
      const k = avKey(a, v);
      if (!this.holders.has(k)) missing.set(k, [a, v]);
    }
    if (missing.size === 0) return;
    const as: EntityId[] = [];
    const vs: string[] = [];
    for (const [k, [a, v]] of missing) {
      this.holders.set(k, new Set());
      as.push(a);
      vs.push(v);
    }
    const rows = await this.q.query<StoredDatom>(
      `select eav.e, eav.a, eav.v from unnest($1::int8[], $2::text[]) as p(a, v)
       join eav on eav.a = p.a and md5(eav.v) = md5(p.v) and eav.v = p.v`,
      [as, vs],
    );
    for (const row of rows) this.holders.get(avKey(row.a, row.v))!.add(row.e);
  }

  /** The entities holding (a, v); loadHolders must have covered the pair. */
  holdersOf(a: EntityId, v: string): ReadonlySet<EntityId> {
    const holders = this.holders.get(avKey(a, v));
    if (!holders) throw new Error(`internal: holders of ${a} ${v} used before they were loaded`);
    return holders;
  }

  /** Entities holding a ref to e through one of refAttrs, committed or in this batch. */
  async referrers(e: EntityId, refAttrs: EntityId[]): Promise<Array<[EntityId, EntityId]>> {
    const v = String(e);
    const rows = refAttrs.length
      ? await this.q.query<StoredDatom>(
          'select e, a from eav where a = any($1::int8[]) and md5(v) = md5($2) and v = $2',
          [refAttrs, v],
        )
      : [];
    await this.load(rows.map((r) => r.e));
    const found = new Map<string, [EntityId, EntityId]>();
    const refSet = new Set(refAttrs);
    for (const [holder, entity] of this.entities) {
      for (const [a, values] of entity) {
        if (refSet.has(a) && values.has(v)) found.set(`${holder}/${a}`, [holder, a]);
      }
    }
    return [...found.values()];
  }

  assert(e: EntityId, a: EntityId, v: string, t: number, unique: boolean): void {
    addTo(this.entity(e), a, v);
    if (unique) this.holders.get(avKey(a, v))?.add(e) ?? this.holders.set(avKey(a, v), new Set([e]));
    this.track(e, a, v, true, t);
  }

  retract(e: EntityId, a: EntityId, v: string, t: number): void {
    const values = this.entity(e).get(a);
    values?.delete(v);
    if (values && values.size === 0) this.entity(e).delete(a);
    this.holders.get(avKey(a, v))?.delete(e);
    this.track(e, a, v, false, t);
  }

  private track(e: EntityId, a: EntityId, v: string, now: boolean, t: number): void {
    const k = key(e, a, v);
    const change = this.changes.get(k);
    if (change) {
      change.now = now;
      change.t = t;
    } else {
      this.changes.set(k, { e, a, v, before: !now, now, t });
    }
  }

  /** The net effect of the batch on the current-datoms table. */
  netChanges(): { removed: StoredDatom[]; added: Array<StoredDatom & { t: number }> } {
    const removed: StoredDatom[] = [];
    const added: Array<StoredDatom & { t: number }> = [];
    for (const c of this.changes.values()) {
      // A datom retracted and asserted again in the batch gets its new t: remove, then add.
      if (c.before) removed.push(c);
      if (c.now) added.push(c);
    }
    return { removed, added };
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function addTo(entity: StoredEntity, a: EntityId, v: string): void {
  const values = entity.get(a);
  if (values) values.add(v);
  else entity.set(a, new Set([v]));
}
