import { readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CreateResult, ListPage, ObjectBackend, StoredObject } from './backend';
import { isSha256Hex } from './checksum';
import { ensureDir, syncDir, TEMP_MARK, writeOnce, writeReplace } from './durable-files';
import { SegmentStoreError, StoreDiskFullError, StoreRequestError } from './errors';
import { ObjectSegmentStore } from './store';
import type { SegmentStore, StoreOptions } from './types';

/** Options of openDirectoryStore. */
export interface DirectoryStoreOptions extends StoreOptions {
  /** The store's root directory; created on first write. */
  readonly path: string;
}

/** A segment store in a local directory: files written durably (temporary file, fsync, rename). */
export function openDirectoryStore(options: DirectoryStoreOptions): SegmentStore {
  return new ObjectSegmentStore(new DirectoryBackend(options.path), options);
}

/**
 * The checksum of `x.seg` lives in `x.seg.sha256`, in sha256sum(1) format, so
 * `sha256sum -c x.seg.sha256` checks a segment by hand and the segment file stays the
 * plain segment bytes.
 */
const SIDECAR = '.sha256';

/**
 * Objects as files under a root directory. Writes are atomic and durable (temp file,
 * fsync, link or rename, fsync of the directory); the checksum sidecar is created before
 * its segment, so every segment that exists has one.
 */
export class DirectoryBackend implements ObjectBackend {
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  describe(key?: string): string {
    return key === undefined ? this.root : this.pathOf(key);
  }

  createOnce(key: string, bytes: Uint8Array, sha256: string): Promise<CreateResult> {
    return this.wrap('write', key, async () => {
      const file = this.pathOf(key);
      await ensureDir(path.dirname(file));
      // A sidecar already there belongs to a writer that got here first (or crashed
      // before linking its segment); its checksum decides, so nothing is ever replaced.
      if (!(await writeOnce(file + SIDECAR, sidecarLine(sha256, file)))) {
        const recorded = await readSidecar(file);
        if (recorded !== sha256) {
          const size = (await sizeOf(file)) ?? 0;
          return { created: false, existing: { key, size, ...(recorded === undefined ? {} : { sha256: recorded }) } };
        }
      }
      if (await writeOnce(file, bytes)) return { created: true };
      return { created: false, existing: { key, size: (await sizeOf(file)) ?? 0, sha256 } };
    });
  }

  read(key: string): Promise<{ bytes: Uint8Array; sha256?: string } | null> {
    return this.wrap('read', key, async () => {
      const file = this.pathOf(key);
      let buffer: Buffer;
      try {
        buffer = await readFile(file);
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
      const sha256 = await readSidecar(file);
      const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      return { bytes, ...(sha256 === undefined ? {} : { sha256 }) };
    });
  }

  stat(key: string): Promise<StoredObject | null> {
    return this.wrap('stat', key, async () => {
      const file = this.pathOf(key);
      const size = await sizeOf(file);
      if (size === null) return null;
      const sha256 = await readSidecar(file);
      return { key, size, ...(sha256 === undefined ? {} : { sha256 }) };
    });
  }

  replace(key: string, bytes: Uint8Array): Promise<void> {
    return this.wrap('write', key, async () => {
      const file = this.pathOf(key);
      await ensureDir(path.dirname(file));
      await writeReplace(file, bytes);
    });
  }

  listPage(prefix: string, startAfter: string | undefined, limit: number): Promise<ListPage> {
    if (!prefix.endsWith('/')) throw new SegmentStoreError(`directory listing needs a prefix ending in '/', got ${prefix}`);
    return this.wrap('list', prefix, async () => {
      let names: string[];
      try {
        const entries = await readdir(this.pathOf(prefix), { withFileTypes: true });
        names = entries.filter((e) => e.isFile()).map((e) => e.name);
      } catch (err) {
        if (isMissing(err)) return { objects: [], truncated: false };
        throw err;
      }
      const keys = names
        .filter((name) => !name.endsWith(SIDECAR) && !name.includes(TEMP_MARK))
        .map((name) => prefix + name)
        .filter((key) => startAfter === undefined || key > startAfter)
        .sort();
      const page = keys.slice(0, limit);
      const stats = await Promise.all(page.map((key) => statOf(this.pathOf(key))));
      // A file deleted between readdir and stat is simply not listed.
      const objects = page.flatMap((key, i) => {
        const s = stats[i];
        return s === null || s === undefined ? [] : [{ key, size: s.size, modifiedAt: s.mtime }];
      });
      return { objects, truncated: keys.length > limit };
    });
  }

  remove(key: string): Promise<void> {
    return this.wrap('delete', key, async () => {
      const file = this.pathOf(key);
      // Segment first: an orphan sidecar is invisible, a segment without one is not.
      await rm(file, { force: true });
      await rm(file + SIDECAR, { force: true });
      await syncDir(path.dirname(file)).catch((err: unknown) => {
        if (!isMissing(err)) throw err;
      });
    });
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  private async wrap<T>(operation: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof SegmentStoreError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      const location = this.pathOf(key);
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new StoreDiskFullError(
          `directory store ${this.root}: ${operation} ${location}: ${code === 'ENOSPC' ? 'no space left on the file system' : 'disk quota exceeded'} ` +
            `(nothing was half-written: free space and run the command again, it resumes)`,
          operation,
          location,
          code,
          undefined,
          1,
          { cause: err },
        );
      }
      throw new StoreRequestError(
        `directory store ${this.root}: ${operation} ${location}: ${(err as Error).message}`,
        operation,
        location,
        code,
        undefined,
        1,
        { cause: err },
      );
    }
  }
}

function sidecarLine(sha256: string, file: string): string {
  return `${sha256}  ${path.basename(file)}\n`;
}

/** The recorded checksum, or undefined when the sidecar is missing or unreadable as one. */
async function readSidecar(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file + SIDECAR, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  const sha256 = text.slice(0, 64);
  return isSha256Hex(sha256) ? sha256 : undefined;
}

async function sizeOf(file: string): Promise<number | null> {
  return (await statOf(file))?.size ?? null;
}

async function statOf(file: string): Promise<{ size: number; mtime: Date } | null> {
  try {
    const s = await stat(file);
    return { size: s.size, mtime: s.mtime };
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}
