// Sealed segments at the codec level: the envelope, its clear header, determinism, and
// every way a sealed segment must be refused (altered, moved, wrong key, missing key).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  KeyRing,
  KeyRingError,
  SegmentDecodeError,
  SegmentEncodeError,
  SegmentKeyError,
  clearCodec,
  decodeSegment,
  encodeSegment,
  isSealed,
  loadKeyRing,
  sealedHeader,
  segmentCodec,
  type SegmentPlace,
} from '../../src/segment';
import { sampleInput } from './fixtures';
import { exactDatoms } from './support';

const K1 = randomBytes(32);
const K1_OTHER = randomBytes(32);
const K2 = randomBytes(32);
const PLACE: SegmentPlace = { database: 'db1', startT: 5, endT: 7 };
const NAME = 'store db1/00000000000000000005-00000000000000000007.seg';
const ring = (...keys: Array<[string, Buffer]>) => new KeyRing(keys, { activeKeyId: keys[keys.length - 1]![0] });

/** The error decoding throws; fails the test when the bytes decode. */
function refusal(decode: () => unknown): SegmentDecodeError {
  try {
    decode();
  } catch (e) {
    expect(e).toBeInstanceOf(SegmentDecodeError);
    expect((e as Error).message.startsWith(`segment ${NAME}: `)).toBe(true);
    return e as SegmentDecodeError;
  }
  throw new Error('decoded without error');
}

