// The datom database: Datomic's data model and transaction semantics on PostgreSQL SQL.
import { BUILTIN_ATTRIBUTES, FIRST_USER_ENTITY_ID, builtinDatoms, builtinIdents } from './builtins';
import { DatabaseOpenError, TransactionError } from './errors';
import { Schema, type StoredEntity } from './schema';
import { CREATE_TABLES, FORMAT_VERSION } from './sql/ddl';
import type { SqlDriver, SqlQueryable } from './sql/driver';
import { BatchState } from './state';
import { Transactor, type AppliedTx } from './transactor';
import type {
  Attribute,
  CurrentDatom,
  Database,
  DatomsOptions,
  EntityId,
  EntityRef,
  Transaction,
  TxDatom,
  TxOp,
  TransactOptions,
  TxReport,
  TxRequest,
  Value,
} from './types';
import { decodeValue, encodeValue, isKeyword } from './values';

interface MetaRow {
  format: number;
  basis_t: number;
  next_eid: number;
  schema_t: number;
  last_instant: number;
}

interface SchemaCache {
  schema: Schema;
  entities: Map<EntityId, StoredEntity>;
  schemaT: number;
}

export interface DatomDatabaseOptions {
  /** Transactions read per page by txRange. */
  txPageSize?: number;
  /** Entities read per page by datoms(). */
  entityPageSize?: number;
}

export class DatomDatabase implements Database {
  private cache: SchemaCache | null = null;
  private readonly txPageSize: number;
  private readonly entityPageSize: number;

  private constructor(
    readonly location: string,
    private readonly driver: SqlDriver,
    options: DatomDatabaseOptions,
  ) {
    this.txPageSize = options.txPageSize ?? 256;
    this.entityPageSize = options.entityPageSize ?? 512;
  }

  /** Creates the tables and the built-in schema when absent. */
  static async open(location: string, driver: SqlDriver, options: DatomDatabaseOptions = {}): Promise<DatomDatabase> {
    try {
      await driver.transaction(async (q) => {
        // Two processes opening a new database at once must not both create it.
        await q.query(`select pg_advisory_xact_lock(hashtext(current_schema()))`);
        for (const statement of CREATE_TABLES.split(';').map((s) => s.trim()).filter(Boolean)) {
          await q.query(statement);
        }
        const [meta] = await q.query<MetaRow>('select * from meta');
        if (meta) {
          if (meta.format !== FORMAT_VERSION)
            throw new DatabaseOpenError(`${location}: database format ${meta.format}, this txclone reads format ${FORMAT_VERSION}`);
          return;
        }
        await initialize(q);
      });
    } catch (err) {
      await driver.close().catch(() => undefined);
      if (err instanceof DatabaseOpenError) throw err;
      throw new DatabaseOpenError(`cannot open database ${location}: ${(err as Error).message}`, { cause: err });
    }
    return new DatomDatabase(location, driver, options);
  }

  async basisT(): Promise<number> {
    const [row] = await this.driver.query<{ basis_t: number }>('select basis_t from meta');
    return row!.basis_t;
  }

  async schema(): Promise<Map<EntityId, Attribute>> {
    const cache = await this.currentSchema();
    return new Map(cache.schema.attributes);
  }

  async builtins(): Promise<Map<EntityId, string>> {
    return builtinIdents();
  }

  transact(ops: readonly TxOp[], options: TransactOptions = {}): Promise<TxReport> {
    return this.transactBatch([{ ops, txInstant: options.txInstant }]).then((reports) => reports[0]!);
  }

