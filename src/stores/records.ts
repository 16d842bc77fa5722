// Records: small write-once named objects beside a database's segments, for state that
// coordinates processes (a migration's journal and its control requests). Like segments,
// a record is never replaced: the same bytes again is a no-op, other bytes an error, so
// of two writers racing for one name exactly one wins.
import type { ObjectBackend } from './backend';
import { sha256Hex } from './checksum';
import { RecordConflictError, SegmentChecksumError, SegmentStoreError } from './errors';
import { validateDb } from './keys';

/** One path element: lowercase letters, digits, '.', '_', '-', starting with a letter or digit. */
const ELEMENT = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** Names the segment store itself uses under `{db}/`. */
const RESERVED = new Set(['segments', 'HEAD.edn']);

/** `{db}/{name}`, after checking both. */
export function recordKey(db: string, name: string): string {
  validateDb(db);
  validateRecordName(name, 'record name');
  return `${db}/${name}`;
}

/** The listing prefix `{db}/{prefix}`, prefix ending in '/'. */
export function recordPrefix(db: string, prefix: string): string {
  validateDb(db);
  if (typeof prefix !== 'string' || !prefix.endsWith('/')) {
    throw new SegmentStoreError(`record prefix must end in '/', got ${JSON.stringify(prefix)}`);
  }
  validateRecordName(prefix.slice(0, -1), 'record prefix');
  return `${db}/${prefix}`;
}

function validateRecordName(name: string, what: string): void {
  const elements = typeof name === 'string' ? name.split('/') : [];
  if (elements.length === 0 || elements.some((e) => !ELEMENT.test(e)) || RESERVED.has(elements[0]!)) {
    throw new SegmentStoreError(
      `invalid ${what} ${JSON.stringify(name)}: use '/'-separated elements of lowercase letters, digits, '.', '_' or '-', ` +
        `not starting with 'segments/'`,
    );
  }
}

export async function putRecord(backend: ObjectBackend, db: string, name: string, bytes: Uint8Array): Promise<{ written: boolean }> {
  const key = recordKey(db, name);
  if (!(bytes instanceof Uint8Array)) throw new SegmentStoreError(`record ${name}: bytes must be a Uint8Array`);
  const sha256 = sha256Hex(bytes);
  const result = await backend.createOnce(key, bytes, sha256);
  if (result.created) return { written: true };
  const existing = result.existing.sha256 ?? (await hashOf(backend, key));
  if (existing !== sha256) throw new RecordConflictError(backend.describe(key), existing, sha256);
  return { written: false };
}

export async function getRecord(backend: ObjectBackend, db: string, name: string): Promise<Uint8Array | null> {
  const key = recordKey(db, name);
  const stored = await backend.read(key);
  if (stored === null) return null;
  const actual = sha256Hex(stored.bytes);
  if (stored.sha256 !== actual) throw new SegmentChecksumError(backend.describe(key), stored.sha256, actual);
  return stored.bytes;
}

/** Names directly under prefix (not deeper), in name order. */
export async function listRecords(backend: ObjectBackend, db: string, prefix: string, pageSize: number): Promise<string[]> {
  const full = recordPrefix(db, prefix);
  const names: string[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await backend.listPage(full, startAfter, pageSize);
    for (const object of page.objects) {
      const rest = object.key.slice(full.length);
      if (rest !== '' && !rest.includes('/')) names.push(prefix + rest);
    }
    if (!page.truncated || page.objects.length === 0) break;
    startAfter = page.objects[page.objects.length - 1]!.key;
  }
  return names.sort();
}

async function hashOf(backend: ObjectBackend, key: string): Promise<string> {
  const stored = await backend.read(key);
  return stored === null ? '' : sha256Hex(stored.bytes);
}
