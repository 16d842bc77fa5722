/**
 * The few object operations a segment store needs from where it keeps its bytes. Keys
 * are relative to the store's root (`{db}/segments/...`), '/'-separated. Checksums and
 * write-once semantics live here because each medium keeps them differently (S3 object
 * metadata, a sidecar file, a field in memory).
 */
export interface StoredObject {
  readonly key: string;
  readonly size: number;
  /** The checksum recorded at write time, when known without reading the bytes. */
  readonly sha256?: string;
  /** When the object was written, when the medium says. */
  readonly modifiedAt?: Date;
}

export type CreateResult = { readonly created: true } | { readonly created: false; readonly existing: StoredObject };

export interface ListPage {
  readonly objects: readonly StoredObject[];
  /** More objects follow the last one. */
  readonly truncated: boolean;
}

export interface ObjectBackend {
  /** The full location of key (or of the root) for messages. */
  describe(key?: string): string;
  /** Writes bytes with their checksum unless key exists; never replaces. */
  createOnce(key: string, bytes: Uint8Array, sha256: string): Promise<CreateResult>;
  /** Bytes and recorded checksum, or null when key is missing. */
  read(key: string): Promise<{ bytes: Uint8Array; sha256?: string } | null>;
  stat(key: string): Promise<StoredObject | null>;
  /** Writes or replaces key (for HEAD, which is a hint and carries no checksum). */
  replace(key: string, bytes: Uint8Array): Promise<void>;
  /** Keys under prefix (which ends in '/') after startAfter, in key order, at most limit. */
  listPage(prefix: string, startAfter: string | undefined, limit: number): Promise<ListPage>;
  /** Deletes key; a missing key is not an error. */
  remove(key: string): Promise<void>;
  close(): Promise<void>;
}