describe('a sealed segment', () => {
  const codec = segmentCodec(ring(['k1', K1]));
  const sealed = codec.encode(sampleInput());

  it('decodes back to exactly what was encoded, with a clear header and nothing of the clear bytes in sight', () => {
    expect(sealed.keyId).toBe('k1');
    expect(isSealed(sealed.bytes)).toBe(true);
    const segment = codec.decode(sealed.bytes, { name: NAME, place: PLACE, sha256: sealed.sha256 });
    expect(exactDatoms(segment)).toEqual(exactDatoms(sampleInput()));
    expect(segment.header).toEqual(encodeSegment(sampleInput()).header);

    // The first line is the clear header, readable without any key.
    const line = sealed.bytes.subarray(0, sealed.bytes.indexOf(0x0a)).toString();
    expect(JSON.parse(line)).toEqual({
      format: 'txclone.sealed-segment',
      version: 1,
      cipher: 'AES-256-GCM',
      keyId: 'k1',
      keyCheck: expect.stringMatching(/^[0-9a-f]{16}$/),
      database: 'db1',
      startT: 5,
      endT: 7,
    });
    expect(sealedHeader(sealed.bytes, NAME)).toMatchObject({ keyId: 'k1', database: 'db1', startT: 5, endT: 7 });
    expect(sealedHeader(encodeSegment(sampleInput()).bytes, NAME)).toBeNull();

    // The clear segment is not in the sealed bytes: no gzip stream, no string of the data.
    const clear = encodeSegment(sampleInput()).bytes;
    expect(sealed.bytes.includes(clear.subarray(0, 16))).toBe(false);
    expect(sealed.bytes.includes(Buffer.from(':person/name'))).toBe(false);
    expect(sealed.bytes.length).toBe(line.length + 1 + 12 + clear.length + 16);
  });

  it('has deterministic bytes: the same segment sealed twice, or by another codec with the same key, is the same bytes', () => {
    expect(codec.encode(sampleInput()).bytes.equals(sealed.bytes)).toBe(true);
    expect(segmentCodec(ring(['k1', Buffer.from(K1)])).encode(sampleInput()).bytes.equals(sealed.bytes)).toBe(true);
    // Sealing the clear bytes is the same as encoding sealed.
    expect(Buffer.from(codec.seal(encodeSegment(sampleInput()).bytes, PLACE)).equals(sealed.bytes)).toBe(true);
    // Another key, or another segment, gives other bytes and another nonce.
    const other = segmentCodec(ring(['k1', K1_OTHER])).encode(sampleInput()).bytes;
    expect(other.equals(sealed.bytes)).toBe(false);
    const later = codec.encode({ ...sampleInput(), sourceBasisT: 10 }).bytes;
    const nonce = (b: Buffer) => b.subarray(b.indexOf(0x0a) + 1, b.indexOf(0x0a) + 13);
    expect(nonce(later).equals(nonce(sealed.bytes))).toBe(false);
  });

  it('refuses every single altered byte: header, nonce, ciphertext and tag', () => {
    const messages = new Set<string>();
    for (let i = 0; i < sealed.bytes.length; i++) {
      const bytes = Buffer.from(sealed.bytes);
      bytes[i]! ^= 1 << i % 8;
      messages.add(refusal(() => codec.decode(bytes, { name: NAME, place: PLACE })).problem.replace(/\d+/g, 'N'));
    }
    // Past the header, every change is caught by authentication.
    expect(messages).toContain('is sealed with key "kN" but does not authenticate: its bytes were altered');
    expect(refusal(() => codec.decode(sealed.bytes.subarray(0, -1), { name: NAME, place: PLACE })).message).toMatch(/does not authenticate/);
    expect(refusal(() => codec.decode(Buffer.concat([sealed.bytes, Buffer.from([0])]), { name: NAME, place: PLACE })).message).toMatch(/does not authenticate/);
    const line = sealed.bytes.indexOf(0x0a) + 1;
    expect(refusal(() => codec.decode(sealed.bytes.subarray(0, line + 20), { name: NAME, place: PLACE })).message).toMatch(/truncated/);
  });

  it('is bound to its place: stored over another range or database it is refused, and its header cannot be edited to match', () => {
    for (const place of [{ ...PLACE, startT: 8, endT: 10 }, { ...PLACE, endT: 8 }, { ...PLACE, database: 'db2' }]) {
      expect(refusal(() => codec.decode(sealed.bytes, { name: NAME, place })).message).toContain(
        `is sealed for "db1" t=5..7, but is stored as "${place.database}" t=${place.startT}..${place.endT}`,
      );
    }
    // Rewriting the clear header to claim the other range (same length, canonical) fails authentication.
    const moved = Buffer.from(sealed.bytes.toString('latin1').replace('"startT":5,"endT":7', '"startT":8,"endT":9'), 'latin1');
    expect(refusal(() => codec.decode(moved, { name: NAME, place: { ...PLACE, startT: 8, endT: 9 } })).message).toMatch(/does not authenticate/);
    const renamed = Buffer.from(sealed.bytes.toString('latin1').replace('"database":"db1"', '"database":"db9"'), 'latin1');
    expect(refusal(() => codec.decode(renamed, { name: NAME, place: { ...PLACE, database: 'db9' } })).message).toMatch(/does not authenticate/);
    // A clear segment is held to its place too.
    const clear = encodeSegment(sampleInput()).bytes;
    expect(refusal(() => clearCodec.decode(clear, { name: NAME, place: { ...PLACE, startT: 8, endT: 10 } })).message).toContain(
      'holds "db1" t=5..7, but is stored as "db1" t=8..10',
    );
  });

  it('names the key id and the segment when the key is missing or wrong, and never opens with a wrong key', () => {
    const missing = refusal(() => segmentCodec(ring(['k2', K2])).decode(sealed.bytes, { name: NAME, place: PLACE }));
    expect(missing).toBeInstanceOf(SegmentKeyError);
    expect(missing).toMatchObject({ keyId: 'k1', reason: 'missing', segment: NAME });
    expect(missing.message).toBe(`segment ${NAME}: is sealed with key "k1", and the key ring holds only k2`);

    const none = refusal(() => clearCodec.decode(sealed.bytes, { name: NAME, place: PLACE }));
    expect(none).toMatchObject({ keyId: 'k1', reason: 'missing' });
    expect(none.message).toBe(`segment ${NAME}: is sealed with key "k1", and no encryption keys are configured`);
    // The plain decoder says what the bytes are, rather than "not gzip".
    expect(refusal(() => decodeSegment(sealed.bytes, { name: NAME }))).toMatchObject({ keyId: 'k1', reason: 'missing' });

    const wrong = refusal(() => segmentCodec(ring(['k1', K1_OTHER])).decode(sealed.bytes, { name: NAME, place: PLACE }));
    expect(wrong).toMatchObject({ keyId: 'k1', reason: 'wrong' });
    expect(wrong.message).toBe(`segment ${NAME}: is sealed with key "k1", but the key ring's "k1" is a different key`);

    // Even with the key check forged to match, a wrong key cannot open the segment.
    const forger = segmentCodec(ring(['k1', K1_OTHER]));
    const forgedCheck = JSON.parse(forger.encode(sampleInput()).bytes.toString('latin1').split('\n')[0]!).keyCheck;
    const forged = Buffer.from(sealed.bytes.toString('latin1').replace(/"keyCheck":"[0-9a-f]{16}"/, `"keyCheck":"${forgedCheck}"`), 'latin1');
    expect(refusal(() => forger.decode(forged, { name: NAME, place: PLACE })).message).toMatch(/does not authenticate/);
  });

  it('rotation: a ring of old and new keys reads both and seals with the active one; a ring without the old key cannot read the old', () => {
    const rotated = segmentCodec(new KeyRing([['k1', K1], ['k2', K2]], { activeKeyId: 'k2' }));
    const next = rotated.encode(sampleInput());
    expect(next.keyId).toBe('k2');
    expect(sealedHeader(next.bytes, NAME)!.keyId).toBe('k2');
    for (const bytes of [sealed.bytes, next.bytes, encodeSegment(sampleInput()).bytes]) {
      expect(exactDatoms(rotated.decode(bytes, { name: NAME, place: PLACE }))).toEqual(exactDatoms(sampleInput()));
    }
    expect(refusal(() => segmentCodec(ring(['k2', K2])).decode(sealed.bytes, { name: NAME, place: PLACE }))).toMatchObject({ keyId: 'k1' });
    // Re-sealing under the new key: open with the ring, seal with the active key.
    const resealed = rotated.seal(rotated.open(sealed.bytes, { name: NAME, place: PLACE }), PLACE);
    expect(Buffer.from(resealed).equals(next.bytes)).toBe(true);
  });

  it('a ring of several keys with none active reads, but refuses to seal', () => {
    const undecided = segmentCodec(new KeyRing([['k1', K1], ['k2', K2]]));
    expect(undecided.activeKeyId).toBeNull();
    expect(undecided.decode(sealed.bytes, { name: NAME, place: PLACE }).header.endT).toBe(7);
    expect(() => undecided.encode(sampleInput())).toThrow(SegmentEncodeError);
    expect(() => undecided.encode(sampleInput())).toThrow(/holds several keys \(k1, k2\) and none is active/);
  });
});

