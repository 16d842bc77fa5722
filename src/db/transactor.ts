// Turns one transaction's operations into datoms against a batch's state: resolves
// tempids (with upserts), idents and lookup refs, applies Datomic's semantics, derives
// composite tuples and checks uniqueness. Throws TransactionError naming the datom.
import {
  BUILTIN_ATTRIBUTES,
  DB_IDENT,
  DB_TX_INSTANT,
  DB_VALUE_TYPE,
  FIRST_USER_ENTITY_ID,
  SCHEMA_ATTRIBUTE_IDS,
} from './builtins';
import { TransactionError } from './errors';
import { flatten, formatOp, type FlatOp } from './ops';
import { Schema, type StoredEntity } from './schema';
import type { BatchState } from './state';
import type { Attribute, EntityId, TxRequest, ValueType } from './types';
import { VALUE_TYPES } from './types';
import { ValueError, decodeValue, describe, encodeValue, isKeyword } from './values';

export interface StoredTxDatom {
  e: EntityId;
  a: EntityId;
  v: string;
  added: boolean;
}

export interface AppliedTx {
  t: number;
  tx: EntityId;
  instantMs: number;
  datoms: StoredTxDatom[];
  tempids: Record<string, EntityId>;
}

export interface TransactorStart {
  basisT: number;
  nextEid: EntityId;
  lastInstantMs: number;
  schema: Schema;
  schemaEntities: Map<EntityId, StoredEntity>;
}

const TX_TEMPID = 'datomic.tx';
// Entity maps without :db/id get tempids no user string can equal.
const MAP_TEMPID_PREFIX = '\u0000map-';

type Planned = Map<string, StoredTxDatom>;
const datomKey = (e: EntityId, a: EntityId, v: string) => `${e}\u0001${a}\u0001${v}`;

export class Transactor {
  t: number;
  nextEid: EntityId;
  lastInstantMs: number;
  schema: Schema;
  schemaEntities: Map<EntityId, StoredEntity>;
  schemaChanged = false;

  constructor(
    readonly state: BatchState,
    start: TransactorStart,
  ) {
    this.t = start.basisT;
    this.nextEid = start.nextEid;
    this.lastInstantMs = start.lastInstantMs;
    this.schema = start.schema;
    this.schemaEntities = start.schemaEntities;
  }

  /** Reads, in a few queries, what the batch's transactions will need from the database. */
  async prefetch(requests: readonly TxRequest[]): Promise<void> {
    const eids = new Set<EntityId>();
    const pairs: Array<[EntityId, string]> = [];
    const lookupPair = (ref: unknown) => {
      if (!Array.isArray(ref) || ref.length !== 2) return;
      const attribute = this.schema.attribute(ref[0] as string);
      if (!attribute?.unique) return;
      try {
        pairs.push([attribute.id, this.encodePlain(attribute, ref[1])]);
      } catch {
        // An invalid lookup ref fails later, with the operation named.
      }
    };
    for (const request of requests) {
      for (const op of request.ops) {
        if (Array.isArray(op)) {
          const [, e, a, v] = op as unknown[];
          if (typeof e === 'number') eids.add(e);
          lookupPair(e);
          const attribute = this.schema.attribute(a as string);
          if (attribute?.unique && op.length >= 4 && op[0] === ':db/add') {
            try {
              if (attribute.valueType !== 'ref') pairs.push([attribute.id, this.encodePlain(attribute, v)]);
            } catch {
              // Reported with the operation when it is applied.
            }
          }
          if (attribute?.valueType === 'ref') lookupPair(v);
        } else {
          const id = (op as Record<string, unknown>)[':db/id'];
          if (typeof id === 'number') eids.add(id);
          lookupPair(id);
        }
      }
    }
    await this.state.load([...eids].filter((e) => e < this.nextEid));
    await this.state.loadHolders(pairs);
  }

