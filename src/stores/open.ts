import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { openDirectoryStore } from './directory';
import { InvalidStoreUrlError } from './errors';
import { openMemoryStore } from './memory';
import { openS3Store, type S3StoreOptions } from './s3';
import type { SegmentStore, StoreOptions } from './types';

/** Where a store URL points. */
export type StoreTarget =
  | { readonly kind: 'directory'; readonly path: string }
  | { readonly kind: 'memory' }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      readonly prefix: string;
      readonly endpoint?: string;
      readonly region?: string;
      readonly forcePathStyle?: boolean;
      readonly checksums?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
      readonly pageSize?: number;
    };

/** Options of openStore. */
export interface OpenStoreOptions extends StoreOptions {
  /** What a URL cannot carry (credentials, retry, timeouts), and overrides of its query. */
  readonly s3?: Partial<Omit<S3StoreOptions, 'bucket' | 'prefix'>>;
}

/**
 * Opens a store from a URL:
 * - `file:///var/lib/txclone`, or a plain path, relative (to the working directory) or absolute;
 * - `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true`
 *   (also `checksums=WHEN_REQUIRED`, `pageSize=1000`); credentials come from the
 *   SDK's default provider chain or `options.s3.credentials`, never from the URL;
 * - `memory:`, a fresh empty store.
 */
export function openStore(url: string, options: OpenStoreOptions = {}): SegmentStore {
  const target = parseStoreUrl(url);
  const { s3, ...common } = options;
  switch (target.kind) {
    case 'directory':
      return openDirectoryStore({ ...common, path: target.path });
    case 'memory':
      return openMemoryStore(common);
    case 's3': {
      const { kind: _kind, ...fromUrl } = target;
      return openS3Store({ ...common, ...fromUrl, ...s3 });
    }
  }
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const WINDOWS_DRIVE = /^[A-Za-z]:[\\/]/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const s3Query = z.strictObject({
  endpoint: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  region: z.string().regex(/^[a-z0-9-]+$/, 'expected a region name like us-east-1').optional(),
  forcePathStyle: z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .transform((v) => v === 'true')
    .optional(),
  checksums: z.enum(['WHEN_SUPPORTED', 'WHEN_REQUIRED'], { error: 'expected WHEN_SUPPORTED or WHEN_REQUIRED' }).optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).optional(),
});

/** Parses a store URL (a directory, file:///dir, s3://bucket/prefix?..., memory:) without opening it. */
export function parseStoreUrl(url: string): StoreTarget {
  if (typeof url !== 'string' || url.trim() === '') throw new InvalidStoreUrlError(String(url), 'empty');
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || WINDOWS_DRIVE.test(url)) return { kind: 'directory', path: path.resolve(url) };
  switch (scheme) {
    case 'file':
      return parseFileUrl(url);
    case 'memory':
      if (url !== 'memory:' && url !== 'memory://') {
        throw new InvalidStoreUrlError(url, "a memory store URL is just 'memory:'");
      }
      return { kind: 'memory' };
    case 's3':
      return parseS3Url(url);
    default:
      throw new InvalidStoreUrlError(url, `unsupported scheme '${scheme}:' (use file:, s3:, memory: or a plain path)`);
  }
}

function parseFileUrl(url: string): StoreTarget {
  if (!url.startsWith('file://')) throw new InvalidStoreUrlError(url, 'expected file:///absolute/path (or a plain path)');
  const parsed = new URL(url);
  if (parsed.search !== '' || parsed.hash !== '') throw new InvalidStoreUrlError(url, 'a file URL takes no query or fragment');
  try {
    return { kind: 'directory', path: fileURLToPath(parsed) };
  } catch (err) {
    throw new InvalidStoreUrlError(url, (err as Error).message);
  }
}

function parseS3Url(url: string): StoreTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidStoreUrlError(url, 'not a URL');
  }
  if (!url.startsWith('s3://')) throw new InvalidStoreUrlError(url, 'expected s3://bucket/prefix');
  if (parsed.username !== '' || parsed.password !== '') {
    throw new InvalidStoreUrlError(url, 'credentials do not belong in the URL; use the AWS default provider chain');
  }
  if (parsed.port !== '') throw new InvalidStoreUrlError(url, 'a port belongs in the endpoint parameter, not after the bucket');
  const bucket = parsed.hostname;
  if (bucket === '') throw new InvalidStoreUrlError(url, 'no bucket (expected s3://bucket/prefix)');
  if (!BUCKET.test(bucket)) {
    throw new InvalidStoreUrlError(url, `invalid bucket name '${bucket}': 3 to 63 lowercase letters, digits, '.' or '-'`);
  }
  if (parsed.hash !== '') throw new InvalidStoreUrlError(url, 'an S3 URL takes no fragment');

  const query: Record<string, string> = {};
  for (const [name, value] of parsed.searchParams) {
    if (name in query) throw new InvalidStoreUrlError(url, `parameter '${name}' given twice`);
    query[name] = value;
  }
  const options = s3Query.safeParse(query);
  if (!options.success) {
    const problems = options.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown parameter${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} ` +
          '(known: endpoint, region, forcePathStyle, checksums, pageSize)'
        : `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new InvalidStoreUrlError(url, problems.join('; '));
  }
  const prefix = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '');
  return { kind: 's3', bucket, prefix, ...dropUndefined(options.data) };
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
