// The datom database: Datomic's data model and transaction semantics on PostgreSQL SQL.
//
// Writers serialize on the meta row (select ... for update), which holds the basis t and the
// next entity id, so t has no holes or duplicates however many processes write. Readers do not
// lock: a streamed read (txRange, datoms) reads page by page, and the current datoms are not a
// snapshot while writers run; the log (and so txRange and datoms({ asOfT })) never changes.
import { builtinIdents } from './builtins';
import { datomPagesAsOf } from './as-of';
import { firstContradiction, beginLoadSql, finishLoadSql, writeLogRows, writeLogRowsBulk } from './clone-write';
import { CloneRefusedError, DatabaseLoadingError, DatabaseOpenError, LogPositionError, TransactionError } from './errors';
import type { LogBatch } from './log-apply';
import { assertWritable, roleOf, type DatabaseRole, type Fence } from './roles';
import { Schema, type StoredEntity } from './schema';
import { FORMAT_VERSION, ensureTables, valueHash } from './sql/ddl';
import type { SqlDriver, SqlQueryable } from './sql/driver';
import { BatchState, type StoredDatom } from './state';
import { CommitNotifier, type CommitListener, type Unsubscribe } from './commits';
import { TableUpkeep } from './upkeep';
import { upgradeStored } from './upgrade';
import { Transactor, type AppliedTx } from './transactor';
import type {
  Attribute,
  CurrentDatom,
  Database,
  DatomsOptions,
  EntityId,
  EntityRef,
  Transaction,
  TransactBatchOptions,
  TransactOptions,
  TxDatom,
  TxOp,
  TxReport,
  TxRequest,
  Value,
} from './types';
import { decodeValue, encodeValue, isKeyword } from './values';
import { BatchWriter, initialize, type MetaRow } from './write';

interface SchemaCache {
  schema: Schema;
  entities: Map<EntityId, StoredEntity>;
  schemaT: number;
}

/** Tuning of a datom database, given to openDatabase: read page sizes, write parts, table upkeep. */
export interface DatomDatabaseOptions {
  /** Transactions read per page by txRange. */
  txPageSize?: number;
  /** Entities read per page by datoms(). */
  entityPageSize?: number;
  /**
   * Datoms per write statement within a batch (see BatchWriter): the server writes one part
   * while the next is computed.
   */
  writePartDatoms?: number;
  /** Analyze the tables as writes grow them, and on PGlite vacuum them (see upkeep.ts); on by default. */
  tableUpkeep?: boolean;
}

/** The SQL type maxValue compares an attribute's stored text as. */
const ORDERED_AS: Partial<Record<Attribute['valueType'], string>> = {
  long: 'int8',
  bigint: 'numeric',
  double: 'float8',
  float: 'float8',
  instant: 'int8',
};

export class DatomDatabase implements Database {
  private cache: SchemaCache | null = null;
  private closed = false;
  private readonly txPageSize: number;
  private readonly entityPageSize: number;
  private readonly upkeep: TableUpkeep | null;
  private readonly writePartDatoms: number;
  private readonly commits: CommitNotifier;

  private constructor(
    readonly location: string,
    private readonly driver: SqlDriver,
    options: DatomDatabaseOptions,
  ) {
    this.txPageSize = options.txPageSize ?? 256;
    this.entityPageSize = options.entityPageSize ?? 512;
    this.writePartDatoms = options.writePartDatoms ?? 2_000;
    this.commits = new CommitNotifier(driver);
    if (!Number.isInteger(this.writePartDatoms) || this.writePartDatoms < 1)
      throw new RangeError(`writePartDatoms must be a positive integer, got ${options.writePartDatoms}`);
    this.upkeep =
      options.tableUpkeep === false ? null : new TableUpkeep(driver, driver.schema, { vacuum: !driver.autovacuum });
  }

  /** Creates the schema, the tables and the built-in entities when absent. Closes the driver on failure. */
  static async open(location: string, driver: SqlDriver, options: DatomDatabaseOptions = {}): Promise<DatomDatabase> {
    try {
      await driver.transaction(async (q) => {
        await ensureTables(q, driver.schema);
        const [meta] = await q.query<MetaRow>('select * from meta');
        if (!meta) return initialize(q);
        if (meta.format !== FORMAT_VERSION)
          throw new DatabaseOpenError(`${location}: database format ${meta.format}, this txclone reads format ${FORMAT_VERSION}`);
        await upgradeStored(q);
      });
    } catch (err) {
      await driver.close().catch(() => undefined);
      if (err instanceof DatabaseOpenError) throw err;
      throw new DatabaseOpenError(`cannot open database ${location}: ${(err as Error).message}`, { cause: err });
    }
    const db = new DatomDatabase(location, driver, options);
    await db.upkeep?.opened();
    return db;
  }

