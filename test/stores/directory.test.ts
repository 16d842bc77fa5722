import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { openDirectoryStore, SegmentChecksumError, SegmentConflictError } from '../../src/stores';
import { sha256Hex } from '../../src/stores/checksum';
import { bytesFor, segmentStoreContract } from './contract';

const roots: string[] = [];

async function freshRoot(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'txclone-dirstore-'));
  roots.push(root);
  return root;
}

afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

segmentStoreContract('directory store', {
  atomicCreate: true,
  async open(options) {
    const root = await freshRoot();
    const file = (key: string) => path.join(root, ...key.split('/'));
    return {
      store: openDirectoryStore({ ...options, path: root }),
      sibling: () => openDirectoryStore({ ...options, path: root }),
      raw: {
        async read(key) {
          return readFile(file(key)).then((b) => new Uint8Array(b), () => null);
        },
        async write(key, bytes) {
          await writeFile(file(key), bytes);
        },
        async remove(key) {
          await rm(file(key), { force: true });
        },
        async corrupt(key) {
          const bytes = await readFile(file(key));
          bytes[0]! ^= 0xff;
          await writeFile(file(key), bytes);
        },
      },
    };
  },
});

describe('directory store on disk', () => {
  const segmentFile = (root: string, name: string) => path.join(root, 'orders', 'segments', name);
  const NAME = '00000000000000000001-00000000000000000010.seg';

  test('keeps the plain segment bytes with a sha256sum-style sidecar and no temp files', async () => {
    const root = await freshRoot();
    const store = openDirectoryStore({ path: root });
    try {
      await store.put('orders', 1, 10, bytesFor(1, 10));
      await store.put('orders', 1, 10, bytesFor(1, 10)).catch(() => {});
      await store.put('orders', 1, 10, bytesFor(1, 10, 1)).catch(() => {});
      expect(await readFile(segmentFile(root, NAME))).toEqual(Buffer.from(bytesFor(1, 10)));
      expect(await readFile(segmentFile(root, `${NAME}.sha256`), 'utf8')).toBe(`${sha256Hex(bytesFor(1, 10))}  ${NAME}\n`);
      expect((await readdir(path.join(root, 'orders', 'segments'))).sort()).toEqual([NAME, `${NAME}.sha256`]);
      expect((await readdir(path.join(root, 'orders'))).sort()).toEqual(['HEAD.edn', 'segments']);
    } finally {
      await store.close();
    }
  });

  test('a segment whose sidecar is gone is refused, not trusted', async () => {
    const root = await freshRoot();
    const store = openDirectoryStore({ path: root });
    try {
      await store.put('orders', 1, 10, bytesFor(1, 10));
      await rm(segmentFile(root, `${NAME}.sha256`));
      await expect(store.get('orders', 1, 10)).rejects.toThrow(SegmentChecksumError);
      await expect(store.get('orders', 1, 10)).rejects.toThrow(/has no stored sha256/);
      expect((await store.verify('orders')).corrupt).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  test('a leftover sidecar from a crashed writer lets the same bytes through and stops different ones', async () => {
    const root = await freshRoot();
    const store = openDirectoryStore({ path: root });
    try {
      await store.put('orders', 1, 10, bytesFor(1, 10));
      await rm(segmentFile(root, NAME));
      await expect(store.put('orders', 1, 10, bytesFor(1, 10, 1))).rejects.toThrow(SegmentConflictError);
      expect(await store.put('orders', 1, 10, bytesFor(1, 10))).toMatchObject({ written: true });
      expect(await store.get('orders', 1, 10)).toEqual(bytesFor(1, 10));
    } finally {
      await store.close();
    }
  });

  test('errors from the file system name the store and the file', async () => {
    const root = await freshRoot();
    await writeFile(path.join(root, 'orders'), 'a file where a directory should be');
    const store = openDirectoryStore({ path: root });
    try {
      await expect(store.put('orders', 1, 10, bytesFor(1, 10))).rejects.toThrow(
        new RegExp(`directory store ${root}: write ${root}/orders/segments/${NAME}: E`),
      );
    } finally {
      await store.close();
    }
  });
});
