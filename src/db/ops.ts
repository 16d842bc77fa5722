// Transaction data as users write it, turned into flat operations: entity maps expand
// into :db/add, nested maps become entities of their own.
import { TransactionError } from './errors';
import type { Attribute, EntityId, EntityRef, TxOp, ValueType } from './types';
import { VALUE_TYPES } from './types';
import { describe } from './values';

interface OpBase {
  /** The operation as the user wrote it (a list form or an entity map), for error messages. */
  origin: unknown;
}

export type FlatOp =
  | (OpBase & { kind: 'add'; e: EntityRef; a: string | EntityId; v: unknown })
  | (OpBase & { kind: 'retract'; e: EntityRef; a: string | EntityId; v: unknown; hasValue: boolean })
  | (OpBase & { kind: 'cas'; e: EntityRef; a: string | EntityId; old: unknown; v: unknown })
  | (OpBase & { kind: 'retractEntity'; e: EntityRef });

/** What entity maps need to know of an attribute. */
export type MapAttribute = Pick<Attribute, 'valueType' | 'cardinality' | 'unique' | 'isComponent'>;

/** Resolves an attribute (existing or being defined in the same transaction) by ident or id. */
export type AttributeLookup = (a: string | EntityId) => MapAttribute | undefined;

export function formatOp(op: unknown): string {
  try {
    const text = JSON.stringify(op, (_k, v: unknown) =>
      typeof v === 'bigint' ? `${v}N` : v instanceof Uint8Array ? `bytes[${v.length}]` : v,
    );
    return text.length > 300 ? text.slice(0, 300) + '…' : text;
  } catch {
    return describe(op);
  }
}

/** The user's operation an error is about, formatted. */
export function sourceOf(op: OpBase): string {
  return formatOp(op.origin);
}

export function isEntityMap(op: unknown): op is Record<string, unknown> {
  return (
    typeof op === 'object' && op !== null && !Array.isArray(op) && !(op instanceof Uint8Array) && !(op instanceof Date)
  );
}

export interface FlattenContext {
  attribute: AttributeLookup;
  newTempid(): string;
}

export function flatten(ops: readonly TxOp[], ctx: FlattenContext): FlatOp[] {
  const out: FlatOp[] = [];
  for (const op of ops) {
    if (Array.isArray(op)) out.push(listOp(op));
    else if (isEntityMap(op)) expandMap(op, ctx, out);
    else throw new TransactionError(`not a transaction operation: ${formatOp(op)}`, 'invalid-op');
  }
  return out;
}

function listOp(op: readonly unknown[]): FlatOp {
  const [kind, e, a, v, w] = op;
  const fail = (why: string): never => {
    throw new TransactionError(`${why}: ${formatOp(op)}`, 'invalid-op');
  };
  const arity = (n: number) => {
    if (op.length !== n) fail(`${String(kind)} takes ${n - 1} arguments`);
  };
  const attr = (): string | EntityId =>
    typeof a === 'string' || typeof a === 'number' ? a : fail('the attribute must be an ident or an id');
  switch (kind) {
    case ':db/add':
      arity(4);
      return { kind: 'add', e: e as EntityRef, a: attr(), v, origin: op };
    case ':db/retract':
      if (op.length !== 3 && op.length !== 4) fail(':db/retract takes an entity, an attribute and optionally a value');
      return { kind: 'retract', e: e as EntityRef, a: attr(), v, hasValue: op.length === 4, origin: op };
    case ':db/cas':
      arity(5);
      return { kind: 'cas', e: e as EntityRef, a: attr(), old: v, v: w, origin: op };
    case ':db/retractEntity':
      arity(2);
      return { kind: 'retractEntity', e: e as EntityRef, origin: op };
    default:
      return fail(`unknown operation ${formatOp(kind)}`);
  }
}

function expandMap(map: Record<string, unknown>, ctx: FlattenContext, out: FlatOp[]): EntityRef {
  const e = (map[':db/id'] as EntityRef | undefined) ?? ctx.newTempid();
  for (const [key, value] of Object.entries(map)) {
    if (key === ':db/id' || value === undefined) continue;
    const attribute = ctx.attribute(key);
    if (!attribute) {
      const forward = reverseOf(key);
      if (forward !== null && ctx.attribute(forward)) {
        reverseRef(map, e, key, forward, value, ctx, out);
        continue;
      }
      throw new TransactionError(`unknown attribute ${key} in ${formatOp(map)}`, 'unknown-attribute');
    }
    for (const v of mapValues(attribute, value)) {
      let resolved = v;
      if (attribute.valueType === 'ref' && isEntityMap(v)) {
        checkNested(key, attribute, v, map, ctx);
        resolved = expandMap(v, ctx, out);
      }
      out.push({ kind: 'add', e, a: key, v: resolved, origin: map });
    }
  }
  return e;
}

