// The database port: what replication needs from a Datomic-style database.
// Both the source and the target satisfy it; nothing here knows about replication.
import type { LogBatch } from './log-apply';
import type { DatabaseRole, Fence } from './roles';

/** An entity id: a safe integer, unique within one database. */
export type EntityId = number;

/** An attribute's value type, as in `:db.type/string` without the namespace. */
export type ValueType =
  | 'string'
  | 'keyword'
  | 'boolean'
  | 'long'
  | 'bigint'
  | 'double'
  | 'bigdec'
  | 'instant'
  | 'uuid'
  | 'uri'
  | 'bytes'
  | 'ref'
  | 'tuple'
  | 'float'
  | 'symbol';

/** Every value type txclone reads, writes and replicates. */
export const VALUE_TYPES: readonly ValueType[] = [
  'string',
  'keyword',
  'boolean',
  'long',
  'bigint',
  'double',
  'bigdec',
  'instant',
  'uuid',
  'uri',
  'bytes',
  'ref',
  'tuple',
  // Added later: appended, so that the entity ids of the types above (builtins.ts) never change.
  'float',
  'symbol',
];

/** A scalar value as JavaScript holds it; the attribute's valueType says which. */
export type Scalar = string | number | boolean | bigint | Date | Uint8Array;
/** A datom's value: a scalar, or a tuple (an array whose elements may be null). */
export type Value = Scalar | ReadonlyArray<Scalar | null>;

/** An attribute's cardinality: one value per entity, or a set of values. */
export type Cardinality = 'one' | 'many';
/** An attribute's `:db/unique`: identity (upserts) or value (conflicts fail). */
export type Uniqueness = 'identity' | 'value';

/** An attribute as installed by a transaction: its id, ident and schema properties. */
export interface Attribute {
  id: EntityId;
  ident: string;
  valueType: ValueType;
  cardinality: Cardinality;
  unique: Uniqueness | null;
  isComponent: boolean;
  noHistory: boolean;
  /** Composite tuple: the attributes whose values the database derives it from. */
  tupleAttrs: string[] | null;
  /** Homogeneous tuple: the type of every element. */
  tupleType: ValueType | null;
  /** Heterogeneous tuple: the type of each element. */
  tupleTypes: ValueType[] | null;
}

/** A datom inside one transaction: [e, a, v, added]; the transaction gives tx and t. */
export type TxDatom = [e: EntityId, a: EntityId, v: Value, added: boolean];

/** A current datom: [e, a, v]. */
export type CurrentDatom = [e: EntityId, a: EntityId, v: Value];

/** One transaction of the log: its t, transaction entity, instant and datoms. */
export interface Transaction {
  t: number;
  /** The transaction entity's id. */
  tx: EntityId;
  /** The transaction's :db/txInstant. */
  instant: Date;
  datoms: TxDatom[];
}

/** Where an entity id is expected: an id, a tempid string, an ident keyword or a lookup ref. */
export type EntityRef = EntityId | string | readonly [attr: string | EntityId, value: Value];

/** A list-form operation: `:db/add`, `:db/retract`, `:db/cas` or `:db/retractEntity`. */
export type ListOp =
  | readonly [':db/add', EntityRef, string | EntityId, unknown]
  | readonly [':db/retract', EntityRef, string | EntityId, unknown?]
  | readonly [':db/cas', EntityRef, string | EntityId, unknown, unknown]
  | readonly [':db/retractEntity', EntityRef];

/**
 * An entity map: attribute idents to values, with an optional `':db/id'` (an id, a tempid, an ident
 * or a lookup ref).
 */
export type EntityMap = { readonly [key: string]: unknown };

/** One operation of a transaction: a list form or an entity map. */
export type TxOp = ListOp | EntityMap;

/** Options of Database.transact. */
export interface TransactOptions {
  /** The transaction's :db/txInstant; not earlier than the previous transaction's. */
  txInstant?: Date;
}

/** Options of Database.transactBatch. */
export interface TransactBatchOptions {
  /**
   * Whether the reports carry their datoms (default true). A caller that needs only t, tx
   * and tempids (a restore) saves decoding every datom it wrote.
   */
  datoms?: boolean;
}

/** What a transaction did: its t, transaction entity, tempids resolved, and the datoms it recorded. */
export interface TxReport {
  t: number;
  tx: EntityId;
  /** The datoms this transaction recorded (the log entry); empty when not asked for. */
  datoms: TxDatom[];
  tempids: Record<string, EntityId>;
}

