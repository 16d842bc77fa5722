/**
 * A segment store holds immutable segments of a database's transaction log. A segment
 * is opaque bytes to the store; it is identified by its database name and the inclusive
 * range of transaction numbers (t) it covers.
 */

/** One stored segment. */
export interface SegmentInfo {
  readonly db: string;
  readonly startT: number;
  readonly endT: number;
  /**
   * 0 for a segment a flush wrote; n for one compaction merged from level n-1 segments.
   * Segments of different levels overlap: a compacted one holds exactly the transactions
   * of the segments it was merged from.
   */
  readonly level: number;
  /** The key under the store's root: `{db}/segments/{start-t}-{end-t}.seg`, `...{end-t}.L{n}.seg` at level n. */
  readonly key: string;
  readonly size: number;
  /** SHA-256 of the bytes, lowercase hex; absent where a listing does not carry it. */
  readonly sha256?: string;
  /** When the object was written, where the medium says (S3, a directory, memory). */
  readonly modifiedAt?: Date;
}

/** Which segment: its range and level (0 when absent). */
export interface SegmentAddress {
  readonly startT: number;
  readonly endT: number;
  readonly level?: number;
}

/** What SegmentStore.put did: written, or already there with the same bytes. */
export interface PutResult {
  /** False when the same bytes were already stored (a no-op, e.g. a retried put). */
  readonly written: boolean;
  readonly segment: SegmentInfo & { readonly sha256: string };
}

export interface PutOptions {
  /** The compaction level the segment belongs to; 0 (a flush) when absent. */
  readonly level?: number;
}

/** Options of SegmentStore.list. */
export interface ListOptions {
  /**
   * Only segments holding some t after this position, i.e. with `endT > afterT`.
   * A consumer that has applied everything up to t asks with `afterT: t`, and the
   * first segment it gets is the one holding t+1 (which may start before t+1).
   */
  readonly afterT?: number;
  /** At most this many segments. */
  readonly limit?: number;
}

/** Options of SegmentStore.verify. */
export interface VerifyOptions {
  /**
   * The first t the log must hold (e.g. 1 for a log that was never pruned). When
   * given, a missing range before the first segment is reported as a gap; when not,
   * continuity is checked from the first segment.
   */
  readonly fromT?: number;
}

/** A stored segment's range and key. */
export interface SegmentRange {
  readonly startT: number;
  readonly endT: number;
  readonly key: string;
}

/** Transactions no segment holds: `startT..endT` inclusive. */
export interface VerifyGap {
  readonly startT: number;
  readonly endT: number;
}

/**
 * Two segments both holding `startT..endT` that should not: two of one level, or two of
 * different levels where neither holds the other whole (a compacted segment holds
 * whole segments of the levels below it, never part of one).
 */
export interface VerifyOverlap {
  readonly startT: number;
  readonly endT: number;
  readonly first: SegmentRange;
  readonly second: SegmentRange;
}

/** A segment that failed verification, and why. */
export interface VerifyCorrupt extends SegmentRange {
  readonly reason: string;
  readonly expectedSha256?: string;
  readonly actualSha256?: string;
}

/** What SegmentStore.verify found: gaps, overlaps and corrupt segments. */
export interface VerifyReport {
  readonly db: string;
  /** True when there are no gaps, overlaps or corrupt segments. */
  readonly ok: boolean;
  readonly segments: number;
  readonly bytes: number;
  /** The first and last t held, or null for an empty log. */
  readonly firstT: number | null;
  readonly lastT: number | null;
  readonly gaps: readonly VerifyGap[];
  readonly overlaps: readonly VerifyOverlap[];
  readonly corrupt: readonly VerifyCorrupt[];
}

/** Options of SegmentStore.prune. */
export interface PruneOptions {
  /** Delete segments whose endT < beforeT ... */
  readonly beforeT: number;
  /** ... but never one with endT > keepAfterT ... */
  readonly keepAfterT?: number;
  /**
   * ... nor one a target still needs: a target at position p has applied every t <= p,
   * so no segment with endT > min(targetPositions) is deleted. An empty list protects
   * nothing.
   */
  readonly targetPositions?: readonly number[];
  /** Report what would be deleted without deleting it. */
  readonly dryRun?: boolean;
}

/** What SegmentStore.prune deleted. */
export interface PruneResult {
  /** Oldest first. The newest segment is never deleted. */
  readonly deleted: readonly SegmentInfo[];
}

/** Where segments live: immutable objects named by database and t range, written once, listed in order. */
export interface SegmentStore {
  /** Where the store lives, for messages: `/var/lib/txclone`, `s3://bucket/prefix`, `memory:`. */
  readonly location: string;

  /**
   * Writes a segment once. The same bytes again are a no-op (`written: false`);
   * different bytes for the same range throw SegmentConflictError and overwrite nothing.
   * Then moves HEAD forward when this segment ends beyond it.
   */
  put(db: string, startT: number, endT: number, bytes: Uint8Array, options?: PutOptions): Promise<PutResult>;

  /** The segment's bytes, checksum verified (SegmentChecksumError, SegmentNotFoundError); level 0 unless given. */
  get(db: string, startT: number, endT: number, level?: number): Promise<Uint8Array>;

  /** Size and checksum of a segment without reading it, or null when it is missing. */
  info(db: string, startT: number, endT: number, level?: number): Promise<SegmentInfo | null>;

  /**
   * Deletes one segment (a missing one is not an error). Compaction's retention calls it
   * for segments a compacted one holds; prune deletes through prune().
   */
  delete(db: string, segment: SegmentAddress): Promise<void>;

  /**
   * The newest segment (greatest endT), or null for an empty database. Reads HEAD plus
   * one small listing from HEAD's segment on; a stale or corrupt HEAD is repaired.
   */
  head(db: string): Promise<SegmentInfo | null>;

  /** Segments in t order, read page by page. */
  list(db: string, options?: ListOptions): AsyncIterable<SegmentInfo>;

  /** Reads every segment: checksums, gaps and overlaps. */
  verify(db: string, options?: VerifyOptions): Promise<VerifyReport>;

  /** Retention: deletes old segments no target needs (see PruneOptions). */
  prune(db: string, options: PruneOptions): Promise<PruneResult>;

  /**
   * Writes a record once: a small named object beside db's segments (`{db}/{name}`, e.g.
   * `migrations/m1/journal/00000001.edn`). The same bytes again are a no-op (`written:
   * false`); other bytes throw RecordConflictError and overwrite nothing.
   */
  putRecord(db: string, name: string, bytes: Uint8Array): Promise<{ written: boolean }>;

  /** A record's bytes, checksum verified, or null when it does not exist. */
  getRecord(db: string, name: string): Promise<Uint8Array | null>;

  /** The names of the records directly under prefix (which ends in '/'), in name order. */
  listRecords(db: string, prefix: string): Promise<string[]>;

  /** Releases connections; the store refuses further calls. Idempotent. */
  close(): Promise<void>;
}

/** Options every store takes. */
export interface StoreOptions {
  /** Objects per listing request (1..1000); default 1000. */
  readonly pageSize?: number;
  /** Where non-fatal problems go (a corrupt HEAD, a failed HEAD update). Default: process.emitWarning. */
  readonly warn?: (message: string) => void;
  /** Clock for HEAD's written-at (and a memory store's modifiedAt); default `() => new Date()`. */
  readonly now?: () => Date;
}