/** ':ns/_name' names ':ns/name' in reverse; null for any other key. */
export function reverseOf(key: string): string | null {
  const m = /^(:(?:[^/]+\/)?)_([^/]+)$/.exec(key);
  return m ? `${m[1]}${m[2]}` : null;
}

/**
 * A reverse attribute in a map, {':db/id': petr, ':p/_friends': ivan}: the entities the value
 * names (an entity, a nested map, or a list of them) hold the forward ref to the map's entity.
 */
function reverseRef(
  map: Record<string, unknown>,
  e: EntityRef,
  key: string,
  forward: string,
  value: unknown,
  ctx: FlattenContext,
  out: FlatOp[],
): void {
  const attribute = ctx.attribute(forward)!;
  if (attribute.valueType !== 'ref')
    throw new TransactionError(`${key} names ${forward} in reverse, which is not a ref attribute: ${formatOp(map)}`, 'invalid-op');
  // A list of entities, unless it reads as one lookup ref [unique attribute, value].
  const isLookupRef =
    Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && ctx.attribute(value[0])?.unique != null;
  const holders = Array.isArray(value) && !isLookupRef ? value : [value];
  for (const holder of holders) {
    if (holder === null || holder === undefined)
      throw new TransactionError(`${key} needs an entity, got ${describe(holder)}: ${formatOp(map)}`, 'invalid-op');
    const h = isEntityMap(holder) ? expandMap(holder, ctx, out) : (holder as EntityRef);
    out.push({ kind: 'add', e: h, a: forward, v: e, origin: map });
  }
}

/**
 * Datomic's rule for a nested map under a ref: it must be a component, or hold a unique
 * attribute (so it can be found again), or name an existing entity by :db/id. Otherwise the
 * transaction would create an entity nothing can find but the one ref, which is refused.
 */
function checkNested(key: string, attribute: MapAttribute, nested: Record<string, unknown>, map: unknown, ctx: FlattenContext): void {
  if (attribute.isComponent) return;
  const id = nested[':db/id'];
  if (id !== undefined && (typeof id === 'number' || Array.isArray(id) || isKeywordRef(id))) return;
  for (const k of Object.keys(nested)) if (k !== ':db/id' && ctx.attribute(k)?.unique) return;
  throw new TransactionError(
    `nested map under ${key} holds no unique attribute, and ${key} is not a component: ` +
      `it would create an entity only that ref can reach (give it a unique attribute, ` +
      `make ${key} a component, or transact it as its own map): ${formatOp(map)}`,
    'invalid-nested-entity',
  );
}

function isKeywordRef(x: unknown): boolean {
  return typeof x === 'string' && x.startsWith(':');
}

/** The values an entity map gives for an attribute: for cardinality many an array lists them. */
export function mapValues(attribute: Pick<Attribute, 'valueType' | 'cardinality'>, value: unknown): unknown[] {
  if (attribute.cardinality !== 'many' || !Array.isArray(value)) return [value];
  // A tuple's own value is an array: only an array of arrays (or an empty one) lists tuples.
  if (attribute.valueType === 'tuple' && value.length > 0 && !Array.isArray(value[0])) return [value];
  return value;
}

/** Attributes a transaction defines, by ident, so that its entity maps can use them. */
export function pendingAttributes(ops: readonly TxOp[]): Map<string, MapAttribute> {
  const byEntity = new Map<unknown, Record<string, unknown>>();
  const merge = (e: unknown, a: string, v: unknown) => {
    const key = Array.isArray(e) ? JSON.stringify(e) : e;
    const entry = byEntity.get(key) ?? {};
    entry[a] = v;
    byEntity.set(key, entry);
  };
  for (const op of ops) {
    if (Array.isArray(op)) {
      if (op[0] === ':db/add' && typeof op[2] === 'string') merge(op[1], op[2], op[3]);
    } else if (isEntityMap(op) && ':db/ident' in op) {
      for (const [k, v] of Object.entries(op)) merge(op[':db/id'] ?? op, k, v);
    }
  }
  const out = new Map<string, MapAttribute>();
  for (const entry of byEntity.values()) {
    const ident = entry[':db/ident'];
    const typeKeyword = entry[':db/valueType'];
    const type = typeof typeKeyword === 'string' ? typeKeyword.replace(/^:db\.type\//, '') : '';
    if (typeof ident !== 'string' || !VALUE_TYPES.includes(type as ValueType)) continue;
    const unique = entry[':db/unique'];
    out.set(ident, {
      valueType: type as ValueType,
      cardinality: entry[':db/cardinality'] === ':db.cardinality/many' ? 'many' : 'one',
      unique: unique === ':db.unique/identity' ? 'identity' : unique === ':db.unique/value' ? 'value' : null,
      isComponent: entry[':db/isComponent'] === true,
    });
  }
  return out;
}
