// Values as the database stores them: one text per value, exact and injective for a
// given valueType, so equality of stored text is equality of values.
//
// Known limit: PostgreSQL text cannot hold U+0000, so a string, uri or keyword holding it
// (also inside a tuple) is refused with a ValueError rather than silently altered. Strings
// with lone surrogates are refused too (they are not valid UTF-8).
import { canonicalBigdec, isCanonicalBigdec } from './decimal';
import type { Scalar, Value, ValueType } from './types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEYWORD = /^:[^\s,;"'`~@^()[\]{}\\]+$/;
// An EDN symbol: not starting with a colon, '#', a digit, or a sign or dot followed by a digit;
// 'nil', 'true' and 'false' read as other things.
const SYMBOL = /^(?![:#\d]|[-+.]\d)[^\s,;"'`~@^()[\]{}\\]+$/;
const RESERVED_SYMBOLS = new Set(['nil', 'true', 'false']);

/** A long's range: Datomic's long is a signed 64-bit integer. */
export const MIN_LONG = -(2n ** 63n);
export const MAX_LONG = 2n ** 63n - 1n;

/** A value that does not fit its attribute's value type; the message names the attribute and the value. */
export class ValueError extends Error {
  override name = 'ValueError';
}

export function isKeyword(x: unknown): x is string {
  return typeof x === 'string' && KEYWORD.test(x);
}

/** A symbol's JS value: its EDN text, without a colon ('my.ns/fn', 'inc'). */
export function isSymbol(x: unknown): x is string {
  return typeof x === 'string' && SYMBOL.test(x) && !RESERVED_SYMBOLS.has(x);
}

/** A long as JS holds it: a number when it is a safe integer, a bigint beyond. */
export function longValue(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function longText(x: unknown): string {
  if (typeof x === 'number' && Number.isSafeInteger(x)) return String(x === 0 ? 0 : x);
  if (typeof x === 'bigint') {
    if (x < MIN_LONG || x > MAX_LONG)
      throw new ValueError(`long ${x} is outside the signed 64-bit range -2^63..2^63-1 (use a bigint attribute)`);
    return x.toString();
  }
  throw new ValueError(`expected a long (a safe integer number, or a bigint within 64 bits), got ${describe(x)}`);
}

function text(x: unknown, what: string): string {
  if (typeof x !== 'string') throw new ValueError(`expected a ${what} string, got ${describe(x)}`);
  if (x.includes('\u0000')) throw new ValueError(`a ${what} cannot hold U+0000 (PostgreSQL text)`);
  if (!x.isWellFormed()) throw new ValueError(`a ${what} holds a lone surrogate`);
  return x;
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (x instanceof Date) return `Date ${Number.isNaN(x.getTime()) ? 'Invalid' : x.toISOString()}`;
  if (x instanceof Uint8Array) return `bytes[${x.length}]`;
  if (Array.isArray(x)) return `array[${x.length}]`;
  if (typeof x === 'bigint') return `bigint ${x}`;
  if (typeof x === 'string') return `string ${JSON.stringify(x.length > 60 ? x.slice(0, 60) + '…' : x)}`;
  if (typeof x === 'object') return 'object';
  return `${typeof x} ${String(x)}`;
}

/** Checks a scalar against its type and returns the stored text. Refs must already be ids. */
export function encodeScalar(type: ValueType, x: unknown): string {
  switch (type) {
    case 'string':
    case 'uri':
      return text(x, type);
    case 'keyword':
      if (!isKeyword(x)) throw new ValueError(`expected a keyword like ':ns/name', got ${describe(x)}`);
      return text(x, type);
    case 'boolean':
      if (typeof x !== 'boolean') throw new ValueError(`expected a boolean, got ${describe(x)}`);
      return x ? 'true' : 'false';
    case 'long':
      return longText(x);
    case 'ref':
      if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0)
        throw new ValueError(`expected an entity id, got ${describe(x)}`);
      return String(x);
    case 'bigint':
      if (typeof x === 'bigint') return x.toString();
      if (typeof x === 'number' && Number.isSafeInteger(x)) return BigInt(x).toString();
      throw new ValueError(`expected a bigint, got ${describe(x)}`);
    case 'double':
      if (typeof x !== 'number') throw new ValueError(`expected a double, got ${describe(x)}`);
      return Object.is(x, -0) ? '-0' : String(x);
    case 'float': {
      if (typeof x !== 'number') throw new ValueError(`expected a float (a number, rounded to 32 bits), got ${describe(x)}`);
      const f = Math.fround(x);
      return Object.is(f, -0) ? '-0' : String(f);
    }
    case 'symbol':
      if (!isSymbol(x)) throw new ValueError(`expected a symbol like 'my.ns/name' (no colon), got ${describe(x)}`);
      return text(x, type);
    case 'bigdec':
      return canonicalBigdec(x);
    case 'instant':
      if (!(x instanceof Date) || Number.isNaN(x.getTime()))
        throw new ValueError(`expected an instant (a valid Date), got ${describe(x)}`);
      return String(x.getTime());
    case 'uuid': {
      const s = typeof x === 'string' ? x.toLowerCase() : x;
      if (typeof s !== 'string' || !UUID.test(s)) throw new ValueError(`expected a uuid string, got ${describe(x)}`);
      return s;
    }
    case 'bytes':
      if (!(x instanceof Uint8Array)) throw new ValueError(`expected bytes (Uint8Array), got ${describe(x)}`);
      return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');
    case 'tuple':
      throw new ValueError('a tuple cannot nest inside a tuple');
  }
}