  async apply(request: TxRequest): Promise<AppliedTx> {
    const t = this.t + 1;
    const tx = this.allocate();
    const pending = pendingAttributes(request.ops);
    let mapTempids = 0;
    const flat = flatten(request.ops, {
      attribute: (a) => this.schema.attribute(a) ?? (typeof a === 'string' ? pending.get(a) : undefined),
      newTempid: () => `${MAP_TEMPID_PREFIX}${mapTempids++}`,
    });

    const instantMs = this.instant(request, flat);
    const resolver = new EntityResolver(this, tx);
    await resolver.resolveAll(flat);

    const planned: TxPlan = { asserts: new Map(), retracts: new Map(), mentioned: new Set(), oneValue: new Map() };
    const datoms: StoredTxDatom[] = [{ e: tx, a: DB_TX_INSTANT, v: String(instantMs), added: true }];

    // Schema first, so that attributes installed here can be used here.
    const ops = flat.filter((op) => !(op.kind === 'add' && op.e === TX_TEMPID && op.a === ':db/txInstant'));
    const [schemaOps, dataOps] = partition(ops, (op) => op.kind !== 'retractEntity' && isBuiltinAttribute(op.a));
    await this.plan(schemaOps, resolver, planned);
    await this.loadUniqueHolders(planned);
    datoms.push(...this.applyPlanned(planned, t));
    this.afterSchemaOps(planned, schemaOps);

    const dataPlan: TxPlan = { asserts: new Map(), retracts: new Map(), mentioned: planned.mentioned, oneValue: planned.oneValue };
    await this.plan(dataOps, resolver, dataPlan);
    await this.loadUniqueHolders(dataPlan);
    datoms.push(...this.applyPlanned(dataPlan, t));
    datoms.push(...(await this.deriveComposites([...planned.asserts.values(), ...planned.retracts.values(), ...dataPlan.asserts.values(), ...dataPlan.retracts.values()], t)));
    this.checkUnique(datoms);

    this.t = t;
    this.lastInstantMs = instantMs;
    return { t, tx, instantMs, datoms, tempids: resolver.userTempids() };
  }

  allocate(): EntityId {
    const id = this.nextEid++;
    this.state.markNew(id);
    return id;
  }

  private instant(request: TxRequest, flat: FlatOp[]): number {
    const fromOps = flat.find((op) => op.kind === 'add' && op.e === TX_TEMPID && op.a === ':db/txInstant');
    const explicit = request.txInstant ?? (fromOps?.kind === 'add' ? fromOps.v : undefined);
    if (explicit === undefined) return Math.max(Date.now(), this.lastInstantMs);
    if (!(explicit instanceof Date) || Number.isNaN(explicit.getTime()))
      throw new TransactionError(`txInstant must be a valid Date, got ${describe(explicit)}`, 'invalid-instant');
    if (explicit.getTime() < this.lastInstantMs)
      throw new TransactionError(
        `txInstant ${explicit.toISOString()} is earlier than the previous transaction's ${new Date(this.lastInstantMs).toISOString()}`,
        'instant-in-past',
      );
    return explicit.getTime();
  }

  attributeFor(op: FlatOp & { a: string | EntityId }): Attribute {
    const attribute = this.schema.attribute(op.a);
    if (!attribute) {
      const known = typeof op.a === 'string' ? this.schema.identToId.get(op.a) : op.a;
      const why = known === undefined ? 'unknown attribute' : 'not an attribute (it has no :db/valueType or :db/cardinality)';
      throw new TransactionError(`${why} ${formatOp(op.a)} in ${op.source}`, 'unknown-attribute');
    }
    return attribute;
  }

  /** Stored text of a non-ref value (or a tuple without refs). */
  encodePlain(attribute: Attribute, v: unknown): string {
    return encodeValue(attribute.valueType, v, this.schema.elementTypes(attribute));
  }

  private async plan(ops: FlatOp[], resolver: EntityResolver, plan: TxPlan): Promise<void> {
    for (const op of ops) {
      try {
        await this.planOne(op, resolver, plan);
      } catch (err) {
        if (err instanceof ValueError) throw new TransactionError(`${err.message} in ${op.source}`, 'invalid-value');
        throw err;
      }
    }
  }