describe('the key ring', () => {
  const b64 = (b: Buffer) => b.toString('base64');
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  /** The KeyRingError for text, which must not contain any key given. */
  function ringError(sources: Parameters<typeof loadKeyRing>[0], ...secrets: string[]): string {
    try {
      loadKeyRing(sources);
    } catch (e) {
      expect(e).toBeInstanceOf(KeyRingError);
      const message = (e as Error).message;
      for (const secret of secrets) expect(message).not.toContain(secret);
      return message;
    }
    throw new Error('loaded without error');
  }

  it('reads id=base64 entries from the environment and a key file, and shows only ids', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-keys-'));
    dirs.push(dir);
    const file = path.join(dir, 'keys');
    await writeFile(file, `# rotated 2026-11\nk2=${b64(K2)}\n\nk1=${b64(K1)}  # the old one\n`);
    const ring = loadKeyRing({ env: `k1=${b64(K1)}`, file, activeKeyId: 'k2' })!;
    expect(ring.keyIds.sort()).toEqual(['k1', 'k2']);
    expect(ring.activeKeyId).toBe('k2');
    for (const shown of [inspect(ring), JSON.stringify(ring), String(ring), inspect(ring.key('k1'), { depth: 5 })]) {
      for (const key of [K1, K2]) {
        expect(shown).not.toContain(b64(key));
        expect(shown).not.toContain(key.toString('hex'));
      }
    }
    // url-safe base64 and unpadded base64 are accepted; one key is active by itself.
    const single = loadKeyRing({ env: `only=${K1.toString('base64url')}` })!;
    expect(single.activeKeyId).toBe('only');
    expect(single.key('only')!.check).toBe(ring.key('k1')!.check);
    expect(loadKeyRing({ env: ' ' })).toBeNull();
    expect(loadKeyRing({})).toBeNull();
  });

  it('refuses bad entries naming the key id or the entry, never the key', () => {
    const key = b64(K1);
    expect(ringError({ env: `k1=${key.slice(0, 40)}` }, key.slice(0, 40))).toBe(
      'TXCLONE_ENCRYPTION_KEYS: entry 1: key "k1" is 30 bytes, expected 32 (make one with: openssl rand -base64 32)',
    );
    expect(ringError({ env: `k1=${key},k2=not*base64` })).toBe('TXCLONE_ENCRYPTION_KEYS: entry 2: key "k2" is not base64');
    // A key without its id: unpadded it has no '=', padded its '=' leaves an id that is not one.
    expect(ringError({ env: `k1=${key},${K2.toString('base64url')}` }, K2.toString('base64url'), key)).toBe('TXCLONE_ENCRYPTION_KEYS: entry 2 is not id=base64key');
    expect(ringError({ env: `k1=${key},${b64(K2)}` }, b64(K2).slice(0, -1), key)).toMatch(/^TXCLONE_ENCRYPTION_KEYS: entry 2: a key id is 1 to 32 letters/);
    // A key given where an id belongs (id and key swapped) is not echoed as an id.
    const swapped = ringError({ env: `${b64(K2).replace(/=$/, '')}=k2` }, b64(K2).replace(/=$/, ''));
    expect(swapped).toMatch(/^TXCLONE_ENCRYPTION_KEYS: entry 1: a key id is 1 to 32 letters/);
    expect(ringError({ env: `k1=${key},k1=${b64(K2)}` }, key, b64(K2))).toBe('TXCLONE_ENCRYPTION_KEYS: key "k1" is given twice, with different keys');
    expect(ringError({ env: `k1=${key}`, activeKeyId: 'k9' }, key)).toBe('key ring: the active key "k9" is not in the ring (it holds k1)');
    expect(ringError({ activeKeyId: 'k9' })).toMatch(/the active key "k9" is named, but no keys are given/);
    expect(ringError({ file: '/nonexistent/keys' })).toBe('key file /nonexistent/keys: ENOENT');
    // The same id and key from both places is one key.
    expect(loadKeyRing({ env: `k1=${key}`, file: undefined })!.keyIds).toEqual(['k1']);
  });
});
