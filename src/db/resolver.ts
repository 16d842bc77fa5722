// Resolves the entity positions and ref values of one transaction: tempids (with upserts
// through :db.unique/identity attributes), "datomic.tx", idents, lookup refs and ids.
import { TransactionError } from './errors';
import { formatOp, sourceOf, type FlatOp } from './ops';
import type { Schema } from './schema';
import type { BatchState } from './state';
import type { Attribute, EntityId, ValueType } from './types';
import { unifyTempids } from './unify';
import { ValueError, describe, encodeValue, isKeyword } from './values';

export const TX_TEMPID = 'datomic.tx';

/** What the resolver needs from the transactor. */
export interface ResolverHost {
  readonly state: BatchState;
  readonly schema: Schema;
  readonly nextEid: EntityId;
  allocate(): EntityId;
}

export function isTempid(ref: unknown): ref is string {
  return typeof ref === 'string' && ref !== TX_TEMPID && !isKeyword(ref);
}

/** Stored text of a value that holds no refs to resolve (or a tuple of such values). */
export function encodePlain(schema: Schema, attribute: Attribute, v: unknown): string {
  return encodeValue(attribute.valueType, v, schema.elementTypes(attribute));
}

/** The (attribute, stored value) pair a lookup ref names. */
export function lookupPair(schema: Schema, ref: readonly unknown[], op: FlatOp): [EntityId, string] {
  const attribute = ref.length === 2 ? schema.attribute(ref[0] as string | EntityId) : undefined;
  if (!attribute) throw new TransactionError(`invalid lookup ref ${formatOp(ref)}: ${sourceOf(op)}`, 'invalid-lookup-ref');
  if (!attribute.unique)
    throw new TransactionError(
      `lookup ref ${formatOp(ref)} uses ${attribute.ident}, which is not unique: ${sourceOf(op)}`,
      'invalid-lookup-ref',
    );
  try {
    const v = ref[1];
    if (attribute.valueType === 'ref' && isKeyword(v)) {
      const id = schema.identToId.get(v);
      if (id === undefined) throw new ValueError(`unknown ident ${v}`);
      return [attribute.id, String(id)];
    }
    return [attribute.id, encodePlain(schema, attribute, v)];
  } catch (err) {
    throw new TransactionError(
      `invalid lookup ref ${formatOp(ref)}: ${(err as Error).message}: ${sourceOf(op)}`,
      'invalid-lookup-ref',
    );
  }
}

export class EntityResolver {
  private readonly tempids = new Map<string, EntityId>();

  constructor(
    private readonly host: ResolverHost,
    private readonly tx: EntityId,
  ) {}

  /**
   * Gives every tempid in an entity position its entity, treating the clauses as a set (see
   * unify.ts): tempids claiming the same :db.unique/identity value are one entity, which is
   * the existing entity those values name (upsert), else a new one. Identity values of ref
   * attributes name their entity by id, ident or lookup ref.
   */
  async resolveAll(ops: readonly FlatOp[]): Promise<void> {
    const { schema, state } = this.host;
    const lookups: Array<[EntityId, string]> = [];
    const order: string[] = [];
    const seen = new Set<string>();
    const identityOps: Array<[string, Attribute, FlatOp & { kind: 'add' }]> = [];
    for (const op of ops) {
      if (Array.isArray(op.e)) lookups.push(lookupPair(schema, op.e, op));
      if (!isTempid(op.e)) continue;
      if (!seen.has(op.e)) {
        seen.add(op.e);
        order.push(op.e);
      }
      if (op.kind !== 'add') continue;
      const attribute = schema.attribute(op.a);
      if (attribute?.unique !== 'identity') continue;
      identityOps.push([op.e, attribute, op]);
      if (attribute.valueType === 'ref' && Array.isArray(op.v)) {
        try {
          lookups.push(lookupPair(schema, op.v, op));
        } catch {
          // Reported with its operation when the datom is planned.
        }
      }
    }
    if (lookups.length > 0) await state.loadHolders(lookups);

    const claims = new Map<string, Array<[EntityId, string]>>();
    for (const [tempid, attribute, op] of identityOps) {
      const v = this.identityValue(attribute, op);
      if (v === undefined) continue;
      const list = claims.get(tempid) ?? [];
      list.push([attribute.id, v]);
      claims.set(tempid, list);
    }
    await state.loadHolders([...claims.values()].flat());

    const found: EntityId[] = [];
    for (const c of unifyTempids(order, claims, (a, v) => state.holdersOf(a, v))) {
      if (c.holders.length > 1) {
        const named = c.named.map(([a, v, h]) => `${schema.attributes.get(a)?.ident ?? a} ${v} is entity ${h}`);
        throw new TransactionError(
          `tempid${c.tempids.length > 1 ? 's' : ''} ${c.tempids.map((t) => JSON.stringify(t)).join(', ')} ` +
            `upsert${c.tempids.length > 1 ? '' : 's'} to several entities (${named.join('; ')})`,
          'upsert-conflict',
        );
      }
      const e = c.holders.length === 1 ? c.holders[0]! : this.host.allocate();
      if (c.holders.length === 1) found.push(e);
      for (const t of c.tempids) this.tempids.set(t, e);
    }
    const lookedUp = lookups.flatMap(([a, v]) => [...state.holdersOf(a, v)]);
    await state.load([...found, ...lookedUp]);
  }

