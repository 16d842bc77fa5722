import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { CreateResult, ListPage, ObjectBackend, StoredObject } from './backend';
import { SegmentStoreError } from './errors';
import { DEFAULT_RETRY, retry, validateRetryOptions, type RetryOptions } from './retry';
import { isTransientS3Error, s3ErrorFacts, s3RequestError } from './s3-errors';
import { ObjectSegmentStore } from './store';
import type { SegmentStore, StoreOptions } from './types';

/**
 * When the AWS SDK adds checksums: 'WHEN_REQUIRED' for endpoints that reject them (s3rver, some
 * S3-compatible servers).
 */
export type S3ChecksumMode = 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';

/** Options of openS3Store: bucket, prefix, endpoint, credentials, retry and timeouts. */
export interface S3StoreOptions extends StoreOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'; default none. */
  readonly prefix?: string;
  /** For S3-compatible servers (MinIO, s3rver, R2): `http://127.0.0.1:9000`. */
  readonly endpoint?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1. */
  readonly region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  readonly forcePathStyle?: boolean;
  /** Omit to use the SDK's default provider chain (environment, shared files, SSO, instance role). */
  readonly credentials?: S3ClientConfig['credentials'];
  /**
   * The SDK's request checksum calculation and response checksum validation. Servers that
   * reject the SDK's default flexible checksums (s3rver, older MinIO and Ceph) need
   * 'WHEN_REQUIRED'. Default 'WHEN_SUPPORTED'.
   */
  readonly checksums?: S3ChecksumMode;
  /** Retries of transient failures (5xx, throttling, dropped connections, timeouts). */
  readonly retry?: Partial<RetryOptions>;
  /** Time to connect; default 5 s. */
  readonly connectionTimeoutMs?: number;
  /** Time from sending a request to its response headers; default 60 s. */
  readonly requestTimeoutMs?: number;
  /** Longest silence on a connection mid-request or mid-body; default 30 s. */
  readonly socketTimeoutMs?: number;
}

/** A segment store in an S3 bucket (or an S3-compatible server), under a prefix. */
export function openS3Store(options: S3StoreOptions): SegmentStore {
  return new ObjectSegmentStore(new S3Backend(options), options);
}

/**
 * Objects in an S3 bucket, under a prefix. The checksum is object metadata (`sha256`).
 * Retries are ours, around each request, so the SDK's are switched off (maxAttempts 1).
 */
export class S3Backend implements ObjectBackend {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly retry: RetryOptions;

  constructor(options: S3StoreOptions) {
    if (!options.bucket) throw new SegmentStoreError('S3 store needs a bucket');
    this.bucket = options.bucket;
    this.prefix = options.prefix?.replace(/^\/+|\/+$/g, '') ?? '';
    this.retry = validateRetryOptions({ ...DEFAULT_RETRY, ...options.retry });
    this.client = new S3Client({
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      maxAttempts: 1,
      // Timeouts turn a stuck request (a server that stops mid-body) into an error we retry.
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
        requestTimeout: options.requestTimeoutMs ?? 60_000,
        throwOnRequestTimeout: true,
        socketTimeout: options.socketTimeoutMs ?? 30_000,
      },
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.checksums === undefined
        ? {}
        : { requestChecksumCalculation: options.checksums, responseChecksumValidation: options.checksums }),
    });
  }

  describe(key?: string): string {
    return `s3://${this.bucket}/${key === undefined ? this.prefix : this.fullKey(key)}`;
  }

  /**
   * PutObject with If-None-Match: '*' refuses to replace an object. Some servers ignore
   * the condition (s3rver), so we also look before writing and look again after: a
   * racing writer that replaced our object shows up as a different checksum. That
   * narrows, but cannot close, the race on such servers.
   */
  async createOnce(key: string, bytes: Uint8Array, sha256: string): Promise<CreateResult> {
    const before = await this.stat(key);
    if (before !== null) return { created: false, existing: before };
    const written = await this.send('PutObject', key, async () => {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.fullKey(key),
            Body: asBuffer(bytes),
            ContentType: 'application/octet-stream',
            IfNoneMatch: '*',
            Metadata: { sha256 },
          }),
        );
        return true;
      } catch (err) {
        if (s3ErrorFacts(err).status === 412) return false;
        throw err;
      }
    });
    const after = await this.stat(key);
    if (after === null) {
      if (written) return { created: true };
      throw new SegmentStoreError(`${this.describe(key)}: PutObject was refused as existing, but the object is missing`);
    }
    if (written && after.sha256 === sha256) return { created: true };
    return { created: false, existing: after };
  }

  read(key: string): Promise<{ bytes: Uint8Array; sha256?: string } | null> {
    return this.send('GetObject', key, async () => {
      try {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
        if (out.Body === undefined) throw new SegmentStoreError(`${this.describe(key)}: GetObject returned no body`);
        // Inside the retried function: a connection dropped mid-body is retried too.
        const bytes = await out.Body.transformToByteArray();
        const sha256 = out.Metadata?.sha256;
        return { bytes, ...(sha256 === undefined ? {} : { sha256 }) };
      } catch (err) {
        if (s3ErrorFacts(err).code === 'NoSuchKey') return null;
        throw err;
      }
    });
  }

  stat(key: string): Promise<StoredObject | null> {
    return this.send('HeadObject', key, async () => {
      try {
        const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
        const sha256 = out.Metadata?.sha256;
        return { key, size: out.ContentLength ?? 0, ...(sha256 === undefined ? {} : { sha256 }) };
      } catch (err) {
        // HEAD responses have no body, so a missing key is just a 404.
        if (s3ErrorFacts(err).status === 404) return null;
        throw err;
      }
    });
  }

  async replace(key: string, bytes: Uint8Array): Promise<void> {
    await this.send('PutObject', key, () =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: asBuffer(bytes), ContentType: 'application/edn' }),
      ),
    );
  }

  listPage(prefix: string, startAfter: string | undefined, limit: number): Promise<ListPage> {
    return this.send('ListObjectsV2', prefix, async () => {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.fullKey(prefix),
          MaxKeys: limit,
          // StartAfter rather than continuation tokens: any page can be resumed from a key.
          ...(startAfter === undefined ? {} : { StartAfter: this.fullKey(startAfter) }),
        }),
      );
      const objects = (out.Contents ?? []).flatMap((o) =>
        o.Key === undefined
          ? []
          : [{ key: this.relativeKey(o.Key), size: o.Size ?? 0, ...(o.LastModified ? { modifiedAt: o.LastModified } : {}) }],
      );
      return { objects, truncated: out.IsTruncated === true };
    });
  }

  async remove(key: string): Promise<void> {
    await this.send('DeleteObject', key, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async send<T>(operation: string, key: string, run: () => Promise<T>): Promise<T> {
    let attempts = 0;
    try {
      return await retry(
        () => {
          attempts += 1;
          return run();
        },
        { ...this.retry, isTransient: isTransientS3Error },
      );
    } catch (err) {
      if (err instanceof SegmentStoreError) throw err;
      throw s3RequestError(err, { operation, location: this.describe(key), attempts });
    }
  }

  private fullKey(key: string): string {
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  private relativeKey(fullKey: string): string {
    return this.prefix === '' ? fullKey : fullKey.slice(this.prefix.length + 1);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
