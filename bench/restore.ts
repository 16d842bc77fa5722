// Restore throughput: at least --datoms datoms (default 1,000,000) restored from a directory
// store into PGlite and into the PostgreSQL server, each in its own process so that its peak
// RSS is its own (into PostgreSQL twice: with Node's default heap and with its old generation
// capped at 128 MB); then the same datoms loaded by plain COPY into a scratch table, the ceiling.
//   npx tsx bench/restore.ts [--datoms 1000000] [--batch-txns 500] [--part-datoms 2000]
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
import { Restorer } from '../src/restore/restore';
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
  const scratch = kind === 'pglite' ? await mkdtemp(path.join(os.tmpdir(), 'txclone-bench-target-')) : null;
  const schema = `bench_target_${process.pid}`;
  const url = scratch ? `pglite://${scratch}` : postgresUrl(schema);
  const target = await openDatabase(url, { writePartDatoms: argNumber('part-datoms', 2_000) });
  const store = openDirectoryStore({ path: storeDir });
  try {
    const started = Date.now();
    const restorer = new Restorer(target, store, 'bench', { batchTxns: argNumber('batch-txns', 500), batchDatoms: 20_000 });
    const totals = await restorer.all();
    const ms = Date.now() - started;
    const s = totals.idMap!;
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
  const runs = [
    { kind: 'pglite', label: 'pglite', flags: [] },
    { kind: 'postgres', label: 'postgres', flags: [] },
    { kind: 'postgres', label: 'postgres, NODE_OPTIONS=--max-old-space-size=128', flags: ['--max-old-space-size=128'] },
  ];
  for (const { kind, label, flags } of runs) {
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
    console.log(
      `${label}: ${result.datoms} datoms, ${result.transactions} transactions in ${(result.ms / 1000).toFixed(1)} s: ` +
        `${rate(result.datoms, result.ms)} datoms/s, ${rate(result.transactions, result.ms)} transactions/s, ` +
        `peak RSS ${result.maxRssMiB} MiB, id cache hit rate ${(result.hitRate * 100).toFixed(1)}% (${result.cacheSize} cached)`,
    );
  }

  const copy = await copyCeiling(storeDir);
  const postgres = results[1]!;
  console.log(
    `COPY: ${copy.datoms} datoms into a scratch table in ${(copy.ms / 1000).toFixed(1)} s: ${rate(copy.datoms, copy.ms)} datoms/s ` +
      `(restore into PostgreSQL reaches ${((postgres.datoms / postgres.ms / (copy.datoms / copy.ms)) * 100).toFixed(1)}% of it)`,
  );
  await store.close();
}

/** The same datoms, decoded from the same segments, loaded by COPY: what PostgreSQL can take at best. */
async function copyCeiling(storeDir: string): Promise<{ datoms: number; ms: number }> {
  const store = openDirectoryStore({ path: storeDir });
  const client = new pg.Client({ connectionString: postgresBase() });
  await client.connect();
  const table = `bench_copy_${process.pid}`;
  try {
    await client.query(`create unlogged table ${table} (t int8, e int8, a int8, v text, added bool)`);
    let count = 0;
    const started = Date.now();
    async function* rows() {
      for await (const info of store.list('bench')) {
        const segment = decodeSegment(await store.get('bench', info.startT, info.endT), { name: info.key });
        let chunk = '';
        for (const tx of segment.transactions) {
          for (const [e, a, v, added] of tx.datoms) {
            count++;
            chunk += `${tx.t}\t${e}\t${a}\t${escapeCopy(v)}\t${added ? 't' : 'f'}\n`;
          }
        }
        yield chunk;
      }
    }
    await pipeline(Readable.from(rows()), client.query(copyFrom(`copy ${table} from stdin`)));
    return { datoms: count, ms: Date.now() - started };
  } finally {
    await client.query(`drop table if exists ${table}`);
    await client.end();
    await store.close();
  }
}

function escapeCopy(v: unknown): string {
  const text = v instanceof Date ? String(v.getTime()) : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : Array.isArray(v) ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x)) : String(v);
  return text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