  async basisT(): Promise<number> {
    const [row] = await this.driver.query<{ basis_t: number }>('select basis_t from meta');
    return row!.basis_t;
  }

  async schema(): Promise<Map<EntityId, Attribute>> {
    const { schema } = await this.currentSchema();
    return new Map(schema.attributes);
  }

  async builtins(): Promise<Map<EntityId, string>> {
    return builtinIdents();
  }

  async transact(ops: readonly TxOp[], options: TransactOptions = {}): Promise<TxReport> {
    const [report] = await this.transactBatch([{ ops, txInstant: options.txInstant }]);
    return report!;
  }

  async transactBatch(requests: readonly TxRequest[], options: TransactBatchOptions = {}): Promise<TxReport[]> {
    if (requests.length === 0) return [];
    const { results, schema, cache } = await this.driver.transaction(async (q) => {
      const [meta] = await q.query<MetaRow>('select * from meta for update');
      assertWritable(meta!, this.location);
      const before = await this.schemaFor(q, meta!.schema_t);
      const state = new BatchState(q);
      const transactor = new Transactor(state, {
        basisT: meta!.basis_t,
        nextEid: meta!.next_eid,
        lastInstantMs: meta!.last_instant,
        schema: before.schema,
        schemaEntities: before.entities,
      });
      await transactor.prefetch(requests);
      const schemaT = () => (transactor.schemaChanged ? transactor.t : meta!.schema_t);
      const writer = new BatchWriter(q, state, this.writePartDatoms, () => ({
        basis_t: transactor.t,
        next_eid: transactor.nextEid,
        schema_t: schemaT(),
        last_instant: transactor.lastInstantMs,
      }));
      const results: AppliedTx[] = [];
      try {
        for (const [i, request] of requests.entries()) {
          let result: AppliedTx;
          try {
            result = await transactor.apply(request);
          } catch (err) {
            if (err instanceof TransactionError) {
              err.batchIndex = i;
              if (requests.length > 1) err.message = `transaction ${i + 1} of ${requests.length} in the batch: ${err.message}`;
            }
            throw err;
          }
          results.push(result);
          await writer.add(result);
        }
        await writer.finish();
        await this.commits.notify(q, transactor.t);
      } catch (err) {
        await writer.abandon();
        throw err;
      }
      const cache = transactor.schemaChanged
        ? { schema: transactor.schema, entities: transactor.schemaEntities, schemaT: schemaT() }
        : null;
      return { results, schema: transactor.schema, cache };
    });
    // Only a committed schema goes into the cache.
    if (cache) this.cache = cache;
    this.commits.committed(results[results.length - 1]!.t);
    await this.upkeep?.wrote(results.reduce((n, r) => n + r.datoms.length, 0));
    const withDatoms = options.datoms ?? true;
    return results.map((r) => ({
      t: r.t,
      tx: r.tx,
      tempids: r.tempids,
      datoms: withDatoms ? r.datoms.map((d): TxDatom => [d.e, d.a, decodeStored(schema, d.a, d.v), d.added]) : [],
    }));
  }

  async role(): Promise<DatabaseRole> {
    const [meta] = await this.driver.query<MetaRow>('select * from meta');
    return roleOf(meta!);
  }

  async fence(fence: Fence): Promise<number> {
    return this.driver.transaction(async (q) => {
      const [meta] = await q.query<MetaRow>('select * from meta for update');
      const role = roleOf(meta!);
      if (role.fence?.migration === fence.migration) return meta!.basis_t;
      if (role.role !== 'primary') throw new CloneRefusedError(`${this.location} is a clone of ${role.cloneOf}: only a primary can be fenced`);
      if (role.fence)
        throw new CloneRefusedError(`${this.location} is fenced by migration ${role.fence.migration} already; migration ${fence.migration} cannot fence it`);
      await q.query('update meta set fence = $1', [JSON.stringify({ migration: fence.migration, newPrimary: fence.newPrimary })]);
      return meta!.basis_t;
    });
  }

