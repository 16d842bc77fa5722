// A consumer SIGKILLed while its replay job is active: the job's lock expires, BullMQ's
// stall detection in the other consumer moves it back to wait, that consumer runs it to
// the end, and the replica compares equal. No reconcile round helps: after their first
// (on an empty store) the consumers restore only through jobs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterEach, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import { replayJobId, replayQueueName } from '../../src/queue/names';
import { ReplayQueue } from '../../src/queue/replay-queue';
import { readPosition } from '../../src/restore/bookkeeping';
import { exportRange } from '../../src/segment/export';
import { openDirectoryStore } from '../../src/stores/directory';
import { freshPostgresUrl } from '../support/postgres';
import { freshRedis } from '../support/redis';
import { Resources, expectReplica, librarySource } from '../restore/fixtures';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'consumer-child.ts');
const TRANSACTIONS = 300;

const resources = new Resources();
afterEach(() => resources.close());

interface LogLine {
  pid: number;
  level: string;
  msg?: string;
  position?: number;
  job?: string;
}

/** A consumer process; its JSON lines collected as they come. */
function startConsumer(args: string[]): { child: ChildProcess; lines: LogLine[]; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    for (const part of parts) if (part.startsWith('{')) lines.push(JSON.parse(part) as LogLine);
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  resources.onClose(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    if (stderr.trim()) console.info(`consumer ${child.pid} stderr:\n${stderr.slice(0, 2000)}`);
  });
  return { child, lines, exited };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

it('a consumer SIGKILLed mid-job: stall detection hands the job to the other consumer, and the replica is exact', async () => {
  const { source } = await librarySource(resources, TRANSACTIONS, 71);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-stalled-'));
  resources.onClose(() => rm(dir, { recursive: true, force: true }));
  const storeDir = path.join(dir, 'store');
  const store = openDirectoryStore({ path: storeDir });
  resources.onClose(() => store.close());
  const targetUrl = await freshPostgresUrl();
  // Created here, so that the consumers do not race to create it.
  const target = await resources.database(targetUrl);
  const redis = await freshRedis('stalled');

  const consumers = [0, 1].map(() => startConsumer([targetUrl, storeDir, redis.url, redis.prefix]));
  await until('both consumers ready', () => consumers.every((c) => c.lines.some((l) => l.msg === 'ready')));

  // One segment, announced by one job: whichever consumer takes it is killed mid-way.
  await exportRange(source, store, 'lib', 1, TRANSACTIONS, { maxTxns: TRANSACTIONS });
  const announcer = new ReplayQueue({ db: 'lib', redis: redis.url, prefix: redis.prefix });
  resources.onClose(() => announcer.close());
  await announcer.add(1, TRANSACTIONS);

  let victim: (typeof consumers)[number] | undefined;
  await until('a consumer has committed part of the job', () => {
    victim = consumers.find((c) => c.lines.some((l) => l.msg === 'committed' && l.position! >= 30));
    return victim !== undefined;
  });
  victim!.child.kill('SIGKILL');
  const killedAt = Date.now();
  await victim!.exited;
  const survivor = consumers.find((c) => c !== victim)!;
  const positionAtKill = (await readPosition(target, 'lib')).position;
  expect(positionAtKill).toBeGreaterThan(0);
  expect(positionAtKill).toBeLessThan(TRANSACTIONS);
  // The survivor had not touched the job: it was idle while the victim worked.
  expect(survivor.lines.some((l) => l.msg === 'committed')).toBe(false);

  const queue = new Queue(replayQueueName('lib', 'default'), { connection: { url: redis.url }, prefix: redis.prefix });
  resources.onClose(() => queue.close());
  const jobId = replayJobId('lib', 'default', 1, TRANSACTIONS);
  await until('the job completed', async () => (await queue.getJobState(jobId)) === 'completed');
  const recoveredMs = Date.now() - killedAt;
  const job = (await queue.getJob(jobId))!;
  expect(job.returnvalue).toEqual({ outcome: 'applied', position: TRANSACTIONS });
  // Through stall detection (not a retry after a failure): the survivor saw it stall.
  expect(job.stalledCounter).toBeGreaterThanOrEqual(1);
  expect(job.failedReason ?? null).toBeNull();
  expect(survivor.lines.some((l) => l.msg?.startsWith('replay job stalled') && l.job === jobId)).toBe(true);
  expect(survivor.lines.some((l) => l.msg === 'committed')).toBe(true);

  // One target transaction per source transaction: the killed commit left nothing half-done.
  expect(await target.basisT()).toBe(TRANSACTIONS);
  await expectReplica(source, target);
  console.info(`killed at t=${positionAtKill} of ${TRANSACTIONS}; the job completed ${recoveredMs} ms later (lock 2000 ms, stall check every 500 ms)`);
}, 240_000);
