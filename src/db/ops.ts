// Transaction data as users write it, turned into flat operations: entity maps expand
// into :db/add, nested maps become entities of their own.
import { TransactionError } from './errors';
import type { Attribute, EntityId, EntityRef, TxOp } from './types';
import { describe } from './values';

export type FlatOp =
  | { kind: 'add'; e: EntityRef; a: string | EntityId; v: unknown; source: string }
  | { kind: 'retract'; e: EntityRef; a: string | EntityId; v: unknown; hasValue: boolean; source: string }
  | { kind: 'cas'; e: EntityRef; a: string | EntityId; old: unknown; v: unknown; source: string }
  | { kind: 'retractEntity'; e: EntityRef; source: string };

/** Resolves an attribute (existing or being defined in the same transaction) by ident or id. */
export type AttributeLookup = (a: string | EntityId) => Pick<Attribute, 'valueType' | 'cardinality'> | undefined;

export function formatOp(op: unknown): string {
  try {
    return JSON.stringify(op, (_k, v) =>
      typeof v === 'bigint' ? `${v}N` : v instanceof Uint8Array ? `bytes[${v.length}]` : v,
    );
  } catch {
    return describe(op);
  }
}

function isEntityMap(op: unknown): op is Record<string, unknown> {
  return typeof op === 'object' && op !== null && !Array.isArray(op) && !(op instanceof Uint8Array) && !(op instanceof Date);
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
  const source = formatOp(op);
  const [kind, e, a, v, w] = op;
  const arity = (n: number) => {
    if (op.length !== n) throw new TransactionError(`${kind} takes ${n - 1} arguments: ${source}`, 'invalid-op');
  };
  switch (kind) {
    case ':db/add':
      arity(4);
      return { kind: 'add', e: e as EntityRef, a: a as string, v, source };
    case ':db/retract':
      if (op.length !== 3 && op.length !== 4)
        throw new TransactionError(`:db/retract takes an entity, an attribute and optionally a value: ${source}`, 'invalid-op');
      return { kind: 'retract', e: e as EntityRef, a: a as string, v, hasValue: op.length === 4, source };
    case ':db/cas':
      arity(5);
      return { kind: 'cas', e: e as EntityRef, a: a as string, old: v, v: w, source };
    case ':db/retractEntity':
      arity(2);
      return { kind: 'retractEntity', e: e as EntityRef, source };
    default:
      throw new TransactionError(`unknown operation ${formatOp(kind)}: ${source}`, 'invalid-op');
  }
}

function expandMap(map: Record<string, unknown>, ctx: FlattenContext, out: FlatOp[]): EntityRef {
  const source = formatOp(map);
  const e = (map[':db/id'] as EntityRef | undefined) ?? ctx.newTempid();
  for (const [key, value] of Object.entries(map)) {
    if (key === ':db/id') continue;
    if (value === undefined) continue;
    const attribute = ctx.attribute(key);
    if (!attribute) throw new TransactionError(`unknown attribute ${key} in ${source}`, 'unknown-attribute');
    const many = attribute.cardinality === 'many';
    // For cardinality many an array lists values; a tuple's own value is an array.
    const listsValues =
      many && Array.isArray(value) && (attribute.valueType !== 'tuple' || value.length === 0 || Array.isArray(value[0]));
    const values = listsValues ? (value as unknown[]) : [value];
    for (const v of values) {
      const resolved = attribute.valueType === 'ref' && isEntityMap(v) ? expandMap(v, ctx, out) : v;
      out.push({ kind: 'add', e, a: key, v: resolved, source });
    }
  }
  return e;
}