export function decodeScalar(type: ValueType, s: string): Scalar {
  switch (type) {
    case 'string':
    case 'uri':
    case 'keyword':
    case 'symbol':
    case 'uuid':
      return s;
    case 'bigdec':
      // Values stored before bigdecs were canonical read as canonical too (see decimal.ts).
      return isCanonicalBigdec(s) ? s : canonicalBigdec(s);
    case 'boolean':
      return s === 'true';
    case 'long':
      return s.length < 16 ? Number(s) : longValue(BigInt(s));
    case 'ref':
    case 'double':
    case 'float':
      return Number(s);
    case 'bigint':
      return BigInt(s);
    case 'instant':
      return new Date(Number(s));
    case 'bytes':
      return new Uint8Array(Buffer.from(s, 'base64'));
    case 'tuple':
      throw new ValueError('a tuple cannot nest inside a tuple');
  }
}

/** Stored text of a value; elementTypes is given for tuples. */
export function encodeValue(type: ValueType, x: unknown, elementTypes?: readonly ValueType[]): string {
  if (type !== 'tuple') return encodeScalar(type, x);
  if (!Array.isArray(x)) throw new ValueError(`expected a tuple (array), got ${describe(x)}`);
  if (!elementTypes) throw new ValueError('tuple attribute has no element types');
  if (x.length < 2 || x.length > 8) throw new ValueError(`a tuple has 2 to 8 elements, got ${x.length}`);
  const homogeneous = elementTypes.length === 1;
  if (!homogeneous && x.length !== elementTypes.length)
    throw new ValueError(`expected a tuple of ${elementTypes.length} elements, got ${x.length}`);
  return JSON.stringify(
    x.map((el, i) => (el === null || el === undefined ? null : encodeScalar(elementTypes[homogeneous ? 0 : i]!, el))),
  );
}

export function decodeValue(type: ValueType, s: string, elementTypes?: readonly ValueType[]): Value {
  if (type !== 'tuple') return decodeScalar(type, s);
  const parts = JSON.parse(s) as (string | null)[];
  const homogeneous = elementTypes!.length === 1;
  return parts.map((p, i) => (p === null ? null : decodeScalar(elementTypes![homogeneous ? 0 : i]!, p)));
}
