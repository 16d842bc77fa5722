import type { CreateResult, ListPage, ObjectBackend, StoredObject } from './backend';
import { ObjectSegmentStore } from './store';
import type { SegmentStore, StoreOptions } from './types';

export interface MemoryObject {
  bytes: Uint8Array;
  sha256?: string;
  /** When it was written, by the store's clock. */
  modifiedAt?: Date;
}

/**
 * The objects of a memory store. Pass one bucket to several stores to have them share
 * it (two writers, a producer and a consumer); tests may also tamper with it directly.
 */
export class MemoryBucket {
  readonly objects = new Map<string, MemoryObject>();
}

/** Options of openMemoryStore: a bucket to share between stores. */
export interface MemoryStoreOptions extends StoreOptions {
  readonly bucket?: MemoryBucket;
}

/** A segment store in memory (for tests): stores opened on one MemoryBucket see the same segments. */
export function openMemoryStore(options: MemoryStoreOptions = {}): SegmentStore {
  return new ObjectSegmentStore(new MemoryBackend(options.bucket ?? new MemoryBucket(), options.now), options);
}

/** Copies bytes in and out, so callers can neither corrupt the store nor be corrupted by it. */
export class MemoryBackend implements ObjectBackend {
  constructor(
    private readonly bucket: MemoryBucket,
    /** Stamps modifiedAt: a simulation passes its own clock. */
    private readonly now: () => Date = () => new Date(),
  ) {}

  describe(key?: string): string {
    return `memory:${key ?? ''}`;
  }

  async createOnce(key: string, bytes: Uint8Array, sha256: string): Promise<CreateResult> {
    const existing = this.bucket.objects.get(key);
    if (existing) return { created: false, existing: toStored(key, existing) };
    this.bucket.objects.set(key, { bytes: new Uint8Array(bytes), sha256, modifiedAt: this.now() });
    return { created: true };
  }

  async read(key: string): Promise<{ bytes: Uint8Array; sha256?: string } | null> {
    const object = this.bucket.objects.get(key);
    if (!object) return null;
    return { bytes: new Uint8Array(object.bytes), ...(object.sha256 === undefined ? {} : { sha256: object.sha256 }) };
  }

  async stat(key: string): Promise<StoredObject | null> {
    const object = this.bucket.objects.get(key);
    return object ? toStored(key, object) : null;
  }

  async replace(key: string, bytes: Uint8Array): Promise<void> {
    this.bucket.objects.set(key, { bytes: new Uint8Array(bytes), modifiedAt: this.now() });
  }

  async listPage(prefix: string, startAfter: string | undefined, limit: number): Promise<ListPage> {
    const keys = [...this.bucket.objects.keys()]
      .filter((key) => key.startsWith(prefix) && (startAfter === undefined || key > startAfter))
      .sort();
    const objects = keys.slice(0, limit).map((key) => toStored(key, this.bucket.objects.get(key)!));
    return { objects, truncated: keys.length > limit };
  }

  async remove(key: string): Promise<void> {
    this.bucket.objects.delete(key);
  }

  async close(): Promise<void> {}
}

function toStored(key: string, object: MemoryObject): StoredObject {
  return {
    key,
    size: object.bytes.byteLength,
    ...(object.sha256 === undefined ? {} : { sha256: object.sha256 }),
    ...(object.modifiedAt === undefined ? {} : { modifiedAt: object.modifiedAt }),
  };
}
