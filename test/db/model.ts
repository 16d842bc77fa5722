// A reference model of the datom database over plain Maps: slow, small, and written from
// the semantics (Datomic's, plus txclone's documented choices), sharing only types with
// src/db. The property tests run the same transactions against it and the database.
//
// The model does not choose entity ids itself when the database succeeded: it takes them
// from the database's report and checks them instead (a new id is larger than every id
// before it, an upserted tempid names the entity the model expects).
//
// Semantics, in the order they apply within one transaction:
//  - entity maps expand into :db/add (arrays list values of cardinality-many attributes,
//    nested maps of ref attributes are entities of their own);
//  - the txInstant is the explicit one (not earlier than the previous) or the database's;
//  - tempids resolve: upsert through :db.unique/identity values held before the transaction,
//    else the entity of an earlier tempid claiming the same value, else a new entity;
//  - phase 1: operations on built-in attributes, and :db/retractEntity, against the database
//    before the transaction; the schema they leave is checked (an attribute stays one and
//    keeps its valueType; the built-in entities do not change);
//  - phase 2: the other operations, seeing phase 1's attributes and idents;
//  - a datom both asserted and retracted, or two values of a cardinality-one attribute of
//    an entity, is a conflict; asserting what holds and retracting what does not record
//    nothing; cardinality one replaces the old value;
//  - composite tuples are derived for the entities whose source attributes changed;
//  - every unique value asserted is held by its entity alone.
import type { CurrentDatom, EntityId, TxDatom, TxOp, Value, ValueType } from '../../src/db/types';

export class ModelError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface ModelAttribute {
  id: EntityId;
  ident: string;
  valueType: ValueType;
  cardinality: 'one' | 'many';
  unique: 'identity' | 'value' | null;
  isComponent: boolean;
  tupleAttrs: string[] | null;
  tupleType: ValueType | null;
  tupleTypes: ValueType[] | null;
}

export interface ModelTx {
  t: number;
  tx: EntityId;
  instant: Date;
  datoms: TxDatom[];
}

/** What the database chose, when it succeeded: the model checks these and adopts them. */
export interface Chosen {
  tx: EntityId;
  instant: Date;
  tempids: Record<string, EntityId>;
}

interface ModelSchema {
  attrs: Map<EntityId, ModelAttribute>;
  idents: Map<string, EntityId>;
}

type Op =
  | { kind: 'add'; e: unknown; a: unknown; v: unknown }
  | { kind: 'retract'; e: unknown; a: unknown; v: unknown; hasValue: boolean }
  | { kind: 'cas'; e: unknown; a: unknown; old: unknown; v: unknown }
  | { kind: 'retractEntity'; e: unknown };

