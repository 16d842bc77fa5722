// Encryption at rest end to end: sealed segments exported to a directory and to S3 and
// restored into an exact replica; every way a sealed segment must be refused, with
// nothing of it applied; rotation, a store of clear and sealed segments, and encrypting
// an existing store into another one.
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/types';
// From the folder's index: where each function lives inside it may move.
import { continuousRestore, restoreAll } from '../../src/restore';
import { KeyRing, SegmentDecodeError, SegmentKeyError, clearCodec, isSealed, segmentCodec, sealedHeader, type SegmentCodec } from '../../src/segment';
import { encryptSegments } from '../../src/segment/encrypt';
import { exportAll, exportRange, backup, repair } from '../../src/segment/export';
import { SegmentConflictError, openS3Store, type SegmentStore } from '../../src/stores';
import { sha256Hex } from '../../src/stores/checksum';
import { segmentKey } from '../../src/stores/keys';
import { startS3, type S3TestServer } from '../support/s3';
import { s3Options } from '../stores/s3-fixture';
import { Sources } from '../export/support';
import { Resources, expectReplica } from './fixtures';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const codecOf = (keys: Array<[string, Buffer]>, activeKeyId?: string): SegmentCodec => segmentCodec(new KeyRing(keys, { activeKeyId }));
const k1 = codecOf([['k1', K1]]);
const k2 = codecOf([['k2', K2]]);
const k1k2 = codecOf([['k1', K1], ['k2', K2]], 'k2');

const resources = new Resources();
afterEach(() => resources.close());
// One PGlite instance, a schema per database: PGlite takes seconds to start, a schema milliseconds.
const databases = new Sources();
let source: Database;
beforeAll(async () => {
  source = await databases.library(60, 31, 15, 25);
}, 120_000);
afterAll(() => databases.close());
const newTarget = () => databases.open('target');

/** Every segment of db in the store: its range and bytes. */
async function storedSegments(store: SegmentStore, db: string): Promise<Array<{ range: string; bytes: Buffer }>> {
  const out: Array<{ range: string; bytes: Buffer }> = [];
  for await (const info of store.list(db)) out.push({ range: `${info.startT}-${info.endT}`, bytes: Buffer.from(await store.get(db, info.startT, info.endT)) });
  return out;
}

/** How each segment is stored: 'clear' or its key id. */
async function sealing(store: SegmentStore, db: string): Promise<string[]> {
  return (await storedSegments(store, db)).map((s) => `${s.range} ${sealedHeader(s.bytes, s.range)?.keyId ?? 'clear'}`);
}

/** Replaces a segment's bytes and its checksum sidecar behind the store's back: only the codec can tell. */
async function rewrite(dir: string, key: string, bytes: Uint8Array): Promise<void> {
  const file = path.join(dir, key);
  await writeFile(file, bytes);
  await writeFile(`${file}.sha256`, `${sha256Hex(bytes)}  ${path.basename(file)}\n`);
}

async function position(target: Database): Promise<number> {
  return target.basisT();
}

async function failure(run: Promise<unknown>): Promise<Error> {
  const outcome = await run.then(
    () => null,
    (e: unknown) => e as Error,
  );
  if (outcome === null) throw new Error('expected a failure');
  return outcome;
}

describe('sealed segments round trip', () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3();
  }, 60_000);
  afterAll(() => s3?.close());

  const stores: Record<string, () => Promise<SegmentStore>> = {
    directory: async () => (await resources.directoryStore()).store,
    s3: async () => {
      const store = openS3Store(s3Options(s3, await s3.createBucket('sealed'), { checksums: 'WHEN_REQUIRED' }));
      resources.onClose(() => store.close());
      return store;
    },
  };

  for (const [kind, open] of Object.entries(stores)) {
    it(`into the ${kind} store: every object sealed, restored into an exact replica`, async () => {
        const store = await open();
      const result = await exportAll(source, store, 'lib', { maxTxns: 20, codec: k1 });
      expect(result.segments.map((s) => s.written)).toEqual([true, true, true]);
      expect(await sealing(store, 'lib')).toEqual(['1-20 k1', '21-40 k1', '41-60 k1']);
      // The store's own checks work without keys: checksums over the stored bytes, continuity.
      const report = await store.verify('lib', { fromT: 1 });
      expect(report.ok).toBe(true);
      const target = await newTarget();
      const totals = await restoreAll(target, store, 'lib', { codec: k1, batchTxns: 7 });
      expect(totals.toT).toBe(60);
      await expectReplica(source, target);
    });
  }
});

