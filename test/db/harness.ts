// Runs a workload against a database and the model side by side, and checks that they
// agree after every transaction and, at the end, on the current datoms, the whole log and
// the database as of a few t.
import { expect } from 'vitest';
import { TransactionError } from '../../src/db';
import type { CurrentDatom, Database, EntityId, TxDatom, TxReport } from '../../src/db/types';
import { collect } from './fixtures';
import { Model, ModelError, valueKey, type ModelTx } from './model';
import { interpretStep, isDataTempid, type Step } from './workload';

const datomText = (d: CurrentDatom | TxDatom) =>
  `${d[0]} ${d[1]} ${valueKey(d[2])}${d.length === 4 ? (d[3] ? ' +' : ' -') : ''}`;
export const sortedText = (datoms: ReadonlyArray<CurrentDatom | TxDatom>) => datoms.map(datomText).sort();

export interface RunSummary {
  transactions: number;
  refused: number;
  /** The codes of the refusals, in order. */
  codes: string[];
  datoms: number;
}

export async function runWorkload(db: Database, steps: readonly Step[]): Promise<RunSummary> {
  const model = new Model(await collect(db.datoms()));
  const created: EntityId[] = [];
  const codes: string[] = [];
  for (const [i, step] of steps.entries()) {
    const requests = interpretStep(step, { model, created }, i);
    let reports: TxReport[] | null = null;
    let error: unknown = null;
    try {
      const single = requests.length === 1 && !step.batch && !requests[0]!.requireHeld;
      reports = single
        ? [await db.transact(requests[0]!.ops, { txInstant: requests[0]!.txInstant })]
        : await db.transactBatch(requests);
    } catch (err) {
      error = err;
    }
    const context = () => `step ${i}: ${JSON.stringify(requests, jsonSafe)}`;
    if (reports) {
      for (const [k, report] of reports.entries()) {
        const request = requests[k]!;
        let expected: ModelTx;
        const chosen = {
          tx: report.tx,
          tempids: report.tempids,
          instant: report.datoms.find((d) => d[0] === report.tx && d[2] instanceof Date)![2] as Date,
        };
        // The clauses are a set: in reverse order they give the same datoms.
        const reversed = model.clone();
        try {
          expected = model.transact(request.ops, request, chosen);
        } catch (err) {
          throw new Error(`the database accepted what the model refuses (${(err as Error).message}) at ${context()}`);
        }
        const other = reversed.transact([...request.ops].reverse(), request, chosen);
        expect(sortedText(other.datoms), `reversed clauses at ${context()}`).toEqual(sortedText(expected.datoms));
        expect(report.t, context()).toBe(expected.t);
        expect(sortedText(report.datoms), context()).toEqual(sortedText(expected.datoms));
        for (const [tempid, id] of Object.entries(report.tempids)) if (isDataTempid(tempid)) created.push(id);
      }
    } else {
      if (!(error instanceof TransactionError)) throw new Error(`not a TransactionError at ${context()}`, { cause: error });
      const which = requests.length > 1 ? Number(/^transaction (\d+) of/.exec(error.message)?.[1]) : 1;
      expect(which, `${error.message} at ${context()}`).toBeGreaterThan(0);
      const trial = model.clone();
      for (const request of requests.slice(0, which - 1)) trial.transact(request.ops, request, null);
      let modelError: unknown = null;
      try {
        trial.transact(requests[which - 1]!.ops, requests[which - 1]!, null);
      } catch (err) {
        modelError = err;
      }
      if (!(modelError instanceof ModelError))
        throw new Error(`the database refused what the model accepts (${error.message}) at ${context()}`, { cause: modelError });
      // In reverse order the transaction is refused too (perhaps for another of its faults).
      const reversed = model.clone();
      for (const request of requests.slice(0, which - 1)) reversed.transact(request.ops, request, null);
      const last = requests[which - 1]!;
      expect(() => reversed.transact([...last.ops].reverse(), last, null), `reversed clauses at ${context()}`).toThrow(ModelError);
      codes.push(error.code);
      expect(error.code, `${error.message} vs model ${modelError.message} at ${context()}`).toBe(modelError.code);
    }
  }
  await expectAgreement(db, model);
  return { transactions: model.basisT, refused: codes.length, codes, datoms: model.current.size };
}

/** The current datoms, the log and a few as-of views agree with the model. */
export async function expectAgreement(db: Database, model: Model): Promise<void> {
  const basis = model.basisT;
  expect(await db.basisT()).toBe(basis);
  expect(sortedText(await collect(db.datoms()))).toEqual(sortedText(model.datoms()));
  const log = await collect(db.txRange(1, basis));
  expect(log.map((tx) => tx.t)).toEqual(model.log.map((tx) => tx.t));
  for (const [i, tx] of log.entries()) {
    const expected = model.log[i]!;
    expect(tx.tx).toBe(expected.tx);
    expect(tx.instant.getTime()).toBe(expected.instant.getTime());
    expect(sortedText(tx.datoms), `log at t=${tx.t}`).toEqual(sortedText(expected.datoms));
  }
  const ts = new Set([0, 1, Math.floor(basis / 3), Math.floor(basis / 2), basis - 1].filter((t) => t >= 0 && t <= basis));
  for (const t of ts) {
    expect(sortedText(await collect(db.datoms({ asOfT: t }))), `as of t=${t}`).toEqual(sortedText(model.asOf(t)));
  }
  const schema = await db.schema();
  const modelSchema = model.schema().attrs;
  expect([...schema.keys()].sort()).toEqual([...modelSchema.keys()].sort());
  for (const [id, a] of modelSchema) {
    const got = schema.get(id)!;
    expect({ ident: got.ident, valueType: got.valueType, cardinality: got.cardinality, unique: got.unique, isComponent: got.isComponent }).toEqual({
      ident: a.ident,
      valueType: a.valueType,
      cardinality: a.cardinality,
      unique: a.unique,
      isComponent: a.isComponent,
    });
  }
}

function jsonSafe(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `bytes[${[...v].join(',')}]`;
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (Object.is(v, -0)) return '-0';
  return v;
}
