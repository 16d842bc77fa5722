// A snapshot of the schema: idents both ways and the attributes, derived from the
// datoms of the entities that hold :db/ident.
import {
  CARDINALITY_MANY,
  CARDINALITY_ONE,
  DB_CARDINALITY,
  DB_IDENT,
  DB_IS_COMPONENT,
  DB_NO_HISTORY,
  DB_TUPLE_ATTRS,
  DB_TUPLE_TYPE,
  DB_TUPLE_TYPES,
  DB_UNIQUE,
  DB_VALUE_TYPE,
  UNIQUE_IDENTITY,
  UNIQUE_VALUE,
  typeEntityId,
} from './builtins';
import type { Attribute, EntityId, ValueType } from './types';
import { VALUE_TYPES } from './types';

/** The stored datoms of one entity: attribute id to the stored texts of its values. */
export type StoredEntity = Map<EntityId, Set<string>>;

const TYPE_BY_ENTITY = new Map<EntityId, ValueType>(VALUE_TYPES.map((t) => [typeEntityId(t), t]));

function one(entity: StoredEntity, a: EntityId): string | undefined {
  const values = entity.get(a);
  if (!values) return undefined;
  for (const v of values) return v;
  return undefined;
}

function keywordType(s: string | undefined): ValueType | null {
  if (s === undefined || !s.startsWith(':db.type/')) return null;
  const t = s.slice(':db.type/'.length) as ValueType;
  return VALUE_TYPES.includes(t) ? t : null;
}

/** The attribute an entity's datoms describe, or null when it is not (yet) an attribute. */
export function attributeOf(id: EntityId, entity: StoredEntity): Attribute | null {
  const ident = one(entity, DB_IDENT);
  const typeRef = one(entity, DB_VALUE_TYPE);
  const cardRef = one(entity, DB_CARDINALITY);
  if (ident === undefined || typeRef === undefined || cardRef === undefined) return null;
  const valueType = TYPE_BY_ENTITY.get(Number(typeRef));
  const card = Number(cardRef);
  if (!valueType || (card !== CARDINALITY_ONE && card !== CARDINALITY_MANY)) return null;
  const uniqueRef = Number(one(entity, DB_UNIQUE));
  const tupleAttrs = one(entity, DB_TUPLE_ATTRS);
  const tupleTypesText = one(entity, DB_TUPLE_TYPES);
  const tupleTypes = tupleTypesText
    ? (JSON.parse(tupleTypesText) as (string | null)[]).map((k) => keywordType(k ?? undefined))
    : null;
  if (tupleTypes?.includes(null)) return null;
  return {
    id,
    ident,
    valueType,
    cardinality: card === CARDINALITY_MANY ? 'many' : 'one',
    unique: uniqueRef === UNIQUE_IDENTITY ? 'identity' : uniqueRef === UNIQUE_VALUE ? 'value' : null,
    isComponent: one(entity, DB_IS_COMPONENT) === 'true',
    noHistory: one(entity, DB_NO_HISTORY) === 'true',
    tupleAttrs: tupleAttrs ? (JSON.parse(tupleAttrs) as string[]) : null,
    tupleType: keywordType(one(entity, DB_TUPLE_TYPE)),
    tupleTypes: tupleTypes as ValueType[] | null,
  };
}

export class Schema {
  readonly identToId = new Map<string, EntityId>();
  readonly idToIdent = new Map<EntityId, string>();
  readonly attributes = new Map<EntityId, Attribute>();
  /** Composite tuple attributes by the id of each attribute they derive from. */
  readonly compositesBySource = new Map<EntityId, Attribute[]>();

  constructor(entities: Map<EntityId, StoredEntity>) {
    for (const [id, entity] of entities) {
      const ident = one(entity, DB_IDENT);
      if (ident === undefined) continue;
      this.identToId.set(ident, id);
      this.idToIdent.set(id, ident);
      const attribute = attributeOf(id, entity);
      if (attribute) this.attributes.set(id, attribute);
    }
    for (const attribute of this.attributes.values()) {
      for (const source of attribute.tupleAttrs ?? []) {
        const sourceId = this.identToId.get(source);
        if (sourceId === undefined) continue;
        const list = this.compositesBySource.get(sourceId) ?? [];
        list.push(attribute);
        this.compositesBySource.set(sourceId, list);
      }
    }
  }

  attribute(ref: string | EntityId): Attribute | undefined {
    const id = typeof ref === 'number' ? ref : this.identToId.get(ref);
    return id === undefined ? undefined : this.attributes.get(id);
  }

  /** The element types of a tuple attribute (one entry for a homogeneous tuple). */
  elementTypes(attribute: Attribute): ValueType[] | undefined {
    if (attribute.tupleType) return [attribute.tupleType];
    if (attribute.tupleTypes) return attribute.tupleTypes;
    if (attribute.tupleAttrs) {
      const types: ValueType[] = [];
      for (const source of attribute.tupleAttrs) {
        const a = this.attribute(source);
        if (!a) return undefined;
        types.push(a.valueType);
      }
      return types;
    }
    return undefined;
  }
}
