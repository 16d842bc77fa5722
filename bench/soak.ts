// Soak: the producer and the consumer services (`txclone replicate --role producer` and
// `--role consumer`, each a process of its own, over the local Redis) replicate a PostgreSQL
// source written at a steady --rate (default 200 tx/s) for --minutes (default 10) into a
// PostgreSQL target. Prints, per minute, the lag p99 (from a source transaction's commit to
// the moment the target's position covers it, polled every 50 ms) and each service's RSS;
// then RSS at start and end with its slope (least squares over all samples, MiB/min), and
// the error count (error-level log lines of both services). Aim: flat memory, flat lag, 0 errors.
//   npx tsx bench/soak.ts [--rate 200] [--minutes 10] [--interval 500]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/db/open';
import { readPosition } from '../src/restore/bookkeeping';
import { LibraryWorkload } from '../src/workload';
import { argNumber, dropSchema, postgresUrl } from './support';

const rate = argNumber('rate', 200);
const minutes = argNumber('minutes', 10);
const interval = argNumber('interval', 500);
const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BIN = fileURLToPath(new URL('../bin/txclone.mjs', import.meta.url));
const RSS_EVERY_MS = 5_000;

const run = randomBytes(4).toString('hex');
const db = `soak-${run}`;
const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-bench-soak-'));
const sourceSchema = `bench_soak_source_${run}`;
const targetSchema = `bench_soak_target_${run}`;
const source = await openDatabase(postgresUrl(sourceSchema));
const target = await openDatabase(postgresUrl(targetSchema));

interface Service {
  name: string;
  child: ChildProcess;
  errors: string[];
  lines: number;
  rss: Array<{ atMs: number; mib: number }>;
  exited: Promise<number | null>;
}

function startService(name: string, args: string[]): Service {
  const child = spawn(process.execPath, [BIN, 'replicate', ...args, '--db', db, '--store', path.join(dir, 'store'), '--redis', redis, '--interval', String(interval)], {
    env: { ...process.env, TXCLONE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const service: Service = { name, child, errors: [], lines: 0, rss: [], exited: new Promise((r) => child.once('close', r)) };
  let partial = '';
  const onData = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      service.lines++;
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: string };
        if ((entry.level ?? 0) >= 50) service.errors.push(`${entry.msg}: ${entry.err ?? ''}`);
      } catch {
        // not a log line
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return service;
}

async function rssMiB(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/** Least-squares slope of mib over time, in MiB per minute. */
function slope(samples: Array<{ atMs: number; mib: number }>): number {
  const n = samples.length;
  if (n < 2) return NaN;
  const mx = samples.reduce((s, p) => s + p.atMs, 0) / n;
  const my = samples.reduce((s, p) => s + p.mib, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of samples) {
    num += (p.atMs - mx) * (p.mib - my);
    den += (p.atMs - mx) ** 2;
  }
  return (num / den) * 60_000;
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

const services: Service[] = [];
const committedAt = new Map<number, number>();
const lagsByMinute: number[][] = [];
let applied = 0;
let stopping = false;
/** When the timed phase began: minutes count from here, RSS samples too. */
let started = Date.now();
/** The minute of the run a moment falls in; a write finishing just after the last minute counts in it. */
const minuteOf = (ms: number) => Math.min(Math.ceil(minutes) - 1, Math.floor((ms - started) / 60_000));

try {
  // The schema first, then the services, then the timed phase.
  const workload = new LibraryWorkload({ seed: 5, stageEvery: 1_000_000 });
  await workload.run(source, 23, 1);
  services.push(startService('producer', ['--role', 'producer', '--source', postgresUrl(sourceSchema)]));
  services.push(startService('consumer', ['--role', 'consumer', '--target', postgresUrl(targetSchema)]));
  // Both services up (their first runs done) before the clock starts.
  while ((await readPosition(target, db).catch(() => null))?.position !== (await source.basisT())) await new Promise((r) => setTimeout(r, 200));
  started = Date.now();

  // The target's position, polled: every t it newly covers has its lag recorded.
  const poller = (async () => {
    while (!stopping) {
      const position = await readPosition(target, db).then((p) => p.position).catch(() => applied);
      const now = Date.now();
      for (let t = applied + 1; t <= position; t++) {
        const at = committedAt.get(t);
        if (at !== undefined) (lagsByMinute[minuteOf(at)] ??= []).push(now - at);
        committedAt.delete(t);
      }
      applied = Math.max(applied, position);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const sampler = (async () => {
    while (!stopping) {
      for (const s of services) {
        const mib = s.child.pid ? await rssMiB(s.child.pid) : null;
        if (mib !== null) s.rss.push({ atMs: Date.now() - started, mib });
      }
      await new Promise((r) => setTimeout(r, RSS_EVERY_MS));
    }
  })();

  let sent = 0;
  let lastReport = 0;
  const writeStarted = started;
  while (Date.now() - writeStarted < minutes * 60_000) {
    const due = writeStarted + (sent * 1000) / rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const report = await source.transact(workload.next());
    committedAt.set(report.t, Date.now());
    workload.observe(report);
    sent++;
    const minute = minuteOf(Date.now());
    if (minute > lastReport) {
      lastReport = minute;
      const lags = lagsByMinute[minute - 1] ?? [];
      const rss = services.map((s) => `${s.name} ${s.rss[s.rss.length - 1]?.mib.toFixed(0) ?? '?'} MiB`).join(', ');
      console.log(`minute ${minute}: ${lags.length} tx replicated, lag p50 ${pct(lags, 50)} ms, p99 ${pct(lags, 99)} ms; RSS ${rss}; errors ${services.reduce((n, s) => n + s.errors.length, 0)}`);
    }
  }
  const achieved = sent / ((Date.now() - writeStarted) / 1000);
  const basis = await source.basisT();
  const deadline = Date.now() + 120_000;
  while (applied < basis && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  stopping = true;
  await Promise.all([poller, sampler]);

  console.log(`\nsoak: ${minutes} min at ${rate} tx/s (achieved ${achieved.toFixed(0)} tx/s, ${sent} transactions), interval ${interval} ms`);
  lagsByMinute.forEach((lags, m) => console.log(`  minute ${m + 1}: lag p99 ${pct(lags, 99)} ms (p50 ${pct(lags, 50)} ms, max ${pct(lags, 100)} ms, ${lags.length} tx)`));
  for (const s of services) {
    const first = s.rss[0];
    const last = s.rss[s.rss.length - 1];
    // After the first minute (heap growth while warming up), where there is one.
    const steady = s.rss.filter((p) => p.atMs >= 60_000);
    const [samples, over] = steady.length >= 3 ? [steady, 'after the first minute'] : [s.rss, 'over the whole run'];
    console.log(
      `  ${s.name}: RSS ${first?.mib.toFixed(0)} MiB at start, ${last?.mib.toFixed(0)} MiB at end, slope ${slope(samples).toFixed(2)} MiB/min ${over} (${samples.length} samples)`,
    );
  }
  const errors = services.flatMap((s) => s.errors.map((e) => `${s.name}: ${e}`));
  console.log(`  errors: ${errors.length}${errors.length ? `\n    ${errors.slice(0, 10).join('\n    ')}` : ''}`);
  if (applied < basis) console.log(`WARNING: the replica reached t=${applied} of ${basis} within two minutes of the last write`);
} finally {
  stopping = true;
  for (const s of services) s.child.kill('SIGTERM');
  await Promise.all(services.map((s) => s.exited));
  await source.close();
  await target.close();
  await dropSchema(sourceSchema);
  await dropSchema(targetSchema);
  await rm(dir, { recursive: true, force: true });
}
