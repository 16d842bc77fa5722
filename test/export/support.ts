// What the producer's tests share: source databases on one PGlite instance, reading a
// store back, and a strict, type-aware view of transactions for comparing them.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { expect } from 'vitest';
import { LibraryWorkload } from '../../src/workload';
import { DatomDatabase } from '../../src/db/datom-db';
import { PGliteDriver, createPGlite } from '../../src/db/sql/pglite';
import type { Database, Transaction } from '../../src/db/types';
import { decodeSegment, type Segment } from '../../src/segment/format';
import type { SegmentInfo, SegmentStore } from '../../src/stores/types';

/**
 * Databases as openDatabase('pglite:memory') gives them, each its own SQL schema of one
 * PGlite instance: PGlite takes seconds to start, a schema in it a few milliseconds.
 */
export class Sources {
  private instance: Promise<PGlite> | null = null;
  private readonly opened: Database[] = [];
  private count = 0;

  async open(label = 'db'): Promise<Database> {
    this.instance ??= createPGlite();
    const schema = `${label}_${++this.count}`;
    const db = await DatomDatabase.open(`pglite:memory?schema=${schema}`, PGliteDriver.shared(await this.instance, schema));
    this.opened.push(db);
    return db;
  }

  /** A database holding `count` transactions of the library workload. */
  async library(count: number, seed: number, stageEvery = 60, batch = 30): Promise<Database> {
    const db = await this.open(`lib${seed}`);
    await new LibraryWorkload({ seed, stageEvery }).run(db, count, batch);
    expect(await db.basisT()).toBe(count);
    return db;
  }

  async close(): Promise<void> {
    for (const db of this.opened.splice(0)) await db.close().catch(() => undefined);
    const instance = this.instance;
    this.instance = null;
    if (instance) await (await instance).close();
  }
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export async function listed(store: SegmentStore, db: string): Promise<Array<[number, number]>> {
  return (await collect(store.list(db))).map((s) => [s.startT, s.endT]);
}

export async function sourceLog(db: Database, startT = 1, endT?: number): Promise<Transaction[]> {
  return collect(db.txRange(startT, endT ?? (await db.basisT())));
}

/** Every segment of the store, decoded, after checking they are contiguous from t=1 and say what they hold. */
export async function readSegments(store: SegmentStore, db: string): Promise<Array<{ info: SegmentInfo; segment: Segment }>> {
  const out: Array<{ info: SegmentInfo; segment: Segment }> = [];
  let next = 1;
  for await (const info of store.list(db)) {
    expect(info.startT, `segments contiguous, no overlap: the one after t=${next - 1}`).toBe(next);
    const segment = decodeSegment(await store.get(db, info.startT, info.endT), { name: info.key });
    expect(segment.header).toMatchObject({ database: db, startT: info.startT, endT: info.endT, txCount: info.endT - info.startT + 1 });
    expect(segment.transactions.map((tx) => tx.t)).toEqual(range(info.startT, info.endT));
    out.push({ info, segment });
    next = info.endT + 1;
  }
  return out;
}

/** The transactions the store holds, in order (see readSegments). */
export async function readBack(store: SegmentStore, db: string): Promise<Transaction[]> {
  return (await readSegments(store, db)).flatMap((s) => s.segment.transactions);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/**
 * A value with its exact JS type spelled out, so that toEqual tells 1 from 1n, a Buffer
 * from a Uint8Array, -0 from 0, a Date's millisecond, and a tuple's nulls.
 */
export function typed(v: unknown): unknown {
  if (v === null) return ['null'];
  if (v === undefined) return ['undefined'];
  if (Array.isArray(v)) return ['Array', v.map(typed)];
  if (v instanceof Date) return ['Date', v.getTime()];
  if (v instanceof Uint8Array) return [Object.getPrototypeOf(v).constructor.name, Array.from(v)];
  if (typeof v === 'number') return ['number', Object.is(v, -0) ? '-0' : String(v)];
  if (typeof v === 'bigint') return ['bigint', v.toString()];
  if (typeof v === 'object') return ['object', Object.getPrototypeOf(v)?.constructor?.name, v];
  return [typeof v, v];
}

export function typedLog(txs: readonly Transaction[]): unknown[] {
  return txs.map((tx) => ({
    t: typed(tx.t),
    tx: typed(tx.tx),
    instant: typed(tx.instant),
    datoms: tx.datoms.map(([e, a, v, added]) => [typed(e), typed(a), typed(v), typed(added)]),
  }));
}

/** Removes a segment from a directory store behind its back (the file and its checksum sidecar). */
export async function removeSegmentFile(root: string, info: SegmentInfo): Promise<void> {
  const file = path.join(root, ...info.key.split('/'));
  await rm(file);
  await rm(`${file}.sha256`, { force: true });
}

/** target with some members replaced; every other member is target's own, bound to it. */
export function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return (overrides as Record<PropertyKey, unknown>)[prop];
      const value: unknown = Reflect.get(t, prop, t);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
  });
}
