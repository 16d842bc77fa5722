// Turns one transaction's operations into datoms against a batch's state, with Datomic's
// semantics, and applies them. Throws TransactionError naming the datom; the caller rolls
// the SQL transaction back, so a refused transaction writes nothing.
//
// A transaction runs in two phases so that it can use the attributes and idents it installs:
//   1. operations on the built-in schema attributes, and :db/retractEntity, against the
//      database as it was before the transaction;
//   2. the other operations, seeing the attributes and idents as phase 1 left them.
// Every datom is also checked against the conflict rules of the whole transaction (see
// TxPlan), so the split is not otherwise visible: the result is what expanding every
// operation against the database before the transaction would give.
import { BUILTIN_ATTRIBUTES, DB_IDENT, DB_TX_INSTANT, SCHEMA_ATTRIBUTE_IDS } from './builtins';
import { TransactionError } from './errors';
import { flatten, pendingAttributes, sourceOf, type FlatOp } from './ops';
import { TxPlan, type StoredTxDatom } from './plan';
import { prefetch } from './prefetch';
import { EntityResolver, TX_TEMPID, type ResolverHost } from './resolver';
import { Schema, type StoredEntity } from './schema';
import { checkSchemaChange } from './schema-change';
import type { BatchState } from './state';
import type { Attribute, EntityId, TxRequest } from './types';
import { ValueError, decodeValue, describe } from './values';

export type { StoredTxDatom } from './plan';

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

// Entity maps without :db/id get tempids no user string can equal (U+0000 is refused in values).
const MAP_TEMPID_PREFIX = '\u0000map-';
const BUILTIN_IDENTS = new Set(BUILTIN_ATTRIBUTES.map((a) => a.ident));
const BUILTIN_IDS = new Set(BUILTIN_ATTRIBUTES.map((a) => a.id));

/** An operation on one attribute of an entity (every kind but :db/retractEntity). */
type AttributeOp = Exclude<FlatOp, { kind: 'retractEntity' }>;

function isPhaseOne(op: FlatOp): boolean {
  if (op.kind === 'retractEntity') return true;
  return typeof op.a === 'number' ? BUILTIN_IDS.has(op.a) : BUILTIN_IDENTS.has(op.a);
}

function isTxInstantOp(op: FlatOp): op is FlatOp & { kind: 'add' } {
  return op.kind === 'add' && op.e === TX_TEMPID && (op.a === ':db/txInstant' || op.a === DB_TX_INSTANT);
}

export class Transactor implements ResolverHost {
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
  prefetch(requests: readonly TxRequest[]): Promise<void> {
    return prefetch(this.state, this.schema, this.nextEid, requests);
  }

  allocate(): EntityId {
    const id = this.nextEid++;
    this.state.markNew(id);
    return id;
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
    const ops = flat.filter((op) => !isTxInstantOp(op));
    const resolver = new EntityResolver(this, tx);
    await resolver.resolveAll(ops);

    const plan = new TxPlan((a, v) => this.name(a, v));
    plan.assert(tx, DB_TX_INSTANT, String(instantMs), false, true);
    const phaseOne: FlatOp[] = [];
    const phaseTwo: FlatOp[] = [];
    for (const op of ops) (isPhaseOne(op) ? phaseOne : phaseTwo).push(op);

    const datoms: StoredTxDatom[] = [];
    const requireHeld = request.requireHeld ?? false;
    await this.plan(phaseOne, resolver, plan, requireHeld);
    const first = plan.take();
    this.applyDatoms(first, t);
    datoms.push(...first);
    await this.checkUnique(first);
    await this.afterSchemaDatoms(first);

    await this.plan(phaseTwo, resolver, plan, requireHeld);
    const second = plan.take();
    this.applyDatoms(second, t);
    datoms.push(...second);

    const derived = this.deriveComposites(datoms);
    this.applyDatoms(derived, t);
    datoms.push(...derived);
    await this.checkUnique(datoms);

    this.t = t;
    this.lastInstantMs = instantMs;
    return { t, tx, instantMs, datoms, tempids: resolver.userTempids((k) => !k.startsWith(MAP_TEMPID_PREFIX)) };
  }

  private instant(request: TxRequest, flat: FlatOp[]): number {
    const fromOps = flat.filter(isTxInstantOp).map((op) => op.v);
    const given = request.txInstant !== undefined ? [request.txInstant, ...fromOps] : fromOps;
    if (given.length === 0) return Math.max(Date.now(), this.lastInstantMs);
    for (const x of given) {
      if (!(x instanceof Date) || Number.isNaN(x.getTime()))
        throw new TransactionError(`txInstant must be a valid Date, got ${describe(x)}`, 'invalid-instant');
    }
    const ms = (given[0] as Date).getTime();
    if (given.some((x) => (x as Date).getTime() !== ms))
      throw new TransactionError(`the transaction gives two different txInstants`, 'invalid-instant');
    if (ms < this.lastInstantMs)
      throw new TransactionError(
        `txInstant ${new Date(ms).toISOString()} is earlier than the previous transaction's ${new Date(this.lastInstantMs).toISOString()}`,
        'instant-in-past',
      );
    return ms;
  }