  private async planOne(op: FlatOp, resolver: EntityResolver, plan: TxPlan): Promise<void> {
    const e = resolver.entity(op.e, op.source);
    if (op.kind === 'retractEntity') {
      await this.planRetractEntity(e, plan, new Set());
      return;
    }
    const attribute = this.attributeFor(op);
    await this.state.load([e]);
    if (op.kind === 'retract') {
      const current = this.state.values(e, attribute.id);
      if (!op.hasValue) {
        for (const v of current) plan.retracts.set(datomKey(e, attribute.id, v), { e, a: attribute.id, v, added: false });
        return;
      }
      const v = await resolver.value(attribute, op.v, op.source);
      if (current.has(v)) plan.retracts.set(datomKey(e, attribute.id, v), { e, a: attribute.id, v, added: false });
      return;
    }
    if (attribute.tupleAttrs)
      throw new TransactionError(`${attribute.ident} is a composite tuple the database derives; do not assert it: ${op.source}`, 'composite-tuple');
    const v = await resolver.value(attribute, op.v, op.source);
    if (op.kind === 'cas') {
      if (attribute.cardinality !== 'one')
        throw new TransactionError(`:db/cas needs a cardinality-one attribute: ${op.source}`, 'cas-cardinality');
      const current = [...this.state.values(e, attribute.id)];
      const old = op.old === null || op.old === undefined ? null : await resolver.value(attribute, op.old, op.source);
      const holds = old === null ? current.length === 0 : current.includes(old);
      if (!holds) {
        const found = current.length ? describe(decodeValue(attribute.valueType, current[0]!, this.schema.elementTypes(attribute))) : 'no value';
        throw new TransactionError(`:db/cas failed on entity ${e} ${attribute.ident}: expected ${describe(op.old ?? null)}, found ${found}: ${op.source}`, 'cas-failed');
      }
    }
    this.planAdd(e, attribute, v, op.source, plan);
  }

  private planAdd(e: EntityId, attribute: Attribute, v: string, source: string, plan: TxPlan): void {
    const a = attribute.id;
    const current = this.state.values(e, a);
    plan.mentioned.add(datomKey(e, a, v));
    if (attribute.cardinality === 'one') {
      const ea = `${e}\u0001${a}`;
      const other = plan.oneValue.get(ea);
      if (other !== undefined && other !== v)
        throw new TransactionError(
          `two values for cardinality-one ${attribute.ident} of entity ${e} in one transaction: ${source}`,
          'datoms-conflict',
        );
      plan.oneValue.set(ea, v);
      if (current.has(v)) return;
      for (const old of current) plan.retracts.set(datomKey(e, a, old), { e, a, v: old, added: false });
    } else if (current.has(v)) {
      return;
    }
    plan.asserts.set(datomKey(e, a, v), { e, a, v, added: true });
  }

  private async planRetractEntity(e: EntityId, plan: TxPlan, seen: Set<EntityId>): Promise<void> {
    if (seen.has(e)) return;
    seen.add(e);
    await this.state.load([e]);
    const components: EntityId[] = [];
    for (const [a, values] of this.state.entity(e)) {
      const attribute = this.schema.attributes.get(a);
      for (const v of values) {
        plan.retracts.set(datomKey(e, a, v), { e, a, v, added: false });
        if (attribute?.isComponent && attribute.valueType === 'ref') components.push(Number(v));
      }
    }
    const refAttrs = [...this.schema.attributes.values()].filter((x) => x.valueType === 'ref').map((x) => x.id);
    for (const [holder, a] of await this.state.referrers(e, refAttrs)) {
      plan.retracts.set(datomKey(holder, a, String(e)), { e: holder, a, v: String(e), added: false });
    }
    for (const c of components) await this.planRetractEntity(c, plan, seen);
  }

  private applyPlanned(plan: TxPlan, t: number): StoredTxDatom[] {
    for (const k of plan.retracts.keys()) {
      if (plan.asserts.has(k) || plan.mentioned.has(k)) {
        const d = plan.retracts.get(k)!;
        throw new TransactionError(
          `the transaction both asserts and retracts [${d.e} ${this.schema.idToIdent.get(d.a) ?? d.a} ${d.v}]`,
          'datoms-conflict',
        );
      }
    }
    const out: StoredTxDatom[] = [];
    for (const d of plan.retracts.values()) {
      this.state.retract(d.e, d.a, d.v, t);
      out.push(d);
    }
    for (const d of plan.asserts.values()) {
      this.state.assert(d.e, d.a, d.v, t, Boolean(this.schema.attributes.get(d.a)?.unique));
      out.push(d);
    }
    return out;
  }

  private async loadUniqueHolders(plan: TxPlan): Promise<void> {
    const pairs: Array<[EntityId, string]> = [];
    for (const d of plan.asserts.values()) if (this.schema.attributes.get(d.a)?.unique) pairs.push([d.a, d.v]);
    await this.state.loadHolders(pairs);
  }

