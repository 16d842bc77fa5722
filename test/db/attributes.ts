// Schema as transaction data, for the example tests.
import type { EntityMap, ValueType } from '../../src/db/types';

export interface AttributeOptions {
  many?: boolean;
  unique?: 'identity' | 'value';
  component?: boolean;
  tupleType?: ValueType;
  tupleTypes?: ValueType[];
  tupleAttrs?: string[];
  doc?: string;
}

/** The entity map that installs an attribute. */
export function attribute(ident: string, type: ValueType, options: AttributeOptions = {}): EntityMap {
  const map: Record<string, unknown> = {
    ':db/ident': ident,
    ':db/valueType': `:db.type/${type}`,
    ':db/cardinality': options.many ? ':db.cardinality/many' : ':db.cardinality/one',
  };
  if (options.unique) map[':db/unique'] = `:db.unique/${options.unique}`;
  if (options.component) map[':db/isComponent'] = true;
  if (options.tupleType) map[':db/tupleType'] = `:db.type/${options.tupleType}`;
  if (options.tupleTypes) map[':db/tupleTypes'] = options.tupleTypes.map((t) => `:db.type/${t}`);
  if (options.tupleAttrs) map[':db/tupleAttrs'] = options.tupleAttrs;
  if (options.doc) map[':db/doc'] = options.doc;
  return map;
}

/** A small schema most example tests use. */
export const PEOPLE: EntityMap[] = [
  attribute(':person/name', 'string', { unique: 'identity' }),
  attribute(':person/email', 'string', { unique: 'value' }),
  attribute(':person/age', 'long'),
  attribute(':person/nick', 'string', { many: true }),
  attribute(':person/friend', 'ref'),
  attribute(':person/friends', 'ref', { many: true }),
  attribute(':person/address', 'ref', { component: true }),
  attribute(':person/status', 'ref'),
  attribute(':address/street', 'string'),
  attribute(':address/geo', 'ref', { component: true }),
  attribute(':geo/lat', 'double'),
  { ':db/ident': ':status/active' },
  { ':db/ident': ':status/away' },
  attribute(':audit/user', 'string'),
];