  /**
   * The stored value an identity assertion claims, or undefined when it claims none the
   * database could hold (a tempid, an invalid value: the datom's planning reports those).
   */
  private identityValue(attribute: Attribute, op: FlatOp & { kind: 'add' }): string | undefined {
    const { schema, state } = this.host;
    try {
      if (attribute.valueType !== 'ref') return encodePlain(schema, attribute, op.v);
      const v = op.v;
      if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 && v < this.host.nextEid ? String(v) : undefined;
      if (isKeyword(v)) {
        const id = schema.identToId.get(v);
        return id === undefined ? undefined : String(id);
      }
      if (Array.isArray(v)) {
        const [a, text] = lookupPair(schema, v, op);
        const holder = first(state.holdersOf(a, text));
        return holder === undefined ? undefined : String(holder);
      }
      return undefined;
    } catch {
      return undefined;
    }
  }

  /** The entity id an entity position names. Its lookup refs must have been resolved by resolveAll. */
  entity(ref: unknown, op: FlatOp): EntityId {
    if (typeof ref === 'number') return this.existing(ref, op);
    if (ref === TX_TEMPID) return this.tx;
    if (typeof ref === 'string') {
      if (isKeyword(ref)) return this.ident(ref, op);
      const id = this.tempids.get(ref);
      if (id === undefined) throw new Error(`internal: tempid ${ref} unresolved: ${sourceOf(op)}`);
      return id;
    }
    if (Array.isArray(ref)) {
      const [a, v] = lookupPair(this.host.schema, ref, op);
      const holder = first(this.host.state.holdersOf(a, v));
      if (holder === undefined)
        throw new TransactionError(`lookup ref ${formatOp(ref)} matches no entity: ${sourceOf(op)}`, 'lookup-ref-not-found');
      return holder;
    }
    throw new TransactionError(
      `not an entity id, tempid, ident or lookup ref: ${describe(ref)}: ${sourceOf(op)}`,
      'invalid-entity',
    );
  }

  /**
   * Stored text of a value for an attribute, refs (also inside tuples) resolved to entity
   * ids; undefined when a lookup ref in it needs a read first (see loadRefs).
   */
  valueNow(attribute: Attribute, v: unknown, op: FlatOp): string | undefined {
    const schema = this.host.schema;
    if (attribute.valueType === 'ref') {
      const id = this.refNow(v, op);
      return id === undefined ? undefined : String(id);
    }
    if (attribute.valueType === 'tuple') {
      const types = schema.elementTypes(attribute);
      if (types?.includes('ref') && Array.isArray(v)) {
        const resolved: unknown[] = [];
        for (const [i, el] of v.entries()) {
          if (!isRefElement(types, i) || el === null || el === undefined) {
            resolved.push(el);
            continue;
          }
          const id = this.refNow(el, op);
          if (id === undefined) return undefined;
          resolved.push(id);
        }
        return encodePlain(schema, attribute, resolved);
      }
    }
    return encodePlain(schema, attribute, v);
  }

  /** Reads the holders of the lookup refs in a value, so that valueNow can resolve them. */
  async loadRefs(attribute: Attribute, v: unknown, op: FlatOp): Promise<void> {
    const pairs: Array<[EntityId, string]> = [];
    const schema = this.host.schema;
    if (attribute.valueType === 'ref' && Array.isArray(v)) pairs.push(lookupPair(schema, v, op));
    if (attribute.valueType === 'tuple' && Array.isArray(v)) {
      const types = schema.elementTypes(attribute) ?? [];
      v.forEach((el, i) => {
        if (isRefElement(types, i) && Array.isArray(el)) pairs.push(lookupPair(schema, el, op));
      });
    }
    await this.host.state.loadHolders(pairs);
  }

  private refNow(v: unknown, op: FlatOp): EntityId | undefined {
    if (typeof v === 'number') return this.existing(v, op);
    if (v === TX_TEMPID) return this.tx;
    if (typeof v === 'string') {
      if (isKeyword(v)) return this.ident(v, op);
      const id = this.tempids.get(v);
      if (id === undefined)
        throw new TransactionError(
          `tempid ${JSON.stringify(v)} is used as a value but names no entity of the transaction: ${sourceOf(op)}`,
          'tempid-not-an-entity',
        );
      return id;
    }
    if (Array.isArray(v)) {
      const [a, text] = lookupPair(this.host.schema, v, op);
      if (!this.host.state.hasHolders(a, text)) return undefined;
      const holder = first(this.host.state.holdersOf(a, text));
      if (holder === undefined)
        throw new TransactionError(`lookup ref ${formatOp(v)} matches no entity: ${sourceOf(op)}`, 'lookup-ref-not-found');
      return holder;
    }
    throw new ValueError(`expected an entity id, ident, tempid or lookup ref, got ${describe(v)}`);
  }

  private ident(ident: string, op: FlatOp): EntityId {
    const id = this.host.schema.identToId.get(ident);
    if (id === undefined) throw new TransactionError(`unknown ident ${ident}: ${sourceOf(op)}`, 'unknown-ident');
    return id;
  }

  private existing(e: EntityId, op: FlatOp): EntityId {
    if (!Number.isSafeInteger(e) || e < 0 || e >= this.host.nextEid)
      throw new TransactionError(`entity id ${e} does not exist (never allocated): ${sourceOf(op)}`, 'unknown-entity');
    return e;
  }

  /** The tempids the user wrote, and "datomic.tx". */
  userTempids(isUserTempid: (tempid: string) => boolean): Record<string, EntityId> {
    const out: Record<string, EntityId> = {};
    for (const [k, v] of this.tempids) if (isUserTempid(k)) out[k] = v;
    out[TX_TEMPID] = this.tx;
    return out;
  }
}

/** Whether element i of a tuple with these element types is a ref (one type: every element's). */
function isRefElement(types: readonly ValueType[], i: number): boolean {
  return (types.length === 1 ? types[0] : types[i]) === 'ref';
}

function first<T>(items: Iterable<T>): T | undefined {
  for (const x of items) return x;
  return undefined;
}