  /** Rebuilds the schema when the transaction changed schema datoms, and checks it. */
  private afterSchemaOps(plan: TxPlan, ops: FlatOp[]): void {
    const touched = new Set<EntityId>();
    for (const d of [...plan.asserts.values(), ...plan.retracts.values()]) {
      if (SCHEMA_ATTRIBUTE_IDS.has(d.a)) touched.add(d.e);
    }
    if (touched.size === 0) return;
    for (const e of touched) {
      if (e < FIRST_USER_ENTITY_ID) throw new TransactionError(`the built-in schema cannot change (entity ${e})`, 'builtin-schema');
    }
    const entities = new Map(this.schemaEntities);
    for (const e of touched) {
      const entity = this.state.entity(e);
      if (entity.has(DB_IDENT)) entities.set(e, cloneEntity(entity));
      else entities.delete(e);
    }
    const schema = new Schema(entities);
    for (const e of touched) {
      const entity = this.state.entity(e);
      const ident = this.schema.idToIdent.get(e) ?? [...(entity.get(DB_IDENT) ?? [])][0] ?? String(e);
      if (entity.has(DB_VALUE_TYPE) && !schema.attributes.has(e)) {
        throw new TransactionError(
          `attribute ${ident} needs :db/ident, :db/valueType and :db/cardinality: ${ops.find((o) => 'a' in o)?.source ?? ''}`,
          'incomplete-attribute',
        );
      }
      const attribute = schema.attributes.get(e);
      const before = this.schema.attributes.get(e);
      if (before && before.valueType !== attribute?.valueType)
        throw new TransactionError(`the :db/valueType of attribute ${before.ident} cannot change`, 'schema-change');
      if (attribute?.valueType === 'tuple' && !schema.elementTypes(attribute))
        throw new TransactionError(`tuple attribute ${ident} needs :db/tupleAttrs, :db/tupleType or :db/tupleTypes`, 'incomplete-attribute');
    }
    this.schema = schema;
    this.schemaEntities = entities;
    this.schemaChanged = true;
  }

  private async deriveComposites(changed: StoredTxDatom[], t: number): Promise<StoredTxDatom[]> {
    if (this.schema.compositesBySource.size === 0) return [];
    const work = new Map<string, [EntityId, Attribute]>();
    for (const d of changed) {
      for (const composite of this.schema.compositesBySource.get(d.a) ?? []) work.set(`${d.e}/${composite.id}`, [d.e, composite]);
    }
    const plan: TxPlan = { asserts: new Map(), retracts: new Map(), mentioned: new Set(), oneValue: new Map() };
    for (const [e, composite] of work.values()) {
      const elements = composite.tupleAttrs!.map((ident) => {
        const source = this.schema.attribute(ident);
        const values = source ? [...this.state.values(e, source.id)] : [];
        return values.length ? values[0]! : null;
      });
      const current = this.state.values(e, composite.id);
      const next = elements.every((x) => x === null) ? null : JSON.stringify(elements);
      for (const old of current) if (old !== next) plan.retracts.set(datomKey(e, composite.id, old), { e, a: composite.id, v: old, added: false });
      if (next !== null && !current.has(next)) plan.asserts.set(datomKey(e, composite.id, next), { e, a: composite.id, v: next, added: true });
    }
    await this.loadUniqueHolders(plan);
    return this.applyPlanned(plan, t);
  }

  private checkUnique(datoms: StoredTxDatom[]): void {
    for (const d of datoms) {
      if (!d.added) continue;
      const attribute = this.schema.attributes.get(d.a);
      if (!attribute?.unique) continue;
      const holders = this.state.holdersOf(d.a, d.v);
      const other = [...holders].find((h) => h !== d.e);
      if (other !== undefined) {
        const value = describe(decodeValue(attribute.valueType, d.v, this.schema.elementTypes(attribute)));
        throw new TransactionError(
          `unique ${attribute.unique} conflict: ${attribute.ident} ${value} is held by entity ${other}, asserted for entity ${d.e}`,
          'unique-conflict',
        );
      }
    }
  }
}

interface TxPlan {
  asserts: Planned;
  retracts: Planned;
  /** Datoms the transaction asserts, including ones already held. */
  mentioned: Set<string>;
  /** Cardinality-one values asserted, by entity and attribute. */
  oneValue: Map<string, string>;
}

/** Resolves the entity positions and ref values of one transaction. */
class EntityResolver {
  private readonly tempids = new Map<string, EntityId>();

