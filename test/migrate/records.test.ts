// Records and the journal built on them, against each real store: memory, directory, S3.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Journal, JournalConflictError, MigrationError } from '../../src/migrate';
import { openDirectoryStore, openMemoryStore, openS3Store, RecordConflictError, SegmentStoreError, type SegmentStore } from '../../src/stores';
import { startS3, type S3TestServer } from '../support/s3';
import { s3Options } from '../stores/s3-fixture';

let s3: S3TestServer;
let bucket: string;
const roots: string[] = [];

beforeAll(async () => {
  s3 = await startS3();
  bucket = await s3.createBucket('records');
});

afterAll(async () => {
  await s3?.close();
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

// s3rver ignores If-None-Match, so exactly simultaneous creates are not serialized there
// (real S3 and MinIO honour it): the S3 case races one after the other.
type Kind = { store: SegmentStore; sibling: () => SegmentStore; atomicCreate?: false };
const kinds: [string, () => Promise<Kind>][] = [
  [
    'memory',
    async () => {
      const { MemoryBucket } = await import('../../src/stores');
      const b = new MemoryBucket();
      return { store: openMemoryStore({ bucket: b }), sibling: () => openMemoryStore({ bucket: b }) };
    },
  ],
  [
    'directory',
    async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), 'txclone-records-'));
      roots.push(root);
      return { store: openDirectoryStore({ path: root }), sibling: () => openDirectoryStore({ path: root }) };
    },
  ],
  [
    'S3',
    async () => {
      const options = s3Options(s3, bucket, { pageSize: 2 });
      return { store: openS3Store(options), sibling: () => openS3Store(options), atomicCreate: false };
    },
  ],
];

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

describe.each(kinds)('%s store records', (_name, open) => {
  test('write once: same bytes no-op, other bytes refused, listing only direct children in order', async () => {
    const { store } = await open();
    expect(await store.putRecord('lib', 'migrations/m1/00000001.edn', bytes('one'))).toEqual({ written: true });
    expect(await store.putRecord('lib', 'migrations/m1/00000001.edn', bytes('one'))).toEqual({ written: false });
    await expect(store.putRecord('lib', 'migrations/m1/00000001.edn', bytes('other'))).rejects.toThrow(RecordConflictError);
    expect(text(await store.getRecord('lib', 'migrations/m1/00000001.edn'))).toBe('one');
    await store.putRecord('lib', 'migrations/m1/00000003.edn', bytes('three'));
    await store.putRecord('lib', 'migrations/m1/00000002.edn', bytes('two'));
    await store.putRecord('lib', 'migrations/m1/requests/00000001.edn', bytes('req'));
    await store.putRecord('lib', 'migrations/00000001.edn', bytes('index'));
    expect(await store.listRecords('lib', 'migrations/m1/')).toEqual([
      'migrations/m1/00000001.edn',
      'migrations/m1/00000002.edn',
      'migrations/m1/00000003.edn',
    ]);
    expect(await store.listRecords('lib', 'migrations/')).toEqual(['migrations/00000001.edn']);
    expect(await store.listRecords('other', 'migrations/')).toEqual([]);
    expect(await store.getRecord('lib', 'migrations/m1/00000009.edn')).toBeNull();
    await store.close();
  });

  test('records never touch segments, and bad names are refused', async () => {
    const { store } = await open();
    await store.put('lib', 1, 2, bytes('segment'));
    await store.putRecord('lib', 'migrations/x/00000001.edn', bytes('r'));
    expect((await store.head('lib'))?.endT).toBe(2);
    const segments = [];
    for await (const s of store.list('lib')) segments.push(s.key);
    expect(segments).toEqual(['lib/segments/00000000000000000001-00000000000000000002.seg']);
    for (const bad of ['segments/x.edn', 'HEAD.edn', '../x', 'Migrations/x', 'a//b', '']) {
      await expect(store.putRecord('lib', bad, bytes('x')), bad).rejects.toThrow(SegmentStoreError);
    }
    await expect(store.listRecords('lib', 'migrations')).rejects.toThrow(/must end in '\/'/);
    await store.close();
  });

  test('journal: two coordinators racing for the next entry, one wins', async () => {
    const { store, sibling, atomicCreate } = await open();
    const other = sibling();
    const a = new Journal({ store, db: 'lib', migration: 'move-1', by: 'a:1' });
    const b = new Journal({ store: other, db: 'lib', migration: 'move-1', by: 'b:2' });
    expect(await a.latest()).toBeNull();
    const first = await a.append(null, { state: 'copying', t: 10, reason: null, source: 'pglite:./app', target: 'postgres://app@db/app' });
    const seen = (await b.latest())!;
    expect(seen).toEqual(first);
    const advanceA = () => a.append(first, { state: 'streaming', t: 10, reason: null });
    const advanceB = () => b.append(seen, { state: 'aborted', t: null, reason: 'operator' });
    const results =
      atomicCreate === false
        ? [await advanceA().then(ok, ko), await advanceB().then(ok, ko)]
        : await Promise.allSettled([advanceA(), advanceB()]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(JournalConflictError);
    const entries = await a.entries();
    expect(entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(entries[1]).toEqual((won[0] as PromiseFulfilledResult<unknown>).value);
    expect(entries[0]!.target).toBe('postgres://app@db/app');
    await other.close();
    await store.close();
  });
});

const ok = <T>(value: T): PromiseSettledResult<T> => ({ status: 'fulfilled', value });
const ko = (reason: unknown): PromiseSettledResult<never> => ({ status: 'rejected', reason });

describe('journal rules', () => {
  test('moves the states forbid, bad ids, and malformed entries are errors naming the place', async () => {
    const store = openMemoryStore();
    expect(() => new Journal({ store, db: 'lib', migration: 'Bad_Id', by: 'x' })).toThrow(/invalid migration id "Bad_Id"/);
    const j = new Journal({ store, db: 'lib', migration: 'm', by: 'x' });
    await expect(j.append(null, { state: 'streaming', t: 1, reason: null, source: 's', target: 't' })).rejects.toThrow(/starts in state copying/);
    const first = await j.append(null, { state: 'copying', t: 1, reason: null, source: 's', target: 't' });
    await expect(j.append(first, { state: 'cut-over', t: 1, reason: null })).rejects.toThrow(/cannot move from copying to cut-over/);
    await store.putRecord('lib', 'migrations/m/00000002.edn', bytes('{:format 1 :state :nonsense}'));
    await expect(j.latest()).rejects.toThrow(MigrationError);
    await expect(j.latest()).rejects.toThrow(/lib\/migrations\/m\/00000002.edn is malformed/);
    await store.close();
  });
});
