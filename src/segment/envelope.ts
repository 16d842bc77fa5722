// The sealed envelope around a segment's bytes: AES-256-GCM, with a clear header.
//
//   line   {"format":"txclone.sealed-segment","version":1,"cipher":"AES-256-GCM","keyId":"k1",
//           "keyCheck":"<16 hex>","database":"lib","startT":1,"endT":1000}\n
//   nonce  12 bytes
//   sealed AES-256-GCM(encryption key, nonce, the clear segment's bytes, aad = line)
//   tag    16 bytes
//
// The line is readable without keys (`head -1` shows the format, the key id, the database
// and the range), and it is the authenticated data: a segment copied over another range's
// key, or another database's, names its own place in a header that cannot be edited
// without failing authentication. The key check (from the key by HKDF, so it reveals
// nothing of it) tells a wrong key from altered bytes.
//
// The nonce is derived, not random: HMAC-SHA256(nonce key, line || clear bytes), first 96
// bits, with the nonce key and the encryption key derived from the ring's key by HKDF
// under different labels. Segments are write-once and two producers of one range must
// write the same bytes (a retry is a no-op, a difference is a conflict), so sealing must
// be deterministic. This is safe because GCM fails only when one key uses one nonce for
// two *different* messages; here a nonce is a pseudorandom function of the whole message
// and its header, so two different segments share a nonce only by a 96-bit collision of
// HMAC outputs, about n^2 / 2^97 for n segments under one key (the same bound as random
// nonces). Equal segments get equal nonces and equal bytes, which reveals one thing: that
// two sealed segments are identical (same database, range, content and key). This is the
// synthetic-IV construction of deterministic authenticated encryption (Rogaway and
// Shrimpton, SIV); AES-GCM-SIV would be its standard form, which Node's OpenSSL lacks.
// Lengths stay visible, as with any encryption: the gzipped size of each segment.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { z } from 'zod';
import { describe } from '../db/values';
import { SegmentDecodeError, SegmentEncodeError, SegmentKeyError } from './errors';
import { KEY_ID, type KeyRing } from './keyring';
import { describeIssues } from './schema';

export const SEALED_FORMAT = 'txclone.sealed-segment';
export const SEALED_VERSION = 1;
export const CIPHER = 'AES-256-GCM';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** A header line longer than this is not one. */
const MAX_HEADER_BYTES = 1024;
const NEWLINE = 0x0a;
/** Every sealed segment starts with these bytes (a clear one with gzip's 1f 8b). */
const PREFIX = Buffer.from(`{"format":"${SEALED_FORMAT}",`);

/** Where a segment belongs: what its header and the store key must agree on. */
export interface SegmentPlace {
  database: string;
  startT: number;
  endT: number;
}

/** A sealed segment's clear header. */
export interface SealedHeader extends SegmentPlace {
  format: typeof SEALED_FORMAT;
  version: typeof SEALED_VERSION;
  cipher: typeof CIPHER;
  keyId: string;
  keyCheck: string;
}

const headerSchema = z
  .strictObject({
    format: z.literal(SEALED_FORMAT),
    version: z.literal(SEALED_VERSION),
    cipher: z.literal(CIPHER),
    keyId: z.string().regex(KEY_ID, 'expected a key id'),
    keyCheck: z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 hexadecimal digits'),
    database: z.string().min(1),
    startT: z.int().min(1),
    endT: z.int().min(1),
  })
  .refine((h) => h.endT >= h.startT, { path: ['endT'], message: 'endT is before startT' });

/** The header line: fixed key order, so equal headers are equal bytes. */
function headerLine(h: SealedHeader): Buffer {
  const canonical = {
    format: h.format,
    version: h.version,
    cipher: h.cipher,
    keyId: h.keyId,
    keyCheck: h.keyCheck,
    database: h.database,
    startT: h.startT,
    endT: h.endT,
  };
  return Buffer.from(`${JSON.stringify(canonical)}\n`);
}

/** True when bytes are a sealed segment (whatever the rest of them holds). */
export function isSealed(bytes: Uint8Array): boolean {
  return bytes.length >= PREFIX.length && PREFIX.equals(bytes.subarray(0, PREFIX.length));
}

/** As errors name a place: `"lib" t=1..1000`. */
export const placeText = (p: SegmentPlace) => `${JSON.stringify(p.database)} t=${p.startT}..${p.endT}`;

