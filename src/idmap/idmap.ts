// Source entity id -> target entity id, through :txclone/original-id in the target.
import type { Database, EntityId } from '../db/types';
import { LruCache } from './lru';

/** The attribute every restored entity carries: its entity id in the source (`:txclone/original-id`). */
export const ORIGINAL_ID = ':txclone/original-id';

/** How a restore maps source ids to the target's: the cache size and the high-water mark's checks. */
export interface IdMapOptions {
  /** Source-to-target ids kept in memory. */
  cacheSize?: number;
  /** Share of ids above the high-water mark checked against the target (0 to 1). */
  verifyNewRate?: number;
  /** Random numbers for sampling; tests pass a deterministic one. */
  random?: () => number;
}

/** Counts of how source ids were resolved during a restore. */
export interface IdMapStats {
  /** Ids found in the cache. */
  hits: number;
  /** Ids looked up in the target's index. */
  lookups: number;
  /** Index queries made (each covers many ids). */
  queries: number;
  /** Ids known new because they are above the high-water mark. */
  newAboveMark: number;
  /** New ids checked against the target by sampling. */
  verified: number;
  /** Times the high-water mark was read from the target whole (at the start, or after another restore wrote a lot). */
  markReads: number;
  cacheSize: number;
  highWater: number;
}

/** The target's original-id index holds an id the mark said was new. */
export class IdMapInconsistencyError extends Error {
  override name = 'IdMapInconsistencyError';
}

export class IdMap {
  private readonly cache: LruCache<EntityId, EntityId>;
  private readonly verifyNewRate: number;
  private readonly random: () => number;
  private highWater = -1;
  /** Whether the target has :txclone/original-id at all; before its first restore it has not. */
  private installed = false;
  private readonly counters = { hits: 0, lookups: 0, queries: 0, newAboveMark: 0, verified: 0, markReads: 0 };

  constructor(
    private readonly target: Database,
    options: IdMapOptions = {},
  ) {
    this.cache = new LruCache(options.cacheSize ?? 100_000);
    this.verifyNewRate = options.verifyNewRate ?? 0.01;
    this.random = options.random ?? Math.random;
    if (!(this.verifyNewRate >= 0 && this.verifyNewRate <= 1))
      throw new RangeError(`verifyNewRate must be between 0 and 1, got ${this.verifyNewRate}`);
  }

  /**
   * Reads the high-water mark from the target (one index query), so that a restarted
   * process never takes an already-restored id for a new one.
   */
  async load(): Promise<void> {
    const schema = await this.target.schema();
    this.installed = [...schema.values()].some((a) => a.ident === ORIGINAL_ID);
    const max = this.installed ? await this.target.maxValue(ORIGINAL_ID) : null;
    this.counters.markReads++;
    this.highWater = typeof max === 'number' ? max : -1;
  }

  /**
   * The target id of each source id, or null where the target has none yet.
   * One index query covers every id that is neither cached nor above the mark.
   */
  async resolve(sourceIds: Iterable<EntityId>): Promise<Map<EntityId, EntityId | null>> {
    const out = new Map<EntityId, EntityId | null>();
    const lookup: EntityId[] = [];
    const sampled: EntityId[] = [];
    for (const id of sourceIds) {
      if (out.has(id)) continue;
      const cached = this.cache.get(id);
      if (cached !== undefined) {
        this.counters.hits++;
        out.set(id, cached);
      } else if (id > this.highWater) {
        this.counters.newAboveMark++;
        out.set(id, null);
        if (this.verifyNewRate > 0 && this.random() < this.verifyNewRate) sampled.push(id);
      } else {
        lookup.push(id);
      }
    }
    const query = [...lookup, ...sampled];
    if (query.length === 0 || !this.installed) return out;
    this.counters.queries++;
    this.counters.lookups += lookup.length;
    this.counters.verified += sampled.length;
    const found = await this.target.datomsAVETMany(ORIGINAL_ID, query);
    query.forEach((id, i) => {
      const holders = found[i]!;
      if (i >= lookup.length && holders.length > 0) {
        throw new IdMapInconsistencyError(
          `source id ${id} is above the high-water mark ${this.highWater} but the target already holds it (entity ${holders[0]}): ` +
            `the target was written by something other than this restore`,
        );
      }
      if (holders.length > 1) {
        throw new IdMapInconsistencyError(`source id ${id} has several target entities: ${holders.join(', ')}`);
      }
      const targetId = holders[0] ?? null;
      out.set(id, targetId);
      if (targetId !== null) this.cache.set(id, targetId);
    });
    return out;
  }

  /** Raises the mark to a source id the target holds (written by another restore). */
  advance(sourceId: EntityId): void {
    this.installed = true;
    if (sourceId > this.highWater) this.highWater = sourceId;
  }

  /** Records ids the target has just created (after the commit). */
  record(sourceId: EntityId, targetId: EntityId): void {
    this.cache.set(sourceId, targetId);
    this.installed = true;
    if (sourceId > this.highWater) this.highWater = sourceId;
  }

  stats(): IdMapStats {
    return { ...this.counters, cacheSize: this.cache.size, highWater: this.highWater };
  }
}
