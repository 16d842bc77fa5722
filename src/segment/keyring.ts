// The key ring: encryption keys by id, one of them active for sealing new segments, all of
// them able to open old ones. Rotating is adding a key and making it the active one.
//
// Text form (TXCLONE_ENCRYPTION_KEYS, or a key file): entries `id=base64`, separated by
// commas, spaces or newlines; in a file, `#` starts a comment. A key is 32 random bytes
// (`openssl rand -base64 32`). Errors name the origin and the key id (or, for an entry
// whose id is unusable, its position), never a key: a malformed entry may be a key.
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { z } from 'zod';

/** Bytes of a key: AES-256. */
export const KEY_BYTES = 32;

/** A key id: short enough that a base64 key (43+ characters) can never pass for one. */
export const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

const KEY_ID_RULE = 'a key id is 1 to 32 letters, digits, . _ - (starting with a letter or digit)';

/** A key ring could not be read or is not valid; the message never holds a key. */
export class KeyRingError extends Error {
  override name = 'KeyRingError';
}

/** What sealing and opening need of one key; derived once, the raw key is not kept. */
export interface SealingKey {
  readonly id: string;
  /** AES-256-GCM key: HKDF(key, info 'txclone segment encryption v1'). */
  readonly encryption: KeyObject;
  /** HMAC-SHA256 key for nonces: HKDF(key, info 'txclone segment nonce v1'). */
  readonly nonce: KeyObject;
  /** 16 hex digits of HKDF(key, info 'txclone key check v1'): tells a wrong key from altered bytes. */
  readonly check: string;
}

function derive(key: Uint8Array, info: string, bytes: number): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, bytes));
}

function sealingKey(id: string, key: Uint8Array): SealingKey {
  return {
    id,
    encryption: createSecretKey(derive(key, 'txclone segment encryption v1', 32)),
    nonce: createSecretKey(derive(key, 'txclone segment nonce v1', 32)),
    check: derive(key, 'txclone key check v1', 8).toString('hex'),
  };
}

/** Keys by id and the id of the active one. Prints and serializes as its ids only. */
export class KeyRing {
  readonly #keys = new Map<string, SealingKey>();
  /** The key new segments are sealed with; null when the ring holds several and none was named. */
  readonly activeKeyId: string | null;

