// Compaction levels: L0 is what each flush writes; level n merges contiguous level n-1
// segments into one when they reach maxTxns transactions or when their transactions'
// instants leave a windowMs window. Both cuts depend only on the segments' contents, so
// every compactor of a store cuts the same ranges and writes the same bytes.
import { MAX_LEVEL } from '../stores/keys';

/** A compaction level: segments of the level below merge until this many transactions, or a window of time, is reached. */
export interface CompactionLevel {
  /** 1..9: the level written (from segments of level - 1). */
  level: number;
  /** A segment of this level closes once it holds this many transactions (or more: inputs are never split). */
  maxTxns: number;
  /**
   * ... or when the next input's first transaction falls in another window of this many ms
   * (windows are aligned to the epoch: floor(instant / windowMs)).
   */
  windowMs: number;
}

/**
 * Tuned for a flush every 100 ms at about 200 tx/s (bench/store-size.ts): each level holds
 * about ten of the one below, so a catch-up reads few objects and no segment holds more
 * than 50,000 transactions (the most a compactor or a reader decodes at once).
 */
export const DEFAULT_LEVELS: readonly CompactionLevel[] = Object.freeze([
  { level: 1, maxTxns: 100, windowMs: 5_000 },
  { level: 2, maxTxns: 1_000, windowMs: 60_000 },
  { level: 3, maxTxns: 10_000, windowMs: 600_000 },
  { level: 4, maxTxns: 50_000, windowMs: 3_600_000 },
]);

/** Covered segments are deleted this long after the segment covering them was written. */
export const DEFAULT_GRACE_MS = 30_000;

export class CompactionSettingsError extends Error {
  override name = 'CompactionSettingsError';
}

/** Levels 1, 2, ... in order, each larger than the one before. Throws CompactionSettingsError naming the level. */
export function validateLevels(levels: readonly CompactionLevel[]): void {
  if (levels.length === 0) throw new CompactionSettingsError('compaction needs at least one level');
  if (levels.length > MAX_LEVEL) throw new CompactionSettingsError(`at most ${MAX_LEVEL} compaction levels, got ${levels.length}`);
  levels.forEach((l, i) => {
    const name = `compaction level ${i + 1}`;
    if (l.level !== i + 1) throw new CompactionSettingsError(`${name}: levels must be numbered 1, 2, ... in order, got ${l.level}`);
    if (!Number.isSafeInteger(l.maxTxns) || l.maxTxns < 1) throw new CompactionSettingsError(`${name}: maxTxns must be a positive integer, got ${l.maxTxns}`);
    if (!Number.isSafeInteger(l.windowMs) || l.windowMs < 1) throw new CompactionSettingsError(`${name}: windowMs must be a positive integer, got ${l.windowMs}`);
    const below = levels[i - 1];
    if (below && (l.maxTxns <= below.maxTxns || l.windowMs < below.windowMs))
      throw new CompactionSettingsError(`${name}: must hold more transactions than level ${i} and a window at least as long`);
  });
}

const DURATION = /^(\d+)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A duration like `500ms`, `10s`, `5m`, `1h` (a bare number is ms). */
export function parseDuration(text: string, what: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new CompactionSettingsError(`${what}: expected a duration like 500ms, 10s, 5m or 1h, got ${JSON.stringify(text)}`);
  return Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!;
}

/** Levels written as `100/5s,1000/1m,10000/10m,50000/1h`: per level, transactions / window. */
export function parseLevels(text: string): CompactionLevel[] {
  const levels = text.split(',').map((part, i) => {
    const [txns, window, extra] = part.split('/');
    const name = `compaction level ${i + 1} (${JSON.stringify(part)})`;
    if (txns === undefined || window === undefined || extra !== undefined || !/^\d+$/.test(txns.trim()))
      throw new CompactionSettingsError(`${name}: expected transactions/window, e.g. 1000/10s`);
    return { level: i + 1, maxTxns: Number(txns), windowMs: parseDuration(window, name) };
  });
  validateLevels(levels);
  return levels;
}

/** The inverse of parseLevels, for messages and the README. */
export function formatLevels(levels: readonly CompactionLevel[]): string {
  const duration = (ms: number) =>
    ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
  return levels.map((l) => `${l.maxTxns}/${duration(l.windowMs)}`).join(',');
}