/** A key equal for equal values of one attribute. */
export function valueKey(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return `s${v}`;
  if (typeof v === 'number') return Object.is(v, -0) ? 'n-0' : `n${v}`;
  if (typeof v === 'bigint') return `b${v}`;
  if (typeof v === 'boolean') return `z${v}`;
  if (v instanceof Date) return `d${v.getTime()}`;
  if (v instanceof Uint8Array) return `y${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return `t${JSON.stringify(v.map(valueKey))}`;
  throw new Error(`model: no key for ${String(v)}`);
}

export const datomKey = (e: EntityId, a: EntityId, v: unknown) => `${e}|${a}|${valueKey(v)}`;

const TYPES: ValueType[] = ['string', 'keyword', 'boolean', 'long', 'bigint', 'double', 'bigdec', 'instant', 'uuid', 'uri', 'bytes', 'ref', 'tuple', 'float', 'symbol'];

/**
 * A bigdec as Java's BigDecimal.toString prints it: the unscaled integer and the scale decide
 * the text, so '+12.50' and '1250E-2' are '12.50', and '12.5' stays itself.
 */
export function bigdecText(s: string): string {
  const [, sign, whole, fraction = '', exp = '0'] = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(s)!;
  const unscaled = BigInt((whole || '0') + fraction);
  const scale = fraction.length - Number(exp);
  const digits = unscaled.toString();
  const adjusted = -scale + digits.length - 1;
  const minus = sign === '-' && unscaled !== 0n ? '-' : '';
  if (scale >= 0 && adjusted >= -6) {
    const padded = digits.padStart(scale + 1, '0');
    const point = padded.length - scale;
    return minus + padded.slice(0, point) + (scale > 0 ? '.' + padded.slice(point) : '');
  }
  return `${minus}${digits[0]}${digits.length > 1 ? '.' + digits.slice(1) : ''}E${adjusted >= 0 ? '+' : ''}${adjusted}`;
}
const SCHEMA_IDENTS = [':db/ident', ':db/valueType', ':db/cardinality', ':db/unique', ':db/isComponent', ':db/noHistory', ':db/tupleAttrs', ':db/tupleType', ':db/tupleTypes'];

export class Model {
  current = new Map<string, CurrentDatom>();
  log: ModelTx[] = [];
  maxId: EntityId;
  lastInstant = 0;
  private readonly builtinEntities: Set<EntityId>;
  private readonly builtinAttributes: Set<EntityId>;

  constructor(
    private readonly initial: readonly CurrentDatom[],
  ) {
    for (const d of initial) this.current.set(datomKey(d[0], d[1], d[2]), d);
    this.builtinEntities = new Set(initial.map((d) => d[0]));
    this.builtinAttributes = new Set(this.schema().attrs.keys());
    this.maxId = Math.max(...this.builtinEntities);
  }

  clone(): Model {
    const copy = new Model(this.initial);
    copy.current = new Map(this.current);
    copy.log = [...this.log];
    copy.maxId = this.maxId;
    copy.lastInstant = this.lastInstant;
    return copy;
  }

  get basisT(): number {
    return this.log.length;
  }

  datoms(): CurrentDatom[] {
    return [...this.current.values()];
  }

  /** The datoms that held at t, by replaying the log over the initial datoms. */
  asOf(t: number): CurrentDatom[] {
    const held = new Map<string, CurrentDatom>();
    for (const d of this.initial) held.set(datomKey(d[0], d[1], d[2]), d);
    for (const tx of this.log) {
      if (tx.t > t) break;
      for (const [e, a, v, added] of tx.datoms) {
        if (added) held.set(datomKey(e, a, v), [e, a, v]);
        else held.delete(datomKey(e, a, v));
      }
    }
    return [...held.values()];
  }

  schema(datoms: Map<string, CurrentDatom> = this.current): ModelSchema {
    return schemaOf(datoms);
  }

  /** Applies one transaction, or throws ModelError and changes nothing. */
  transact(ops: readonly TxOp[], options: { txInstant?: Date; requireHeld?: boolean }, chosen: Chosen | null): ModelTx {
    const run = new TxRun(this, chosen, options.requireHeld ?? false);
    const tx = run.execute(ops, options.txInstant);
    this.current = run.work;
    this.log.push(tx);
    this.lastInstant = tx.instant.getTime();
    this.maxId = Math.max(this.maxId, ...run.newIds);
    return tx;
  }

  isBuiltinEntity(e: EntityId): boolean {
    return this.builtinEntities.has(e);
  }

  isBuiltinAttribute(e: EntityId): boolean {
    return this.builtinAttributes.has(e);
  }
}

function schemaOf(datoms: Map<string, CurrentDatom>): ModelSchema {
  const all = [...datoms.values()];
  const identAttr = all.find(([e, a, v]) => e === a && v === ':db/ident')![0];
  const identOf = new Map<EntityId, string>();
  for (const [e, a, v] of all) if (a === identAttr) identOf.set(e, v as string);
  const idents = new Map([...identOf].map(([e, ident]) => [ident, e]));
  const id = (ident: string) => idents.get(ident)!;
  const byEntity = new Map<EntityId, Map<EntityId, Value[]>>();
  for (const [e, a, v] of all) {
    const entity = byEntity.get(e) ?? new Map<EntityId, Value[]>();
    entity.set(a, [...(entity.get(a) ?? []), v]);
    byEntity.set(e, entity);
  }
  const attrs = new Map<EntityId, ModelAttribute>();
  const typeOf = (k: unknown) => (typeof k === 'string' && k.startsWith(':db.type/') ? (k.slice(9) as ValueType) : null);
  for (const [e, entity] of byEntity) {
    const one = (ident: string) => entity.get(id(ident))?.[0];
    const ident = identOf.get(e);
    const type = identOf.get(one(':db/valueType') as EntityId);
    const card = identOf.get(one(':db/cardinality') as EntityId);
    if (!ident || !type?.startsWith(':db.type/') || (card !== ':db.cardinality/one' && card !== ':db.cardinality/many')) continue;
    const unique = identOf.get(one(':db/unique') as EntityId);
    const tupleTypes = one(':db/tupleTypes') as string[] | undefined;
    attrs.set(e, {
      id: e,
      ident,
      valueType: type.slice(9) as ValueType,
      cardinality: card === ':db.cardinality/many' ? 'many' : 'one',
      unique: unique === ':db.unique/identity' ? 'identity' : unique === ':db.unique/value' ? 'value' : null,
      isComponent: one(':db/isComponent') === true,
      tupleAttrs: (one(':db/tupleAttrs') as string[] | undefined) ?? null,
      tupleType: typeOf(one(':db/tupleType')),
      tupleTypes: tupleTypes ? tupleTypes.map((k) => typeOf(k)!) : null,
    });
  }
  return { attrs, idents };
}

function attributeOf(schema: ModelSchema, a: unknown): ModelAttribute | undefined {
  const id = typeof a === 'number' ? a : typeof a === 'string' ? schema.idents.get(a) : undefined;
  return id === undefined ? undefined : schema.attrs.get(id);
}

const isMap = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Date) && !(x instanceof Uint8Array);
const isKeyword = (x: unknown): x is string => typeof x === 'string' && /^:[^\s"]+$/.test(x);
const isTempid = (x: unknown): x is string => typeof x === 'string' && x !== 'datomic.tx' && !x.startsWith(':');

interface PendingAttr {
  valueType: ValueType;
  cardinality: 'one' | 'many';
  unique: 'identity' | 'value' | null;
  isComponent: boolean;
}

/** One transaction being applied to a copy of the model's datoms. */
class TxRun {
  work: Map<string, CurrentDatom>;
  readonly newIds: EntityId[] = [];
  private readonly tempids = new Map<string, EntityId>();
  private tx = -1;
  private readonly asserted = new Set<string>();
  private readonly retracted = new Set<string>();
  private readonly oneValue = new Map<string, string>();
  private pending: TxDatom[] = [];
  private nextOwnId: EntityId;

  constructor(
    private readonly model: Model,
    private readonly chosen: Chosen | null,
    private readonly requireHeld: boolean,
  ) {
    this.work = new Map(model.current);
    this.nextOwnId = model.maxId + 1;
  }

  execute(ops: readonly TxOp[], txInstant: Date | undefined): ModelTx {
    const schema0 = this.model.schema(this.work);
    const flat = this.expand(ops, schema0);
    const instantOps = flat.filter((op) => op.kind === 'add' && op.e === 'datomic.tx' && op.a === ':db/txInstant');
    const instant = this.instant([...(txInstant ? [txInstant] : []), ...instantOps.map((op) => (op as { v: unknown }).v)]);
    const rest = flat.filter((op) => !instantOps.includes(op));

    this.tx = this.fresh(this.chosen?.tx);
    this.resolveTempids(rest, schema0);
    const txInstantAttr = schema0.idents.get(':db/txInstant')!;
    this.assert(this.tx, txInstantAttr, instant, false, true);

    const phaseOne = rest.filter((op) => op.kind === 'retractEntity' || this.isBuiltinAttr(schema0, op.a));
    const phaseTwo = rest.filter((op) => !phaseOne.includes(op));
    const datoms: TxDatom[] = [];
    for (const op of phaseOne) this.plan(op, schema0);
    datoms.push(...this.applyPending());
    this.checkUnique(datoms, schema0);
    const schema1 = this.model.schema(this.work);
    this.checkSchema(schema0, schema1, datoms);
    for (const op of phaseTwo) this.plan(op, schema1);
    datoms.push(...this.applyPending());
    this.pending = this.composites(datoms, schema1);
    datoms.push(...this.applyPending());
    this.checkUnique(datoms, schema1);
    return { t: this.model.basisT + 1, tx: this.tx, instant, datoms };
  }

  private isBuiltinAttr(schema: ModelSchema, a: unknown): boolean {
    const id = typeof a === 'number' ? a : schema.idents.get(a as string);
    return id !== undefined && this.model.isBuiltinAttribute(id);
  }

  private fresh(id: EntityId | undefined): EntityId {
    if (id === undefined) id = this.nextOwnId++;
    if (!(id > this.model.maxId) || this.newIds.includes(id))
      throw new Error(`model: the database allocated ${id}, which is not a new id (largest before: ${this.model.maxId})`);
    this.newIds.push(id);
    return id;
  }

  private instant(explicit: unknown[]): Date {
    for (const x of explicit) {
      if (!(x instanceof Date) || Number.isNaN(x.getTime())) throw new ModelError('invalid-instant', 'not a Date');
    }
    const ms = explicit.length ? (explicit[0] as Date).getTime() : undefined;
    if (explicit.some((x) => (x as Date).getTime() !== ms)) throw new ModelError('invalid-instant', 'two txInstants');
    if (ms !== undefined && ms < this.model.lastInstant) throw new ModelError('instant-in-past', `${ms}`);
    const instant = ms !== undefined ? new Date(ms) : this.chosen ? this.chosen.instant : new Date(Math.max(Date.now(), this.model.lastInstant));
    if (instant.getTime() < this.model.lastInstant) throw new Error('model: the database chose a txInstant in the past');
    if (ms !== undefined && this.chosen && this.chosen.instant.getTime() !== ms) throw new Error('model: the database ignored the txInstant');
    return instant;
  }

  private expand(ops: readonly TxOp[], schema: ModelSchema): Op[] {
    const pending = this.pendingAttributes(ops);
    const lookup = (a: string): PendingAttr | undefined => {
      const attr = attributeOf(schema, a);
      return attr ? { valueType: attr.valueType, cardinality: attr.cardinality, unique: attr.unique, isComponent: attr.isComponent } : pending.get(a);
    };
    const out: Op[] = [];
    let anonymous = 0;
    const expandMap = (map: Record<string, unknown>): unknown => {
      const e = map[':db/id'] ?? `\u0000anon-${anonymous++}`;
      for (const [k, value] of Object.entries(map)) {
        if (k === ':db/id' || value === undefined) continue;
        const attr = lookup(k);
        if (!attr) {
          // ':ns/_name': the entities the value names hold :ns/name pointing here.
          const m = /^(:(?:[^/]+\/)?)_([^/]+)$/.exec(k);
          const forward = m ? lookup(`${m[1]}${m[2]}`) : undefined;
          if (!m || !forward) throw new ModelError('unknown-attribute', k);
          if (forward.valueType !== 'ref') throw new ModelError('invalid-op', k);
          const lookupRef = Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && !!lookup(value[0])?.unique;
          for (const h of Array.isArray(value) && !lookupRef ? value : [value]) {
            if (h === null || h === undefined) throw new ModelError('invalid-op', k);
            out.push({ kind: 'add', e: isMap(h) ? expandMap(h) : h, a: `${m[1]}${m[2]}`, v: e });
          }
          continue;
        }
        const lists = attr.cardinality === 'many' && Array.isArray(value) && !(attr.valueType === 'tuple' && value.length > 0 && !Array.isArray(value[0]));
        for (const v of lists ? (value as unknown[]) : [value]) {
          if (attr.valueType === 'ref' && isMap(v)) {
            // Datomic: a nested map is a component, holds a unique attribute, or names an existing entity.
            const id = v[':db/id'];
            const names = typeof id === 'number' || Array.isArray(id) || (typeof id === 'string' && id.startsWith(':'));
            if (!attr.isComponent && !names && !Object.keys(v).some((key) => key !== ':db/id' && lookup(key)?.unique))
              throw new ModelError('invalid-nested-entity', k);
            out.push({ kind: 'add', e, a: k, v: expandMap(v) });
          } else {
            out.push({ kind: 'add', e, a: k, v });
          }
        }
      }
      return e;
    };
    for (const op of ops) {
      if (isMap(op)) {
        expandMap(op);
        continue;
      }
      const list = op as readonly unknown[];
      const [kind, e, a, v, w] = list;
      const arity = list.length;
      if (kind === ':db/add' && arity === 4) out.push({ kind: 'add', e, a, v });
      else if (kind === ':db/retract' && (arity === 3 || arity === 4)) out.push({ kind: 'retract', e, a, v, hasValue: arity === 4 });
      else if (kind === ':db/cas' && arity === 5) out.push({ kind: 'cas', e, a, old: v, v: w });
      else if (kind === ':db/retractEntity' && arity === 2) out.push({ kind: 'retractEntity', e });
      else throw new ModelError('invalid-op', String(kind));
    }
    return out;
  }

  /** Attributes defined by this transaction, for its entity maps. */
  private pendingAttributes(ops: readonly TxOp[]): Map<string, PendingAttr> {
    const entities = new Map<unknown, Record<string, unknown>>();
    const note = (e: unknown, a: string, v: unknown) => {
      const entry = entities.get(e) ?? {};
      entry[a] = v;
      entities.set(e, entry);
    };
    for (const op of ops) {
      if (isMap(op)) {
        if (':db/ident' in op) for (const [k, v] of Object.entries(op)) note(op[':db/id'] ?? op, k, v);
      } else if (op[0] === ':db/add') {
        note(op[1], op[2] as string, op[3]);
      }
    }
    const out = new Map<string, PendingAttr>();
    for (const entry of entities.values()) {
      const type = String(entry[':db/valueType'] ?? '').replace(':db.type/', '') as ValueType;
      const unique = entry[':db/unique'] === ':db.unique/identity' ? 'identity' : entry[':db/unique'] === ':db.unique/value' ? 'value' : null;
      if (typeof entry[':db/ident'] === 'string' && TYPES.includes(type))
        out.set(entry[':db/ident'], {
          valueType: type,
          cardinality: entry[':db/cardinality'] === ':db.cardinality/many' ? 'many' : 'one',
          unique,
          isComponent: entry[':db/isComponent'] === true,
        });
    }
    return out;
  }

  private holders(a: EntityId, v: unknown): EntityId[] {
    const key = valueKey(v);
    return [...this.work.values()].filter((d) => d[1] === a && valueKey(d[2]) === key).map((d) => d[0]);
  }

  private values(e: EntityId, a: EntityId): Value[] {
    return [...this.work.values()].filter((d) => d[0] === e && d[1] === a).map((d) => d[2]);
  }

  private lookupRef(schema: ModelSchema, ref: unknown[]): [EntityId, Value] {
    const attr = ref.length === 2 ? attributeOf(schema, ref[0]) : undefined;
    if (!attr?.unique) throw new ModelError('invalid-lookup-ref', JSON.stringify(ref));
    try {
      return [attr.id, this.normalize(attr.valueType, ref[1], attr, schema)];
    } catch (err) {
      if (err instanceof ModelError) throw new ModelError('invalid-lookup-ref', err.message);
      throw err;
    }
  }

  /**
   * Datomic's tempid resolution: the clauses are a set. Tempids sharing an identity value
   * (transitively) are one entity: the one existing entity their values name before the
   * transaction, else a new one. Identity refs name their value by id, ident or lookup ref.
   */
  private resolveTempids(ops: Op[], schema: ModelSchema): void {
    const order: string[] = [];
    const pairs = new Map<string, Array<[EntityId, Value]>>();
    for (const op of ops) {
      if (Array.isArray(op.e)) this.lookupRef(schema, op.e);
      if (!isTempid(op.e)) continue;
      if (!order.includes(op.e)) order.push(op.e);
      const attr = op.kind === 'add' ? attributeOf(schema, op.a) : undefined;
      if (op.kind !== 'add' || attr?.unique !== 'identity') continue;
      let v: Value | undefined;
      try {
        if (attr.valueType !== 'ref') v = this.normalize(attr.valueType, op.v, attr, schema);
        else if (typeof op.v === 'number') v = op.v;
        else if (isKeyword(op.v)) v = schema.idents.get(op.v);
        else if (Array.isArray(op.v)) v = this.holders(...this.lookupRef(schema, op.v))[0];
      } catch (err) {
        if (!(err instanceof ModelError)) throw err;
      }
      if (v === undefined) continue;
      pairs.set(op.e, [...(pairs.get(op.e) ?? []), [attr.id, v]]);
    }
    // Classes of tempids sharing a value, merged until none share one.
    let classes = order.map((t) => ({ tempids: [t], keys: new Set((pairs.get(t) ?? []).map(([a, v]) => `${a}|${valueKey(v)}`)) }));
    for (let merged = true; merged; ) {
      merged = false;
      for (let i = 0; i < classes.length && !merged; i++) {
        for (let j = i + 1; j < classes.length && !merged; j++) {
          if (![...classes[j]!.keys].some((k) => classes[i]!.keys.has(k))) continue;
          classes[i] = { tempids: [...classes[i]!.tempids, ...classes[j]!.tempids], keys: new Set([...classes[i]!.keys, ...classes[j]!.keys]) };
          classes = classes.filter((_, k) => k !== j);
          merged = true;
        }
      }
    }
    for (const c of classes) {
      const found = new Set<EntityId>();
      for (const t of c.tempids) for (const [a, v] of pairs.get(t) ?? []) for (const h of this.holders(a, v)) found.add(h);
      if (found.size > 1) throw new ModelError('upsert-conflict', c.tempids.join(','));
      const chosen = c.tempids.map((t) => this.chosen?.tempids[t]);
      const e = found.size === 1 ? [...found][0]! : this.fresh(chosen[0]);
      if (this.chosen && chosen.some((x) => x !== e))
        throw new Error(`model: tempids ${c.tempids.join(', ')} should all be ${e}, the database chose ${chosen.join(', ')}`);
      for (const t of c.tempids) this.tempids.set(t, e);
    }
  }

  private entity(ref: unknown, schema: ModelSchema): EntityId {
    if (typeof ref === 'number') {
      if (!Number.isSafeInteger(ref) || ref < 0 || ref > Math.max(this.model.maxId, ...this.newIds))
        throw new ModelError('unknown-entity', String(ref));
      return ref;
    }
    if (ref === 'datomic.tx') return this.tx;
    if (isKeyword(ref)) {
      const id = schema.idents.get(ref);
      if (id === undefined) throw new ModelError('unknown-ident', ref);
      return id;
    }
    if (typeof ref === 'string') return this.tempids.get(ref)!;
    if (Array.isArray(ref)) {
      const [a, v] = this.lookupRef(schema, ref);
      const found = this.holders(a, v);
      if (found.length === 0) throw new ModelError('lookup-ref-not-found', JSON.stringify(ref));
      return found[0]!;
    }
    throw new ModelError('invalid-entity', String(ref));
  }

  private refValue(v: unknown, schema: ModelSchema): EntityId {
    if (typeof v === 'string' && isTempid(v)) {
      const id = this.tempids.get(v);
      if (id === undefined) throw new ModelError('tempid-not-an-entity', v);
      return id;
    }
    if (typeof v === 'number' || typeof v === 'string' || Array.isArray(v)) return this.entity(v, schema);
    throw new ModelError('invalid-value', `not a ref: ${String(v)}`);
  }

  /** Checks a value against its type and gives it its one canonical form. */
  private normalize(type: ValueType, v: unknown, attr: ModelAttribute | null, schema: ModelSchema): Value {
    const bad = (): never => {
      throw new ModelError('invalid-value', `${String(v)} is not a ${type}`);
    };
    const text = (x: unknown) => (typeof x === 'string' && !x.includes('\u0000') && x.isWellFormed() ? x : bad());
    switch (type) {
      case 'string':
      case 'uri':
        return text(v);
      case 'keyword':
        return isKeyword(v) ? text(v) : bad();
      case 'boolean':
        return typeof v === 'boolean' ? v : bad();
      case 'long': {
        // Datomic's long: signed 64 bits; a number when safe, a bigint beyond.
        const n = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : typeof v === 'bigint' ? v : bad();
        if (n < -(2n ** 63n) || n >= 2n ** 63n) return bad();
        return Number.isSafeInteger(Number(n)) && BigInt(Number(n)) === n ? Number(n) : n;
      }
      case 'float':
        return typeof v === 'number' ? Math.fround(v) : bad();
      case 'symbol':
        return typeof v === 'string' && /^[^:#\d\s"]\S*$/.test(v) && !/^[-+.]\d/.test(v) && !['nil', 'true', 'false'].includes(v) ? v : bad();
      case 'bigint':
        return typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : bad();
      case 'double':
        return typeof v === 'number' ? v : bad();
      case 'bigdec':
        return typeof v === 'string' && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) ? bigdecText(v) : bad();
      case 'instant':
        return v instanceof Date && !Number.isNaN(v.getTime()) ? new Date(v.getTime()) : bad();
      case 'uuid':
        return typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v) ? v.toLowerCase() : bad();
      case 'bytes':
        return v instanceof Uint8Array ? new Uint8Array(v) : bad();
      case 'ref':
        return this.refValue(v, schema);
      case 'tuple': {
        if (!attr || !Array.isArray(v) || v.length < 2 || v.length > 8) return bad();
        const types = attr.tupleType
          ? v.map(() => attr.tupleType!)
          : attr.tupleTypes ?? attr.tupleAttrs!.map((ident) => attributeOf(schema, ident)!.valueType);
        if (types.length !== v.length) return bad();
        return v.map((x, i) => (x === null || x === undefined ? null : this.normalize(types[i]!, x, null, schema))) as Value;
      }
    }
  }

  private assert(e: EntityId, a: EntityId, v: Value, holds: boolean, one: boolean): void {
    const k = datomKey(e, a, v);
    if (this.retracted.has(k)) throw new ModelError('datoms-conflict', k);
    this.asserted.add(k);
    if (one) {
      const other = this.oneValue.get(`${e}|${a}`);
      if (other !== undefined && other !== valueKey(v)) throw new ModelError('datoms-conflict', k);
      this.oneValue.set(`${e}|${a}`, valueKey(v));
    }
    if (!holds) this.pending.push([e, a, v, true]);
  }

  private retract(e: EntityId, a: EntityId, v: Value, holds: boolean): void {
    const k = datomKey(e, a, v);
    if (this.asserted.has(k)) throw new ModelError('datoms-conflict', k);
    this.retracted.add(k);
    if (holds) this.pending.push([e, a, v, false]);
  }

  private plan(op: Op, schema: ModelSchema): void {
    const e = this.entity(op.e, schema);
    if (op.kind === 'retractEntity') return this.retractEntity(e, schema, new Set());
    const attr = attributeOf(schema, op.a);
    if (!attr) throw new ModelError('unknown-attribute', String(op.a));
    const current = this.values(e, attr.id);
    const holds = (v: Value) => current.some((x) => valueKey(x) === valueKey(v));
    if (op.kind === 'retract') {
      if (!op.hasValue) {
        for (const v of current) this.retract(e, attr.id, v, true);
        return;
      }
      const v = this.normalize(attr.valueType, op.v, attr, schema);
      if (this.requireHeld && !holds(v)) throw new ModelError('not-held', datomKey(e, attr.id, v));
      this.retract(e, attr.id, v, holds(v));
      return;
    }
    if (attr.tupleAttrs) throw new ModelError('composite-tuple', attr.ident);
    const v = this.normalize(attr.valueType, op.v, attr, schema);
    if (op.kind === 'cas') {
      if (attr.cardinality !== 'one') throw new ModelError('cas-cardinality', attr.ident);
      const old = op.old === null || op.old === undefined ? null : this.normalize(attr.valueType, op.old, attr, schema);
      if (old === null ? current.length > 0 : !holds(old)) throw new ModelError('cas-failed', attr.ident);
    }
    const one = attr.cardinality === 'one';
    this.assert(e, attr.id, v, holds(v), one);
    if (one && !holds(v)) for (const old of current) this.pending.push([e, attr.id, old, false]);
  }

  private retractEntity(e: EntityId, schema: ModelSchema, seen: Set<EntityId>): void {
    if (seen.has(e)) return;
    seen.add(e);
    const own = [...this.work.values()].filter((d) => d[0] === e);
    const refs = [...this.work.values()].filter((d) => schema.attrs.get(d[1])?.valueType === 'ref' && d[2] === e);
    for (const [, a, v] of own) this.retract(e, a, v, true);
    for (const [x, a] of refs) this.retract(x, a, e, true);
    for (const [, a, v] of own) if (schema.attrs.get(a)?.isComponent) this.retractEntity(v as EntityId, schema, seen);
  }

  /** Applies the planned datoms (each once; a replaced value may be planned twice). */
  private applyPending(): TxDatom[] {
    const out = new Map<string, TxDatom>();
    for (const d of this.pending) out.set(`${datomKey(d[0], d[1], d[2])}|${d[3]}`, d);
    this.pending = [];
    for (const [e, a, v, added] of out.values()) {
      if (added) this.work.set(datomKey(e, a, v), [e, a, v]);
      else this.work.delete(datomKey(e, a, v));
    }
    return [...out.values()];
  }

  private checkUnique(datoms: TxDatom[], schema: ModelSchema): void {
    for (const [e, a, v, added] of datoms) {
      if (!added || !schema.attrs.get(a)?.unique) continue;
      if (this.holders(a, v).some((h) => h !== e)) throw new ModelError('unique-conflict', datomKey(e, a, v));
    }
  }

  private checkSchema(before: ModelSchema, after: ModelSchema, datoms: TxDatom[]): void {
    const schemaAttrs = new Set(SCHEMA_IDENTS.map((i) => before.idents.get(i)));
    const touched = new Set(datoms.filter((d) => schemaAttrs.has(d[1])).map((d) => d[0]));
    for (const e of touched) {
      if (this.model.isBuiltinEntity(e)) throw new ModelError('schema-change', `built-in ${e}`);
      const old = before.attrs.get(e);
      const now = after.attrs.get(e);
      if (old && (!now || now.valueType !== old.valueType)) throw new ModelError('schema-change', old.ident);
    }
    for (const attr of after.attrs.values()) {
      for (const source of attr.tupleAttrs ?? []) if (!attributeOf(after, source)) throw new ModelError('schema-change', attr.ident);
    }
  }

  private composites(datoms: TxDatom[], schema: ModelSchema): TxDatom[] {
    const out: TxDatom[] = [];
    const done = new Set<string>();
    for (const composite of schema.attrs.values()) {
      if (!composite.tupleAttrs) continue;
      const sources = composite.tupleAttrs.map((ident) => attributeOf(schema, ident)!.id);
      for (const [e, a] of datoms) {
        if (!sources.includes(a) || done.has(`${e}|${composite.id}`)) continue;
        done.add(`${e}|${composite.id}`);
        const elements = sources.map((s) => this.values(e, s)[0] ?? null);
        const next = elements.every((x) => x === null) ? null : (elements as Value);
        const current = this.values(e, composite.id);
        for (const old of current) if (next === null || valueKey(old) !== valueKey(next)) out.push([e, composite.id, old, false]);
        if (next !== null && !current.some((x) => valueKey(x) === valueKey(next))) out.push([e, composite.id, next, true]);
      }
    }
    return out;
  }
}
