import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { openS3Store, type S3StoreOptions, type SegmentStore } from '../../src/stores';
import type { S3TestServer } from '../support/s3';
import type { RawAccess, StoreHarness } from './contract';

/** Options for a store on the test server, under a fresh prefix unless one is given. */
export function s3Options(s3: S3TestServer, bucket: string, extra: Partial<S3StoreOptions> = {}): S3StoreOptions {
  return {
    bucket,
    prefix: `run-${randomBytes(4).toString('hex')}/replica`,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: s3.credentials,
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    // s3rver can leave a response hanging when an object is replaced while read.
    requestTimeoutMs: 5_000,
    socketTimeoutMs: 2_000,
    ...extra,
  };
}

export function s3Raw(s3: S3TestServer, bucket: string, prefix: string): RawAccess {
  const Key = (key: string) => `${prefix}/${key}`;
  return {
    async read(key) {
      try {
        const out = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: Key(key) }));
        return await out.Body!.transformToByteArray();
      } catch (err) {
        if ((err as Error).name === 'NoSuchKey') return null;
        throw err;
      }
    },
    async write(key, bytes) {
      await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: Key(key), Body: Buffer.from(bytes) }));
    },
    async remove(key) {
      await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: Key(key) }));
    },
    async corrupt(key) {
      const out = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: Key(key) }));
      const bytes = await out.Body!.transformToByteArray();
      bytes[0]! ^= 0xff;
      // Same metadata, so the recorded sha256 is the original one: bit rot, not a rewrite.
      await s3.client.send(
        new PutObjectCommand({ Bucket: bucket, Key: Key(key), Body: Buffer.from(bytes), Metadata: out.Metadata }),
      );
    },
  };
}

/** The contract harness: one bucket, a fresh prefix per store. */
export function s3Harness(server: () => S3TestServer, bucket: () => string): StoreHarness {
  return {
    get atomicCreate() {
      return server().conditionalWrites;
    },
    async open(options) {
      const s3 = server();
      const settings = s3Options(s3, bucket(), options);
      return {
        store: openS3Store(settings),
        sibling: (): SegmentStore => openS3Store(settings),
        raw: s3Raw(s3, bucket(), settings.prefix!),
      };
    },
  };
}
