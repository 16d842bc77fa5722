// A run of a source's transactions prepared for a clone: stored text of every value, the log
// and txs rows, and the net change to the current datoms, computed once in JavaScript so that
// the write is one statement (or COPY) with no transactor pass.
import { BUILTIN_ATTRIBUTES, DB_CARDINALITY, DB_IDENT, DB_IS_COMPONENT, DB_NO_HISTORY, DB_TUPLE_ATTRS, DB_TUPLE_TYPE, DB_TUPLE_TYPES, DB_UNIQUE, DB_VALUE_TYPE } from './builtins';
import { CloneDivergedError } from './errors';
import type { StoredDatom } from './state';
import type { Attribute, EntityId, Transaction, ValueType } from './types';
import { encodeValue } from './values';

/** Datoms of these attributes change the schema: the transaction that holds one moves schema_t. */
const SCHEMA_ATTRIBUTES = new Set([
  DB_IDENT, DB_VALUE_TYPE, DB_CARDINALITY, DB_UNIQUE, DB_IS_COMPONENT, DB_NO_HISTORY, DB_TUPLE_ATTRS, DB_TUPLE_TYPE, DB_TUPLE_TYPES,
]);

export interface LogRows {
  t: number[];
  seq: number[];
  e: number[];
  a: number[];
  v: string[];
  added: boolean[];
}

export interface PrepareOptions {
  /**
   * Rows for COPY into index-less tables (an initial load): no net change to the current
   * datoms, which the load derives from the log when it finishes.
   */
  bulk?: boolean;
}

interface Tracked extends StoredDatom {
  /** Held before the run (implied by the first operation on the datom). */
  base: boolean;
  now: boolean;
  /** The t and seq of the first operation, which the clone's state must agree with. */
  firstT: number;
  firstAdded: boolean;
  t: number;
}

/** The source's transactions firstT..lastT as the clone writes them. */
export class LogBatch {
  readonly txs: { t: number[]; tx: number[]; instant: number[] } = { t: [], tx: [], instant: [] };
  readonly log: LogRows = { t: [], seq: [], e: [], a: [], v: [], added: [] };
  /** Datoms held before the run that it retracts (and perhaps asserts again, with a new t). */
  readonly removed: StoredDatom[] = [];
  /** Datoms held after the run, each with the t that last asserted it. */
  readonly added: Array<StoredDatom & { t: number }> = [];
  /** Datoms the run asserts first: the clone must not hold them before it. */
  readonly absent: StoredDatom[] = [];
  /** For each datom above, the first t and operation that touched it (for a divergence message). */
  readonly firstTouch = new Map<string, { t: number; added: boolean }>();
  /** The largest entity id the run mentions as an entity or a transaction. */
  maxEid = 0;
  /** The last t that changed the schema, or null. */
  schemaT: number | null = null;
  lastInstantMs = 0;
  datoms = 0;
  /** COPY text of txs and log rows (bulk only). */
  copyTxs = '';
  copyLog = '';

  private constructor(
    readonly firstT: number,
    readonly lastT: number,
  ) {}

