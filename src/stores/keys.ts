import { InvalidDbNameError, InvalidSegmentRangeError } from './errors';

/** Zero padding wide enough for any 64-bit t, so key order is t order. */
const T_DIGITS = 20;
const DB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/**
 * `{start}-{end}.seg` is a level-0 segment (every flush; and every segment written before
 * compaction existed), `{start}-{end}.L{n}.seg` a segment compaction wrote at level n (1..9).
 * Keys sort by start, then end, so listing order is t order whatever the level.
 */
const SEGMENT_NAME = /^(\d{20})-(\d{20})(?:\.L([1-9]))?\.seg$/;
/** The highest compaction level a key can name. */
export const MAX_LEVEL = 9;

export function validateDb(db: string): void {
  if (typeof db !== 'string' || !DB_NAME.test(db)) throw new InvalidDbNameError(String(db));
}

export function validateT(name: string, t: number): void {
  if (!Number.isSafeInteger(t) || t < 0) {
    throw new InvalidSegmentRangeError(`${name} must be a non-negative safe integer, got ${t}`);
  }
}

export function validateRange(startT: number, endT: number): void {
  validateT('startT', startT);
  validateT('endT', endT);
  if (startT > endT) {
    throw new InvalidSegmentRangeError(`segment range ${startT}..${endT} is empty: startT > endT`);
  }
}

export function padT(t: number): string {
  return String(t).padStart(T_DIGITS, '0');
}

export function segmentsPrefix(db: string): string {
  return `${db}/segments/`;
}

export function validateLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > MAX_LEVEL) {
    throw new InvalidSegmentRangeError(`level must be an integer from 0 to ${MAX_LEVEL}, got ${level}`);
  }
}

/** The key of a segment: level 0 keeps the name segments always had, so stores written before levels read as level 0. */
export function segmentKey(db: string, startT: number, endT: number, level = 0): string {
  return `${segmentsPrefix(db)}${padT(startT)}-${padT(endT)}${level === 0 ? '' : `.L${level}`}.seg`;
}

export function headKey(db: string): string {
  return `${db}/HEAD.edn`;
}

/**
 * A listing position just before every segment starting at or after startT: listing
 * after it yields those segments first.
 */
export function keyBeforeStart(db: string, startT: number): string {
  return `${segmentsPrefix(db)}${padT(startT)}`;
}

/** The range and level a segment key names, or null when the key is not a segment of db. */
export function parseSegmentKey(db: string, key: string): { startT: number; endT: number; level: number } | null {
  const prefix = segmentsPrefix(db);
  if (!key.startsWith(prefix)) return null;
  const match = SEGMENT_NAME.exec(key.slice(prefix.length));
  if (!match) return null;
  const startT = Number(match[1]);
  const endT = Number(match[2]);
  if (!Number.isSafeInteger(startT) || !Number.isSafeInteger(endT) || startT > endT) return null;
  return { startT, endT, level: match[3] === undefined ? 0 : Number(match[3]) };
}
