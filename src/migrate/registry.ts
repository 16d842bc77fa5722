// The migrations of one store database, in the order they started: `{db}/migrations/{seq}.edn`,
// each naming one migration. Claiming the next entry is a create-once, so of two
// migrations of the same database started at once exactly one gets it; a new one may start
// only when the newest has ended.
import { parseEDNString } from 'edn-data';
import { z } from 'zod';
import { RecordConflictError } from '../stores/errors';
import type { SegmentStore } from '../stores/types';
import { MigrationError, MigrationStateError } from './errors';
import { Journal, validateMigrationId, type JournalEntry } from './journal';
import { isTerminal } from './states';

const PREFIX = 'migrations/';
const NAME = /^migrations\/(\d{8})\.edn$/;

const claimSchema = z.object({ format: z.literal(1), migration: z.string(), at: z.date(), by: z.string() });

export interface Claim {
  readonly seq: number;
  readonly migration: string;
  readonly at: Date;
  readonly by: string;
}

/** Every migration of db, oldest first. */
export async function listMigrations(store: SegmentStore, db: string): Promise<Claim[]> {
  const names = (await store.listRecords(db, PREFIX)).filter((n) => NAME.test(n));
  const claims: Claim[] = [];
  for (const name of names) {
    const bytes = await store.getRecord(db, name);
    if (bytes === null) continue;
    let value: unknown;
    try {
      value = parseEDNString(new TextDecoder().decode(bytes), { mapAs: 'object', keywordAs: 'string', tagHandlers: { inst: (v) => new Date(String(v)) } });
    } catch (err) {
      throw new MigrationError(`${store.location} ${db}/${name} is not EDN: ${(err as Error).message}`);
    }
    const parsed = claimSchema.safeParse(value);
    if (!parsed.success) throw new MigrationError(`${store.location} ${db}/${name} is malformed: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    claims.push({ seq: Number(NAME.exec(name)![1]), migration: parsed.data.migration, at: parsed.data.at, by: parsed.data.by });
  }
  return claims;
}

/** The newest migration of db and its newest journal entry, or null when there is none. */
export async function latestMigration(store: SegmentStore, db: string): Promise<{ claim: Claim; entry: JournalEntry | null } | null> {
  const claims = await listMigrations(store, db);
  const claim = claims[claims.length - 1];
  if (claim === undefined) return null;
  const entry = await new Journal({ store, db, migration: claim.migration, by: '' }).latest();
  return { claim, entry };
}

/**
 * Registers migration id as db's newest, unless it already is (a resume). Refuses when
 * another migration of db has not ended, or when id was used before.
 */
export async function claimMigration(store: SegmentStore, db: string, id: string, by: string, now: Date): Promise<'claimed' | 'resumed'> {
  validateMigrationId(id);
  for (;;) {
    const claims = await listMigrations(store, db);
    const newest = claims[claims.length - 1];
    if (newest?.migration === id) return 'resumed';
    if (claims.some((c) => c.migration === id)) {
      throw new MigrationStateError(`migration id ${id} was used before for database ${db} in ${store.location}: choose another id`);
    }
    if (newest !== undefined) {
      const entry = await new Journal({ store, db, migration: newest.migration, by }).latest();
      if (entry === null || !isTerminal(entry.state)) {
        throw new MigrationStateError(
          `database ${db} in ${store.location} already has migration ${newest.migration} in progress ` +
            `(${entry ? `state ${entry.state}, source ${entry.source}, target ${entry.target}` : 'starting'}); ` +
            `finish or abort it before starting another`,
        );
      }
    }
    const seq = (newest?.seq ?? 0) + 1;
    const text = `{:format 1\n :migration ${JSON.stringify(id)}\n :at #inst ${JSON.stringify(now.toISOString())}\n :by ${JSON.stringify(by)}}\n`;
    try {
      await store.putRecord(db, `${PREFIX}${String(seq).padStart(8, '0')}.edn`, new TextEncoder().encode(text));
      return 'claimed';
    } catch (err) {
      if (!(err instanceof RecordConflictError)) throw err;
      // Another migration claimed this place first: look again (it is now the newest).
    }
  }
}
