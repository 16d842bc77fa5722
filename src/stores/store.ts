import type { ObjectBackend } from './backend';
import { sha256Hex } from './checksum';
import {
  SegmentChecksumError,
  SegmentConflictError,
  SegmentNotFoundError,
  SegmentStoreError,
  StoreClosedError,
} from './errors';
import { formatHead, parseHead, type HeadRecord } from './head-file';
import { headKey, keyBeforeStart, segmentKey, validateDb, validateLevel, validateRange, validateT } from './keys';
import { pruneSegments } from './prune';
import { getRecord, listRecords, putRecord } from './records';
import { scanSegments } from './scan';
import { seekAfterT } from './seek';
import type {
  ListOptions,
  PruneOptions,
  PruneResult,
  PutOptions,
  PutResult,
  SegmentAddress,
  SegmentInfo,
  SegmentStore,
  StoreOptions,
  VerifyOptions,
  VerifyReport,
} from './types';
import { verifySegments } from './verify';

const MAX_PAGE_SIZE = 1000;

/** The segment store logic, over any medium that can hold objects. */
export class ObjectSegmentStore implements SegmentStore {
  private readonly pageSize: number;
  private readonly warn: (message: string) => void;
  private readonly now: () => Date;
  private closed = false;
  /** One HEAD update at a time per database, so parallel puts cannot move HEAD back. */
  private readonly headUpdates = new Map<string, Promise<void>>();