  /**
   * keys: id -> 32 bytes. activeKeyId: the key that seals new segments; may be left out
   * when the ring holds exactly one key.
   */
  constructor(keys: Iterable<readonly [string, Uint8Array]>, options: { activeKeyId?: string } = {}) {
    for (const [id, key] of keys) {
      if (!KEY_ID.test(id)) throw new KeyRingError(`key ring: an id is not valid (${KEY_ID_RULE})`);
      if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES)
        throw new KeyRingError(`key ring: key "${id}" is ${key instanceof Uint8Array ? `${key.length} bytes` : 'not bytes'}, expected ${KEY_BYTES}`);
      if (this.#keys.has(id)) throw new KeyRingError(`key ring: key "${id}" appears twice`);
      this.#keys.set(id, sealingKey(id, key));
    }
    if (this.#keys.size === 0) throw new KeyRingError('key ring: holds no keys');
    const { activeKeyId } = options;
    if (activeKeyId !== undefined && !this.#keys.has(activeKeyId))
      throw new KeyRingError(`key ring: the active key "${activeKeyId}" is not in the ring (it holds ${this.keyIds.join(', ')})`);
    this.activeKeyId = activeKeyId ?? (this.#keys.size === 1 ? [...this.#keys.keys()][0]! : null);
  }

  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /** The derived keys of id, or undefined when the ring does not hold it. */
  key(id: string): SealingKey | undefined {
    return this.#keys.get(id);
  }

  toJSON(): { keyIds: string[]; activeKeyId: string | null } {
    return { keyIds: this.keyIds, activeKeyId: this.activeKeyId };
  }

  [inspect.custom](): string {
    return `KeyRing { keyIds: [${this.keyIds.join(', ')}], activeKeyId: ${this.activeKeyId ?? 'none'} }`;
  }
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** One entry, validated: the messages name the entry's id once the id is known to be one. */
const entrySchema = z
  .object({ id: z.string().regex(KEY_ID, KEY_ID_RULE), key: z.string() })
  .transform((entry, ctx) => {
    const key = BASE64.test(entry.key) ? Buffer.from(entry.key, 'base64') : null;
    if (key === null) {
      ctx.addIssue({ code: 'custom', message: `key "${entry.id}" is not base64` });
      return z.NEVER;
    }
    if (key.length !== KEY_BYTES) {
      ctx.addIssue({ code: 'custom', message: `key "${entry.id}" is ${key.length} bytes, expected ${KEY_BYTES} (make one with: openssl rand -base64 32)` });
      return z.NEVER;
    }
    return { id: entry.id, key };
  });

/**
 * The entries of a key ring's text. origin names where the text came from in errors
 * (`TXCLONE_ENCRYPTION_KEYS`, a file's path).
 */
export function parseKeyEntries(text: string, origin: string): Array<[string, Buffer]> {
  const tokens = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join('\n')
    .split(/[\s,]+/)
    .filter((t) => t !== '');
  const entries: Array<[string, Buffer]> = [];
  const seen = new Map<string, Buffer>();
  tokens.forEach((token, i) => {
    const at = token.indexOf('=');
    if (at <= 0) throw new KeyRingError(`${origin}: entry ${i + 1} is not id=base64key`);
    const parsed = entrySchema.safeParse({ id: token.slice(0, at), key: token.slice(at + 1) });
    if (!parsed.success) throw new KeyRingError(`${origin}: entry ${i + 1}: ${parsed.error.issues[0]!.message}`);
    const { id, key } = parsed.data;
    const earlier = seen.get(id);
    if (earlier && !earlier.equals(key)) throw new KeyRingError(`${origin}: key "${id}" is given twice, with different keys`);
    if (!earlier) entries.push([id, key]);
    seen.set(id, key);
  });
  return entries;
}

/** Where loadKeyRing reads keys from. */
export interface KeyRingSources {
  /** The text of TXCLONE_ENCRYPTION_KEYS (or undefined). */
  env?: string;
  /** A key file's path. */
  file?: string;
  /** The key that seals new segments; may be left out when there is one key. */
  activeKeyId?: string;
}

/**
 * The key ring from the environment's text and a key file (either or both; an id in both
 * must have the same key), or null when neither gives any key.
 */
export function loadKeyRing(sources: KeyRingSources): KeyRing | null {
  const entries = new Map<string, { key: Buffer; origin: string }>();
  const add = (text: string, origin: string) => {
    for (const [id, key] of parseKeyEntries(text, origin)) {
      const earlier = entries.get(id);
      if (earlier && !earlier.key.equals(key))
        throw new KeyRingError(`key "${id}" is in ${earlier.origin} and in ${origin} with different keys`);
      entries.set(id, { key, origin });
    }
  };
  if (sources.env !== undefined && sources.env.trim() !== '') add(sources.env, 'TXCLONE_ENCRYPTION_KEYS');
  if (sources.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(sources.file, 'utf8');
    } catch (err) {
      throw new KeyRingError(`key file ${sources.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    add(text, `key file ${sources.file}`);
    if (entries.size === 0) throw new KeyRingError(`key file ${sources.file}: holds no keys`);
  }
  if (entries.size === 0) {
    if (sources.activeKeyId !== undefined)
      throw new KeyRingError(`the active key "${sources.activeKeyId}" is named, but no keys are given (TXCLONE_ENCRYPTION_KEYS or a key file)`);
    return null;
  }
  const ring = new KeyRing([...entries].map(([id, { key }]) => [id, key] as const), { activeKeyId: sources.activeKeyId });
  for (const { key } of entries.values()) key.fill(0);
  return ring;
}
