// The coordinator: copies a database into an empty target through the store (clone mode),
// keeps it following, and moves the primary at a fenced instant. Every state change is a
// journal entry written before the step it announces, so a coordinator killed at any
// instant resumes to one consistent outcome.
import os from 'node:os';
import type { Database } from '../db/types';
import { silentLogger, type Logger } from '../logger';
import type { SegmentCodec } from '../segment/codec';
import { exportNext } from '../segment/export';
import { sleep } from '../sleep';
import type { SegmentStore } from '../stores/types';
import { cloneRestorer } from './clone-restorer';
import { ControlInbox, type ControlAction } from './control';
import { CutoverFailedError, JournalConflictError, MigrationError, MigrationStateError } from './errors';
import { Journal, validateMigrationId, type JournalEntry, type NewEntry } from './journal';
import type { CloneRestorer, CloneRestorerFactory, MigratableDatabase } from './port';
import { claimMigration } from './registry';
import { Router, type RouterOptions } from './router';
import { isFencing, isTerminal, primaryIn, type MigrationState, type Side } from './states';
import { phaseOf, type MigrationStatus, type SideStatus } from './status';

/** What liveMigrate needs: the source, the target, the store and database name, and the migration's settings. */
export interface LiveMigrateOptions {
  /** The database that accepts writes now. */
  readonly source: Database;
  /** An empty database (or a clone of db) that becomes the primary at cutover. */
  readonly target: Database;
  /** The segment store the copy travels through; the migration's journal lives there too. */
  readonly store: SegmentStore;
  /** The source's name in the store (its segments' database). */
  readonly db: string;
  /** The migration's id (`[a-z0-9-]`): the same id again resumes it. Default `{db}-{time}`. */
  readonly id?: string;
  /** Names for the journal, the fence and the router; never credentials. Default: each database's location. */
  readonly names?: { readonly source?: string; readonly target?: string };
  /** Ready when the clone is at most this many transactions behind. Default 100. */
  readonly readyLag?: number;
  /** The fence is lifted again when the drain has not finished within this (ms). Default 5,000. */
  readonly cutoverTimeout?: number;
  /** Time budget of one export or restore step of the streaming loop (ms). Default 250. */
  readonly stepMs?: number;
  /** Pause of the loop when there was nothing to copy (ms). Default 100. */
  readonly intervalMs?: number;
  /** How often requests from other processes are looked for (ms). Default 500. */
  readonly requestPollMs?: number;
  /** Transactions per segment the migration exports. Default 1,000. */
  readonly maxTxns?: number;
  readonly codec?: SegmentCodec;
  /** Options of migration.router. */
  readonly router?: Omit<RouterOptions, 'databases' | 'store' | 'db'>;
  readonly logger?: Logger;
  /** Called after every step of the loop. */
  readonly onProgress?: (status: MigrationStatus) => void;
  /** The clone restorer (default: src/restore's clone mode). */
  readonly restorer?: CloneRestorerFactory;
}

/** How a cutover (or a rollback) went: the fence's t and how long writes were held. */
export interface CutoverResult {
  /** The fence's t: the last transaction of the old primary. */
  readonly t: number;
  readonly from: string;
  readonly to: string;
  /** From raising the fence to promoting the new primary (ms): how long writes waited. */
  readonly fencedMs: number;
}

interface SideHandle {
  readonly side: Side;
  readonly name: string;
  readonly database: MigratableDatabase;
}

const DEFAULTS = { readyLag: 100, cutoverTimeout: 5_000, stepMs: 250, intervalMs: 100, requestPollMs: 500, maxTxns: 1_000 };
/** How long a cutover or rollback keeps streaming to bring the lag under readyLag before it gives up (ms). */
const CATCH_UP_MS = 10_000;
/** After a fenced entry's deadline, how long a resuming coordinator still waits for a promotion in flight (ms). */
const RECOVERY_GRACE_MS = 2_000;
/** How often the streamed tail's log digests are compared while following (ms). */
const VERIFY_EVERY_MS = 1_000;