  constructor(
    private readonly backend: ObjectBackend,
    options: StoreOptions = {},
  ) {
    const pageSize = options.pageSize ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new SegmentStoreError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
    }
    this.pageSize = pageSize;
    this.warn = options.warn ?? ((message) => process.emitWarning(message, { code: 'TXCLONE_STORE' }));
    this.now = options.now ?? (() => new Date());
  }

  get location(): string {
    return this.backend.describe();
  }

  async put(db: string, startT: number, endT: number, bytes: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    this.assertOpen();
    validateDb(db);
    validateRange(startT, endT);
    const level = options.level ?? 0;
    validateLevel(level);
    if (!(bytes instanceof Uint8Array)) throw new SegmentStoreError(`segment ${startT}..${endT}: bytes must be a Uint8Array`);
    const key = segmentKey(db, startT, endT, level);
    const sha256 = sha256Hex(bytes);
    const result = await this.backend.createOnce(key, bytes, sha256);
    if (!result.created) {
      const existing = result.existing.sha256 ?? (await this.hashStored(key));
      if (existing !== sha256) {
        throw new SegmentConflictError(this.backend.describe(key), startT, endT, existing, sha256);
      }
    }
    const segment = { db, startT, endT, level, key, size: bytes.byteLength, sha256 };
    await this.advanceHead(segment);
    return { written: result.created, segment };
  }

  async get(db: string, startT: number, endT: number, level = 0): Promise<Uint8Array> {
    this.assertOpen();
    validateDb(db);
    validateRange(startT, endT);
    validateLevel(level);
    const key = segmentKey(db, startT, endT, level);
    const stored = await this.backend.read(key);
    if (stored === null) throw new SegmentNotFoundError(this.backend.describe(key));
    const actual = sha256Hex(stored.bytes);
    if (stored.sha256 !== actual) {
      throw new SegmentChecksumError(this.backend.describe(key), stored.sha256, actual);
    }
    return stored.bytes;
  }

  async info(db: string, startT: number, endT: number, level = 0): Promise<SegmentInfo | null> {
    this.assertOpen();
    validateDb(db);
    validateRange(startT, endT);
    validateLevel(level);
    const key = segmentKey(db, startT, endT, level);
    const stored = await this.backend.stat(key);
    if (stored === null) return null;
    return { db, startT, endT, level, key, size: stored.size, ...(stored.sha256 === undefined ? {} : { sha256: stored.sha256 }) };
  }

  async delete(db: string, segment: SegmentAddress): Promise<void> {
    this.assertOpen();
    validateDb(db);
    validateRange(segment.startT, segment.endT);
    const level = segment.level ?? 0;
    validateLevel(level);
    await this.backend.remove(segmentKey(db, segment.startT, segment.endT, level));
  }

  async head(db: string): Promise<SegmentInfo | null> {
    this.assertOpen();
    validateDb(db);
    const hint = await this.readHead(db);
    let newest: SegmentInfo | null = null;
    if (hint !== null) {
      // Listing from HEAD's own segment on also proves that segment still exists.
      newest = await this.newestAfter(db, keyBeforeStart(db, hint.startT));
      if (newest === null) {
        this.warn(`HEAD ${this.backend.describe(headKey(db))} names segment ${hint.startT}..${hint.endT}, which is missing; scanning all segments`);
      }
    }
    newest ??= await this.newestAfter(db, undefined);
    if (newest === null) return null;
    if (hint !== null && sameRange(hint, newest) && (hint.level ?? 0) === newest.level && hint.size === newest.size) {
      return { ...newest, sha256: hint.sha256 };
    }
    const repaired = { ...newest, sha256: newest.sha256 ?? (await this.storedSha256(newest.key)) };
    // Unless a put of ours moved HEAD on meanwhile.
    await this.updateHead(repaired, (current) => current === null || sameRange(current, hint) || current.endT < repaired.endT, {
      quiet: true,
    });
    return repaired;
  }

  list(db: string, options: ListOptions = {}): AsyncIterable<SegmentInfo> {
    this.assertOpen();
    validateDb(db);
    const { afterT, limit } = options;
    if (afterT !== undefined) validateT('afterT', afterT);
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new SegmentStoreError(`limit must be a non-negative integer, got ${limit}`);
    }
    return this.listSegments(db, afterT, limit ?? Infinity);
  }

  async verify(db: string, options: VerifyOptions = {}): Promise<VerifyReport> {
    this.assertOpen();
    validateDb(db);
    if (options.fromT !== undefined) validateT('fromT', options.fromT);
    return verifySegments(this, db, options);
  }

  async prune(db: string, options: PruneOptions): Promise<PruneResult> {
    this.assertOpen();
    validateDb(db);
    return pruneSegments(this.list(db), (segment) => this.backend.remove(segment.key), options);
  }

  putRecord(db: string, name: string, bytes: Uint8Array): Promise<{ written: boolean }> {
    this.assertOpen();
    return putRecord(this.backend, db, name, bytes);
  }

  getRecord(db: string, name: string): Promise<Uint8Array | null> {
    this.assertOpen();
    return getRecord(this.backend, db, name);
  }

  listRecords(db: string, prefix: string): Promise<string[]> {
    this.assertOpen();
    return listRecords(this.backend, db, prefix, this.pageSize);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.backend.close();
  }

  private async *listSegments(db: string, afterT: number | undefined, limit: number): AsyncGenerator<SegmentInfo> {
    if (limit === 0) return;
    const startAfter =
      afterT === undefined
        ? undefined
        : await seekAfterT(this.backend, db, afterT, async () => (await this.readHead(db))?.startT ?? null);
    let count = 0;
    for await (const segment of scanSegments(this.backend, db, startAfter, this.pageSize)) {
      if (afterT !== undefined && segment.endT <= afterT) continue;
      yield segment;
      count += 1;
      if (count >= limit) return;
    }
  }

  private async newestAfter(db: string, startAfter: string | undefined): Promise<SegmentInfo | null> {
    let newest: SegmentInfo | null = null;
    for await (const segment of scanSegments(this.backend, db, startAfter, this.pageSize)) {
      if (newest === null || segment.endT >= newest.endT) newest = segment;
    }
    return newest;
  }

  private async readHead(db: string, { quiet } = { quiet: false }): Promise<HeadRecord | null> {
    const key = headKey(db);
    const stored = await this.backend.read(key);
    if (stored === null) return null;
    const parsed = parseHead(new TextDecoder().decode(stored.bytes), db);
    if (!parsed.ok) {
      if (!quiet) this.warn(`ignoring corrupt HEAD ${this.backend.describe(key)} (${parsed.problem}); it will be rewritten`);
      return null;
    }
    return parsed.head;
  }

  /** HEAD only moves forward on a put; a failure to move it costs the next head() a longer listing. */
  private advanceHead(segment: SegmentInfo & { sha256: string }): Promise<void> {
    return this.updateHead(segment, (current) => current === null || segment.endT > current.endT, { quiet: false });
  }

  /** Rewrites HEAD to name segment when shouldWrite(current HEAD); one update at a time per database. */
  private updateHead(
    segment: SegmentInfo & { sha256: string },
    shouldWrite: (current: HeadRecord | null) => boolean,
    read: { quiet: boolean },
  ): Promise<void> {
    const { db } = segment;
    const update = (this.headUpdates.get(db) ?? Promise.resolve()).then(async () => {
      try {
        if (shouldWrite(await this.readHead(db, read))) await this.writeHead(segment);
      } catch (err) {
        this.warn(`HEAD ${this.backend.describe(headKey(db))} was not moved to segment ${segment.startT}..${segment.endT}: ${(err as Error).message}`);
      }
    });
    this.headUpdates.set(db, update);
    void update.then(() => {
      if (this.headUpdates.get(db) === update) this.headUpdates.delete(db);
    });
    return update;
  }

  private async writeHead(segment: SegmentInfo & { sha256: string }): Promise<void> {
    const { level, ...rest } = segment;
    const text = formatHead({ ...rest, ...(level > 0 ? { level } : {}), writtenAt: this.now() });
    await this.backend.replace(headKey(segment.db), new TextEncoder().encode(text));
  }

  private async storedSha256(key: string): Promise<string> {
    return (await this.backend.stat(key))?.sha256 ?? (await this.hashStored(key));
  }

  /** For objects stored without a recorded checksum (written by something else). */
  private async hashStored(key: string): Promise<string> {
    const stored = await this.backend.read(key);
    if (stored === null) throw new SegmentNotFoundError(this.backend.describe(key));
    return sha256Hex(stored.bytes);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError(this.backend.describe());
  }
}

function sameRange(a: { startT: number; endT: number }, b: { startT: number; endT: number } | null): boolean {
  return b !== null && a.startT === b.startT && a.endT === b.endT;
}
