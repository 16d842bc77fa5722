// The state a write batch sees: the committed database, read lazily and in batches,
// with the batch's own changes laid over it. Lives for one SQL transaction.
//
// Everything read from SQL is the committed state; the batch's net changes are applied
// on top of every read, so a transaction late in a batch sees what the earlier ones did.
import { int8Array, textArray } from './sql/arrays';
import { valueHash } from './sql/ddl';
import type { SqlQueryable } from './sql/driver';
import type { StoredEntity } from './schema';
import type { EntityId } from './types';

export interface StoredDatom {
  e: EntityId;
  a: EntityId;
  v: string;
}

interface Change extends StoredDatom {
  /** Held when the batch's changes were last taken for writing (at first, before the batch). */
  base: boolean;
  /** Held now. */
  now: boolean;
  t: number;
  /** Changed since the last take. */
  dirty: boolean;
}

/** What a batch changed in the current datoms since the last take. */
export interface NetChanges {
  removed: StoredDatom[];
  added: Array<StoredDatom & { t: number }>;
}

const datomKey = (e: EntityId, a: EntityId, v: string) => `${e}\u0001${a}\u0001${v}`;
const avKey = (a: EntityId, v: string) => `${a}\u0001${v}`;

export class BatchState {
  private readonly entities = new Map<EntityId, StoredEntity>();
  /** Holders of (a, v), for the pairs read so far, with the batch's changes applied. */
  private readonly holders = new Map<string, Set<EntityId>>();
  /** The batch's changes, by datom. */
  private readonly changes = new Map<string, Change>();
  /** The changes made since the last take, each once. */
  private dirty: Change[] = [];
  /** The same changes by (a, v): one change, or several (most pairs have one). */
  private readonly changesByValue = new Map<string, Change | Change[]>();

  constructor(private readonly q: SqlQueryable) {}

  /** Reads the entities not yet known, in one query. */
  async load(eids: Iterable<EntityId>): Promise<void> {
    const missing = [...new Set(eids)].filter((e) => !this.entities.has(e));
    if (missing.length === 0) return;
    for (const e of missing) this.entities.set(e, new Map());
    // An entity is always loaded before the batch changes it, so committed rows are its state.
    const rows = await this.q.query<StoredDatom>('select e, a, v from eav where e = any($1::int8[])', [int8Array(missing)]);
    for (const row of rows) addTo(this.entities.get(row.e)!, row.a, row.v);
  }