  constructor(
    private readonly transactor: Transactor,
    private readonly tx: EntityId,
  ) {}

  async resolveAll(ops: FlatOp[]): Promise<void> {
    const schema = this.transactor.schema;
    const order: string[] = [];
    const upserts = new Map<string, Array<[EntityId, string]>>();
    for (const op of ops) {
      if (typeof op.e === 'string' && op.e !== TX_TEMPID && !isKeyword(op.e)) {
        if (!order.includes(op.e)) order.push(op.e);
        if (op.kind === 'add') {
          const attribute = schema.attribute(op.a);
          if (attribute?.unique === 'identity' && attribute.valueType !== 'ref') {
            try {
              const list = upserts.get(op.e) ?? [];
              list.push([attribute.id, this.transactor.encodePlain(attribute, op.v)]);
              upserts.set(op.e, list);
            } catch {
              // The value error is reported when the datom is planned.
            }
          }
        }
      }
    }
    const state = this.transactor.state;
    await state.loadHolders([...upserts.values()].flat());
    await this.resolveLookupRefs(ops);
    const claimed = new Map<string, string>();
    for (const tempid of order) {
      const found = new Set<EntityId>();
      let alias: string | undefined;
      for (const [a, v] of upserts.get(tempid) ?? []) {
        for (const holder of state.holdersOf(a, v)) found.add(holder);
        alias ??= claimed.get(`${a}\u0001${v}`);
      }
      if (found.size > 1)
        throw new TransactionError(`tempid ${tempid} upserts to several entities: ${[...found].join(', ')}`, 'upsert-conflict');
      if (found.size === 1) {
        const e = [...found][0]!;
        this.tempids.set(tempid, e);
        await state.load([e]);
      } else if (alias !== undefined) {
        this.tempids.set(tempid, this.tempids.get(alias)!);
      } else {
        this.tempids.set(tempid, this.transactor.allocate());
      }
      for (const [a, v] of upserts.get(tempid) ?? []) claimed.set(`${a}\u0001${v}`, tempid);
    }
  }

  private readonly lookups = new Map<string, EntityId | null>();

  private async resolveLookupRefs(ops: FlatOp[]): Promise<void> {
    const pairs: Array<[EntityId, string]> = [];
    for (const op of ops) {
      if (Array.isArray(op.e)) pairs.push(this.lookupPair(op.e, op.source));
    }
    await this.transactor.state.loadHolders(pairs);
  }

  private lookupPair(ref: readonly unknown[], source: string): [EntityId, string] {
    const attribute = this.transactor.schema.attribute(ref[0] as string);
    if (ref.length !== 2 || !attribute)
      throw new TransactionError(`invalid lookup ref ${formatOp(ref)}: ${source}`, 'invalid-lookup-ref');
    if (!attribute.unique)
      throw new TransactionError(`lookup ref ${formatOp(ref)} uses ${attribute.ident}, which is not unique: ${source}`, 'invalid-lookup-ref');
    try {
      return [attribute.id, this.transactor.encodePlain(attribute, ref[1])];
    } catch (err) {
      throw new TransactionError(`invalid lookup ref ${formatOp(ref)}: ${(err as Error).message}: ${source}`, 'invalid-lookup-ref');
    }
  }

  private async lookup(ref: readonly unknown[], source: string): Promise<EntityId> {
    const [a, v] = this.lookupPair(ref, source);
    const state = this.transactor.state;
    await state.loadHolders([[a, v]]);
    const holders = [...state.holdersOf(a, v)];
    if (holders.length === 0) throw new TransactionError(`lookup ref ${formatOp(ref)} matches no entity: ${source}`, 'lookup-ref-not-found');
    await state.load([holders[0]!]);
    return holders[0]!;
  }

  /** The entity id an entity position names. Lookup refs must have been prefetched. */
  entity(ref: unknown, source: string): EntityId {
    if (typeof ref === 'number') return this.existing(ref, source);
    if (ref === TX_TEMPID) return this.tx;
    if (typeof ref === 'string') {
      if (isKeyword(ref)) {
        const id = this.transactor.schema.identToId.get(ref);
        if (id === undefined) throw new TransactionError(`unknown ident ${ref}: ${source}`, 'unknown-ident');
        return id;
      }
      const id = this.tempids.get(ref);
      if (id === undefined) throw new TransactionError(`internal: tempid ${ref} unresolved: ${source}`, 'internal');
      return id;
    }
    if (Array.isArray(ref)) {
      const [a, v] = this.lookupPair(ref, source);
      const holders = [...this.transactor.state.holdersOf(a, v)];
      if (holders.length === 0) throw new TransactionError(`lookup ref ${formatOp(ref)} matches no entity: ${source}`, 'lookup-ref-not-found');
      return holders[0]!;
    }
    throw new TransactionError(`not an entity id, tempid, ident or lookup ref: ${describe(ref)}: ${source}`, 'invalid-entity');
  }

