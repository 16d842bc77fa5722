// Control requests from other processes (`txclone migrate cutover` while a coordinator
// runs elsewhere): write-once request records the coordinator answers with reply records,
// `{db}/migrations/{id}/requests/{seq}.edn` and `.../replies/{seq}.edn`.
import { parseEDNString } from 'edn-data';
import { z } from 'zod';
import { RecordConflictError } from '../stores/errors';
import type { SegmentStore } from '../stores/types';
import { sleep } from '../sleep';
import { MigrationError, MigrationStateError } from './errors';
import { Journal, migrationPrefix } from './journal';
import { isTerminal } from './states';

/** What another process may ask a migration's coordinator to do. */
export type ControlAction = 'cutover' | 'abort' | 'rollback' | 'finish';
export const CONTROL_ACTIONS: readonly ControlAction[] = ['cutover', 'abort', 'rollback', 'finish'];

export interface ControlRequest {
  readonly seq: number;
  readonly action: ControlAction;
  readonly at: Date;
  /** A request not answered by then is refused: a coordinator that resumes later does not act on it. */
  readonly expires: Date;
  readonly by: string;
}

/** The coordinator's answer to a control request. */
export interface ControlReply {
  readonly seq: number;
  readonly ok: boolean;
  /** The journal state after the request. */
  readonly state: string;
  /** What went wrong, when not ok. */
  readonly error: string | null;
  readonly at: Date;
}

const edn = (text: string): unknown =>
  parseEDNString(text, { mapAs: 'object', keywordAs: 'string', tagHandlers: { inst: (v) => new Date(String(v)) } });
const requestSchema = z.object({ format: z.literal(1), action: z.enum(CONTROL_ACTIONS as [ControlAction, ...ControlAction[]]), at: z.date(), expires: z.date(), by: z.string() });
const replySchema = z.object({ format: z.literal(1), ok: z.boolean(), state: z.string(), error: z.string().nullable(), at: z.date() });
const SEQ = /(\d{8})\.edn$/;

function names(id: string): { requests: string; replies: string } {
  return { requests: `${migrationPrefix(id)}requests/`, replies: `${migrationPrefix(id)}replies/` };
}

const pad = (seq: number) => String(seq).padStart(8, '0');

/** The coordinator's side: requests not answered yet, and answering them. */
export class ControlInbox {
  constructor(
    private readonly store: SegmentStore,
    private readonly db: string,
    private readonly id: string,
  ) {}

  async unanswered(): Promise<ControlRequest[]> {
    const { requests, replies } = names(this.id);
    const answered = new Set((await this.store.listRecords(this.db, replies)).map((n) => SEQ.exec(n)?.[1]));
    const open: ControlRequest[] = [];
    for (const name of await this.store.listRecords(this.db, requests)) {
      const seq = SEQ.exec(name)?.[1];
      if (seq === undefined || answered.has(seq)) continue;
      const bytes = await this.store.getRecord(this.db, name);
      if (bytes === null) continue;
      const parsed = requestSchema.safeParse(safeEdn(new TextDecoder().decode(bytes)));
      if (!parsed.success) {
        await this.reply({ seq: Number(seq), ok: false, state: 'unknown', error: `request ${this.db}/${name} is malformed`, at: new Date() });
        continue;
      }
      open.push({ seq: Number(seq), action: parsed.data.action, at: parsed.data.at, expires: parsed.data.expires, by: parsed.data.by });
    }
    return open;
  }

  async reply(reply: ControlReply): Promise<void> {
    const text =
      `{:format 1\n :ok ${reply.ok}\n :state ${JSON.stringify(reply.state)}\n :error ${reply.error === null ? 'nil' : JSON.stringify(reply.error)}\n` +
      ` :at #inst ${JSON.stringify(reply.at.toISOString())}}\n`;
    try {
      await this.store.putRecord(this.db, `${names(this.id).replies}${pad(reply.seq)}.edn`, new TextEncoder().encode(text));
    } catch (err) {
      if (!(err instanceof RecordConflictError)) throw err; // answered already (by a coordinator before a restart)
    }
  }
}

export interface SendOptions {
  /** How long to wait for the coordinator's reply (ms). Default 60,000. */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly by: string;
  readonly signal?: AbortSignal;
}

/** Another process's side: sends a request and waits for the coordinator's reply. */
export async function sendControl(store: SegmentStore, db: string, id: string, action: ControlAction, options: SendOptions): Promise<ControlReply> {
  const { requests, replies } = names(id);
  const latest = await new Journal({ store, db, migration: id, by: options.by }).latest();
  if (latest === null) throw new MigrationStateError(`there is no migration ${id} of database ${db} in ${store.location}`);
  if (isTerminal(latest.state)) {
    const undo = action === 'rollback' && latest.state === 'finished' ? ': a rollback is no longer possible' : `: ${action} is not possible any more`;
    throw new MigrationStateError(`migration ${id} is ${latest.state} (at ${latest.at.toISOString()})${undo}`);
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  const now = new Date();
  const expires = new Date(now.getTime() + timeoutMs);
  const text =
    `{:format 1\n :action :${action}\n :at #inst ${JSON.stringify(now.toISOString())}\n` +
    ` :expires #inst ${JSON.stringify(expires.toISOString())}\n :by ${JSON.stringify(options.by)}}\n`;
  let seq = 0;
  for (;;) {
    const existing = await store.listRecords(db, requests);
    seq = existing.length === 0 ? 1 : Number(SEQ.exec(existing[existing.length - 1]!)?.[1] ?? 0) + 1;
    try {
      await store.putRecord(db, `${requests}${pad(seq)}.edn`, new TextEncoder().encode(text));
      break;
    } catch (err) {
      if (!(err instanceof RecordConflictError)) throw err;
    }
  }
  // Past the expiry: a coordinator that took the request just before it expired still answers.
  const deadline = expires.getTime() + 30_000;
  while (Date.now() < deadline && !options.signal?.aborted) {
    const bytes = await store.getRecord(db, `${replies}${pad(seq)}.edn`);
    if (bytes !== null) {
      const parsed = replySchema.safeParse(safeEdn(new TextDecoder().decode(bytes)));
      if (!parsed.success) throw new MigrationError(`reply ${db}/${replies}${pad(seq)}.edn is malformed`);
      return { seq, ...parsed.data };
    }
    await sleep(options.pollMs ?? 200, options.signal);
  }
  throw new MigrationError(
    `migration ${id}: no coordinator answered the ${action} request (${db}/${requests}${pad(seq)}.edn in ${store.location}) ` +
      `within ${timeoutMs} ms: is 'txclone migrate start' running for it? The request expired at ${expires.toISOString()}: a coordinator that starts later will not act on it`,
  );
}

function safeEdn(text: string): unknown {
  try {
    return edn(text);
  } catch {
    return null;
  }
}