  private attributeFor(op: FlatOp & { a: string | EntityId }): Attribute {
    const attribute = this.schema.attribute(op.a);
    if (attribute) return attribute;
    const known = typeof op.a === 'string' ? this.schema.identToId.get(op.a) : op.a;
    const why = known === undefined ? 'unknown attribute' : 'not an attribute';
    throw new TransactionError(`${why} ${JSON.stringify(op.a)} in ${sourceOf(op)}`, 'unknown-attribute');
  }

  /**
   * Plans each operation. Most need nothing the batch has not read already and are planned
   * synchronously (an await per operation cost a restore more than its queries); the rest
   * read what they lack, then are planned the same way.
   */
  private async plan(ops: readonly FlatOp[], resolver: EntityResolver, plan: TxPlan, requireHeld: boolean): Promise<void> {
    for (const op of ops) {
      try {
        if (op.kind === 'retractEntity') {
          await this.planRetractEntity(resolver.entity(op.e, op), plan, new Set());
        } else if (!this.planNow(op, resolver, plan, requireHeld)) {
          await this.readFor(op, resolver);
          if (!this.planNow(op, resolver, plan, requireHeld))
            throw new Error(`internal: ${sourceOf(op)} still lacks reads after they were made`);
        }
      } catch (err) {
        if (err instanceof ValueError) throw new TransactionError(`${err.message} in ${sourceOf(op)}`, 'invalid-value');
        throw err;
      }
    }
  }

  /** What planNow may lack for an operation: its entity, and the holders of lookup refs in its values. */
  private async readFor(op: AttributeOp, resolver: EntityResolver): Promise<void> {
    await this.state.load([resolver.entity(op.e, op)]);
    const attribute = this.attributeFor(op);
    if (op.kind !== 'retract' || op.hasValue) await resolver.loadRefs(attribute, op.v, op);
    if (op.kind === 'cas' && op.old !== null && op.old !== undefined) await resolver.loadRefs(attribute, op.old, op);
  }

  /**
   * Plans one operation from what the batch has read; false, with nothing planned, when it
   * needs a read first.
   */
  private planNow(op: AttributeOp, resolver: EntityResolver, plan: TxPlan, requireHeld: boolean): boolean {
    const e = resolver.entity(op.e, op);
    if (!this.state.isLoaded(e)) return false;
    const attribute = this.attributeFor(op);
    const a = attribute.id;
    const current = this.state.values(e, a);
    if (op.kind === 'retract') {
      if (!op.hasValue) {
        for (const v of current) plan.retract(e, a, v, true);
        return true;
      }
      const v = resolver.valueNow(attribute, op.v, op);
      if (v === undefined) return false;
      if (requireHeld && !current.has(v))
        throw new TransactionError(
          `retraction of a datom the database does not hold: [${e} ${attribute.ident} ${this.name(a, v)}]: ${sourceOf(op)}`,
          'not-held',
        );
      plan.retract(e, a, v, current.has(v));
      return true;
    }
    if (attribute.tupleAttrs)
      throw new TransactionError(
        `${attribute.ident} is a composite tuple the database derives; do not assert it: ${sourceOf(op)}`,
        'composite-tuple',
      );
    const v = resolver.valueNow(attribute, op.v, op);
    if (v === undefined) return false;
    if (op.kind === 'cas') {
      if (attribute.cardinality !== 'one')
        throw new TransactionError(`:db/cas needs a cardinality-one attribute: ${sourceOf(op)}`, 'cas-cardinality');
      const old = op.old === null || op.old === undefined ? null : resolver.valueNow(attribute, op.old, op);
      if (old === undefined) return false;
      const holds = old === null ? current.size === 0 : current.has(old);
      if (!holds) {
        const found = current.size ? this.name(a, [...current][0]!) : 'no value';
        const expected = old === null ? 'no value' : this.name(a, old);
        throw new TransactionError(
          `:db/cas failed on entity ${e} ${attribute.ident}: expected ${expected}, found ${found}: ${sourceOf(op)}`,
          'cas-failed',
        );
      }
    }
    const one = attribute.cardinality === 'one';
    plan.assert(e, a, v, current.has(v), one);
    if (one && !current.has(v)) for (const old of current) plan.replace(e, a, old);
    return true;
  }

