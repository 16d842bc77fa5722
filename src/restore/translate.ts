// One source transaction as target operations: entity ids remapped, attributes and
// built-in entities by ident, bookkeeping of the source dropped, elision and rewrite
// applied by ident per datom.
import type { Attribute, EntityId, Transaction, TxOp, Value, ValueType } from '../db/types';
import { ORIGINAL_ID } from '../idmap/idmap';
import { TXCLONE_NAMESPACE, bookkeepingAttributes } from './bookkeeping';

/** A function that replaces an attribute's values during a restore (masking data in a staging copy). */
export type Rewrite = (value: Value, datom: { t: number; e: EntityId; attribute: string }) => Value;

export interface TranslateOptions {
  /** Attributes (idents) whose datoms are dropped. */
  elide: ReadonlySet<string>;
  /** Attribute (ident) to a function of the value. */
  rewrite: ReadonlyMap<string, Rewrite>;
}

export interface SourceSchema {
  attributes: ReadonlyMap<EntityId, Attribute>;
  /** Source entities that exist before the first transaction (built-ins), id to ident. */
  builtins: ReadonlyMap<EntityId, string>;
  /** The source's own txclone attributes, when the source is itself a replica. */
  bookkeeping: ReadonlySet<EntityId>;
}

export function sourceSchema(attributes: readonly Attribute[], builtins: Iterable<readonly [EntityId, string]>): SourceSchema {
  return {
    attributes: new Map(attributes.map((a) => [a.id, a])),
    builtins: new Map(builtins),
    bookkeeping: bookkeepingAttributes(attributes),
  };
}

/** Which source ids the target holds (target id), and which this batch creates. */
export interface IdState {
  resolved: ReadonlyMap<EntityId, EntityId | null>;
  /** Source ids created by an earlier transaction of the same batch (not committed yet). */
  createdInBatch: Set<EntityId>;
}

export interface TranslatedTx {
  ops: TxOp[];
  /** Source ids this transaction creates, each under the tempid tempidFor(id). */
  created: EntityId[];
  /** Source datoms kept after elision. */
  kept: number;
  /** Explicit retractions among the operations. */
  retractions: number;
}

export const tempidFor = (sourceId: EntityId) => `s${sourceId}`;

/** Every source entity id a transaction mentions (e, and v of refs and ref tuples). */
export function referencedIds(tx: Transaction, schema: SourceSchema, into = new Set<EntityId>()): Set<EntityId> {
  const add = (id: EntityId) => {
    if (id !== tx.tx && !schema.builtins.has(id)) into.add(id);
  };
  for (const [e, a, v] of tx.datoms) {
    add(e);
    add(a);
    const attribute = schema.attributes.get(a);
    if (!attribute) continue;
    if (attribute.valueType === 'ref') add(v as number);
    else if (attribute.valueType === 'tuple') for (const id of tupleRefs(attribute, v, schema)) add(id);
  }
  return into;
}

export function translateTx(tx: Transaction, schema: SourceSchema, ids: IdState, options: TranslateOptions): TranslatedTx {
  const ops: TxOp[] = [];
  const created: EntityId[] = [];
  const createdHere = new Set<EntityId>();
  let kept = 0;
  let retractions = 0;

  const entity = (sourceId: EntityId): EntityId | string | readonly [string, number] => {
    if (sourceId === tx.tx) return 'datomic.tx';
    const builtin = schema.builtins.get(sourceId);
    if (builtin !== undefined) return builtin;
    const target = ids.resolved.get(sourceId);
    if (target !== null && target !== undefined) return target;
    if (ids.createdInBatch.has(sourceId)) return [ORIGINAL_ID, sourceId] as const;
    if (!createdHere.has(sourceId)) {
      createdHere.add(sourceId);
      created.push(sourceId);
      // The original id is unique identity: should the target hold it after all, the tempid upserts onto it.
      ops.push([':db/add', tempidFor(sourceId), ORIGINAL_ID, sourceId]);
    }
    return tempidFor(sourceId);
  };

  // A source that is itself a replica: its bookkeeping attributes are its own, not data.
  let bookkeeping = schema.bookkeeping;
  for (const [e, a, v] of tx.datoms) {
    if (typeof v === 'string' && v.startsWith(TXCLONE_NAMESPACE) && schema.attributes.get(a)?.ident === ':db/ident') {
      if (bookkeeping === schema.bookkeeping) bookkeeping = new Set(bookkeeping);
      (bookkeeping as Set<EntityId>).add(e);
    }
  }

  // A user attribute the target already holds is named by its target id: that survives a
  // rename of its ident after the segment was written. One created in this batch goes by ident.
  const attributeRef = (a: EntityId, ident: string): EntityId | string => {
    if (schema.builtins.has(a)) return ident;
    const target = ids.resolved.get(a);
    return target !== null && target !== undefined ? target : ident;
  };

  ops.push([':db/add', 'datomic.tx', ORIGINAL_ID, tx.tx]);
  for (const [e, a, v, added] of tx.datoms) {
    if (bookkeeping.has(e)) continue;
    const attribute = schema.attributes.get(a);
    if (!attribute) throw new Error(`t=${tx.t}: datom of attribute ${a}, which the segment's schema lacks`);
    const ident = attribute.ident;
    if (ident.startsWith(TXCLONE_NAMESPACE)) continue; // the source is itself a replica
    if (e === tx.tx && ident === ':db/txInstant') continue; // carried as the transaction's instant
    if (attribute.tupleAttrs) continue; // a composite tuple: the target derives it
    if (options.elide.has(ident)) continue;
    kept++;
    let value: unknown = v;
    const rewrite = options.rewrite.get(ident);
    if (rewrite) value = rewrite(v, { t: tx.t, e, attribute: ident });
    if (attribute.valueType === 'ref') value = entity(v as number);
    else if (attribute.valueType === 'tuple') value = mapTupleRefs(attribute, value as Value, schema, entity);
    const target = entity(e);
    const attr = attributeRef(a, ident);
    if (added) {
      ops.push([':db/add', target, attr, value]);
    } else {
      ops.push([':db/retract', target, attr, value]);
      retractions++;
    }
  }
  return { ops, created, kept, retractions };
}

function elementTypes(attribute: Attribute, schema: SourceSchema): ValueType[] | null {
  if (attribute.tupleType) return [attribute.tupleType];
  if (attribute.tupleTypes) return attribute.tupleTypes;
  if (attribute.tupleAttrs) {
    const byIdent = new Map([...schema.attributes.values()].map((a) => [a.ident, a.valueType]));
    return attribute.tupleAttrs.map((ident) => byIdent.get(ident) ?? 'string');
  }
  return null;
}

function tupleRefs(attribute: Attribute, v: Value, schema: SourceSchema): EntityId[] {
  const types = elementTypes(attribute, schema);
  if (!types?.includes('ref') || !Array.isArray(v)) return [];
  const out: EntityId[] = [];
  v.forEach((el, i) => {
    if ((types.length === 1 ? types[0] : types[i]) === 'ref' && typeof el === 'number') out.push(el);
  });
  return out;
}

function mapTupleRefs(
  attribute: Attribute,
  v: Value,
  schema: SourceSchema,
  entity: (id: EntityId) => unknown,
): unknown {
  const types = elementTypes(attribute, schema);
  if (!types?.includes('ref') || !Array.isArray(v)) return v;
  return v.map((el, i) => ((types.length === 1 ? types[0] : types[i]) === 'ref' && typeof el === 'number' ? entity(el) : el));
}