  isLoaded(e: EntityId): boolean {
    return this.entities.has(e);
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

  /** Reads who holds each (a, v) not yet known, in one query. */
  async loadHolders(pairs: Iterable<readonly [EntityId, string]>): Promise<void> {
    const missing = new Map<string, readonly [EntityId, string]>();
    for (const pair of pairs) {
      const k = avKey(pair[0], pair[1]);
      if (!this.holders.has(k)) missing.set(k, pair);
    }
    if (missing.size === 0) return;
    const as: EntityId[] = [];
    const vs: string[] = [];
    for (const [a, v] of missing.values()) {
      as.push(a);
      vs.push(v);
    }
    const rows = await this.q.query<StoredDatom>(
      `select eav.e, eav.a, eav.v from unnest($1::int8[], $2::text[]) as p(a, v)
       join eav on eav.a = p.a and ${valueHash('eav.v')} = ${valueHash('p.v')} and eav.v = p.v`,
      [int8Array(as), textArray(vs)],
    );
    for (const k of missing.keys()) this.holders.set(k, new Set());
    for (const row of rows) this.holders.get(avKey(row.a, row.v))!.add(row.e);
    for (const k of missing.keys()) {
      const holders = this.holders.get(k)!;
      for (const change of this.changesOf(k)) {
        if (change.now) holders.add(change.e);
        else holders.delete(change.e);
      }
    }
  }

  /** Whether loadHolders has covered (a, v). */
  hasHolders(a: EntityId, v: string): boolean {
    return this.holders.has(avKey(a, v));
  }

  /** The entities holding (a, v); loadHolders must have covered the pair. */
  holdersOf(a: EntityId, v: string): ReadonlySet<EntityId> {
    const holders = this.holders.get(avKey(a, v));
    if (!holders) throw new Error(`internal: holders of ${a} ${v} used before they were loaded`);
    return holders;
  }

  /** [entity, attribute] pairs holding a ref to e through one of refAttrs, now. Loads those entities. */
  async referrers(e: EntityId, refAttrs: readonly EntityId[]): Promise<Array<[EntityId, EntityId]>> {
    if (refAttrs.length === 0) return [];
    const v = String(e);
    const rows = await this.q.query<StoredDatom>(
      `select e, a from eav where a = any($1::int8[]) and ${valueHash('v')} = ${valueHash('$2')} and v = $2`,
      [refAttrs, v],
    );
    const candidates = rows.map((r): [EntityId, EntityId] => [r.e, r.a]);
    for (const a of refAttrs) {
      for (const change of this.changesOf(avKey(a, v))) if (change.now) candidates.push([change.e, a]);
    }
    await this.load(candidates.map(([holder]) => holder));
    const found = new Map<string, [EntityId, EntityId]>();
    for (const [holder, a] of candidates) {
      if (this.values(holder, a).has(v)) found.set(`${holder}/${a}`, [holder, a]);
    }
    return [...found.values()];
  }

  assert(e: EntityId, a: EntityId, v: string, t: number): void {
    addTo(this.entity(e), a, v);
    const ak = avKey(a, v);
    this.holders.get(ak)?.add(e);
    this.track(e, a, v, ak, true, t);
  }

  retract(e: EntityId, a: EntityId, v: string, t: number): void {
    const entity = this.entity(e);
    const values = entity.get(a);
    values?.delete(v);
    if (values && values.size === 0) entity.delete(a);
    const ak = avKey(a, v);
    this.holders.get(ak)?.delete(e);
    this.track(e, a, v, ak, false, t);
  }

  /** An entity holding several values of attribute a now, or null. Reads every entity that might. */
  async entityWithSeveralValues(a: EntityId): Promise<EntityId | null> {
    const rows = await this.q.query<{ e: EntityId }>('select e from eav where a = $1 group by e having count(*) > 1', [a]);
    const candidates = new Set(rows.map((r) => r.e));
    for (const c of this.changes.values()) if (c.a === a && c.now) candidates.add(c.e);
    await this.load(candidates);
    for (const e of candidates) if (this.values(e, a).size > 1) return e;
    return null;
  }

  /** A value of attribute a that several entities hold now, or null. */
  async sharedValue(a: EntityId): Promise<string | null> {
    const rows = await this.q.query<{ v: string }>(
      'select v from eav where a = $1 group by v having count(*) > 1',
      [a],
    );
    const candidates = new Set(rows.map((r) => r.v));
    for (const c of this.changes.values()) if (c.a === a && c.now) candidates.add(c.v);
    await this.loadHolders([...candidates].map((v) => [a, v] as const));
    for (const v of candidates) if (this.holdersOf(a, v).size > 1) return v;
    return null;
  }

  private track(e: EntityId, a: EntityId, v: string, ak: string, now: boolean, t: number): void {
    const k = datomKey(e, a, v);
    const change = this.changes.get(k);
    if (change) {
      // Every call flips the datom: before this change it was held if it is not now.
      if (!change.dirty) {
        change.dirty = true;
        change.base = !now;
        this.dirty.push(change);
      }
      change.now = now;
      change.t = t;
      return;
    }
    const added: Change = { e, a, v, base: !now, now, t, dirty: true };
    this.changes.set(k, added);
    this.dirty.push(added);
    const byValue = this.changesByValue.get(ak);
    if (byValue === undefined) this.changesByValue.set(ak, added);
    else if (Array.isArray(byValue)) byValue.push(added);
    else this.changesByValue.set(ak, [byValue, added]);
  }

  private changesOf(ak: string): readonly Change[] {
    const byValue = this.changesByValue.get(ak);
    if (byValue === undefined) return NONE;
    return Array.isArray(byValue) ? byValue : [byValue];
  }

  /**
   * The net effect on the current-datoms table of the changes since the last take. A batch
   * written in parts takes its changes once per part; reads keep seeing the whole batch.
   */
  takeChanges(): NetChanges {
    const removed: StoredDatom[] = [];
    const added: Array<StoredDatom & { t: number }> = [];
    for (const c of this.dirty) {
      // A datom held before and still held was retracted and asserted again: it gets its new t.
      if (c.base) removed.push(c);
      if (c.now) added.push(c);
      c.dirty = false;
    }
    this.dirty = [];
    return { removed, added };
  }
}

const EMPTY: ReadonlySet<string> = new Set();
const NONE: readonly Change[] = [];

function addTo(entity: StoredEntity, a: EntityId, v: string): void {
  const values = entity.get(a);
  if (values) values.add(v);
  else entity.set(a, new Set([v]));
}