  async unfence(migration: string): Promise<void> {
    await this.driver.query(`update meta set fence = null where fence::jsonb ->> 'migration' = $1`, [migration]);
  }

  async promote(): Promise<void> {
    await this.driver.transaction(async (q) => {
      const [meta] = await q.query<MetaRow>('select * from meta for update');
      if (meta!.role !== 'clone') return;
      if (meta!.loading)
        throw new DatabaseLoadingError(`${this.location}: the clone's initial load has not finished; restore it to its end before promoting it`);
      await q.query(`update meta set role = 'primary'`);
    });
  }

  async demote(cloneOf: string, migration: string): Promise<void> {
    await this.driver.transaction(async (q) => {
      const [meta] = await q.query<MetaRow>('select * from meta for update');
      const role = roleOf(meta!);
      if (role.role === 'clone' && role.cloneOf === cloneOf) return;
      if (role.role === 'clone')
        throw new CloneRefusedError(`${this.location} is a clone of ${role.cloneOf}; it cannot become a clone of ${cloneOf}`);
      if (role.fence?.migration !== migration && meta!.basis_t !== 0)
        throw new CloneRefusedError(
          `${this.location} is a primary not fenced by migration ${migration}: only a fenced or empty primary becomes a clone`,
        );
      await q.query(`update meta set role = 'clone', clone_of = $1, fence = null`, [cloneOf]);
    });
  }

  /**
   * Writes a source's transactions verbatim (same t, ids, instants and datoms): the clone's
   * basis must be the batch's first t - 1, checked under the meta lock. An empty primary
   * becomes a clone of source. A batch prepared for bulk load goes by COPY into index-less
   * tables; finishLoad() then derives the current datoms and builds the indexes.
   */
  async applyLog(batch: LogBatch, options: { source: string; bulk?: boolean }): Promise<void> {
    let contradicted = false;
    await this.driver.transaction(async (q) => {
      const [meta] = await q.query<MetaRow>('select * from meta for update');
      const role = roleOf(meta!);
      if (role.role === 'primary') {
        if (meta!.basis_t !== 0 || role.fence)
          throw new CloneRefusedError(
            `${this.location} is a primary at t=${meta!.basis_t}${role.cloneOf ? ` (a promoted clone of ${JSON.stringify(role.cloneOf)})` : ''}: ` +
              `a clone restore writes only into an empty database or a clone of ${JSON.stringify(options.source)}`,
          );
        await q.query(`update meta set role = 'clone', clone_of = $1`, [options.source]);
      } else if (role.cloneOf !== options.source) {
        throw new CloneRefusedError(`${this.location} is a clone of ${JSON.stringify(role.cloneOf)}, not of ${JSON.stringify(options.source)}`);
      }
      if (meta!.basis_t !== batch.firstT - 1)
        throw new LogPositionError(
          `${this.location} is at t=${meta!.basis_t}: transactions ${batch.firstT}..${batch.lastT} do not follow it`,
          meta!.basis_t,
        );
      if (options.bulk) {
        if (!meta!.loading) {
          if (meta!.basis_t !== 0) throw new Error(`internal: bulk load into ${this.location}, which is not empty and not loading`);
          await beginLoadSql(q, this.driver.schema);
        }
        await writeLogRowsBulk(q, batch);
        return;
      }
      if (meta!.loading) throw new Error(`internal: ${this.location} is loading; its batches go by bulk load until finishLoad`);
      const { present, missing } = await writeLogRows(q, batch);
      if (present > 0 || missing > 0) {
        contradicted = true;
        throw new RollBack();
      }
    }).catch((err) => {
      if (!(err instanceof RollBack)) throw err;
    });
    if (contradicted) {
      const error = await firstContradiction(this.driver, batch, this.location);
      throw error ?? new LogPositionError(`${this.location} changed while transactions ${batch.firstT}..${batch.lastT} were applied`, -1);
    }
    if (!options.bulk) await this.upkeep?.wrote(batch.datoms);
  }

  /** Ends a clone's initial load (see applyLog); does nothing when it is not loading. */
  async finishLoad(): Promise<void> {
    await this.driver.transaction(async (q) => {
      const [meta] = await q.query<MetaRow>('select * from meta for update');
      if (!meta!.loading) return;
      await finishLoadSql(q, this.driver.schema, this.location);
    });
    this.cache = null;
  }

