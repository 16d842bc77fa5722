// Shared parts of the migration tests: a seeded source, writer processes that go through
// routers, and the checks every migration test makes on their acknowledged writes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, onTestFinished } from 'vitest';
import type { Database, TxOp } from '../../src/db/types';
import { LibraryWorkload } from '../../src/workload';

export const WRITER_SCHEMA: TxOp[] = [
  { ':db/ident': ':writer/key', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' },
  { ':db/ident': ':writer/seq', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' },
];

/** A source with history: the library workload (schema changes, retractions, ...) and the writers' schema. */
export async function seedSource(db: Database, transactions: number, seed = 7): Promise<void> {
  await db.transact(WRITER_SCHEMA);
  await new LibraryWorkload({ seed }).run(db, transactions, 100);
}

export async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `txclone-${label}-`));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface Ack {
  type: 'ack';
  key: string;
  loop: number;
  seq: number;
  t: number;
  e: number;
  db: string;
  at: number;
  waited: number;
}

export interface WriterProcess {
  readonly child: ChildProcess;
  readonly acks: Ack[];
  readonly errors: { key: string; message: string }[];
  /** Resolves when the first line is out (the router is open). */
  readonly started: Promise<void>;
  /** Ends its stdin, waits for its in-flight writes and its exit. */
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./writer-child.ts', import.meta.url));

export function startWriter(args: { databases: Record<string, string>; store: string; db: string; name: string; rate: number; loops: number }): WriterProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const acks: Ack[] = [];
  const errors: { key: string; message: string }[] = [];
  let stderr = '';
  let buffer = '';
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, nl)) as { type: string };
      buffer = buffer.slice(nl + 1);
      if (line.type === 'started') markStarted();
      if (line.type === 'ack') acks.push(line as Ack);
      if (line.type === 'error') errors.push(line as unknown as { key: string; message: string });
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    acks,
    errors,
    started,
    async stop() {
      child.stdin!.end();
      const code = await exited;
      if (code !== 0) throw new Error(`writer ${args.name} exited with ${code}: ${stderr}`);
    },
  };
}

/**
 * The checks on acknowledged writes: each is in the final primary exactly once, as the same
 * entity it was acknowledged with; each loop's writes are in the log in acknowledgement
 * order; the old primary accepted nothing after its fence and the new one nothing before.
 */
export async function checkAcks(
  acks: readonly Ack[],
  final: Database,
  /** The database that accepted writes first. */
  initial: string,
  fences: readonly { t: number; from: string; to: string }[],
): Promise<void> {
  expect(acks.length).toBeGreaterThan(0);
  const keys = acks.map((a) => a.key);
  const holders = await final.datomsAVETMany(':writer/key', keys);
  acks.forEach((ack, i) => {
    expect(holders[i], `write ${ack.key}`).toEqual([ack.e]);
  });
  // No write that was not acknowledged (none failed in these runs), and none twice.
  const keyAttr = [...(await final.schema()).values()].find((a) => a.ident === ':writer/key')!.id;
  let written = 0;
  for await (const datom of final.datoms()) if (datom[1] === keyAttr) written++;
  expect(written).toBe(acks.length);
  // Order: within a loop, acknowledgement order is log order.
  const byLoop = new Map<string, Ack[]>();
  for (const ack of acks) {
    const loop = `${ack.key.split('-')[0]}-${ack.loop}`;
    byLoop.set(loop, [...(byLoop.get(loop) ?? []), ack]);
  }
  for (const [loop, list] of byLoop) {
    list.sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < list.length; i++) expect(list[i]!.t, `loop ${loop} seq ${list[i]!.seq}`).toBeGreaterThan(list[i - 1]!.t);
  }
  // Acceptance: between consecutive fences exactly one database accepted, and only t in its span.
  const spans: { from: number; to: number; db: string }[] = [];
  let start = 0;
  for (const fence of fences) {
    spans.push({ from: start, to: fence.t, db: fence.from });
    start = fence.t;
  }
  spans.push({ from: start, to: Number.POSITIVE_INFINITY, db: fences.length ? fences[fences.length - 1]!.to : initial });
  for (const ack of acks) {
    const span = spans.find((s) => ack.t > s.from && ack.t <= s.to)!;
    expect(ack.db, `write ${ack.key} at t=${ack.t}`).toBe(span.db);
  }
}

