// The journal: a migration's states as an append-only sequence of write-once EDN records
// in the store, `{db}/migrations/{id}/{seq}.edn`. Appending entry n+1 is a create-once of
// its name, so of two coordinators advancing from the same entry exactly one succeeds.
import { parseEDNString } from 'edn-data';
import { z } from 'zod';
import { RecordConflictError } from '../stores/errors';
import type { SegmentStore } from '../stores/types';
import { JournalConflictError, MigrationError } from './errors';
import { canMove, MIGRATION_STATES, type MigrationState } from './states';

/** One journal record. Names locate databases for people; they never carry credentials. */
export interface JournalEntry {
  readonly migration: string;
  readonly db: string;
  /** 1, 2, 3, ... with no holes. */
  readonly seq: number;
  readonly state: MigrationState;
  /** The t this state is about (the fence's t, the position reached), or null. */
  readonly t: number | null;
  readonly at: Date;
  readonly source: string;
  readonly target: string;
  /** Why: a failed cutover's error, an abort's cause. */
  readonly reason: string | null;
  /**
   * On a fenced entry: the instant after which the coordinator that raised the fence will
   * not promote. A coordinator that resumes from the entry decides only after it.
   */
  readonly deadline: Date | null;
  /** Which process wrote it (`host:pid`). */
  readonly by: string;
}

export type NewEntry = Omit<JournalEntry, 'migration' | 'db' | 'seq' | 'at' | 'source' | 'target' | 'by' | 'deadline'> & {
  readonly at?: Date;
  readonly deadline?: Date;
};

const FORMAT = 1;
const SEQ_DIGITS = 8;
const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

export function validateMigrationId(id: string): void {
  if (typeof id !== 'string' || !ID.test(id)) {
    throw new MigrationError(`invalid migration id ${JSON.stringify(id)}: use 1 to 64 lowercase letters, digits or '-', starting with a letter or digit`);
  }
}

export function migrationPrefix(id: string): string {
  return `migrations/${id}/`;
}

function entryName(id: string, seq: number): string {
  return `${migrationPrefix(id)}${String(seq).padStart(SEQ_DIGITS, '0')}.edn`;
}

/** A small EDN map, one entry a line, readable with `cat`. */
export function formatEntry(entry: JournalEntry): string {
  const str = (s: string) => JSON.stringify(s);
  const lines: [string, string][] = [
    ['format', String(FORMAT)],
    ['migration', str(entry.migration)],
    ['db', str(entry.db)],
    ['seq', String(entry.seq)],
    ['state', `:${entry.state}`],
    ['t', entry.t === null ? 'nil' : String(entry.t)],
    ['at', `#inst ${str(entry.at.toISOString())}`],
    ['source', str(entry.source)],
    ['target', str(entry.target)],
    ['reason', entry.reason === null ? 'nil' : str(entry.reason)],
    ['deadline', entry.deadline === null ? 'nil' : `#inst ${str(entry.deadline.toISOString())}`],
    ['by', str(entry.by)],
  ];
  return `{${lines.map(([k, v]) => `:${k} ${v}`).join('\n ')}}\n`;
}

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const entrySchema = z.object({
  format: z.literal(FORMAT),
  migration: z.string().regex(ID),
  db: z.string(),
  seq: count.min(1),
  state: z.enum(MIGRATION_STATES as [MigrationState, ...MigrationState[]]),
  t: count.nullable(),
  at: z.date().refine((d) => !Number.isNaN(d.getTime()), 'invalid instant'),
  source: z.string(),
  target: z.string(),
  reason: z.string().nullable(),
  deadline: z.date().refine((d) => !Number.isNaN(d.getTime()), 'invalid instant').nullable(),
  by: z.string(),
});

export function parseEntry(text: string, where: string): JournalEntry {
  let value: unknown;
  try {
    value = parseEDNString(text, { mapAs: 'object', keywordAs: 'string', tagHandlers: { inst: (v) => new Date(String(v)) } });
  } catch (err) {
    throw new MigrationError(`journal entry ${where} is not EDN: ${(err as Error).message}`);
  }
  const parsed = entrySchema.safeParse(value);
  if (!parsed.success) {
    const problem = parsed.error.issues.map((i) => `${i.path.join('.') || 'entry'}: ${i.message}`).join('; ');
    throw new MigrationError(`journal entry ${where} is malformed: ${problem}`);
  }
  const { format: _format, ...entry } = parsed.data;
  return entry;
}