/** The clear header of sealed bytes, checked; SegmentDecodeError naming the segment otherwise. */
export function readSealedHeader(bytes: Uint8Array, name: string): { header: SealedHeader; line: Buffer } {
  const refuse = (problem: string) => new SegmentDecodeError(name, `sealed segment header: ${problem}`);
  if (!isSealed(bytes)) throw refuse('missing (not a sealed segment)');
  const end = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, MAX_HEADER_BYTES)).indexOf(NEWLINE);
  if (end < 0) throw refuse(`no end of line in its first ${MAX_HEADER_BYTES} bytes`);
  const line = Buffer.from(bytes.buffer, bytes.byteOffset, end + 1);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(line));
  } catch (e) {
    throw refuse(`not JSON (${(e as Error).message})`);
  }
  if (typeof json === 'object' && json !== null && 'version' in json && json.version !== SEALED_VERSION)
    throw refuse(`format version ${describe(json.version)}, this txclone reads version ${SEALED_VERSION}`);
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) throw refuse(describeIssues(parsed.error));
  const header = parsed.data as SealedHeader;
  // The authenticated data is the line as stored; one spelling per header keeps it unambiguous.
  if (!headerLine(header).equals(line)) throw refuse('not in canonical form');
  return { header, line };
}

/** Seals a clear segment's bytes for its place with the ring's active key. */
export function seal(clear: Uint8Array, place: SegmentPlace, keys: KeyRing): Buffer {
  const name = placeText(place);
  if (isSealed(clear)) throw new SegmentEncodeError(name, 'is sealed already');
  const keyId = keys.activeKeyId;
  if (keyId === null)
    throw new SegmentEncodeError(name, `cannot be sealed: the key ring holds several keys (${keys.keyIds.join(', ')}) and none is active`);
  const key = keys.key(keyId)!;
  const line = headerLine({
    format: SEALED_FORMAT,
    version: SEALED_VERSION,
    cipher: CIPHER,
    keyId,
    keyCheck: key.check,
    database: place.database,
    startT: place.startT,
    endT: place.endT,
  });
  const nonce = createHmac('sha256', key.nonce).update(line).update(clear).digest().subarray(0, NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.encryption, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(line);
  const body = cipher.update(clear);
  const last = cipher.final();
  return Buffer.concat([line, nonce, body, last, cipher.getAuthTag()]);
}

/**
 * The clear segment bytes inside sealed bytes, checked to belong at place and authenticated.
 * Refused with SegmentKeyError (the key is missing or wrong) or SegmentDecodeError (the
 * segment belongs elsewhere, or its bytes were altered), each naming the segment.
 */
export function unseal(bytes: Uint8Array, place: SegmentPlace, keys: KeyRing | null, name: string): Buffer {
  const { header, line } = readSealedHeader(bytes, name);
  if (header.database !== place.database || header.startT !== place.startT || header.endT !== place.endT)
    throw new SegmentDecodeError(
      name,
      `is sealed for ${placeText(header)}, but is stored as ${placeText(place)}`,
    );
  const { keyId } = header;
  const key = keys?.key(keyId);
  if (!key) {
    const why = keys ? `the key ring holds only ${keys.keyIds.join(', ')}` : 'no encryption keys are configured';
    throw new SegmentKeyError(name, keyId, 'missing', `is sealed with key "${keyId}", and ${why}`);
  }
  if (key.check !== header.keyCheck)
    throw new SegmentKeyError(name, keyId, 'wrong', `is sealed with key "${keyId}", but the key ring's "${keyId}" is a different key`);
  if (bytes.length < line.length + NONCE_BYTES + TAG_BYTES)
    throw new SegmentDecodeError(name, `is sealed with key "${keyId}" but is truncated (${bytes.length} bytes)`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const nonce = view.subarray(line.length, line.length + NONCE_BYTES);
  const tag = view.subarray(view.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key.encryption, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(line);
  decipher.setAuthTag(tag);
  const body = decipher.update(view.subarray(line.length + NONCE_BYTES, view.length - TAG_BYTES));
  try {
    const rest = decipher.final(); // empty for GCM, a stream mode: no second copy
    return rest.length === 0 ? body : Buffer.concat([body, rest]);
  } catch {
    throw new SegmentDecodeError(name, `is sealed with key "${keyId}" but does not authenticate: its bytes were altered`);
  }
}