/**
 * Starts (or, for an id whose journal exists, resumes) a live migration of source into
 * target. Refuses, before writing anything: a target that is neither empty nor a clone of
 * db, a source that is not a writable primary, and a second migration of the same db.
 */
export async function liveMigrate(options: LiveMigrateOptions): Promise<Migration> {
  const migration = new Migration(options);
  await migration.open();
  return migration;
}

/** A running migration; see liveMigrate. */
export class Migration {
  readonly id: string;
  readonly db: string;
  /** Routes transactions to whichever database is the primary; follows cutover and rollback. */
  readonly router: Router;
  private readonly sides: Record<Side, SideHandle>;
  private readonly store: SegmentStore;
  private readonly journal: Journal;
  private readonly inbox: ControlInbox;
  private readonly logger: Logger;
  private readonly settings: typeof DEFAULTS;
  private readonly by = `${os.hostname()}:${process.pid}`;
  private latest: JournalEntry | null = null;
  private restorer: CloneRestorer | null = null;
  private restorerFor: Side | null = null;
  private verifiedT = 0;
  private lastVerify = 0;
  private lag = Number.POSITIVE_INFINITY;
  private loading = true;
  private lastError: string | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly closing = new AbortController();
  private loop: Promise<void> | null = null;
  private ended!: Promise<MigrationStatus>;
  private resolveEnded!: (status: MigrationStatus) => void;
  private rejectEnded!: (err: unknown) => void;

