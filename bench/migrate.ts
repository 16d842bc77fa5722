// Live migration. Two figures:
// 1. The pause writers see at cutover: --writers processes (default 2) write --rate
//    transactions/s in all (default 200) through their own routers into a PostgreSQL source
//    while a migration to another PostgreSQL schema streams; after --seconds (default 5) it
//    cuts over, and the writers go on for as long again. Prints the latency of every write
//    sent while the fence was up (p50, p99, max), of all writes, and how long the fence was up.
// 2. The whole migration of the bench source (--datoms, default 1,000,000; built once, as for
//    the other benches) into an empty PostgreSQL schema: the copy until ready, then aborted, so
//    the shared bench source is never fenced.
//   npx tsx bench/migrate.ts [--rate 200] [--seconds 5] [--writers 2] [--datoms 1000000] [--smoke]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/db/open';
import type { Database } from '../src/db/types';
import { liveMigrate, openRouter } from '../src/migrate';
import { sleep } from '../src/sleep';
import { openDirectoryStore, openStore } from '../src/stores';
import { LibraryWorkload } from '../src/workload';
import { argNumber, benchSource, dropSchema, postgresUrl, rate as perSecond } from './support';

const WRITER_SCHEMA = [
  { ':db/ident': ':writer/key', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' },
  { ':db/ident': ':writer/seq', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' },
];

if (process.argv[2] === '--writer') await writer(JSON.parse(process.argv[3]!));
else await main();

/** One writer process: sequential loops through a router until stdin ends; prints [sentAt, ms] per write. */
async function writer(args: { databases: Record<string, string>; store: string; db: string; rate: number; loops: number; name: string }): Promise<void> {
  const databases: Record<string, Database> = {};
  for (const [name, url] of Object.entries(args.databases)) databases[name] = await openDatabase(url);
  const store = openStore(args.store);
  const router = openRouter({ databases, store, db: args.db, pollMs: 5 });
  let stopping = false;
  process.stdin.on('end', () => (stopping = true));
  process.stdin.resume();
  const periodMs = (1000 * args.loops) / args.rate;
  const samples: [number, number][] = [];
  let failures = 0;
  process.stdout.write('started\n');
  await Promise.all(
    Array.from({ length: args.loops }, async (_, loop) => {
      for (let seq = 0; !stopping; seq++) {
        const sent = Date.now();
        try {
          await router.transact([{ ':db/id': 'w', ':writer/key': `${args.name}-${loop}-${seq}`, ':writer/seq': seq }]);
        } catch {
          failures++;
        }
        samples.push([sent, Date.now() - sent]);
        await sleep(Math.max(0, periodMs - (Date.now() - sent)));
      }
    }),
  );
  await router.close();
  for (const db of Object.values(databases)) await db.close();
  await store.close();
  process.stdout.write(`${JSON.stringify({ samples, failures })}\n`);
}

async function main(): Promise<void> {
  const smoke = process.argv.includes('--smoke');
  const rate = argNumber('rate', 200);
  const seconds = argNumber('seconds', smoke ? 1.5 : 5);
  const writers = argNumber('writers', 2);
  const datoms = argNumber('datoms', smoke ? 20_000 : 1_000_000);
  await pause({ rate, seconds, writers });
  await wholeMigration(datoms, smoke);
}

async function pause(options: { rate: number; seconds: number; writers: number }): Promise<void> {
  const run = randomBytes(4).toString('hex');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-bench-migrate-'));
  const [sourceSchema, targetSchema] = [`bench_migrate_source_${run}`, `bench_migrate_target_${run}`];
  const source = await openDatabase(postgresUrl(sourceSchema));
  const target = await openDatabase(postgresUrl(targetSchema));
  const store = openDirectoryStore({ path: dir });
  try {
    await source.transact(WRITER_SCHEMA);
    await new LibraryWorkload({ seed: 5 }).run(source, 2_000, 200);
    const migration = await liveMigrate({ source, target, store, db: 'bench', id: 'pause', names: { source: 'old', target: 'new' }, readyLag: 50, stepMs: 100, intervalMs: 20 });
    const self = fileURLToPath(import.meta.url);
    const children = Array.from({ length: options.writers }, (_, i) => {
      const args = { databases: { old: postgresUrl(sourceSchema), new: postgresUrl(targetSchema) }, store: dir, db: 'bench', rate: options.rate / options.writers, loops: 4, name: `w${i}` };
      const child = spawn(process.execPath, ['--import', 'tsx', self, '--writer', JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const started = new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('started') && resolve()));
      const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
      return { child, started, exited, output: () => out };
    });
    await Promise.all(children.map((c) => c.started));
    await migration.waitReady();
    await sleep(options.seconds * 1000);
    const cutStarted = Date.now();
    const cut = await migration.cutover();
    const cutEnded = Date.now();
    await sleep(options.seconds * 1000);
    for (const c of children) c.child.stdin.end();
    await Promise.all(children.map((c) => c.exited));
    const results = children.map((c) => JSON.parse(c.output().split('\n').filter((l) => l.startsWith('{')).pop()!) as { samples: [number, number][]; failures: number });
    const all = results.flatMap((r) => r.samples);
    const during = all.filter(([sent, ms]) => sent + ms >= cutStarted && sent <= cutEnded).map(([, ms]) => ms);
    const failures = results.reduce((n, r) => n + r.failures, 0);
    const span = Math.max(...all.map(([sent, ms]) => sent + ms)) - Math.min(...all.map(([sent]) => sent));
    const achieved = Math.round((all.length * 1000) / span);
    console.log(
      `cutover pause at ${options.rate} tx/s (achieved ${achieved}) from ${options.writers} writer processes (fence up ${cut.fencedMs} ms, cutover call ${cutEnded - cutStarted} ms): ` +
        `writes in flight during the cutover: ${during.length}, ${percentiles(during)}; all ${all.length} writes: ${percentiles(all.map(([, ms]) => ms))}; failed writes: ${failures}`,
    );
    await migration.finish();
    await migration.close();
  } finally {
    await store.close();
    await source.close();
    await target.close();
    await dropSchema(sourceSchema);
    await dropSchema(targetSchema);
    await rm(dir, { recursive: true, force: true });
  }
}

async function wholeMigration(datoms: number, smoke: boolean): Promise<void> {
  const run = randomBytes(4).toString('hex');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-bench-migrate-'));
  const targetSchema = `bench_migrate_whole_${run}`;
  const source = smoke ? await openDatabase(postgresUrl(`bench_migrate_small_${run}`)) : await benchSource(datoms);
  if (smoke) await new LibraryWorkload({ seed: 42 }).run(source, Math.ceil(datoms / 8), 500);
  const target = await openDatabase(postgresUrl(targetSchema));
  const store = openDirectoryStore({ path: dir });
  try {
    const basis = await source.basisT();
    const started = Date.now();
    const migration = await liveMigrate({ source, target, store, db: 'whole', id: 'whole', readyLag: 0, maxTxns: 5_000, stepMs: 1_000 });
    await migration.waitReady({ pollMs: 200 });
    const ms = Date.now() - started;
    let copied = 0;
    for await (const tx of target.txRange(1, basis)) copied += tx.datoms.length;
    console.log(`whole migration of ${copied.toLocaleString('en-US')} datoms (${basis} transactions) into PostgreSQL until ready: ${(ms / 1000).toFixed(1)} s (${perSecond(copied, ms)} datoms/s)`);
    await migration.abort('bench: the shared source stays as it is');
    await migration.close();
  } finally {
    await store.close();
    await source.close();
    await target.close();
    await dropSchema(targetSchema);
    if (smoke) await dropSchema(`bench_migrate_small_${run}`);
    await rm(dir, { recursive: true, force: true });
  }
}

function percentiles(values: number[]): string {
  if (values.length === 0) return 'none';
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  return `p50 ${at(50)} ms, p99 ${at(99)} ms, max ${sorted[sorted.length - 1]} ms`;
}