/** One transaction of a Database.transactBatch: its operations and instant. */
export interface TxRequest {
  ops: readonly TxOp[];
  txInstant?: Date;
  /**
   * A :db/retract of a datom the database does not hold is an error (code 'not-held')
   * instead of a no-op. Replay uses it: such a retraction means the replica diverged.
   */
  requireHeld?: boolean;
}

/** Options of Database.datoms. */
export interface DatomsOptions {
  /** The database as of this t (inclusive); the newest when absent. */
  asOfT?: number;
}

/** The database port: what replication needs from a source or a target, and what openDatabase returns. */
export interface Database {
  /** Where the database lives, as given to openDatabase (credentials removed). */
  readonly location: string;
  /** The newest t; 0 for a database with no transactions. */
  basisT(): Promise<number>;
  /** Transactions with startT <= t <= endT, in t order, streamed page by page. */
  txRange(startT: number, endT: number): AsyncIterable<Transaction>;
  /** Every attribute, by id, as of now. */
  schema(): Promise<Map<EntityId, Attribute>>;
  /** Entities that exist before the first transaction (the built-in schema), id to ident. */
  builtins(): Promise<Map<EntityId, string>>;
  transact(ops: readonly TxOp[], options?: TransactOptions): Promise<TxReport>;
  /**
   * Several transactions in one commit: each its own t and transaction entity, each seeing
   * the ones before it; all or nothing (the TransactionError says which one failed).
   */
  transactBatch(requests: readonly TxRequest[], options?: TransactBatchOptions): Promise<TxReport[]>;
  /** Entity ids holding value for attr, now. */
  datomsAVET(attr: string | EntityId, value: Value): Promise<EntityId[]>;
  /** For each value, the entity ids holding it for attr (one query for all). */
  datomsAVETMany(attr: string | EntityId, values: readonly Value[]): Promise<EntityId[][]>;
  /** The largest value of attr held by any entity now (for long, bigint, double, float, instant), or null. */
  maxValue(attr: string | EntityId): Promise<Value | null>;
  /** The entity's current attributes by ident (cardinality many as arrays), or null if it holds nothing. */
  entity(eid: EntityRef): Promise<Record<string, Value | Value[]> | null>;
  /** Resolve an ident, lookup ref or id to an entity id, or null. */
  resolve(ref: EntityRef): Promise<EntityId | null>;
  /**
   * The current datoms (or as of a t), streamed page by page in entity order. The as-of view
   * is read from the log and is exact; the current view's pages are read at different moments,
   * so with concurrent writers they are not one snapshot.
   */
  datoms(options?: DatomsOptions): AsyncIterable<CurrentDatom>;
  /** Primary or clone, loading or not, fenced or not: kept in the database, so every process sees it. */
  role(): Promise<DatabaseRole>;
  /** Makes a primary refuse transactions (DatabaseFencedError); returns its basis t. The same migration again is a no-op. */
  fence(fence: Fence): Promise<number>;
  /** Lifts the fence if this migration set it. */
  unfence(migration: string): Promise<void>;
  /** A clone becomes a primary that accepts transactions (and refuses clone restores); a primary stays one. */
  promote(): Promise<void>;
  /** A primary fenced by this migration (or an empty one) becomes a clone of cloneOf, fence lifted. */
  demote(cloneOf: string, migration: string): Promise<void>;
  /** Writes a source's transactions verbatim into a clone (see LogBatch); an empty primary becomes a clone of source. */
  applyLog(batch: LogBatch, options: { source: string; bulk?: boolean }): Promise<void>;
  /** Ends a clone's initial load: derives the current datoms and builds the indexes. */
  finishLoad(): Promise<void>;
  /** A digest of the log with fromT <= t <= toT: two databases with equal logs give equal digests. */
  logDigest(fromT: number, toT: number): Promise<string>;
  /**
   * Calls listener after each commit (with the new basis t, or null when commits may
   * have been missed, e.g. after a reconnect) until the returned function is called.
   * Optional: a database that cannot notify lacks it, and callers poll.
   */
  onCommit?(listener: (t: number | null) => void): Promise<() => Promise<void>>;
  /** Releases everything (connections, the PGlite instance and its directory lock); closing again does nothing. */
  close(): Promise<void>;
}