  /** The entity's datoms, the references to it, and its components, recursively. */
  private async planRetractEntity(e: EntityId, plan: TxPlan, seen: Set<EntityId>): Promise<void> {
    if (seen.has(e)) return;
    seen.add(e);
    await this.state.load([e]);
    const components: EntityId[] = [];
    for (const [a, values] of this.state.entity(e)) {
      const attribute = this.schema.attributes.get(a);
      for (const v of values) {
        plan.retract(e, a, v, true);
        if (attribute?.isComponent) components.push(Number(v));
      }
    }
    const refAttrs = [...this.schema.attributes.values()].filter((x) => x.valueType === 'ref').map((x) => x.id);
    for (const [holder, a] of await this.state.referrers(e, refAttrs)) plan.retract(holder, a, String(e), true);
    for (const c of components) await this.planRetractEntity(c, plan, seen);
  }

  private applyDatoms(datoms: readonly StoredTxDatom[], t: number): void {
    for (const d of datoms) {
      if (d.added) this.state.assert(d.e, d.a, d.v, t);
      else this.state.retract(d.e, d.a, d.v, t);
    }
  }

  /** Rebuilds the schema when datoms changed it, and checks the change. */
  private async afterSchemaDatoms(datoms: readonly StoredTxDatom[]): Promise<void> {
    const touched = new Set<EntityId>();
    for (const d of datoms) if (SCHEMA_ATTRIBUTE_IDS.has(d.a)) touched.add(d.e);
    if (touched.size === 0) return;
    const entities = new Map(this.schemaEntities);
    for (const e of touched) {
      const entity = this.state.entity(e);
      if (entity.has(DB_IDENT)) entities.set(e, cloneEntity(entity));
      else entities.delete(e);
    }
    const schema = new Schema(entities);
    const { problem, alterations } = checkSchemaChange(this.schema, schema, touched, (e) => this.state.entity(e));
    if (problem) throw new TransactionError(problem, 'schema-change');
    for (const { kind, attribute } of alterations) {
      if (kind === 'cardinality-one') {
        const e = await this.state.entityWithSeveralValues(attribute.id);
        if (e !== null)
          throw new TransactionError(
            `${attribute.ident} cannot become cardinality one: entity ${e} holds several values`,
            'schema-change',
          );
      } else {
        const v = await this.state.sharedValue(attribute.id);
        if (v !== null)
          throw new TransactionError(
            `${attribute.ident} cannot become unique: several entities hold ${this.name(attribute.id, v, schema)}`,
            'schema-change',
          );
      }
    }
    this.schema = schema;
    this.schemaEntities = entities;
    this.schemaChanged = true;
  }

  /** The composite tuples of the entities whose source attributes the datoms changed. */
  private deriveComposites(changed: readonly StoredTxDatom[]): StoredTxDatom[] {
    const composites = this.schema.compositesBySource;
    if (composites.size === 0) return [];
    const work = new Map<string, [EntityId, Attribute]>();
    for (const d of changed) {
      for (const composite of composites.get(d.a) ?? []) work.set(`${d.e}/${composite.id}`, [d.e, composite]);
    }
    const out: StoredTxDatom[] = [];
    for (const [e, composite] of work.values()) {
      const elements = composite.tupleAttrs!.map((ident) => {
        const source = this.schema.attribute(ident)!;
        for (const v of this.state.values(e, source.id)) return v;
        return null;
      });
      const next = elements.every((x) => x === null) ? null : JSON.stringify(elements);
      const current = this.state.values(e, composite.id);
      for (const old of current) if (old !== next) out.push({ e, a: composite.id, v: old, added: false });
      if (next !== null && !current.has(next)) out.push({ e, a: composite.id, v: next, added: true });
    }
    return out;
  }

  /** Each unique value asserted is held by its entity alone. */
  private async checkUnique(datoms: readonly StoredTxDatom[]): Promise<void> {
    const asserted = datoms.filter((d) => d.added && this.schema.attributes.get(d.a)?.unique);
    if (asserted.length === 0) return;
    await this.state.loadHolders(asserted.map((d) => [d.a, d.v] as const));
    for (const d of asserted) {
      const other = [...this.state.holdersOf(d.a, d.v)].find((h) => h !== d.e);
      if (other === undefined) continue;
      const attribute = this.schema.attributes.get(d.a)!;
      throw new TransactionError(
        `unique ${attribute.unique} conflict: ${attribute.ident} ${this.name(d.a, d.v)} is held by entity ${other}, ` +
          `asserted for entity ${d.e}`,
        'unique-conflict',
      );
    }
  }

  /** An attribute's ident, or a stored value as the user wrote it, for error messages. */
  private name(a: EntityId, v?: string, schema = this.schema): string {
    const attribute = schema.attributes.get(a);
    if (v === undefined) return attribute?.ident ?? String(a);
    if (!attribute) return v;
    try {
      return describe(decodeValue(attribute.valueType, v, schema.elementTypes(attribute)));
    } catch {
      return v;
    }
  }
}

function cloneEntity(entity: StoredEntity): StoredEntity {
  return new Map([...entity].map(([a, values]) => [a, new Set(values)]));
}