  /** A digest of the log and txs rows with fromT <= t <= toT: equal logs give equal digests. */
  async logDigest(fromT: number, toT: number): Promise<string> {
    const [row] = await this.driver.query<{ log: string; txs: string }>(
      `select (select md5(coalesce(string_agg(concat_ws(',', t, seq, e, a, added, length(v), v), E'\n' order by t, seq), ''))
               from log where t >= $1 and t <= $2) as log,
              (select md5(coalesce(string_agg(concat_ws(',', t, tx, instant), E'\n' order by t), ''))
               from txs where t >= $1 and t <= $2) as txs`,
      [fromT, toT],
    );
    return `${row!.log}${row!.txs}`;
  }

  async *txRange(startT: number, endT: number): AsyncIterable<Transaction> {
    let from = Math.max(1, startT);
    while (from <= endT) {
      const txs = await this.driver.query<{ t: number; tx: number; instant: number }>(
        'select t, tx, instant from txs where t >= $1 and t <= $2 order by t limit $3',
        [from, endT, this.txPageSize],
      );
      if (txs.length === 0) return;
      const last = txs[txs.length - 1]!.t;
      const rows = await this.driver.query<{ t: number; e: number; a: number; v: string; added: boolean }>(
        'select t, e, a, v, added from log where t >= $1 and t <= $2 order by t, seq',
        [from, last],
      );
      const schema = await this.schemaCovering(rows);
      let i = 0;
      for (const tx of txs) {
        const datoms: TxDatom[] = [];
        while (i < rows.length && rows[i]!.t === tx.t) {
          const r = rows[i++]!;
          datoms.push([r.e, r.a, decodeStored(schema, r.a, r.v), r.added]);
        }
        yield { t: tx.t, tx: tx.tx, instant: new Date(tx.instant), datoms };
      }
      from = last + 1;
    }
  }

  async datomsAVET(attr: string | EntityId, value: Value): Promise<EntityId[]> {
    return (await this.datomsAVETMany(attr, [value]))[0]!;
  }

  async datomsAVETMany(attr: string | EntityId, values: readonly Value[]): Promise<EntityId[][]> {
    const { schema } = await this.currentSchema();
    const attribute = this.requireAttribute(schema, attr);
    const texts = values.map((v) => {
      // A ref may be given by its ident, as in transactions.
      const x = attribute.valueType === 'ref' && isKeyword(v) ? (schema.identToId.get(v) ?? -1) : v;
      return encodeValue(attribute.valueType, x, schema.elementTypes(attribute));
    });
    const rows = await this.driver.query<{ i: number; e: number }>(
      `select p.i::int8 as i, eav.e from unnest($2::text[]) with ordinality as p(v, i)
       join eav on eav.a = $1 and ${valueHash('eav.v')} = ${valueHash('p.v')} and eav.v = p.v order by p.i, eav.e`,
      [attribute.id, texts],
    );
    const out: EntityId[][] = values.map(() => []);
    for (const row of rows) out[row.i - 1]!.push(row.e);
    return out;
  }

  async maxValue(attr: string | EntityId): Promise<Value | null> {
    const { schema } = await this.currentSchema();
    const attribute = this.requireAttribute(schema, attr);
    const sqlType = ORDERED_AS[attribute.valueType];
    if (!sqlType)
      throw new TypeError(`maxValue needs a long, bigint, double, float or instant attribute; ${attribute.ident} is ${attribute.valueType}`);
    // Compared as numbers, never as text ('9' > '10'); returned as the stored text of the maximum.
    const [row] = await this.driver.query<{ v: string }>(
      `select v from eav where a = $1 order by v::${sqlType} desc limit 1`,
      [attribute.id],
    );
    return row ? decodeValue(attribute.valueType, row.v) : null;
  }

  async resolve(ref: EntityRef): Promise<EntityId | null> {
    if (typeof ref === 'number') {
      const [meta] = await this.driver.query<{ next_eid: number }>('select next_eid from meta');
      return Number.isSafeInteger(ref) && ref >= 0 && ref < meta!.next_eid ? ref : null;
    }
    if (typeof ref === 'string') {
      if (!isKeyword(ref)) return null;
      const { schema } = await this.currentSchema();
      return schema.identToId.get(ref) ?? null;
    }
    const [attr, value] = ref;
    const { schema } = await this.currentSchema();
    if (!schema.attribute(attr)?.unique) return null;
    const holders = await this.datomsAVET(attr, value);
    return holders[0] ?? null;
  }