export interface JournalOptions {
  readonly store: SegmentStore;
  readonly db: string;
  readonly migration: string;
  /** `host:pid` of this process, written into every entry. */
  readonly by: string;
  readonly now?: () => Date;
}

/** One migration's journal. Reading is cheap (a listing and the newest record). */
export class Journal {
  private readonly now: () => Date;

  constructor(private readonly options: JournalOptions) {
    validateMigrationId(options.migration);
    this.now = options.now ?? (() => new Date());
  }

  get migration(): string {
    return this.options.migration;
  }

  /** Every entry, oldest first; a hole or a record out of place is an error. */
  async entries(): Promise<JournalEntry[]> {
    const names = await this.names();
    const entries: JournalEntry[] = [];
    for (const name of names) entries.push(await this.read(name));
    entries.forEach((entry, i) => {
      if (entry.seq !== i + 1) throw new MigrationError(`journal ${this.where()}: entry ${i + 1} is missing (found seq ${entry.seq})`);
    });
    return entries;
  }

  /** The newest entry, or null when the migration was never started. */
  async latest(): Promise<JournalEntry | null> {
    const names = await this.names();
    const last = names[names.length - 1];
    if (last === undefined) return null;
    const entry = await this.read(last);
    if (entry.seq !== names.length) throw new MigrationError(`journal ${this.where()}: ${names.length} entries, but the newest has seq ${entry.seq}`);
    return entry;
  }

  /**
   * Writes the entry after prev (null: the first). Throws JournalConflictError when another
   * coordinator wrote that entry first, and MigrationError for a move the states forbid.
   */
  async append(prev: JournalEntry | null, next: NewEntry & { source?: string; target?: string }): Promise<JournalEntry> {
    if (prev === null && next.state !== 'copying') throw new MigrationError(`a migration starts in state copying, not ${next.state}`);
    if (prev !== null && !canMove(prev.state, next.state)) {
      throw new MigrationError(`migration ${this.migration}: cannot move from ${prev.state} to ${next.state}`);
    }
    const source = prev?.source ?? next.source;
    const target = prev?.target ?? next.target;
    if (source === undefined || target === undefined) throw new MigrationError('the first journal entry needs the source and target names');
    const entry: JournalEntry = {
      migration: this.migration,
      db: this.options.db,
      seq: (prev?.seq ?? 0) + 1,
      state: next.state,
      t: next.t,
      at: next.at ?? this.now(),
      source,
      target,
      reason: next.reason,
      deadline: next.deadline ?? null,
      by: this.options.by,
    };
    const name = entryName(this.migration, entry.seq);
    try {
      await this.options.store.putRecord(this.options.db, name, new TextEncoder().encode(formatEntry(entry)));
    } catch (err) {
      if (!(err instanceof RecordConflictError)) throw err;
      const winner = await this.read(name).catch(() => null);
      throw new JournalConflictError(
        `migration ${this.migration}: journal entry ${entry.seq} was written by another coordinator` +
          (winner ? ` (${winner.by}: ${winner.state})` : '') +
          `; this one stops`,
        winner,
      );
    }
    return entry;
  }

  private async names(): Promise<string[]> {
    const prefix = migrationPrefix(this.migration);
    const names = await this.options.store.listRecords(this.options.db, prefix);
    return names.filter((n) => /^\d{8}\.edn$/.test(n.slice(prefix.length)));
  }

  private async read(name: string): Promise<JournalEntry> {
    const bytes = await this.options.store.getRecord(this.options.db, name);
    if (bytes === null) throw new MigrationError(`journal entry ${this.where()}${name} vanished`);
    const entry = parseEntry(new TextDecoder().decode(bytes), `${this.options.store.location} ${this.options.db}/${name}`);
    if (entry.migration !== this.migration || entry.db !== this.options.db) {
      throw new MigrationError(`journal entry ${this.options.db}/${name} names migration ${entry.migration} of ${entry.db}`);
    }
    if (name !== entryName(this.migration, entry.seq)) throw new MigrationError(`journal entry ${this.options.db}/${name} holds seq ${entry.seq}`);
    return entry;
  }

  private where(): string {
    return `${this.options.store.location} ${this.options.db}/${migrationPrefix(this.migration)}`;
  }
}
