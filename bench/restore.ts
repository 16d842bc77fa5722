// Restore throughput: at least --datoms datoms (default 1,000,000) restored from a directory
// store, each run in its own process so that its peak RSS is its own:
//   remap into PGlite and into PostgreSQL (and PostgreSQL with the old generation capped at 128 MB);
//   clone into PostgreSQL incrementally (indexes in place), as an initial load (COPY into
//   index-less tables, indexes built at the end), and into PGlite (its default: an initial load).
// Then the two ceilings, measured in the same run on the same datoms, in tables shaped like
// log + eav: COPY with the indexes in place (the ceiling of incremental writes), and COPY into
// bare tables then building the indexes (pg_restore's order, the ceiling of an initial load).
// Each figure is printed as a ratio of its ceiling.
//   npx tsx bench/restore.ts [--datoms 1000000] [--only remap|clone] [--batch-txns 500] [--part-datoms 2000]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openDatabase } from '../src/db/open';
import { createRestorer } from '../src/restore/restorer';
import { decodeSegment } from '../src/segment/format';
import { exportAll } from '../src/segment/export';
import { openDirectoryStore } from '../src/stores/directory';
import { argNumber, benchSource, dropSchema, postgresBase, postgresUrl, rate } from './support';

interface ChildResult {
  kind: string;
  transactions: number;
  datoms: number;
  ms: number;
  maxRssMiB: number;
  hitRate: number;
  cacheSize: number;
}

const datoms = argNumber('datoms', 1_000_000);
const child = process.argv.indexOf('--child');

if (child !== -1) {
  const kind = process.argv[child + 1]!;
  const storeDir = process.argv[process.argv.indexOf('--store') + 1]!;
  const result = await restoreInto(kind, storeDir);
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  await main();
}

async function restoreInto(kind: string, storeDir: string): Promise<ChildResult> {
  const scratch = kind.endsWith('pglite') ? await mkdtemp(path.join(os.tmpdir(), 'txclone-bench-target-')) : null;
  const schema = `bench_target_${process.pid}`;
  const url = scratch ? `pglite://${scratch}` : postgresUrl(schema);
  const target = await openDatabase(url, { writePartDatoms: argNumber('part-datoms', 2_000) });
  const store = openDirectoryStore({ path: storeDir });
  try {
    const started = Date.now();
    const restorer = kind.startsWith('clone')
      ? createRestorer(target, store, 'bench', { mode: 'clone', bulkLoadMinTxns: kind === 'clone-incremental-postgres' ? Number.MAX_SAFE_INTEGER : undefined })
      : createRestorer(target, store, 'bench', { batchTxns: argNumber('batch-txns', 500), batchDatoms: 20_000 });
    const totals = await restorer.all();
    const ms = Date.now() - started;
    const s = totals.idMap ?? { hits: 0, lookups: 0, newAboveMark: 0, cacheSize: 0 };
    const resolved = s.hits + s.lookups + s.newAboveMark;
    return {
      kind,
      transactions: totals.transactions,
      datoms: totals.datoms,
      ms,
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      hitRate: resolved ? (s.hits + s.newAboveMark) / resolved : 0,
      cacheSize: s.cacheSize,
    };
  } finally {
    await target.close();
    await store.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
    else await dropSchema(schema);
  }
}