describe('sealed segments', () => {
  it('have deterministic bytes: two exports of the same ranges agree, a retry writes nothing, a parallel backup agrees too', async () => {
    const first = resources.memoryStore();
    const second = (await resources.directoryStore()).store;
    const third = resources.memoryStore();
    await exportAll(source, first, 'lib', { maxTxns: 20, codec: k1 });
    await exportAll(source, second, 'lib', { maxTxns: 20, codec: codecOf([['k1', Buffer.from(K1)]]) });
    await backup(source, third, 'lib', { segmentTxns: 20, parallel: 3, codec: k1 });
    const bytes = await storedSegments(first, 'lib');
    expect(bytes.every((s) => isSealed(s.bytes))).toBe(true);
    expect(await storedSegments(second, 'lib')).toEqual(bytes);
    expect(await storedSegments(third, 'lib')).toEqual(bytes);
    const again = await exportRange(source, first, 'lib', 1, 60, { maxTxns: 20, codec: k1 });
    expect(again.segments.map((s) => s.written)).toEqual([false, false, false]);
    // Another key is another producer: its bytes conflict, and nothing is overwritten.
    const conflict = await failure(exportRange(source, first, 'lib', 1, 20, { maxTxns: 20, codec: k2 }));
    expect(conflict).toBeInstanceOf(SegmentConflictError);
    expect(await storedSegments(first, 'lib')).toEqual(bytes);
  });

  it('with one altered byte, its checksum made to match, is never applied; the error names the segment', async () => {
    const { store, dir } = await resources.directoryStore();
    await exportAll(source, store, 'lib', { maxTxns: 20, codec: k1 });
    const key = segmentKey('lib', 21, 40);
    const bytes = await readFile(path.join(dir, key));
    bytes[bytes.length - 100]! ^= 0x01;
    await rewrite(dir, key, bytes);
    expect((await store.verify('lib')).ok).toBe(true); // the store sees consistent bytes

    const target = await newTarget();
    const error = await failure(restoreAll(target, store, 'lib', { codec: k1 }));
    expect(error).toBeInstanceOf(SegmentDecodeError);
    expect(error.message).toContain(key);
    expect(error.message).toContain('is sealed with key "k1" but does not authenticate: its bytes were altered');
    expect(await position(target)).toBe(20);
  });

  it('copied over another range, or from another database, is refused; nothing of it is applied', async () => {
    const { store, dir } = await resources.directoryStore();
    await exportAll(source, store, 'lib', { maxTxns: 20, codec: k1 });
    await exportAll(source, store, 'other', { maxTxns: 20, codec: k1 });
    const original = await readFile(path.join(dir, segmentKey('lib', 21, 40)));

    // The segment of 41..60 stored as 21..40.
    await rewrite(dir, segmentKey('lib', 21, 40), await readFile(path.join(dir, segmentKey('lib', 41, 60))));
    const target = await newTarget();
    let error = await failure(restoreAll(target, store, 'lib', { codec: k1 }));
    expect(error).toBeInstanceOf(SegmentDecodeError);
    expect(error.message).toContain(`${segmentKey('lib', 21, 40)}: is sealed for "lib" t=41..60, but is stored as "lib" t=21..40`);
    expect(await position(target)).toBe(20);

    // Another database's segment of the same range.
    await rewrite(dir, segmentKey('lib', 21, 40), await readFile(path.join(dir, segmentKey('other', 21, 40))));
    error = await failure(restoreAll(target, store, 'lib', { codec: k1 }));
    expect(error.message).toContain('is sealed for "other" t=21..40, but is stored as "lib" t=21..40');
    expect(await position(target)).toBe(20);

    await rewrite(dir, segmentKey('lib', 21, 40), original);
    await restoreAll(target, store, 'lib', { codec: k1 });
    await expectReplica(source, target);
  });

  it('with a wrong key or a missing key: an error naming the key id and the segment, nothing applied; continuous restore stops', async () => {
    const store = resources.memoryStore();
    await exportAll(source, store, 'lib', { maxTxns: 20, codec: k1 });
    const target = await newTarget();
    const first = segmentKey('lib', 1, 20);

    const wrong = await failure(restoreAll(target, store, 'lib', { codec: codecOf([['k1', K2]]) }));
    expect(wrong).toBeInstanceOf(SegmentKeyError);
    expect(wrong).toMatchObject({ keyId: 'k1', reason: 'wrong' });
    expect(wrong.message).toBe(`segment memory: ${first}: is sealed with key "k1", but the key ring's "k1" is a different key`);

    const missing = await failure(restoreAll(target, store, 'lib', { codec: k2 }));
    expect(missing).toMatchObject({ keyId: 'k1', reason: 'missing' });
    expect(missing.message).toBe(`segment memory: ${first}: is sealed with key "k1", and the key ring holds only k2`);

    const none = await failure(restoreAll(target, store, 'lib'));
    expect(none).toMatchObject({ keyId: 'k1', reason: 'missing' });
    expect(none.message).toContain('no encryption keys are configured');
    expect(await position(target)).toBe(0);

    // A key error is not retried: the ring does not change while the process runs.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 30_000);
    const errors: unknown[] = [];
    const loop = await failure(continuousRestore(target, store, 'lib', { codec: k2, signal: stop.signal, backoffMs: 1, onError: (e) => errors.push(e) }));
    clearTimeout(timer);
    expect(loop).toBeInstanceOf(SegmentKeyError);
    expect(errors).toEqual([]);
    expect(await position(target)).toBe(0);
  });

  it('rotation: old segments stay readable with the old key in the ring, new ones are sealed with the new active key', async () => {
    const store = resources.memoryStore();
    await exportRange(source, store, 'lib', 1, 40, { maxTxns: 20, codec: k1 });
    await exportAll(source, store, 'lib', { maxTxns: 20, codec: k1k2 });
    expect(await sealing(store, 'lib')).toEqual(['1-20 k1', '21-40 k1', '41-60 k2']);

    const target = await newTarget();
    await restoreAll(target, store, 'lib', { codec: k1k2 });
    await expectReplica(source, target);

    // Without the old key the old segments cannot be read.
    const fresh = await newTarget();
    const error = await failure(restoreAll(fresh, store, 'lib', { codec: k2 }));
    expect(error).toMatchObject({ keyId: 'k1', reason: 'missing' });
    expect(error.message).toContain(segmentKey('lib', 1, 20));
    expect(await position(fresh)).toBe(0);

    // Re-sealing the old segments under the new key (into another store) retires the old key.
    const resealed = resources.memoryStore();
    const result = await encryptSegments(store, resealed, 'lib', k1k2);
    expect(result).toMatchObject({ keyId: 'k2', segments: 3, written: 3, alreadyThere: 0 });
    expect(await sealing(resealed, 'lib')).toEqual(['1-20 k2', '21-40 k2', '41-60 k2']);
    await restoreAll(fresh, resealed, 'lib', { codec: k2 });
    await expectReplica(source, fresh);
  });

  it('a store of clear and sealed segments restores; without keys it stops at the first sealed one, applying nothing of it', async () => {
    const store = resources.memoryStore();
    await exportRange(source, store, 'lib', 1, 20, { maxTxns: 20 });
    await exportAll(source, store, 'lib', { maxTxns: 20, codec: k1 });
    expect(await sealing(store, 'lib')).toEqual(['1-20 clear', '21-40 k1', '41-60 k1']);

    const target = await newTarget();
    await restoreAll(target, store, 'lib', { codec: k1 });
    await expectReplica(source, target);

    const partial = await newTarget();
    const error = await failure(restoreAll(partial, store, 'lib'));
    expect(error).toMatchObject({ keyId: 'k1', reason: 'missing' });
    expect(error.message).toContain(segmentKey('lib', 21, 40));
    expect(await position(partial)).toBe(20);
    await restoreAll(partial, store, 'lib', { codec: k1 });
    await expectReplica(source, partial);
  });

  it('encrypting a clear store writes sealed copies into another store, verified; the original is never written; a rerun writes nothing', async () => {
    const clear = (await resources.directoryStore()).store;
    await exportAll(source, clear, 'lib', { maxTxns: 20 });
    const before = await storedSegments(clear, 'lib');
    const { store: sealed } = await resources.directoryStore();

    const seen: string[] = [];
    const result = await encryptSegments(clear, sealed, 'lib', k1, { parallel: 2, onSegment: (s) => seen.push(`${s.info.startT} ${s.was}`) });
    expect(result).toMatchObject({ keyId: 'k1', segments: 3, written: 3, alreadyThere: 0 });
    expect(seen.sort()).toEqual(['1 clear', '21 clear', '41 clear']);
    expect(await sealing(sealed, 'lib')).toEqual(['1-20 k1', '21-40 k1', '41-60 k1']);
    expect(await storedSegments(clear, 'lib')).toEqual(before);
    // The copies are what an export with the key writes: one store's segments are one set of bytes.
    const exported = resources.memoryStore();
    await exportAll(source, exported, 'lib', { maxTxns: 20, codec: k1 });
    expect(await storedSegments(sealed, 'lib')).toEqual(await storedSegments(exported, 'lib'));
    expect((await sealed.head('lib'))!.endT).toBe(60);

    expect(await encryptSegments(clear, sealed, 'lib', k1)).toMatchObject({ segments: 3, written: 0, alreadyThere: 3 });
    const target = await newTarget();
    await restoreAll(target, sealed, 'lib', { codec: k1 });
    await expectReplica(source, target);

    // A destination holding other bytes for a range is an error, and keeps its bytes.
    const conflict = await failure(encryptSegments(clear, sealed, 'lib', k2));
    expect(conflict).toBeInstanceOf(SegmentConflictError);
    expect(await sealing(sealed, 'lib')).toEqual(['1-20 k1', '21-40 k1', '41-60 k1']);
    await expect(encryptSegments(clear, clear, 'lib', k1)).rejects.toThrow(/writes them to another store/);
    await expect(encryptSegments(clear, sealed, 'lib', clearCodec)).rejects.toThrow(/needs a key ring with an active key/);
  });

  it('repair re-exports a missing range sealed, to the same bytes; without the key it cannot check the source', async () => {
    const { store, dir } = await resources.directoryStore();
    await exportAll(source, store, 'lib', { maxTxns: 20, codec: k1 });
    const before = await storedSegments(store, 'lib');
    const key = segmentKey('lib', 21, 40);
    await rm(path.join(dir, key));
    await rm(path.join(dir, `${key}.sha256`));

    const error = await failure(repair(source, store, 'lib', { segmentTxns: 20 }));
    expect(error).toBeInstanceOf(SegmentKeyError);
    expect(error.message).toContain(segmentKey('lib', 1, 20));
    const repaired = await repair(source, store, 'lib', { segmentTxns: 20, codec: k1 });
    expect(repaired.segments.map((s) => [s.info.startT, s.info.endT])).toEqual([[21, 40]]);
    expect(await storedSegments(store, 'lib')).toEqual(before);
  });
});