  async entity(ref: EntityRef): Promise<Record<string, Value | Value[]> | null> {
    const e = await this.resolve(ref);
    if (e === null) return null;
    const rows = await this.driver.query<{ a: number; v: string }>('select a, v from eav where e = $1 order by a, v', [e]);
    if (rows.length === 0) return null;
    const schema = await this.schemaCovering(rows);
    const out: Record<string, Value | Value[]> = {};
    for (const { a, v } of rows) {
      const attribute = schema.attributes.get(a)!;
      const value = decodeStored(schema, a, v);
      if (attribute.cardinality === 'many') ((out[attribute.ident] ??= []) as Value[]).push(value);
      else out[attribute.ident] = value;
    }
    return out;
  }

  async *datoms(options: DatomsOptions = {}): AsyncIterable<CurrentDatom> {
    const pages =
      options.asOfT !== undefined && options.asOfT < (await this.basisT())
        ? datomPagesAsOf(this.driver, options.asOfT, this.entityPageSize)
        : this.currentPages();
    for await (const page of pages) {
      const schema = await this.schemaCovering(page);
      for (const d of page) yield [d.e, d.a, decodeStored(schema, d.a, d.v)];
    }
  }

  private async *currentPages(): AsyncGenerator<StoredDatom[]> {
    let after = -1;
    for (;;) {
      const rows = await this.driver.query<StoredDatom>(
        `select e, a, v from eav where e in (select distinct e from eav where e > $1 order by e limit $2)
         order by e, a, v collate "C"`,
        [after, this.entityPageSize],
      );
      if (rows.length === 0) return;
      yield rows;
      after = rows[rows.length - 1]!.e;
    }
  }

  /** Tells listener of every commit, in this process or (PostgreSQL) any other; see commits.ts. */
  onCommit(listener: CommitListener): Promise<Unsubscribe> {
    return this.commits.subscribe(listener);
  }

  /** Releases the driver; closing again does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commits.close();
    await this.driver.close();
  }

  private requireAttribute(schema: Schema, attr: string | EntityId): Attribute {
    const attribute = schema.attribute(attr);
    if (!attribute) throw new TypeError(`unknown attribute ${String(attr)} in ${this.location}`);
    return attribute;
  }

  /** A schema that knows every attribute of the rows (read again if a writer added one meanwhile). */
  private async schemaCovering(rows: ReadonlyArray<{ a: number }>): Promise<Schema> {
    const { schema } = await this.currentSchema();
    if (rows.every((r) => schema.attributes.has(r.a))) return schema;
    const [meta] = await this.driver.query<{ schema_t: number }>('select schema_t from meta');
    this.cache = null;
    return (await this.schemaFor(this.driver, meta!.schema_t)).schema;
  }

  /** The schema as committed now; read again when another writer changed it. */
  private async currentSchema(): Promise<SchemaCache> {
    const [meta] = await this.driver.query<{ schema_t: number; loading: boolean }>('select schema_t, loading from meta');
    if (meta!.loading)
      throw new DatabaseLoadingError(`${this.location} is a clone whose initial load has not finished: its current datoms are not derived yet`);
    return this.schemaFor(this.driver, meta!.schema_t);
  }

  private async schemaFor(q: SqlQueryable, schemaT: number): Promise<SchemaCache> {
    if (this.cache?.schemaT === schemaT) return this.cache;
    const rows = await q.query<StoredDatom>('select e, a, v from eav where e in (select e from eav where a = 1)');
    const entities = new Map<EntityId, StoredEntity>();
    for (const { e, a, v } of rows) {
      const entity = entities.get(e) ?? new Map<EntityId, Set<string>>();
      const values = entity.get(a) ?? new Set<string>();
      values.add(v);
      entity.set(a, values);
      entities.set(e, entity);
    }
    const cache = { schema: new Schema(entities), entities, schemaT };
    this.cache = cache;
    return cache;
  }
}

/** Unwinds a SQL transaction whose outcome the caller reports itself. */
class RollBack extends Error {}

function decodeStored(schema: Schema, a: EntityId, v: string): Value {
  const attribute = schema.attributes.get(a);
  if (!attribute) throw new Error(`datom of attribute ${a}, which the schema does not know`);
  return decodeValue(attribute.valueType, v, schema.elementTypes(attribute));
}