  private existing(e: EntityId, source: string): EntityId {
    if (!Number.isSafeInteger(e) || e < 0 || e >= this.transactor.nextEid)
      throw new TransactionError(`entity id ${e} does not exist (never allocated): ${source}`, 'unknown-entity');
    return e;
  }

  /** Stored text of a value for an attribute; refs resolved to entity ids. */
  async value(attribute: Attribute, v: unknown, source: string): Promise<string> {
    if (attribute.valueType === 'ref') return String(await this.refValue(v, source));
    if (attribute.valueType === 'tuple') {
      const types = this.transactor.schema.elementTypes(attribute);
      if (types?.includes('ref') && Array.isArray(v)) {
        const homogeneous = types.length === 1;
        const resolved = await Promise.all(
          v.map((el, i) => ((homogeneous ? types[0] : types[i]) === 'ref' && el !== null ? this.refValue(el, source) : el)),
        );
        return this.transactor.encodePlain(attribute, resolved);
      }
    }
    return this.transactor.encodePlain(attribute, v);
  }

  private async refValue(v: unknown, source: string): Promise<EntityId> {
    if (typeof v === 'number') return this.existing(v, source);
    if (v === TX_TEMPID) return this.tx;
    if (typeof v === 'string') {
      if (isKeyword(v)) {
        const id = this.transactor.schema.identToId.get(v);
        if (id === undefined) throw new TransactionError(`unknown ident ${v}: ${source}`, 'unknown-ident');
        return id;
      }
      const id = this.tempids.get(v);
      if (id === undefined)
        throw new TransactionError(`tempid ${v} is used as a value but names no entity of the transaction: ${source}`, 'tempid-not-an-entity');
      return id;
    }
    if (Array.isArray(v)) return this.lookup(v, source);
    throw new ValueError(`expected an entity id, ident, tempid or lookup ref, got ${describe(v)}`);
  }

  userTempids(): Record<string, EntityId> {
    const out: Record<string, EntityId> = {};
    for (const [k, v] of this.tempids) if (!k.startsWith(MAP_TEMPID_PREFIX)) out[k] = v;
    out[TX_TEMPID] = this.tx;
    return out;
  }
}

const BUILTIN_IDENTS = new Set(BUILTIN_ATTRIBUTES.map((a) => a.ident));
const BUILTIN_IDS = new Set(BUILTIN_ATTRIBUTES.map((a) => a.id));

function isBuiltinAttribute(a: string | EntityId): boolean {
  return typeof a === 'number' ? BUILTIN_IDS.has(a) : BUILTIN_IDENTS.has(a);
}

function partition<T>(items: T[], test: (x: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const x of items) (test(x) ? yes : no).push(x);
  return [yes, no];
}

function cloneEntity(entity: StoredEntity): StoredEntity {
  return new Map([...entity].map(([a, values]) => [a, new Set(values)]));
}

/** Attributes a transaction defines, by ident, so that it can use them itself. */
function pendingAttributes(ops: TxRequest['ops']): Map<string, Pick<Attribute, 'valueType' | 'cardinality'>> {
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
    } else {
      const map = op as Record<string, unknown>;
      if (':db/ident' in map) for (const [k, v] of Object.entries(map)) merge(map[':db/id'] ?? map, k, v);
    }
  }
  const out = new Map<string, Pick<Attribute, 'valueType' | 'cardinality'>>();
  for (const entry of byEntity.values()) {
    const ident = entry[':db/ident'];
    const type = typeof entry[':db/valueType'] === 'string' ? (entry[':db/valueType'] as string).replace(':db.type/', '') : '';
    if (typeof ident !== 'string' || !VALUE_TYPES.includes(type as ValueType)) continue;
    out.set(ident, {
      valueType: type as ValueType,
      cardinality: entry[':db/cardinality'] === ':db.cardinality/many' ? 'many' : 'one',
    });
  }
  return out;
}

