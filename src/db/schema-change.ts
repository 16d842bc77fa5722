// The rules a schema change must follow. The log is decoded with the current schema, so an
// attribute, once installed, stays one and keeps how its values are encoded: its valueType
// and its tuple element types never change, and it cannot be retracted (rename it instead).
import {
  DB_CARDINALITY,
  DB_IS_COMPONENT,
  DB_TUPLE_ATTRS,
  DB_TUPLE_TYPE,
  DB_TUPLE_TYPES,
  DB_UNIQUE,
  DB_VALUE_TYPE,
  FIRST_USER_ENTITY_ID,
} from './builtins';
import type { Schema, StoredEntity } from './schema';
import type { Attribute, EntityId } from './types';

/** A change that is allowed only when the data already satisfies it. */
export type Alteration =
  | { kind: 'cardinality-one'; attribute: Attribute }
  | { kind: 'unique'; attribute: Attribute };

const DEFINING = [DB_VALUE_TYPE, DB_CARDINALITY, DB_UNIQUE, DB_IS_COMPONENT, DB_TUPLE_ATTRS, DB_TUPLE_TYPE, DB_TUPLE_TYPES];

const sameList = (x: readonly string[] | null, y: readonly string[] | null) =>
  x === y || (x !== null && y !== null && x.length === y.length && x.every((s, i) => s === y[i]));

/**
 * Checks the schema after a transaction touched the schema datoms of `touched` entities.
 * Returns the first problem, in words, and the alterations whose data must be checked.
 */
export function checkSchemaChange(
  before: Schema,
  after: Schema,
  touched: Iterable<EntityId>,
  entityOf: (e: EntityId) => StoredEntity,
): { problem: string | null; alterations: Alteration[] } {
  const alterations: Alteration[] = [];
  const fail = (problem: string) => ({ problem, alterations });
  for (const e of touched) {
    const name = before.idToIdent.get(e) ?? after.idToIdent.get(e) ?? `entity ${e}`;
    if (e < FIRST_USER_ENTITY_ID) return fail(`the built-in schema cannot change (${name})`);
    const old = before.attributes.get(e);
    const now = after.attributes.get(e);
    if (old && !now)
      return fail(`attribute ${old.ident} cannot be retracted, nor its :db/ident, :db/valueType or :db/cardinality (rename it instead)`);
    if (!now) {
      if (DEFINING.some((a) => entityOf(e).has(a)))
        return fail(`attribute ${name} needs :db/ident, :db/valueType (one of :db.type/*) and :db/cardinality`);
      continue;
    }
    const problem = attributeProblem(after, now);
    if (problem) return fail(problem);
    if (!old) continue;
    if (old.valueType !== now.valueType)
      return fail(`the :db/valueType of attribute ${old.ident} cannot change (${old.valueType} to ${now.valueType})`);
    if (
      !sameList(old.tupleAttrs, now.tupleAttrs) ||
      old.tupleType !== now.tupleType ||
      !sameList(old.tupleTypes, now.tupleTypes)
    )
      return fail(`the tuple definition of attribute ${old.ident} cannot change`);
    if (old.cardinality === 'many' && now.cardinality === 'one') alterations.push({ kind: 'cardinality-one', attribute: now });
    if (!old.unique && now.unique) alterations.push({ kind: 'unique', attribute: now });
  }
  for (const composite of after.attributes.values()) {
    for (const source of composite.tupleAttrs ?? []) {
      if (!after.attribute(source))
        return fail(`composite tuple ${composite.ident} derives from ${source}, which is no longer an attribute`);
    }
  }
  return { problem: null, alterations };
}

function attributeProblem(schema: Schema, a: Attribute): string | null {
  if (a.isComponent && a.valueType !== 'ref') return `attribute ${a.ident} is a component but not a ref`;
  const tupleFields = [a.tupleAttrs, a.tupleType, a.tupleTypes].filter((x) => x !== null).length;
  if (a.valueType !== 'tuple') {
    return tupleFields ? `attribute ${a.ident} has tuple fields but is a ${a.valueType}` : null;
  }
  if (tupleFields !== 1)
    return `tuple attribute ${a.ident} needs exactly one of :db/tupleAttrs, :db/tupleType (a :db.type/* keyword) or :db/tupleTypes`;
  if (a.tupleType === 'tuple' || a.tupleTypes?.includes('tuple')) return `tuple attribute ${a.ident} cannot nest tuples`;
  const arity = a.tupleAttrs?.length ?? a.tupleTypes?.length;
  if (arity !== undefined && (arity < 2 || arity > 8)) return `tuple attribute ${a.ident} needs 2 to 8 elements, has ${arity}`;
  for (const ident of a.tupleAttrs ?? []) {
    const source = schema.attribute(ident);
    if (!source) return `composite tuple ${a.ident} derives from ${ident}, which is not an attribute`;
    if (source.valueType === 'tuple' || source.cardinality !== 'one')
      return `composite tuple ${a.ident} derives from ${ident}, which must be a cardinality-one non-tuple attribute`;
  }
  return null;
}