async function main(): Promise<void> {
  const source = await benchSource(datoms);
  const storeDir = path.join(os.tmpdir(), `txclone-bench-store-${datoms}`);
  const store = openDirectoryStore({ path: storeDir });
  const basis = await source.basisT();
  if ((await store.head('bench'))?.endT !== basis) {
    if (existsSync(storeDir)) await rm(storeDir, { recursive: true, force: true });
    await exportAll(source, store, 'bench', { maxTxns: 2000 });
  }
  await source.close();

  const self = fileURLToPath(import.meta.url);
  const results: ChildResult[] = [];
  // The last run caps V8's old generation: Node's default lets the heap grow far past what the
  // restore keeps alive (about 40 MB after a full collection), and RSS follows the heap.
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
  const runs = [
    { kind: 'remap-pglite', label: 'remap into pglite', flags: [], ceiling: null },
    { kind: 'remap-postgres', label: 'remap into postgres', flags: [], ceiling: 'indexed' },
    { kind: 'remap-postgres', label: 'remap into postgres, NODE_OPTIONS=--max-old-space-size=128', flags: ['--max-old-space-size=128'], ceiling: 'indexed' },
    { kind: 'clone-incremental-postgres', label: 'clone into postgres, incremental', flags: [], ceiling: 'indexed' },
    { kind: 'clone-load-postgres', label: 'clone into postgres, initial load', flags: [], ceiling: 'load' },
    { kind: 'clone-pglite', label: 'clone into pglite (initial load)', flags: [], ceiling: null },
  ].filter((r) => !only || r.kind.startsWith(only));
  const printed: Array<{ label: string; result: ChildResult; ceiling: string | null }> = [];
  for (const { kind, label, flags, ceiling } of runs) {
    const extra = ['batch-txns', 'part-datoms'].flatMap((name) => (process.argv.includes(`--${name}`) ? [`--${name}`, String(argNumber(name, 1))] : []));
    const args = [...flags, '--import', 'tsx', self, '--child', kind, '--store', storeDir, '--datoms', String(datoms), ...extra];
    const run = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    });
    if (run.status !== 0) throw new Error(`restore into ${label} failed (exit ${run.status})`);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as ChildResult;
    results.push(result);
    printed.push({ label, result, ceiling });
    console.log(
      `${label}: ${result.datoms} datoms, ${result.transactions} transactions in ${(result.ms / 1000).toFixed(1)} s: ` +
        `${rate(result.datoms, result.ms)} datoms/s, ${rate(result.transactions, result.ms)} transactions/s, ` +
        `peak RSS ${result.maxRssMiB} MiB, id cache hit rate ${(result.hitRate * 100).toFixed(1)}% (${result.cacheSize} cached)`,
    );
  }

  const indexed = await copyCeiling(storeDir, 'indexed');
  const load = await copyCeiling(storeDir, 'load');
  console.log(`ceiling, COPY into log + eav with their indexes: ${indexed.datoms} datoms in ${(indexed.ms / 1000).toFixed(1)} s: ${rate(indexed.datoms, indexed.ms)} datoms/s`);
  console.log(
    `ceiling, COPY into bare log + eav, then their indexes: ${load.datoms} datoms in ${(load.ms / 1000).toFixed(1)} s ` +
      `(${(load.copyMs / 1000).toFixed(1)} s COPY + ${((load.ms - load.copyMs) / 1000).toFixed(1)} s indexes): ${rate(load.datoms, load.ms)} datoms/s`,
  );
  for (const { label, result, ceiling } of printed) {
    if (!ceiling) continue;
    const c = ceiling === 'indexed' ? indexed : load;
    console.log(`  ${label}: ${((result.datoms / result.ms / (c.datoms / c.ms)) * 100).toFixed(0)}% of the ${ceiling === 'indexed' ? 'indexed' : 'load-then-index'} ceiling`);
  }
  await store.close();
}

/**
 * The same datoms, decoded from the same segments, loaded by COPY into tables shaped like log
 * and eav (every datom into both): with their indexes in place, or into bare tables with the
 * indexes built afterwards. What PostgreSQL can take at best, each way.
 */
async function copyCeiling(storeDir: string, how: 'indexed' | 'load'): Promise<{ datoms: number; ms: number; copyMs: number }> {
  const store = openDirectoryStore({ path: storeDir });
  const client = new pg.Client({ connectionString: postgresBase() });
  await client.connect();
  const schema = `bench_ceiling_${process.pid}`;
  const indexes = [
    `alter table ${schema}.log add primary key (t, seq)`,
    `create index on ${schema}.log (e)`,
    `create index on ${schema}.eav (e, a)`,
    `create index on ${schema}.eav (a, hashtextextended(v, 0))`,
  ];
  try {
    await client.query(`create schema ${schema}`);
    await client.query(`create table ${schema}.log (t int8 not null, seq int4 not null, e int8 not null, a int8 not null, v text not null, added bool not null)`);
    await client.query(`create table ${schema}.eav (e int8 not null, a int8 not null, v text not null, t int8 not null)`);
    if (how === 'indexed') for (const statement of indexes) await client.query(statement);
    let count = 0;
    const started = Date.now();
    for await (const info of store.list('bench')) {
      const segment = decodeSegment(await store.get('bench', info.startT, info.endT), { name: info.key });
      let log = '';
      let eav = '';
      for (const tx of segment.transactions) {
        tx.datoms.forEach(([e, a, v, added], seq) => {
          count++;
          const text = escapeCopy(v);
          log += `${tx.t}\t${seq}\t${e}\t${a}\t${text}\t${added ? 't' : 'f'}\n`;
          eav += `${e}\t${a}\t${text}\t${tx.t}\n`;
        });
      }
      await pipeline(Readable.from([log]), client.query(copyFrom(`copy ${schema}.log from stdin`)));
      await pipeline(Readable.from([eav]), client.query(copyFrom(`copy ${schema}.eav from stdin`)));
    }
    const copyMs = Date.now() - started;
    if (how === 'load') for (const statement of indexes) await client.query(statement);
    return { datoms: count, ms: Date.now() - started, copyMs };
  } finally {
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
    await store.close();
  }
}

function escapeCopy(v: unknown): string {
  const text = v instanceof Date ? String(v.getTime()) : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : Array.isArray(v) ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x)) : String(v);
  return text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
