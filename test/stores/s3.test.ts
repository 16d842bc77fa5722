import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { openS3Store, openStore, StoreRequestError, type SegmentStore } from '../../src/stores';
import { startFaultProxy, type FaultProxy } from '../support/faults';
import { startS3, type S3TestServer } from '../support/s3';
import { bytesFor, segmentStoreContract } from './contract';
import { s3Harness, s3Options } from './s3-fixture';

let s3: S3TestServer;
let bucket: string;

beforeAll(async () => {
  s3 = await startS3();
  bucket = await s3.createBucket('stores');
});

afterAll(async () => {
  await s3?.close();
});

segmentStoreContract('S3 store', s3Harness(() => s3, () => bucket));

describe('S3 store requests', () => {
  let proxy: FaultProxy;
  let store: SegmentStore;

  beforeAll(async () => {
    // A proxy that breaks nothing, to count what the store asks of S3.
    proxy = await startFaultProxy({ target: s3.endpoint, rate: 0 });
    store = openS3Store(s3Options(s3, bucket, { endpoint: proxy.endpoint, pageSize: 3, warn: () => {} }));
    for (let i = 0; i < 10; i++) await store.put('orders', i * 10 + 1, i * 10 + 10, bytesFor(i * 10 + 1, i * 10 + 10));
  });

  afterAll(async () => {
    await store?.close();
    await proxy?.close();
  });

  const requests = async (run: () => Promise<unknown>): Promise<string[]> => {
    proxy.requests.length = 0;
    await run();
    return proxy.requests.map((r) => r.replace(/\?.*/, (q) => (q.includes('list-type=2') ? ' LIST' : '')));
  };

  test('head is one GET of HEAD plus one listing from HEAD on', async () => {
    const seen = await requests(() => store.head('orders'));
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatch(/^GET \/[^ ]+\/orders\/HEAD\.edn$/);
    expect(seen[1]).toMatch(/^GET \/txclone-stores-\w+\/ LIST$/);
    expect(proxy.requests[1]).toMatch(/start-after=[^&]*%2Forders%2Fsegments%2F00000000000000000091(&|$)/);
  });

  test('a list at a segment boundary costs one probe before the listing', async () => {
    const seen = await requests(async () => {
      for await (const _ of store.list('orders', { afterT: 50, limit: 2 })) void _;
    });
    expect(seen).toEqual([expect.stringMatching(/ LIST$/), expect.stringMatching(/ LIST$/)]);
  });

  test('a reader at the end of the log costs a handful of requests, not a scan', async () => {
    const seen = await requests(async () => {
      for await (const _ of store.list('orders', { afterT: 100 })) void _;
      for await (const _ of store.list('orders', { afterT: 95 })) void _;
    });
    // Each: a probe after afterT, HEAD, a probe at HEAD's segment, the listing.
    expect(seen).toHaveLength(8);
    expect(seen.filter((r) => r.endsWith('/orders/HEAD.edn'))).toHaveLength(2);
  });

  test('objects live under the prefix, in the documented layout', async () => {
    const prefix = store.location.slice(`s3://${bucket}/`.length);
    expect(prefix).toMatch(/^run-\w+\/replica$/);
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    expect(keys).toHaveLength(11);
    expect(keys).toContain(`${prefix}/orders/HEAD.edn`);
    expect(keys).toContain(`${prefix}/orders/segments/00000000000000000001-00000000000000000010.seg`);
  });
});

describe('S3 store errors', () => {
  test('a missing bucket fails at once, naming bucket, key and the S3 error code', async () => {
    const store = openS3Store(s3Options(s3, 'txclone-no-such-bucket', { retry: { attempts: 5, baseDelayMs: 1_000 } }));
    try {
      const started = Date.now();
      const error = await store.put('orders', 1, 10, bytesFor(1, 10)).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(error).toBeInstanceOf(StoreRequestError);
      expect(error).toMatchObject({ code: 'NoSuchBucket', status: 404, attempts: 1, operation: 'PutObject' });
      expect((error as Error).message).toMatch(
        /^s3:\/\/txclone-no-such-bucket\/run-\w+\/replica\/orders\/segments\/00000000000000000001-00000000000000000010\.seg: S3 PutObject failed: NoSuchBucket \(HTTP 404\): /,
      );
      await expect(store.head('orders')).rejects.toThrow(/HEAD\.edn: S3 GetObject failed: NoSuchBucket/);
    } finally {
      await store.close();
    }
  });

  test('refused credentials (403) fail at once', async () => {
    const store = openS3Store(
      s3Options(s3, bucket, { credentials: { accessKeyId: 'nobody', secretAccessKey: 'wrong' }, retry: { attempts: 5, baseDelayMs: 1_000 } }),
    );
    try {
      const error = await store.head('orders').catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 403, attempts: 1 });
      expect((error as Error).message).toMatch(new RegExp(`^s3://${bucket}/.*HEAD\\.edn: S3 GetObject failed: \\w+ \\(HTTP 403\\)`));
    } finally {
      await store.close();
    }
  });

  test('a transient failure that never clears gives up after the configured attempts', async () => {
    const proxy = await startFaultProxy({ target: s3.endpoint, rate: 1, kinds: ['slowDown'] });
    const store = openS3Store(s3Options(s3, bucket, { endpoint: proxy.endpoint, retry: { attempts: 3, baseDelayMs: 1 } }));
    try {
      const error = await store.get('orders', 1, 10).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreRequestError);
      expect(error).toMatchObject({ code: 'SlowDown', status: 503, attempts: 3 });
      expect((error as Error).message).toMatch(/S3 GetObject failed: SlowDown \(HTTP 503\), gave up after 3 attempts: Please reduce/);
      expect(proxy.requests).toHaveLength(3);
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});

describe('openStore with s3: URLs', () => {
  test('uses the default credential chain and the options in the query', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', s3.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', s3.credentials.secretAccessKey);
    const url = `s3://${bucket}/from-url/a?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1&forcePathStyle=true&checksums=WHEN_REQUIRED&pageSize=2`;
    const store = openStore(url);
    try {
      expect(store.location).toBe(`s3://${bucket}/from-url/a`);
      for (let t = 1; t <= 5; t++) await store.put('db', t, t, bytesFor(t, t));
      const listed: number[] = [];
      for await (const s of store.list('db', { afterT: 2 })) listed.push(s.startT);
      expect(listed).toEqual([3, 4, 5]);
      expect(await store.head('db')).toMatchObject({ startT: 5, endT: 5 });
    } finally {
      await store.close();
      vi.unstubAllEnvs();
    }
  });
});
