// The router: sends an application's transactions to whichever database of a migration is
// the primary now. While a fence is up it holds writes; once a primary answers again (the
// new one after a cutover, the old one after a failed cutover) it sends them there in the
// order they arrived. It learns roles from the databases themselves, so a router in any
// process follows a cutover run by a coordinator in another.
import { EventEmitter } from 'node:events';
import type { Database, TransactOptions, TxOp, TxReport, TxRequest } from '../db/types';
import { silentLogger, type Logger } from '../logger';
import { sleep } from '../sleep';
import type { SegmentStore } from '../stores/types';
import { MigrationError } from './errors';
import { isFencedError, isReadOnlyCloneError, type DatabaseRole } from './port';
import { latestMigration } from './registry';
import { primaryIn } from './states';

/** A router's databases by name, and how long it holds writes while a fence is up. */
export interface RouterOptions {
  /** The databases writes may go to, by the names the migration gives them. */
  readonly databases: Readonly<Record<string, Database>> | ReadonlyMap<string, Database>;
  /** Where the migration's journal is; with db, it tells two primaries apart before a migration's copy starts. */
  readonly store?: SegmentStore;
  readonly db?: string;
  /** How often roles are read while writes are held (ms). Default 20. */
  readonly pollMs?: number;
  /** A write held longer than this fails with the fence's error (ms). Default 30,000. */
  readonly holdTimeoutMs?: number;
  /** Held writes sent to the new primary per commit. Default 200. */
  readonly flushBatch?: number;
  /** How often an idle router reads roles to notice a cutover (ms); 0: only when a write is refused. Default 1,000. */
  readonly watchMs?: number;
  /** Called for every write a database accepted, with its name, before the caller hears of it. */
  readonly onAccepted?: (database: string, report: TxReport) => void;
  readonly logger?: Logger;
}

/** The 'cutover' event: the primary moved. */
export interface CutoverEvent {
  readonly from: string | null;
  readonly to: string;
  /** The migration whose fence moved it, when known. */
  readonly migration: string | null;
  /** Writes that were held and sent to the new primary. */
  readonly heldWrites: number;
}

export interface RouterEvents {
  cutover: [CutoverEvent];
}

interface Pending {
  readonly seq: number;
  readonly ops: readonly TxOp[];
  readonly options: TransactOptions | undefined;
  readonly heldSince: number;
  readonly resolve: (report: TxReport) => void;
  readonly reject: (err: unknown) => void;
}

/** Routes transact to the current primary; see RouterOptions. Call close() when done. */
export class Router extends EventEmitter<RouterEvents> {
  private readonly databases: ReadonlyMap<string, Database>;
  private readonly pollMs: number;
  private readonly holdTimeoutMs: number;
  private readonly flushBatch: number;
  private readonly logger: Logger;
  private currentName: string | null = null;
  private arrivals = 0;
  /** Writes sent to the current primary and not answered yet. */
  private inFlight = 0;
  private readonly held: Pending[] = [];
  private holding = false;
  private lastFence: { migration: string; newPrimary: string } | null = null;
  private pump: Promise<void> | null = null;
  private readonly closing = new AbortController();
  private watcher: Promise<void> | null = null;

  constructor(private readonly options: RouterOptions) {
    super();
    const entries = options.databases instanceof Map ? [...options.databases] : Object.entries(options.databases);
    if (entries.length === 0) throw new MigrationError('a router needs at least one database');
    this.databases = new Map(entries);
    this.pollMs = positive('pollMs', options.pollMs ?? 20);
    this.holdTimeoutMs = positive('holdTimeoutMs', options.holdTimeoutMs ?? 30_000);
    this.flushBatch = positive('flushBatch', options.flushBatch ?? 200);
    this.logger = options.logger ?? silentLogger;
    const watchMs = options.watchMs ?? 1_000;
    if (watchMs > 0) this.watcher = this.watch(positive('watchMs', watchMs));
  }

  /** The name of the database writes go to now, or null while it is being found (a fence is up). */
  get current(): string | null {
    return this.holding ? null : this.currentName;
  }

  /** Writes held now, waiting for a primary. */
  get heldWrites(): number {
    return this.held.length;
  }

  /** The current primary, for reads (waits while a fence is up). */
  async primary(): Promise<{ name: string; database: Database }> {
    for (;;) {
      this.assertOpen();
      if (!this.holding) {
        if (this.currentName === null) await this.discover();
        if (this.currentName !== null) return { name: this.currentName, database: this.databases.get(this.currentName)! };
      }
      await sleep(this.pollMs, this.closing.signal);
    }
  }