  async transactBatch(requests: readonly TxRequest[]): Promise<TxReport[]> {
    if (requests.length === 0) return [];
    let schemaAfter: SchemaCache | null = null;
    const applied = await this.driver.transaction(async (q) => {
      const [meta] = await q.query<MetaRow>('select * from meta for update');
      const cache = await this.schemaFor(q, meta!.schema_t);
      const state = new BatchState(q);
      const transactor = new Transactor(state, {
        basisT: meta!.basis_t,
        nextEid: meta!.next_eid,
        lastInstantMs: meta!.last_instant,
        schema: cache.schema,
        schemaEntities: cache.entities,
      });
      await transactor.prefetch(requests);
      const results: AppliedTx[] = [];
      for (const [i, request] of requests.entries()) {
        try {
          results.push(await transactor.apply(request));
        } catch (err) {
          if (err instanceof TransactionError && requests.length > 1) {
            err.message = `transaction ${i + 1} of ${requests.length} in the batch: ${err.message}`;
          }
          throw err;
        }
      }
      const schemaT = transactor.schemaChanged ? transactor.t : meta!.schema_t;
      await write(q, state, results, {
        basis_t: transactor.t,
        next_eid: transactor.nextEid,
        schema_t: schemaT,
        last_instant: transactor.lastInstantMs,
      });
      if (transactor.schemaChanged) {
        schemaAfter = { schema: transactor.schema, entities: transactor.schemaEntities, schemaT };
      }
      return { results, schema: transactor.schema };
    });
    if (schemaAfter) this.cache = schemaAfter;
    return applied.results.map((r) => ({
      t: r.t,
      tx: r.tx,
      tempids: r.tempids,
      datoms: r.datoms.map((d) => [d.e, d.a, decodeStored(applied.schema, d.a, d.v), d.added] as TxDatom),
    }));
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
      let schema = (await this.currentSchema()).schema;
      if (rows.some((r) => !schema.attributes.has(r.a))) schema = (await this.currentSchema(true)).schema;
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
    const texts = values.map((v) => encodeValue(attribute.valueType, v, schema.elementTypes(attribute)));
    const rows = await this.driver.query<{ i: number; e: number }>(
      `select p.i::int8 as i, eav.e from unnest($2::text[]) with ordinality as p(v, i)
       join eav on eav.a = $1 and md5(eav.v) = md5(p.v) and eav.v = p.v order by p.i, eav.e`,
      [attribute.id, texts],
    );
    const out: EntityId[][] = values.map(() => []);
    for (const row of rows) out[row.i - 1]!.push(row.e);
    return out;
  }

  async maxValue(attr: string | EntityId): Promise<Value | null> {
    const { schema } = await this.currentSchema();
    const attribute = this.requireAttribute(schema, attr);
    const cast: Partial<Record<Attribute['valueType'], string>> = {
      long: 'numeric',
      bigint: 'numeric',
      double: 'float8',
      instant: 'int8',
    };
    const sqlType = cast[attribute.valueType];
    if (!sqlType) throw new TypeError(`maxValue needs a numeric or instant attribute; ${attribute.ident} is ${attribute.valueType}`);
    const [row] = await this.driver.query<{ m: string | null }>(
      `select max(v::${sqlType})::text as m from eav where a = $1`,
      [attribute.id],
    );
    if (row?.m === null || row?.m === undefined) return null;
    return decodeValue(attribute.valueType, attribute.valueType === 'double' ? String(Number(row.m)) : row.m);
  }

  async resolve(ref: EntityRef): Promise<EntityId | null> {
    if (typeof ref === 'number') {
      const [meta] = await this.driver.query<{ next_eid: number }>('select next_eid from meta');
      return ref >= 0 && ref < meta!.next_eid ? ref : null;
    }
    const { schema } = await this.currentSchema();
    if (typeof ref === 'string') {
      if (!isKeyword(ref)) return null;
      return schema.identToId.get(ref) ?? (await this.currentSchema(true)).schema.identToId.get(ref) ?? null;
    }
    const [attr, value] = ref;
    const holders = await this.datomsAVET(attr, value);
    return holders[0] ?? null;
  }

  async entity(ref: EntityRef): Promise<Record<string, Value | Value[]> | null> {
    const e = await this.resolve(ref);
    if (e === null) return null;
    const rows = await this.driver.query<{ a: number; v: string }>('select a, v from eav where e = $1 order by a', [e]);
    if (rows.length === 0) return null;
    const { schema } = await this.currentSchema(rows.some((r) => !this.cache?.schema.attributes.has(r.a)));
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
    const basis = await this.basisT();
    if (options.asOfT === undefined || options.asOfT >= basis) {
      yield* this.currentDatoms();
    } else {
      yield* this.datomsAsOf(options.asOfT);
    }
  }

