// What the queue tests share: real databases, a real store, services closed after each test.
import type { PGlite } from '@electric-sql/pglite';
import { expect } from 'vitest';
import { LibraryWorkload } from '../../src/workload';
import { DatomDatabase } from '../../src/db/datom-db';
import { PGliteDriver, createPGlite } from '../../src/db/sql/pglite';
import type { Database } from '../../src/db/types';
import type { Logger } from '../../src/logger';
import { LAST_SOURCE_TRANSACTION } from '../../src/restore/bookkeeping';
import { compareReplica } from '../../src/restore/compare';
import { openStore } from '../../src/stores/open';
import type { SegmentStore } from '../../src/stores/types';

/**
 * Everything a test opens, closed in reverse order in afterEach. Databases are schemas of
 * one in-memory PGlite instance per test file (what openDatabase('pglite:memory') gives,
 * without paying PGlite's start-up of a few seconds for each); dispose() it in afterAll.
 */
export class Resources {
  private readonly closers: Array<() => Promise<unknown>> = [];
  private pglite: Promise<PGlite> | null = null;
  private schemas = 0;

  async database(): Promise<Database> {
    this.pglite ??= createPGlite();
    const schema = `db_${++this.schemas}`;
    const db = await DatomDatabase.open(`pglite:memory?schema=${schema}`, PGliteDriver.shared(await this.pglite, schema));
    this.closers.push(() => db.close());
    return db;
  }

  store(): SegmentStore {
    const store = openStore('memory:');
    this.closers.push(() => store.close());
    return store;
  }

  /** Something with close(), e.g. a service; closed before the databases it uses. */
  add<T extends { close(): Promise<unknown> }>(closable: T): T {
    this.closers.push(() => closable.close());
    return closable;
  }

  async close(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => undefined);
  }

  async dispose(): Promise<void> {
    await this.close();
    const pglite = this.pglite;
    this.pglite = null;
    if (pglite) await (await pglite).close();
  }
}

/** A source with `count` library transactions, and the workload to write more. */
export async function librarySource(resources: Resources, count: number, seed: number): Promise<{ source: Database; workload: LibraryWorkload }> {
  const source = await resources.database();
  const workload = new LibraryWorkload({ seed, stageEvery: 60 });
  if (count > 0) await workload.run(source, count, 25);
  return { source, workload };
}

/** The last source t the target has applied (0 before the first). */
export async function position(target: Database): Promise<number> {
  const holder = await target.entity(LAST_SOURCE_TRANSACTION);
  return (holder?.[LAST_SOURCE_TRANSACTION] as number | undefined) ?? 0;
}

export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the target has applied everything the source holds. */
export async function converged(source: Database, target: Database, ms = 20_000): Promise<void> {
  const basis = await source.basisT();
  await until(`target reaches source t=${basis}`, async () => (await position(target)) >= basis, ms);
}

/** Equal datoms, and one target transaction per source transaction. */
export async function expectReplica(source: Database, target: Database): Promise<void> {
  const result = await compareReplica(source, target);
  expect(result.differences).toEqual([]);
  expect(result.equal).toBe(true);
  expect(await target.basisT()).toBe(await source.basisT());
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: object;
}

/** A logger that keeps what it is told, for asserting on it. */
export function captureLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object, msg = '') => void entries.push({ level, msg, obj });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Writes `count` transactions in batches, pausing between them, as a live source would. */
export async function keepWriting(workload: LibraryWorkload, source: Database, count: number, batch = 10, pauseMs = 20): Promise<void> {
  for (let done = 0; done < count; done += batch) {
    await workload.run(source, Math.min(batch, count - done), batch);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