  /** Reads the roles now and moves to the primary they name (a router in the coordinator's process is told at cutover). */
  async refresh(): Promise<void> {
    if (!this.closing.signal.aborted && !this.holding) await this.discover();
  }

  /** Sends a transaction to the current primary; held while a fence is up, then sent on in arrival order. */
  transact(ops: readonly TxOp[], options?: TransactOptions): Promise<TxReport> {
    if (this.closing.signal.aborted) return Promise.reject(new MigrationError('the router is closed'));
    return new Promise<TxReport>((resolve, reject) => {
      const pending: Pending = { seq: ++this.arrivals, ops, options, heldSince: 0, resolve, reject };
      if (this.holding || this.held.length > 0 || this.currentName === null) this.hold(pending);
      else this.send(pending);
    });
  }

  /** Stops watching; held writes fail. Idempotent. Does not close the databases (the caller owns them). */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    await this.watcher;
    await this.pump?.catch(() => undefined);
    for (const p of this.held.splice(0)) p.reject(new MigrationError('the router was closed while this write was held'));
  }

  private send(p: Pending): void {
    const name = this.currentName!;
    this.inFlight += 1;
    this.databases
      .get(name)!
      .transact(p.ops, p.options)
      .then((report) => {
        this.options.onAccepted?.(name, report);
        p.resolve(report);
      }, (err: unknown) => {
        if (isFencedError(err) || isReadOnlyCloneError(err)) {
          if (isFencedError(err)) this.lastFence = { migration: err.migration, newPrimary: err.newPrimary };
          this.logger.info({ database: name, seq: p.seq, error: (err as Error).message }, 'write refused by a fence; holding writes');
          this.hold(p);
        } else {
          p.reject(err);
        }
      })
      .finally(() => {
        this.inFlight -= 1;
      });
  }

  /** Queues p in arrival order and makes sure the pump runs. */
  private hold(p: Pending): void {
    this.holding = true;
    const entry = p.heldSince === 0 ? { ...p, heldSince: Date.now() } : p;
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.seq > entry.seq) i -= 1;
    this.held.splice(i, 0, entry);
    this.pump ??= this.drain().finally(() => {
      this.pump = null;
      // A write refused while the pump was finishing.
      if (this.held.length > 0 && !this.closing.signal.aborted) this.hold(this.held.shift()!);
    });
  }

  /** Finds a primary, waits for the writes still in flight, then sends the held ones in order. */
  private async drain(): Promise<void> {
    const from = this.currentName;
    let sent = 0;
    while (this.held.length > 0 && !this.closing.signal.aborted) {
      this.expire();
      const found = await this.findPrimary().catch((err: unknown) => {
        this.logger.warn({ error: (err as Error).message }, 'reading roles failed; retrying');
        return null;
      });
      if (found === null || this.inFlight > 0) {
        await sleep(this.pollMs, this.closing.signal);
        continue;
      }
      this.currentName = found;
      const outcome = await this.flush(found);
      sent += outcome.sent;
      if (outcome.refused) await sleep(this.pollMs, this.closing.signal);
    }
    if (this.closing.signal.aborted) return;
    this.holding = false;
    const to = this.currentName;
    if (from !== null && to !== null && to !== from) {
      this.emit('cutover', { from, to, migration: this.lastFence?.migration ?? null, heldWrites: sent });
    }
  }

  /** Sends held writes to name in arrival order, a commit of up to flushBatch at a time. */
  private async flush(name: string): Promise<{ sent: number; refused: boolean }> {
    const database = this.databases.get(name)!;
    let sent = 0;
    while (this.held.length > 0) {
      const batch = this.held.slice(0, this.flushBatch);
      const requests: TxRequest[] = batch.map((p) => ({ ops: p.ops, ...(p.options?.txInstant ? { txInstant: p.options.txInstant } : {}) }));
      try {
        const reports = await database.transactBatch(requests);
        this.held.splice(0, batch.length);
        batch.forEach((p, i) => this.accept(name, p, reports[i]!));
        sent += batch.length;
      } catch (err) {
        if (isFencedError(err) || isReadOnlyCloneError(err)) {
          if (isFencedError(err)) this.lastFence = { migration: err.migration, newPrimary: err.newPrimary };
          return { sent, refused: true };
        }
        const index = (err as { batchIndex?: unknown }).batchIndex;
        if (typeof index === 'number' && err instanceof Error && err.name === 'TransactionError' && index < batch.length) {
          // All or nothing: none of the batch was written. The ones before the bad one go
          // alone next round; the bad one fails as it would have on its own.
          if (index === 0) {
            this.held.shift();
            (err as unknown as { batchIndex: number }).batchIndex = 0;
            batch[0]!.reject(err);
          } else {
            await this.flushPrefix(name, database, index);
            sent += index;
          }
          continue;
        }
        // Unknown outcome (a lost connection): the batch fails as one write would.
        this.held.splice(0, batch.length);
        for (const p of batch) p.reject(err);
      }
    }
    return { sent, refused: false };
  }

  private async flushPrefix(name: string, database: Database, count: number): Promise<void> {
    const batch = this.held.slice(0, count);
    const reports = await database.transactBatch(batch.map((p) => ({ ops: p.ops, ...(p.options?.txInstant ? { txInstant: p.options.txInstant } : {}) })));
    this.held.splice(0, count);
    batch.forEach((p, i) => this.accept(name, p, reports[i]!));
  }

  private accept(name: string, p: Pending, report: TxReport): void {
    this.options.onAccepted?.(name, report);
    p.resolve(report);
  }

  /** Fails writes held past holdTimeoutMs with the fence's error. */
  private expire(): void {
    const now = Date.now();
    for (let i = this.held.length - 1; i >= 0; i--) {
      const p = this.held[i]!;
      if (now - p.heldSince < this.holdTimeoutMs) continue;
      this.held.splice(i, 1);
      const fence = this.lastFence;
      p.reject(
        new MigrationError(
          `write held ${now - p.heldSince} ms while a fence was up` +
            (fence ? ` (migration ${fence.migration}, new primary ${fence.newPrimary})` : '') +
            `, longer than holdTimeoutMs ${this.holdTimeoutMs}; it was not written`,
        ),
      );
    }
  }

  /** Reads roles until exactly one unfenced primary is known; null while there is none. */
  private async findPrimary(): Promise<string | null> {
    const roles = await this.roles();
    const fence = roles.find(({ role }) => role.fence !== null)?.role.fence;
    if (fence) this.lastFence = { migration: fence.migration, newPrimary: fence.newPrimary };
    const open = roles.filter(({ role }) => role.role === 'primary' && role.fence === null);
    if (open.length === 1) return open[0]!.name;
    if (open.length === 0) return null;
    return this.choose(open.map((r) => r.name));
  }

  /** Reads roles and moves to the primary they name; a fence up (none named) changes nothing here. */
  private async discover(): Promise<void> {
    const found = await this.findPrimary();
    if (found === null || this.holding) return;
    if (this.currentName !== null && found !== this.currentName) {
      this.emit('cutover', { from: this.currentName, to: found, migration: this.lastFence?.migration ?? null, heldWrites: 0 });
    }
    this.currentName = found;
  }

  /**
   * Several unfenced primaries: before a migration's copy starts its target is an empty
   * primary. The migration journal decides when the router knows it; else the one with
   * transactions.
   */
  private async choose(names: string[]): Promise<string> {
    if (this.currentName !== null && names.includes(this.currentName)) return this.currentName;
    if (this.options.store && this.options.db) {
      const newest = await latestMigration(this.options.store, this.options.db);
      const entry = newest?.entry;
      if (entry) {
        const name = entry[primaryIn(entry.state)];
        if (names.includes(name)) return name;
      }
    }
    const bases = await Promise.all(names.map(async (name) => ({ name, basisT: await this.databases.get(name)!.basisT() })));
    const nonEmpty = bases.filter((b) => b.basisT > 0);
    if (nonEmpty.length === 1) return nonEmpty[0]!.name;
    throw new MigrationError(
      `router: ${names.join(', ')} are all primaries accepting writes; a migration's target must be empty or a clone`,
    );
  }

  private async roles(): Promise<{ name: string; role: DatabaseRole }[]> {
    return Promise.all(
      [...this.databases].map(async ([name, database]) => ({ name, role: await database.role() })),
    );
  }

  private async watch(ms: number): Promise<void> {
    while (!this.closing.signal.aborted) {
      await sleep(ms, this.closing.signal);
      if (this.closing.signal.aborted || this.holding) continue;
      try {
        await this.discover();
      } catch (err) {
        this.logger.warn({ error: (err as Error).message }, 'router: reading roles failed');
      }
    }
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw new MigrationError('the router is closed');
  }
}

/** A router over databases the caller opened (in any process); see RouterOptions. */
export function openRouter(options: RouterOptions): Router {
  return new Router(options);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}