  static prepare(transactions: readonly Transaction[], attributes: ReadonlyMap<EntityId, Attribute>, options: PrepareOptions = {}): LogBatch {
    if (transactions.length === 0) throw new RangeError('a log batch needs at least one transaction');
    const batch = new LogBatch(transactions[0]!.t, transactions[transactions.length - 1]!.t);
    const codecs = new AttributeTypes(attributes);
    const tracked = options.bulk ? null : new Map<string, Tracked>();
    let expectT = batch.firstT;
    let copyTxs = '';
    let copyLog = '';
    for (const tx of transactions) {
      if (tx.t !== expectT) throw new RangeError(`log batch: after t=${expectT - 1} comes t=${tx.t}, not t=${expectT}`);
      expectT++;
      const instant = tx.instant.getTime();
      batch.txs.t.push(tx.t);
      batch.txs.tx.push(tx.tx);
      batch.txs.instant.push(instant);
      if (options.bulk) copyTxs += `${tx.t}\t${tx.tx}\t${instant}\n`;
      batch.lastInstantMs = instant;
      if (tx.tx > batch.maxEid) batch.maxEid = tx.tx;
      for (let seq = 0; seq < tx.datoms.length; seq++) {
        const [e, a, value, added] = tx.datoms[seq]!;
        const v = codecs.encode(a, value, tx.t);
        if (e > batch.maxEid) batch.maxEid = e;
        if (SCHEMA_ATTRIBUTES.has(a)) batch.schemaT = tx.t;
        if (options.bulk) {
          copyLog += `${tx.t}\t${seq}\t${e}\t${a}\t${copyText(v)}\t${added ? 't' : 'f'}\n`;
        } else {
          const log = batch.log;
          log.t.push(tx.t);
          log.seq.push(seq);
          log.e.push(e);
          log.a.push(a);
          log.v.push(v);
          log.added.push(added);
          track(tracked!, e, a, v, added, tx.t);
        }
      }
      batch.datoms += tx.datoms.length;
    }
    batch.copyTxs = copyTxs;
    batch.copyLog = copyLog;
    if (tracked) {
      for (const [key, d] of tracked) {
        const datom = { e: d.e, a: d.a, v: d.v };
        if (d.base) batch.removed.push(datom);
        else batch.absent.push(datom);
        if (d.now) batch.added.push({ ...datom, t: d.t });
        batch.firstTouch.set(key, { t: d.firstT, added: d.firstAdded });
      }
    }
    return batch;
  }

  get transactions(): number {
    return this.lastT - this.firstT + 1;
  }
}

export const datomKey = (e: EntityId, a: EntityId, v: string) => `${e}\u0001${a}\u0001${v}`;

function track(tracked: Map<string, Tracked>, e: EntityId, a: EntityId, v: string, added: boolean, t: number): void {
  const key = datomKey(e, a, v);
  const d = tracked.get(key);
  if (!d) {
    tracked.set(key, { e, a, v, base: !added, now: added, firstT: t, firstAdded: added, t });
    return;
  }
  if (d.now === added) {
    throw new CloneDivergedError(
      `the source's log at t=${t} ${added ? 'asserts' : 'retracts'} [${e} ${a} ${JSON.stringify(v)}], which ` +
        `${added ? 'it already holds' : 'it does not hold'} after t=${d.t}: the log contradicts itself`,
      t,
    );
  }
  d.now = added;
  d.t = t;
}

/** Each attribute's value type and tuple element types, from the segment's schema and the built-ins. */
class AttributeTypes {
  private readonly byId = new Map<EntityId, { type: ValueType; elements: ValueType[] | undefined }>();

  constructor(attributes: ReadonlyMap<EntityId, Attribute>) {
    const all = new Map<EntityId, Attribute>(BUILTIN_ATTRIBUTES.map((a) => [a.id, a]));
    for (const [id, a] of attributes) all.set(id, a);
    const byIdent = new Map([...all.values()].map((a) => [a.ident, a]));
    for (const a of all.values()) {
      let elements: ValueType[] | undefined;
      if (a.tupleType) elements = [a.tupleType];
      else if (a.tupleTypes) elements = a.tupleTypes;
      else if (a.tupleAttrs) {
        const parts = a.tupleAttrs.map((ident) => byIdent.get(ident)?.valueType);
        elements = parts.every((p) => p !== undefined) ? (parts as ValueType[]) : undefined;
      }
      this.byId.set(a.id, { type: a.valueType, elements });
    }
  }

  encode(a: EntityId, value: unknown, t: number): string {
    const codec = this.byId.get(a);
    if (!codec) throw new RangeError(`t=${t}: a datom of attribute ${a}, which the segment's schema does not hold`);
    return encodeValue(codec.type, value, codec.elements);
  }
}

/** A value in PostgreSQL's COPY text format. */
function copyText(v: string): string {
  return COPY_SPECIAL.test(v) ? v.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c]!) : v;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_ALL = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
