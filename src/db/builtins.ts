// The built-in schema: entities that exist before the first transaction.
import type { Attribute, EntityId, ValueType } from './types';
import { VALUE_TYPES } from './types';

export const FIRST_USER_ENTITY_ID = 1000;

export const DB_IDENT = 1;
export const DB_VALUE_TYPE = 2;
export const DB_CARDINALITY = 3;
export const DB_UNIQUE = 4;
export const DB_IS_COMPONENT = 5;
export const DB_NO_HISTORY = 6;
export const DB_INDEX = 7;
export const DB_DOC = 8;
export const DB_TUPLE_ATTRS = 9;
export const DB_TUPLE_TYPE = 10;
export const DB_TUPLE_TYPES = 11;
export const DB_TX_INSTANT = 12;

const TYPE_BASE = 20;
export const CARDINALITY_ONE = 40;
export const CARDINALITY_MANY = 41;
export const UNIQUE_IDENTITY = 42;
export const UNIQUE_VALUE = 43;

export function typeEntityId(type: ValueType): EntityId {
  return TYPE_BASE + VALUE_TYPES.indexOf(type);
}

/** The attributes that describe attributes: changing one of their datoms changes the schema. */
export const SCHEMA_ATTRIBUTE_IDS: ReadonlySet<EntityId> = new Set([
  DB_IDENT,
  DB_VALUE_TYPE,
  DB_CARDINALITY,
  DB_UNIQUE,
  DB_IS_COMPONENT,
  DB_NO_HISTORY,
  DB_TUPLE_ATTRS,
  DB_TUPLE_TYPE,
  DB_TUPLE_TYPES,
]);

function attr(
  id: EntityId,
  ident: string,
  valueType: ValueType,
  extra: Partial<Attribute> = {},
): Attribute {
  return {
    id,
    ident,
    valueType,
    cardinality: 'one',
    unique: null,
    isComponent: false,
    noHistory: false,
    tupleAttrs: null,
    tupleType: null,
    tupleTypes: null,
    ...extra,
  };
}

export const BUILTIN_ATTRIBUTES: readonly Attribute[] = [
  attr(DB_IDENT, ':db/ident', 'keyword', { unique: 'identity' }),
  attr(DB_VALUE_TYPE, ':db/valueType', 'ref'),
  attr(DB_CARDINALITY, ':db/cardinality', 'ref'),
  attr(DB_UNIQUE, ':db/unique', 'ref'),
  attr(DB_IS_COMPONENT, ':db/isComponent', 'boolean'),
  attr(DB_NO_HISTORY, ':db/noHistory', 'boolean'),
  attr(DB_INDEX, ':db/index', 'boolean'),
  attr(DB_DOC, ':db/doc', 'string'),
  attr(DB_TUPLE_ATTRS, ':db/tupleAttrs', 'tuple', { tupleType: 'keyword' }),
  attr(DB_TUPLE_TYPE, ':db/tupleType', 'keyword'),
  attr(DB_TUPLE_TYPES, ':db/tupleTypes', 'tuple', { tupleType: 'keyword' }),
  attr(DB_TX_INSTANT, ':db/txInstant', 'instant'),
];

/** Every built-in entity: id to ident. */
export function builtinIdents(): Map<EntityId, string> {
  const idents = new Map<EntityId, string>();
  for (const a of BUILTIN_ATTRIBUTES) idents.set(a.id, a.ident);
  for (const t of VALUE_TYPES) idents.set(typeEntityId(t), `:db.type/${t}`);
  idents.set(CARDINALITY_ONE, ':db.cardinality/one');
  idents.set(CARDINALITY_MANY, ':db.cardinality/many');
  idents.set(UNIQUE_IDENTITY, ':db.unique/identity');
  idents.set(UNIQUE_VALUE, ':db.unique/value');
  return idents;
}

/** The datoms the built-in entities hold, [e, a, v] with v as a JS value. */
export function builtinDatoms(): Array<[EntityId, EntityId, unknown]> {
  const datoms: Array<[EntityId, EntityId, unknown]> = [];
  for (const [id, ident] of builtinIdents()) datoms.push([id, DB_IDENT, ident]);
  for (const a of BUILTIN_ATTRIBUTES) {
    datoms.push([a.id, DB_VALUE_TYPE, typeEntityId(a.valueType)]);
    datoms.push([a.id, DB_CARDINALITY, a.cardinality === 'one' ? CARDINALITY_ONE : CARDINALITY_MANY]);
    if (a.unique) datoms.push([a.id, DB_UNIQUE, a.unique === 'identity' ? UNIQUE_IDENTITY : UNIQUE_VALUE]);
    if (a.tupleType) datoms.push([a.id, DB_TUPLE_TYPE, `:db.type/${a.tupleType}`]);
  }
  datoms.push([DB_DOC, DB_DOC, 'Documentation string for an entity.']);
  datoms.push([DB_TX_INSTANT, DB_INDEX, true]);
  return datoms;
}