  private async *currentDatoms(): AsyncIterable<CurrentDatom> {
    let after = -1;
    for (;;) {
      const rows = await this.driver.query<{ e: number; a: number; v: string }>(
        `select e, a, v from eav where e in (select distinct e from eav where e > $1 order by e limit $2)
         order by e, a, v`,
        [after, this.entityPageSize],
      );
      if (rows.length === 0) return;
      const schema = await this.schemaCovering(rows);
      for (const r of rows) yield [r.e, r.a, decodeStored(schema, r.a, r.v)];
      after = rows[rows.length - 1]!.e;
    }
  }

  private async *datomsAsOf(asOfT: number): AsyncIterable<CurrentDatom> {
    // The built-in datoms (t = 0) are not in the log; start from them.
    const base = new Map<EntityId, Map<string, { a: EntityId; v: string }>>();
    const { schema: current } = await this.currentSchema();
    for (const [e, a, v] of builtinDatoms()) {
      const attribute = current.attributes.get(a)!;
      const text = encodeValue(attribute.valueType, v, current.elementTypes(attribute));
      const entity = base.get(e) ?? new Map();
      entity.set(`${a}\u0001${text}`, { a, v: text });
      base.set(e, entity);
    }
    let after = -1;
    for (;;) {
      const rows = await this.driver.query<{ e: number; a: number; v: string; added: boolean }>(
        `select e, a, v, added from log
         where t <= $2 and e in (select distinct e from log where e > $1 and t <= $2 order by e limit $3)
         order by e, t, seq`,
        [after, asOfT, this.entityPageSize],
      );
      const builtinEntities = [...base.keys()].filter((e) => e > after && (rows.length === 0 || e < rows[rows.length - 1]!.e));
      if (rows.length === 0 && builtinEntities.length === 0) return;
      const entities = new Map<EntityId, Map<string, { a: EntityId; v: string }>>();
      for (const e of builtinEntities) entities.set(e, new Map(base.get(e)));
      for (const r of rows) {
        let entity = entities.get(r.e);
        if (!entity) {
          entity = new Map(base.get(r.e) ?? []);
          entities.set(r.e, entity);
        }
        const k = `${r.a}\u0001${r.v}`;
        if (r.added) entity.set(k, { a: r.a, v: r.v });
        else entity.delete(k);
      }
      const schema = await this.schemaCovering(rows);
      const sorted = [...entities.keys()].sort((x, y) => x - y);
      for (const e of sorted) {
        const datoms = [...entities.get(e)!.values()].sort((x, y) => x.a - y.a || (x.v < y.v ? -1 : x.v > y.v ? 1 : 0));
        for (const d of datoms) yield [e, d.a, decodeStored(schema, d.a, d.v)];
      }
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.e;
    }
  }

  async close(): Promise<void> {
    await this.driver.close();
  }

  private requireAttribute(schema: Schema, attr: string | EntityId): Attribute {
    const attribute = schema.attribute(attr);
    if (!attribute) throw new TypeError(`unknown attribute ${String(attr)} in ${this.location}`);
    return attribute;
  }

  private async schemaCovering(rows: Array<{ a: number }>): Promise<Schema> {
    const cached = await this.currentSchema();
    if (rows.every((r) => cached.schema.attributes.has(r.a))) return cached.schema;
    return (await this.currentSchema(true)).schema;
  }

  /** The schema as committed now; read again when another writer changed it. */
  private async currentSchema(force = false): Promise<SchemaCache> {
    const [meta] = await this.driver.query<{ schema_t: number }>('select schema_t from meta');
    if (force && this.cache) this.cache = { ...this.cache, schemaT: -1 };
    return this.schemaFor(this.driver, meta!.schema_t);
  }

