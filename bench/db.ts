// Throughput of the datom database: transactions/s and datoms/s through transact (one
// commit each) and transactBatch (one commit per batch), on PGlite and on PostgreSQL.
//
//   npx tsx bench/db.ts [--datoms 100000] [--batch 200] [--drivers pglite,postgres]
//                       [--modes transact,batch] [--pglite-dir DIR]
//
// Each transaction holds 10 datoms: its :db/txInstant and three new entities with a unique
// identity key, a string and a ref to an entity of an earlier transaction. PostgreSQL is
// DATABASE_URL when set, else postgres://postgres@127.0.0.1:5432/test; the benchmark works
// in a schema of its own and drops it afterwards. Options may also come from the environment
// (BENCH_DATOMS, BENCH_BATCH, BENCH_DRIVERS, BENCH_MODES).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openDatabase } from '../src/db';
import type { Database, TxOp, TxRequest } from '../src/db/types';

const { values: args } = parseArgs({
  options: {
    datoms: { type: 'string', default: process.env.BENCH_DATOMS ?? '100000' },
    batch: { type: 'string', default: process.env.BENCH_BATCH ?? '200' },
    drivers: { type: 'string', default: process.env.BENCH_DRIVERS ?? 'pglite,postgres' },
    modes: { type: 'string', default: process.env.BENCH_MODES ?? 'transact,batch' },
    'pglite-dir': { type: 'string' },
  },
});

const DATOMS_PER_TX = 10;
const ENTITIES_PER_TX = 3;
const totalTxs = Math.ceil(Number(args.datoms) / DATOMS_PER_TX);
const batchSize = Number(args.batch);
const drivers = args.drivers.split(',').filter(Boolean);
const modes = args.modes.split(',').filter(Boolean);

const SCHEMA: TxOp[] = [
  { ':db/ident': ':bench/key', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one', ':db/unique': ':db.unique/identity' },
  { ':db/ident': ':bench/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' },
  { ':db/ident': ':bench/ref', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/one' },
];

/** Generates the transactions; refs point at entities the database already returned. */
class Workload {
  private key = 0;
  private readonly known: number[] = [];

  next(): TxRequest {
    const ops: TxOp[] = [];
    for (let i = 0; i < ENTITIES_PER_TX; i++) {
      const key = this.key++;
      const target = this.known.length ? this.known[(key * 7919) % this.known.length]! : `e${i}`;
      ops.push({ ':db/id': `e${i}`, ':bench/key': key, ':bench/name': `entity number ${key}`, ':bench/ref': target });
    }
    return { ops };
  }

  learn(tempids: Record<string, number>): void {
    if (this.known.length < 10_000) this.known.push(tempids.e0!);
  }
}

interface Result {
  driver: string;
  mode: string;
  txs: number;
  datoms: number;
  seconds: number;
}

async function run(db: Database, driver: string, mode: string): Promise<Result> {
  await db.transact(SCHEMA);
  const workload = new Workload();
  const startT = await db.basisT();
  const started = performance.now();
  let done = 0;
  let datoms = 0;
  while (done < totalTxs) {
    if (mode === 'transact') {
      const request = workload.next();
      const report = await db.transact(request.ops);
      workload.learn(report.tempids);
      datoms += report.datoms.length;
      done++;
    } else {
      const requests = Array.from({ length: Math.min(batchSize, totalTxs - done) }, () => workload.next());
      const reports = await db.transactBatch(requests);
      for (const r of reports) {
        workload.learn(r.tempids);
        datoms += r.datoms.length;
      }
      done += requests.length;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const basis = await db.basisT();
  if (basis - startT !== totalTxs) throw new Error(`expected ${totalTxs} transactions, the database has ${basis - startT}`);
  return { driver, mode, txs: done, datoms, seconds };
}

async function withDatabase<T>(driver: string, mode: string, fn: (db: Database) => Promise<T>): Promise<T> {
  if (driver === 'pglite') {
    const dir = args['pglite-dir'] ?? (await mkdtemp(path.join(os.tmpdir(), 'txclone-bench-')));
    const db = await openDatabase(`pglite://${path.join(dir, mode)}`);
    try {
      return await fn(db);
    } finally {
      await db.close();
      if (!args['pglite-dir']) await rm(dir, { recursive: true, force: true });
    }
  }
  if (driver === 'postgres') {
    const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    const url = new URL(server);
    url.searchParams.set('schema', schema);
    const db = await openDatabase(url.toString());
    try {
      return await fn(db);
    } finally {
      await db.close();
      const client = new pg.Client({ connectionString: server });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  }
  throw new Error(`unknown driver ${driver} (pglite or postgres)`);
}

const results: Result[] = [];
console.log(`${totalTxs} transactions of ${DATOMS_PER_TX} datoms each; batches of ${batchSize}; cpus ${os.cpus().length}`);
for (const driver of drivers) {
  for (const mode of modes) {
    const result = await withDatabase(driver, mode, (db) => run(db, driver, mode));
    results.push(result);
    console.log(
      `${driver.padEnd(8)} ${(mode === 'batch' ? `transactBatch(${batchSize})` : 'transact').padEnd(20)} ` +
        `${String(result.txs).padStart(7)} txs ${String(result.datoms).padStart(8)} datoms ${result.seconds.toFixed(1).padStart(6)} s ` +
        `${Math.round(result.txs / result.seconds).toString().padStart(7)} tx/s ${Math.round(result.datoms / result.seconds).toString().padStart(8)} datoms/s`,
    );
  }
}
