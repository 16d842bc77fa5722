// Writing to the tables: the built-in schema of a new database, and a batch's transactions.
import { BUILTIN_ATTRIBUTES, FIRST_USER_ENTITY_ID, builtinDatoms } from './builtins';
import { FORMAT_VERSION } from './sql/ddl';
import { boolArray, int8Array, textArray } from './sql/arrays';
import type { SqlQueryable } from './sql/driver';
import type { BatchState, NetChanges } from './state';
import type { RoleRow } from './roles';
import type { AppliedTx } from './transactor';
import { encodeValue } from './values';

export interface MetaRow extends RoleRow {
  format: number;
  basis_t: number;
  next_eid: number;
  schema_t: number;
  last_instant: number;
}

/** What a write changes in the meta row. */
export type MetaUpdate = Pick<MetaRow, 'basis_t' | 'next_eid' | 'schema_t' | 'last_instant'>;

/** The built-in entities' datoms, as stored text: [e, a, v]. */
export function storedBuiltinDatoms(): Array<[number, number, string]> {
  const byId = new Map(BUILTIN_ATTRIBUTES.map((a) => [a.id, a]));
  return builtinDatoms().map(([e, a, v]) => {
    const attribute = byId.get(a)!;
    return [e, a, encodeValue(attribute.valueType, v, attribute.tupleType ? [attribute.tupleType] : undefined)];
  });
}

/** Fills a new database: the built-in schema (at t = 0, not in the log) and the meta row. */
export async function initialize(q: SqlQueryable): Promise<void> {
  const datoms = storedBuiltinDatoms();
  await q.query(
    'insert into eav (e, a, v, t) select e, a, v, 0 from unnest($1::int8[], $2::int8[], $3::text[]) as d(e, a, v)',
    [datoms.map((d) => d[0]), datoms.map((d) => d[1]), datoms.map((d) => d[2])],
  );
  await q.query(
    'insert into meta (id, format, basis_t, next_eid, schema_t, last_instant) values (1, $1, 0, $2, 0, -8640000000000000)',
    [FORMAT_VERSION, FIRST_USER_ENTITY_ID],
  );
}

/**
 * Writes transactions in one statement: their rows in txs and log, their net change to eav,
 * and meta. The parts of one statement share a snapshot, so the delete from eav sees only
 * rows from before the statement and never the ones the insert adds.
 */
export async function writeBatch(
  q: SqlQueryable,
  changes: NetChanges,
  results: readonly AppliedTx[],
  meta: MetaUpdate,
): Promise<void> {
  const log = { t: [] as number[], seq: [] as number[], e: [] as number[], a: [] as number[], v: [] as string[], added: [] as boolean[] };
  for (const r of results) {
    r.datoms.forEach((d, i) => {
      log.t.push(r.t);
      log.seq.push(i);
      log.e.push(d.e);
      log.a.push(d.a);
      log.v.push(d.v);
      log.added.push(d.added);
    });
  }
  const { removed, added } = changes;
  await q.query(
    `with
       new_txs as (insert into txs (t, tx, instant) select * from unnest($1::int8[], $2::int8[], $3::int8[])),
       new_log as (insert into log (t, seq, e, a, v, added)
         select * from unnest($4::int8[], $5::int4[], $6::int8[], $7::int8[], $8::text[], $9::bool[])),
       gone as (delete from eav using unnest($10::int8[], $11::int8[], $12::text[]) as r(e, a, v)
         where eav.e = r.e and eav.a = r.a and eav.v = r.v),
       held as (insert into eav (e, a, v, t) select * from unnest($13::int8[], $14::int8[], $15::text[], $16::int8[]))
     update meta set basis_t = $17, next_eid = $18, schema_t = $19, last_instant = $20`,
    [
      int8Array(results.map((r) => r.t)),
      int8Array(results.map((r) => r.tx)),
      int8Array(results.map((r) => r.instantMs)),
      int8Array(log.t),
      int8Array(log.seq),
      int8Array(log.e),
      int8Array(log.a),
      textArray(log.v),
      boolArray(log.added),
      int8Array(removed.map((d) => d.e)),
      int8Array(removed.map((d) => d.a)),
      textArray(removed.map((d) => d.v)),
      int8Array(added.map((d) => d.e)),
      int8Array(added.map((d) => d.a)),
      textArray(added.map((d) => d.v)),
      int8Array(added.map((d) => d.t)),
      meta.basis_t,
      meta.next_eid,
      meta.schema_t,
      meta.last_instant,
    ],
  );
}

/**
 * Writes a batch's transactions in parts while the transactor goes on with the next ones:
 * node-postgres sends a statement and returns, so the server inserts one part while
 * JavaScript computes the next. The parts run in order, one at a time, in the batch's SQL
 * transaction, so the batch still commits or rolls back as a whole.
 */
export class BatchWriter {
  private pending: AppliedTx[] = [];
  private pendingDatoms = 0;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly q: SqlQueryable,
    private readonly state: BatchState,
    /** Datoms per statement (a part closes after the transaction that reaches it). */
    private readonly partDatoms: number,
    /** The meta row as of the transactions added so far. */
    private readonly meta: () => MetaUpdate,
  ) {}

  async add(result: AppliedTx): Promise<void> {
    this.pending.push(result);
    this.pendingDatoms += result.datoms.length;
    if (this.pendingDatoms >= this.partDatoms) await this.send();
  }

  /** Writes what is left and waits for every part. */
  async finish(): Promise<void> {
    await this.send();
    await this.settle();
  }

  /** Waits for the part in flight, ignoring its failure: the caller is failing already. */
  async abandon(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    this.inFlight = null;
  }

  private async send(): Promise<void> {
    // One part at a time: a failed part surfaces here, before the next is sent.
    await this.settle();
    if (this.pending.length === 0) return;
    const part = writeBatch(this.q, this.state.takeChanges(), this.pending, this.meta());
    part.catch(() => undefined); // awaited by settle(); this only keeps it from being unhandled meanwhile
    this.inFlight = part;
    this.pending = [];
    this.pendingDatoms = 0;
  }

  private async settle(): Promise<void> {
    const part = this.inFlight;
    this.inFlight = null;
    await part;
  }
}