  private async schemaFor(q: SqlQueryable, schemaT: number): Promise<SchemaCache> {
    if (this.cache && this.cache.schemaT === schemaT) return this.cache;
    const rows = await q.query<{ e: number; a: number; v: string }>(
      'select e, a, v from eav where e in (select e from eav where a = 1)',
    );
    const entities = new Map<EntityId, StoredEntity>();
    for (const { e, a, v } of rows) {
      const entity = entities.get(e) ?? new Map<EntityId, Set<string>>();
      const values = entity.get(a) ?? new Set<string>();
      values.add(v);
      entity.set(a, values);
      entities.set(e, entity);
    }
    this.cache = { schema: new Schema(entities), entities, schemaT };
    return this.cache;
  }
}

function decodeStored(schema: Schema, a: EntityId, v: string): Value {
  const attribute = schema.attributes.get(a);
  if (!attribute) throw new Error(`datom of attribute ${a}, which the schema does not know`);
  return decodeValue(attribute.valueType, v, schema.elementTypes(attribute));
}

async function initialize(q: SqlQueryable): Promise<void> {
  const byId = new Map(BUILTIN_ATTRIBUTES.map((a) => [a.id, a]));
  const es: number[] = [];
  const as: number[] = [];
  const vs: string[] = [];
  for (const [e, a, v] of builtinDatoms()) {
    const attribute = byId.get(a)!;
    es.push(e);
    as.push(a);
    vs.push(encodeValue(attribute.valueType, v, attribute.tupleType ? [attribute.tupleType] : undefined));
  }
  await q.query(
    'insert into eav (e, a, v, t) select e, a, v, 0 from unnest($1::int8[], $2::int8[], $3::text[]) as d(e, a, v)',
    [es, as, vs],
  );
  await q.query(
    'insert into meta (id, format, basis_t, next_eid, schema_t, last_instant) values (1, $1, 0, $2, 0, 0)',
    [FORMAT_VERSION, FIRST_USER_ENTITY_ID],
  );
}

async function write(
  q: SqlQueryable,
  state: BatchState,
  results: AppliedTx[],
  meta: Omit<MetaRow, 'format'>,
): Promise<void> {
  await q.query('insert into txs (t, tx, instant) select * from unnest($1::int8[], $2::int8[], $3::int8[])', [
    results.map((r) => r.t),
    results.map((r) => r.tx),
    results.map((r) => r.instantMs),
  ]);
  const log = { t: [] as number[], seq: [] as number[], e: [] as number[], a: [] as number[], v: [] as string[], added: [] as boolean[] };
  for (const r of results) {
    r.datoms.forEach((d, seq) => {
      log.t.push(r.t);
      log.seq.push(seq);
      log.e.push(d.e);
      log.a.push(d.a);
      log.v.push(d.v);
      log.added.push(d.added);
    });
  }
  await q.query(
    `insert into log (t, seq, e, a, v, added)
     select * from unnest($1::int8[], $2::int4[], $3::int8[], $4::int8[], $5::text[], $6::bool[])`,
    [log.t, log.seq, log.e, log.a, log.v, log.added],
  );
  const { removed, added } = state.netChanges();
  if (removed.length) {
    await q.query(
      `delete from eav using unnest($1::int8[], $2::int8[], $3::text[]) as r(e, a, v)
       where eav.e = r.e and eav.a = r.a and eav.v = r.v`,
      [removed.map((d) => d.e), removed.map((d) => d.a), removed.map((d) => d.v)],
    );
  }
  if (added.length) {
    await q.query('insert into eav (e, a, v, t) select * from unnest($1::int8[], $2::int8[], $3::text[], $4::int8[])', [
      added.map((d) => d.e),
      added.map((d) => d.a),
      added.map((d) => d.v),
      added.map((d) => d.t),
    ]);
  }
  await q.query('update meta set basis_t = $1, next_eid = $2, schema_t = $3, last_instant = $4', [
    meta.basis_t,
    meta.next_eid,
    meta.schema_t,
    meta.last_instant,
  ]);
}
