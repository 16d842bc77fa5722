// Commit notifications: the database tells whoever listens that a transaction committed.
//
// The committing SQL transaction itself calls pg_notify, so PostgreSQL delivers the
// notification when (and only if) it commits, to every session that LISTENs on the
// database's channel, in this process or any other. PGlite delivers the same notification
// to its in-process listeners; and every commit made through this object is also told to
// its own listeners directly. A notification can be missed (a listening connection
// reconnecting), so a listener is told `null` after a reconnect ("something may have
// committed") and callers keep polling as the fallback.
import { createHash } from 'node:crypto';
import type { SqlDriver, SqlQueryable } from './sql/driver';

/** Called with the committed basis t, or null when commits may have been missed. */
export type CommitListener = (t: number | null) => void;

/** Stops the notifications a subscription asked for. */
export type Unsubscribe = () => Promise<void>;

/**
 * The channel of a database (a SQL schema): an identifier at most 63 bytes long whatever
 * the schema's name, so `txclone_commit_` and 16 hex digits of the name's SHA-256.
 */
export function commitChannel(schema: string): string {
  return `txclone_commit_${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
}

export class CommitNotifier {
  readonly channel: string;
  private readonly listeners = new Set<CommitListener>();
  private listening: Promise<Unsubscribe | null> | null = null;

  constructor(private readonly driver: SqlDriver) {
    this.channel = commitChannel(driver.schema);
  }

  /** Inside the committing SQL transaction: sent by the database at commit, dropped on rollback. */
  async notify(q: SqlQueryable, t: number): Promise<void> {
    await q.query('select pg_notify($1, $2)', [this.channel, String(t)]);
  }

  /** After a commit made through this object. */
  committed(t: number | null): void {
    for (const listener of this.listeners) {
      try {
        listener(t);
      } catch {
        // A listener's failure is its own; the commit happened.
      }
    }
  }

  /** Listens (one database session for all listeners) until the last one unsubscribes. */
  async subscribe(listener: CommitListener): Promise<Unsubscribe> {
    this.listeners.add(listener);
    if (this.driver.listen) {
      this.listening ??= this.driver.listen(this.channel, (payload) => {
        const t = Number(payload);
        this.committed(payload !== '' && Number.isSafeInteger(t) ? t : null);
      });
      try {
        await this.listening;
      } catch (err) {
        this.listeners.delete(listener);
        this.listening = null;
        throw err;
      }
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      this.listeners.delete(listener);
      if (this.listeners.size > 0 || this.listening === null) return;
      const listening = this.listening;
      this.listening = null;
      await (await listening.catch(() => null))?.();
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    const listening = this.listening;
    this.listening = null;
    await (await listening?.catch(() => null))?.().catch(() => undefined);
  }
}