  constructor(private readonly options: LiveMigrateOptions) {
    this.db = options.db;
    this.id = options.id ?? defaultId(options.db);
    validateMigrationId(this.id);
    this.settings = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const value = options[key];
      if (value === undefined) continue;
      if (!Number.isFinite(value) || value < (key === 'readyLag' ? 0 : 1)) {
        throw new MigrationError(`${key} must be a ${key === 'readyLag' ? 'non-negative' : 'positive'} number, got ${value}`);
      }
      this.settings[key] = value;
    }
    const sourceName = options.names?.source ?? options.source.location;
    const targetName = options.names?.target ?? options.target.location;
    if (sourceName === targetName) throw new MigrationError(`source and target are the same database (${sourceName})`);
    this.sides = {
      source: { side: 'source', name: sourceName, database: options.source as MigratableDatabase },
      target: { side: 'target', name: targetName, database: options.target as MigratableDatabase },
    };
    this.store = options.store;
    this.logger = options.logger ?? silentLogger;
    this.journal = new Journal({ store: options.store, db: options.db, migration: this.id, by: this.by });
    this.inbox = new ControlInbox(options.store, options.db, this.id);
    this.router = new Router({ ...options.router, databases: { [sourceName]: options.source, [targetName]: options.target }, store: options.store, db: options.db });
    this.ended = new Promise((resolve, reject) => {
      this.resolveEnded = resolve;
      this.rejectEnded = reject;
    });
    this.ended.catch(() => undefined);
  }

  /** Checks, claims or resumes, recovers an interrupted cutover, and starts the loop. */
  async open(): Promise<void> {
    try {
      const existing = await this.journal.latest();
      if (existing === null) await this.start();
      else await this.resume(existing);
    } catch (err) {
      await this.router.close();
      throw err;
    }
    if (isTerminal(this.state)) {
      await this.router.close();
      throw new MigrationStateError(
        `migration ${this.id} of ${this.db} ${this.state} at ${this.latest!.at.toISOString()}: start a new one with another id`,
      );
    }
    this.loop = this.run();
  }

  /** The journal's newest state. */
  get state(): MigrationState {
    return this.latest!.state;
  }

  /** Where things stand, read from both databases now. */
  async status(): Promise<MigrationStatus> {
    const [source, target] = await Promise.all([this.sideStatus('source'), this.sideStatus('target')]);
    const primarySide = primaryIn(this.state);
    const [p, c] = primarySide === 'source' ? [source, target] : [target, source];
    const lag = Math.max(0, p.basisT - c.basisT);
    const ready = this.isFollowing() && lag <= this.settings.readyLag && c.role.role === 'clone' && !c.role.loading;
    return {
      id: this.id,
      db: this.db,
      state: this.state,
      phase: phaseOf(this.state, ready),
      primary: p.name,
      clone: c.name,
      source,
      target,
      lag,
      ready,
      readyLag: this.settings.readyLag,
      journal: this.latest!,
      error: this.lastError,
    };
  }

  /** Resolves once the migration has ended (aborted or finished), with its last status. */
  done(): Promise<MigrationStatus> {
    return this.ended;
  }

  /** Resolves when a cutover (or rollback) may start; rejects when the migration ends first or the signal aborts. */
  async waitReady(options: { signal?: AbortSignal; pollMs?: number } = {}): Promise<MigrationStatus> {
    for (;;) {
      if (options.signal?.aborted) throw new MigrationError('waiting for the migration to be ready was aborted');
      if (isTerminal(this.state)) throw new MigrationStateError(`migration ${this.id} ${this.state}`);
      const status = await this.status();
      if (status.ready) return status;
      await sleep(options.pollMs ?? 50, options.signal);
    }
  }

  /** Fences the source, drains the target to the fence's t, checks, promotes the target and demotes the source. */
  cutover(): Promise<CutoverResult> {
    return this.exclusive(() => this.switchPrimary('cutover'));
  }

  /** The same as cutover, back to the source (after a cutover, before finish). */
  rollback(): Promise<CutoverResult> {
    return this.exclusive(() => this.switchPrimary('rollback'));
  }

  /** Ends a migration that has not cut over (or was rolled back): the source stays as it was, the target a clone. */
  abort(reason = 'aborted by request'): Promise<MigrationStatus> {
    return this.exclusive(async () => {
      const state = this.state;
      if (isTerminal(state)) throw new MigrationStateError(`migration ${this.id} already ${state}`);
      if (primaryIn(state) === 'target') {
        throw new MigrationStateError(
          `migration ${this.id} has cut over (${this.sides.target.name} is the primary): abort is for before a cutover; use rollback, or finish`,
        );
      }
      await this.append({ state: 'aborted', t: await this.sides.source.database.basisT(), reason });
      return this.end();
    });
  }

  /** Ends a migration after its cutover: the target stays the primary, the old source stays a read-only clone. */
  finish(): Promise<MigrationStatus> {
    return this.exclusive(async () => {
      const state = this.state;
      if (isTerminal(state)) throw new MigrationStateError(`migration ${this.id} already ${state}`);
      if (primaryIn(state) !== 'target') {
        throw new MigrationStateError(`migration ${this.id} has not cut over (state ${state}): nothing to finish; cut over first, or abort`);
      }
      await this.append({ state: 'finished', t: await this.sides.target.database.basisT(), reason: null });
      return this.end();
    });
  }

  /** Stops the loop and the router; the migration stays where it is and resumes with the same id. Idempotent. */
  async close(): Promise<void> {
    if (!this.closing.signal.aborted) this.closing.abort();
    await this.loop?.catch(() => undefined);
    await this.router.close();
    this.rejectEnded(new MigrationError(`migration ${this.id} was closed in state ${this.state}`));
  }

  // --- starting and resuming

  private async start(): Promise<void> {
    const { source, target } = this.sides;
    const [sourceRole, targetRole, sourceT, targetT] = await Promise.all([
      source.database.role(),
      target.database.role(),
      source.database.basisT(),
      target.database.basisT(),
    ]);
    if (sourceRole.role !== 'primary') {
      throw new MigrationStateError(`source ${source.name} is a clone of ${sourceRole.cloneOf}: migrate from a primary (or promote it first)`);
    }
    if (sourceRole.fence !== null) {
      throw new MigrationStateError(`source ${source.name} is fenced by migration ${sourceRole.fence.migration}: finish or abort that one first`);
    }
    const followsDb = targetRole.role === 'clone' && targetRole.cloneOf === this.db;
    if (targetT > 0 && !followsDb) {
      throw new MigrationStateError(
        `target ${target.name} is not empty (basis t=${targetT}, ${targetRole.role === 'clone' ? `a clone of ${targetRole.cloneOf}` : 'a primary'}): ` +
          `a migration needs an empty target, or a clone of ${this.db}`,
      );
    }
    await claimMigration(this.store, this.db, this.id, this.by, new Date());
    if ((await this.journal.latest()) !== null) throw new JournalConflictError(`migration ${this.id} was started by another coordinator meanwhile`, null);
    this.latest = await this.journal.append(null, { state: 'copying', t: sourceT, reason: null, source: source.name, target: target.name });
    this.logger.info({ migration: this.id, db: this.db, source: source.name, target: target.name, t: sourceT }, 'migration started');
  }

  private async resume(entry: JournalEntry): Promise<void> {
    for (const side of ['source', 'target'] as const) {
      if (entry[side] !== this.sides[side].name) {
        throw new MigrationError(`migration ${this.id}: the journal's ${side} is ${entry[side]}, but this coordinator was given ${this.sides[side].name}`);
      }
    }
    // The same id is only resumed while it is db's newest migration.
    await claimMigration(this.store, this.db, this.id, this.by, new Date());
    this.latest = entry;
    if (isFencing(entry.state)) await this.recoverFence();
    this.verifiedT = entry.state === 'copying' ? 0 : (entry.t ?? 0);
    this.logger.info({ migration: this.id, state: this.state }, 'migration resumed');
  }

  /**
   * A coordinator stopped during a cutover. If the new primary was promoted, the cutover
   * completes (the old one is demoted); otherwise the fence is lifted.
   */
  private async recoverFence(): Promise<void> {
    // The coordinator that raised the fence may still be running: it promotes only before the
    // entry's deadline, so decide after it (and a grace for a promotion in flight), unless the
    // journal moves on meanwhile.
    const deadline = this.latest!.deadline;
    if (deadline !== null) {
      const wait = deadline.getTime() + RECOVERY_GRACE_MS - Date.now();
      if (wait > 0) {
        this.logger.info({ migration: this.id, waitMs: wait }, 'a cutover was in progress; waiting past its deadline before settling it');
        await sleep(wait, this.closing.signal);
      }
      const latest = await this.journal.latest();
      if (latest !== null && latest.seq !== this.latest!.seq) {
        this.latest = latest;
        if (isFencing(latest.state)) await this.recoverFence();
        return;
      }
    }
    const direction = this.state === 'fenced' ? 'cutover' : 'rollback';
    const [from, to] = direction === 'cutover' ? [this.sides.source, this.sides.target] : [this.sides.target, this.sides.source];
    const toRole = await to.database.role();
    if (toRole.role === 'primary') {
      const fromRole = await from.database.role();
      if (fromRole.role === 'primary') await from.database.demote(this.db, this.id);
      const t = await from.database.basisT();
      await this.append({ state: direction === 'cutover' ? 'cut-over' : 'rolled-back', t, reason: 'completed by a resumed coordinator' });
    } else {
      await from.database.unfence(this.id);
      await this.append({
        state: direction === 'cutover' ? 'unfenced' : 'rollback-unfenced',
        t: await from.database.basisT(),
        reason: `the coordinator stopped during the ${direction}; the fence was lifted when it resumed`,
      });
    }
  }

  // --- the loop

  private async run(): Promise<void> {
    let nextRequests = 0;
    while (!this.closing.signal.aborted && !isTerminal(this.state)) {
      let busy = false;
      try {
        busy = await this.exclusive(() => this.step());
        this.lastError = null;
      } catch (err) {
        if (err instanceof JournalConflictError) {
          this.lastError = err.message;
          this.logger.error({ migration: this.id, error: err.message }, 'another coordinator advanced the journal; stopping');
          this.rejectEnded(err);
          return;
        }
        this.lastError = (err as Error).message;
        this.logger.warn({ migration: this.id, error: this.lastError }, 'migration step failed; retrying');
        await sleep(this.settings.intervalMs * 5, this.closing.signal);
      }
      if (Date.now() >= nextRequests) {
        nextRequests = Date.now() + this.settings.requestPollMs;
        await this.serveRequests().catch((err: unknown) => this.logger.warn({ error: (err as Error).message }, 'reading control requests failed'));
      }
      if (this.options.onProgress && !this.closing.signal.aborted) {
        await this.status().then(this.options.onProgress, () => undefined);
      }
      if (!busy) await sleep(this.settings.intervalMs, this.closing.signal);
    }
  }

  /** One round: export what is new from the primary, restore it into the clone, measure, check. True when it moved. */
  private async step(): Promise<boolean> {
    if (isTerminal(this.state) || this.closing.signal.aborted) return false;
    if (isFencing(this.state)) {
      // A cutover that could not even lift its fence (the database was unreachable): settle it first.
      await this.recoverFence();
      return true;
    }
    const primary = this.sides[primaryIn(this.state)];
    const clone = this.other(primary);
    // Export and restore overlap: the clone applies one segment while the next is written.
    const budget = () => AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.settings.stepMs)]);
    const exporting = async (signal: AbortSignal): Promise<boolean> => {
      let exported = false;
      while (!signal.aborted && (await exportNext(primary.database, this.store, this.db, this.exportOptions())) !== null) exported = true;
      return exported;
    };
    const restoring = async (signal: AbortSignal): Promise<boolean> => {
      const restorer = this.restorerOf(clone);
      let restored = false;
      // The budget is checked between segments only: a segment is bounded work (maxTxns), and a
      // signal passed in would stop a step before its first batch once the budget is spent.
      while (!signal.aborted) {
        const result = await restorer.next({ signal: this.closing.signal });
        if (result.transactions > 0) restored = true;
        if (result.status === 'caught-up') break;
      }
      return restored;
    };
    const [exported, restored] = await Promise.all([exporting(budget()), restoring(budget())]);
    const moved = exported || restored;
    const [primaryT, cloneT, cloneRole] = await Promise.all([primary.database.basisT(), clone.database.basisT(), clone.database.role()]);
    this.lag = Math.max(0, primaryT - cloneT);
    this.loading = cloneRole.loading;
    if (this.state === 'copying') {
      if (this.lag <= this.settings.readyLag && !this.loading) {
        await this.verify(primary, clone, cloneT); // the whole copied log
        await this.append({ state: 'streaming', t: cloneT, reason: null });
        this.logger.info({ migration: this.id, t: cloneT }, 'copy done; streaming');
      }
    } else if (cloneT > this.verifiedT && Date.now() - this.lastVerify >= VERIFY_EVERY_MS) {
      await this.verify(primary, clone, cloneT);
    }
    return moved;
  }

  /** Compares the log digests of both sides over (verifiedT, toT]; a difference stops the migration's progress loudly. */
  private async verify(primary: SideHandle, clone: SideHandle, toT: number): Promise<void> {
    this.lastVerify = Date.now();
    if (toT <= this.verifiedT) return;
    const fromT = this.verifiedT + 1;
    const [a, b] = await Promise.all([primary.database.logDigest(fromT, toT), clone.database.logDigest(fromT, toT)]);
    if (a !== b) {
      throw new MigrationError(
        `migration ${this.id}: the logs of ${primary.name} and ${clone.name} differ in t=${fromT}..${toT} ` +
          `(digests ${a} and ${b}); run 'txclone verify-replica' on them. No cutover is possible until this is resolved`,
      );
    }
    this.verifiedT = toT;
  }

  // --- cutover and rollback

  private async switchPrimary(direction: 'cutover' | 'rollback'): Promise<CutoverResult> {
    const state = this.state;
    const allowed: readonly MigrationState[] = direction === 'cutover' ? ['streaming', 'unfenced', 'rolled-back'] : ['cut-over', 'rollback-unfenced'];
    if (!allowed.includes(state)) throw new MigrationStateError(this.refusal(direction, state));
    // Catch up first: with writers running the lag moves from step to step.
    const catchUpUntil = Date.now() + CATCH_UP_MS;
    do await this.step();
    while ((this.lag > this.settings.readyLag || this.loading) && Date.now() < catchUpUntil && !this.closing.signal.aborted);
    const from = this.sides[primaryIn(state)];
    const to = this.other(from);
    if (this.lag > this.settings.readyLag || this.loading) {
      throw new MigrationStateError(
        `migration ${this.id} is not ready for a ${direction}: ${to.name} is ${this.lag} transactions behind ${from.name}` +
          (this.loading ? ' and still building its indexes' : '') +
          ` after ${CATCH_UP_MS / 1000} s of catching up (ready at ${this.settings.readyLag} or fewer)`,
      );
    }
    const fencedState = direction === 'cutover' ? 'fenced' : 'rollback-fenced';
    const started = Date.now();
    const deadline = started + this.settings.cutoverTimeout;
    await this.append({ state: fencedState, t: await from.database.basisT(), reason: null, deadline: new Date(deadline) });
    let fenceT: number | null = null;
    try {
      fenceT = await from.database.fence({ migration: this.id, newPrimary: to.name });
      await this.exportTo(from, fenceT, deadline);
      await this.drainTo(to, fenceT, deadline);
      await this.verify(from, to, fenceT);
      // Past its deadline a coordinator that resumed from the journal may be lifting the fence.
      if (Date.now() >= deadline) throw new MigrationError(`the ${direction} reached the promotion after cutoverTimeout ${this.settings.cutoverTimeout} ms`);
      await to.database.promote();
    } catch (err) {
      // Promoted after all (an error after the commit)? Then complete; never two primaries.
      const promoted = await to.database.role().then((r) => r.role === 'primary', () => null);
      if (promoted === null) throw err; // cannot tell: the journal stays fenced, and a resume decides
      if (!promoted) {
        await from.database.unfence(this.id);
        const reason = (err as Error).message;
        await this.append({ state: direction === 'cutover' ? 'unfenced' : 'rollback-unfenced', t: fenceT, reason });
        this.logger.warn({ migration: this.id, error: reason }, `${direction} failed; the fence is lifted`);
        throw new CutoverFailedError(
          `migration ${this.id}: ${direction} to ${to.name} failed and was undone: ${reason}. ${from.name} is unfenced and accepts writes again; nothing was lost`,
          fenceT,
          { cause: err },
        );
      }
    }
    const fencedMs = Date.now() - started;
    await from.database.demote(this.db, this.id);
    const t = fenceT ?? (await from.database.basisT());
    await this.append({ state: direction === 'cutover' ? 'cut-over' : 'rolled-back', t, reason: null });
    this.verifiedT = t;
    this.lag = 0;
    await this.router.refresh().catch(() => undefined);
    this.logger.info({ migration: this.id, t, from: from.name, to: to.name, fencedMs }, `${direction} done`);
    return { t, from: from.name, to: to.name, fencedMs };
  }

  private refusal(direction: 'cutover' | 'rollback', state: MigrationState): string {
    if (direction === 'cutover') {
      if (state === 'copying') return `migration ${this.id} is not ready for a cutover: the initial copy is still running (${this.lag} transactions to go)`;
      if (primaryIn(state) === 'target') return `migration ${this.id} has already cut over (state ${state})`;
      return `migration ${this.id} cannot cut over in state ${state}`;
    }
    if (state === 'finished') return `migration ${this.id} is finished: a rollback is no longer possible (${this.sides.target.name} stays the primary)`;
    if (state === 'aborted') return `migration ${this.id} was aborted: there is nothing to roll back`;
    if (primaryIn(state) === 'source') return `migration ${this.id} has not cut over (state ${state}): there is nothing to roll back`;
    return `migration ${this.id} cannot roll back in state ${state}`;
  }

  /** Exports the fenced primary's log up to t; the store then holds everything it accepted. */
  private async exportTo(from: SideHandle, t: number, deadline: number): Promise<void> {
    for (;;) {
      const head = await this.store.head(this.db);
      if ((head?.endT ?? 0) >= t) return;
      if (Date.now() > deadline) throw new MigrationError(`exporting ${from.name} up to the fence's t=${t} took longer than cutoverTimeout ${this.settings.cutoverTimeout} ms`);
      await exportNext(from.database, this.store, this.db, this.exportOptions());
    }
  }

  /** Restores the clone up to t within the deadline. */
  private async drainTo(to: SideHandle, t: number, deadline: number): Promise<void> {
    const restorer = this.restorerOf(to);
    for (;;) {
      const at = await to.database.basisT();
      if (at >= t) {
        if (at > t) throw new MigrationError(`${to.name} is at t=${at}, past the fence's t=${t}: something else wrote to it`);
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new MigrationError(`draining ${to.name} to the fence's t=${t} did not finish within cutoverTimeout ${this.settings.cutoverTimeout} ms (it reached t=${at})`);
      }
      await restorer.next({ untilT: t, signal: AbortSignal.timeout(left) });
    }
  }

  // --- requests from other processes

  private async serveRequests(): Promise<void> {
    for (const request of await this.inbox.unanswered()) {
      if (request.expires.getTime() < Date.now()) {
        await this.inbox.reply({ seq: request.seq, ok: false, state: this.state, error: `the ${request.action} request expired at ${request.expires.toISOString()} before it was taken`, at: new Date() });
        continue;
      }
      this.logger.info({ migration: this.id, action: request.action, by: request.by }, 'control request');
      try {
        await this.act(request.action);
        await this.inbox.reply({ seq: request.seq, ok: true, state: this.state, error: null, at: new Date() });
      } catch (err) {
        await this.inbox.reply({ seq: request.seq, ok: false, state: this.state, error: (err as Error).message, at: new Date() });
      }
    }
  }

  private act(action: ControlAction): Promise<unknown> {
    switch (action) {
      case 'cutover':
        return this.cutover();
      case 'rollback':
        return this.rollback();
      case 'abort':
        return this.abort('aborted by a control request');
      case 'finish':
        return this.finish();
    }
  }

  // --- helpers

  private async end(): Promise<MigrationStatus> {
    const status = await this.status();
    if (!this.closing.signal.aborted) this.closing.abort();
    this.resolveEnded(status);
    return status;
  }

  private isFollowing(): boolean {
    return ['streaming', 'unfenced', 'rolled-back', 'cut-over', 'rollback-unfenced'].includes(this.state);
  }

  private async append(next: NewEntry): Promise<JournalEntry> {
    this.latest = await this.journal.append(this.latest, next);
    return this.latest;
  }

  private other(side: SideHandle): SideHandle {
    return side.side === 'source' ? this.sides.target : this.sides.source;
  }

  private restorerOf(clone: SideHandle): CloneRestorer {
    if (this.restorer === null || this.restorerFor !== clone.side) {
      const factory = this.options.restorer ?? ((target, store, db) => cloneRestorer(target, store, db, this.options.codec ? { codec: this.options.codec } : {}));
      this.restorer = factory(clone.database, this.store, this.db);
      this.restorerFor = clone.side;
    }
    return this.restorer;
  }

  private exportOptions() {
    return { maxTxns: this.settings.maxTxns, ...(this.options.codec ? { codec: this.options.codec } : {}) };
  }

  private async sideStatus(side: Side): Promise<SideStatus> {
    const { name, database } = this.sides[side];
    const [basisT, role] = await Promise.all([database.basisT(), database.role()]);
    return { name, basisT, role };
  }

  /** One operation at a time: the loop's steps, cutover, rollback, abort, finish. */
  private exclusive<T>(run: () => Promise<T>): Promise<T> {
    const result = this.lock.then(run, run);
    this.lock = result.catch(() => undefined);
    return result;
  }
}

function defaultId(db: string): string {
  const base = db.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'db';
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15).toLowerCase();
  return `${base}-${stamp}`;
}
