// How each value type travels in a segment's CBOR. The attribute's valueType decides both
// directions, so decoding never relies on CBOR's own idea of a value's type:
//
// | valueType                     | CBOR                                                      |
// |-------------------------------|-----------------------------------------------------------|
// | string, uri, keyword, uuid    | text (keyword with its colon; uuid canonical lowercase)   |
// | bigdec                        | text, the exact decimal                                   |
// | boolean                       | true / false                                              |
// | long, ref                     | integer (cbor-x writes integers beyond 32 bits as float64; |
// |                               | either way it reads back as a safe-integer number); from   |
// |                               | version 2 a long beyond 2^53 is a 64-bit CBOR integer      |
// | bigint                        | text, lowercase hexadecimal with optional '-' (linear to   |
// |                               | parse at any size, unlike decimal)                        |
// | double                        | RFC 8746 float64 typed array of one element (tag 86): the |
// |                               | 8 IEEE-754 bytes, so 1.0, -0, NaN and ±Infinity stay doubles |
// | float (version 2)             | RFC 8746 float32 typed array of one element (tag 85): the |
// |                               | 4 IEEE-754 bytes, so a float never reads back as a double |
// | symbol (version 2)            | text, the symbol without a colon                          |
// | instant                       | integer milliseconds since the epoch                      |
// | bytes                         | byte string                                               |
// | tuple                         | array of the above per element type, null for no value    |
import type { Attribute, EntityId, Scalar, Value, ValueType } from '../db/types';
import { describe } from '../db/values';
import { SegmentProblem } from './errors';

// Format version 1 defines these itself rather than borrowing the database's, so a file
// written today reads the same tomorrow. None can backtrack badly on hostile input.
export const KEYWORD = /^:[^\s,;"'`~@^()[\]{}\\]+$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const DECIMAL = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const HEX_BIGINT = /^-?(?:0|[1-9a-f][0-9a-f]*)$/;
// Version 2: a symbol as EDN writes one (see db/values.ts).
export const SYMBOL = /^(?![:#\d]|[-+.]\d)[^\s,;"'`~@^()[\]{}\\]+$/;
const RESERVED_SYMBOLS = new Set(['nil', 'true', 'false']);
const MIN_LONG = -(2n ** 63n);
const MAX_LONG = 2n ** 63n - 1n;
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The value types a segment of format version 1 may hold; version 2 adds float and symbol. */
export const VERSION_1_TYPES: ReadonlySet<ValueType> = new Set([
  'string', 'keyword', 'boolean', 'long', 'bigint', 'double', 'bigdec', 'instant', 'uuid', 'uri', 'bytes', 'ref', 'tuple',
]);

/** Instants a JS Date can hold: ±8.64e15 ms. */
const MAX_DATE_MS = 8.64e15;

/** One value type's two directions; both throw SegmentProblem on a wrong value. */
export interface Codec {
  /** Checks a JS value and returns what the CBOR holds. */
  toCbor(x: unknown): unknown;
  /** Checks what the CBOR held and returns the JS value. */
  fromCbor(x: unknown): Value;
  /** toCbor returns its input itself, so a datom holding such a value can be encoded as it is. */
  readonly identity: boolean;
}

function wrong(what: string, x: unknown): SegmentProblem {
  return new SegmentProblem(`is not ${what} (got ${describe(x)})`);
}

function textCodec(what: string, valid: (s: string) => boolean): Codec {
  const check = (x: unknown): string => {
    if (typeof x !== 'string' || !valid(x)) throw wrong(what, x);
    return x;
  };
  return { toCbor: check, fromCbor: check, identity: true };
}

// A lone surrogate cannot be written as UTF-8: it would come back as U+FFFD.
const wellFormed = (s: string): boolean => s.isWellFormed();

const safeInteger = (what: string, min: number): Codec => {
  const check = (x: unknown): number => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) throw wrong(what, x);
    return x;
  };
  return { toCbor: check, fromCbor: check, identity: true };
};

/**
 * A long of version 2: a number when safe, else a bigint within 64 bits, written as a CBOR
 * integer. `wide` is called when a value needs version 2 (the encoder then writes version 2).
 */
const long64 = (wide: () => void): Codec => {
  const check = (x: unknown): number | bigint => {
    if (typeof x === 'number' && Number.isSafeInteger(x)) return x;
    if (typeof x === 'bigint' && x >= MIN_LONG && x <= MAX_LONG) {
      if (x >= MIN_SAFE && x <= MAX_SAFE) return Number(x);
      wide();
      return x;
    }
    throw wrong('a long (a signed 64-bit integer)', x);
  };
  return { toCbor: check, fromCbor: check, identity: false };
};

type ScalarType = Exclude<ValueType, 'tuple'>;

const CODECS: Readonly<Record<Exclude<ScalarType, 'float' | 'symbol'>, Codec>> = {
  string: textCodec('a well-formed string', wellFormed),
  uri: textCodec('a well-formed uri string', wellFormed),
  keyword: textCodec("a keyword like ':ns/name'", (s) => KEYWORD.test(s)),
  uuid: textCodec('a canonical lowercase uuid string', (s) => UUID.test(s)),
  bigdec: textCodec("an exact decimal string like '12.50'", (s) => DECIMAL.test(s)),
  boolean: {
    toCbor: (x) => {
      if (typeof x !== 'boolean') throw wrong('a boolean', x);
      return x;
    },
    fromCbor: (x) => {
      if (typeof x !== 'boolean') throw wrong('a boolean', x);
      return x;
    },
    identity: true,
  },
  long: safeInteger('a safe integer', Number.MIN_SAFE_INTEGER),
  ref: safeInteger('an entity id (a non-negative safe integer)', 0),
  bigint: {
    toCbor: (x) => {
      if (typeof x !== 'bigint') throw wrong('a bigint', x);
      return x.toString(16);
    },
    fromCbor: (x) => {
      if (typeof x !== 'string' || !HEX_BIGINT.test(x) || x === '-0') throw wrong('a bigint in hexadecimal text', x);
      return x.charCodeAt(0) === 45 ? -BigInt('0x' + x.slice(1)) : BigInt('0x' + x);
    },
    identity: false,
  },
  double: {
    toCbor: (x) => {
      if (typeof x !== 'number') throw wrong('a double (a number)', x);
      // NaN written from the literal so every NaN has the same bytes (a deterministic encoding).
      return Float64Array.of(Number.isNaN(x) ? NaN : x);
    },
    fromCbor: (x) => {
      if (!(x instanceof Float64Array) || x.length !== 1) throw wrong('a double (one float64)', x);
      return x[0]!;
    },
    identity: false,
  },
  instant: {
    toCbor: (x) => {
      if (!(x instanceof Date) || Number.isNaN(x.getTime())) throw wrong('an instant (a valid Date)', x);
      return x.getTime();
    },
    fromCbor: (x) => {
      if (typeof x !== 'number' || !Number.isSafeInteger(x) || Math.abs(x) > MAX_DATE_MS)
        throw wrong('an instant (integer milliseconds within the Date range)', x);
      return new Date(x);
    },
    identity: false,
  },
  bytes: {
    toCbor: (x) => {
      if (!(x instanceof Uint8Array)) throw wrong('bytes (a Uint8Array)', x);
      return x;
    },
    // A copy: the decoder hands out views into one large Buffer; callers get plain, independent arrays.
    fromCbor: (x) => {
      if (!(x instanceof Uint8Array)) throw wrong('bytes (a byte string)', x);
      return new Uint8Array(x);
    },
    identity: true,
  },
};

const FLOAT: Codec = {
  toCbor: (x) => {
    if (typeof x !== 'number') throw wrong('a float (a number)', x);
    const f = Math.fround(x);
    if (f !== x && !Number.isNaN(x)) throw wrong('a float (a number exact in 32 bits)', x);
    return Float32Array.of(Number.isNaN(x) ? NaN : f);
  },
  fromCbor: (x) => {
    if (!(x instanceof Float32Array) || x.length !== 1) throw wrong('a float (one float32)', x);
    return x[0]!;
  },
  identity: false,
};

const SYMBOL_CODEC = textCodec("a symbol like 'my.ns/name'", (s) => SYMBOL.test(s) && !RESERVED_SYMBOLS.has(s));

/** The codecs of one format version: version 1 has no float or symbol and only safe longs. */
function codecsOf(version: number, wide: () => void): (type: ScalarType) => Codec {
  const long = version >= 2 ? long64(wide) : CODECS.long;
  return (type) => {
    if (type === 'long') return long;
    if (type === 'float' || type === 'symbol') {
      if (version < 2) throw new SegmentProblem(`value type ${type} needs segment format version 2`);
      return type === 'float' ? FLOAT : SYMBOL_CODEC;
    }
    return CODECS[type];
  };
}

export function scalarCodec(type: ScalarType, version = 2): Codec {
  return codecsOf(version, () => undefined)(type);
}

/** A tuple's element codecs: one for every element (homogeneous) or one per position. */
function tupleCodec(elements: readonly Codec[], homogeneous: boolean): Codec {
  const convert = (x: unknown, direction: 'toCbor' | 'fromCbor'): unknown[] => {
    if (!Array.isArray(x)) throw wrong('a tuple (an array)', x);
    if (!homogeneous && x.length !== elements.length)
      throw new SegmentProblem(`is a tuple of ${x.length} elements, expected ${elements.length}`);
    const out = new Array<unknown>(x.length);
    for (let i = 0; i < x.length; i++) {
      const el: unknown = x[i];
      if (el === null) {
        out[i] = null;
        continue;
      }
      try {
        out[i] = elements[homogeneous ? 0 : i]![direction](el);
      } catch (e) {
        if (e instanceof SegmentProblem) throw new SegmentProblem(`element ${i} ${e.message}`);
        throw e;
      }
    }
    return out;
  };
  return {
    toCbor: (x) => convert(x, 'toCbor'),
    fromCbor: (x) => convert(x, 'fromCbor') as Array<Scalar | null>,
    identity: false,
  };
}

/** The element types of a tuple attribute; byIdent must hold the attributes a composite tuple names. */
export function tupleElementTypes(
  attribute: Attribute,
  byIdent: ReadonlyMap<string, Attribute>,
): { types: ValueType[]; homogeneous: boolean } {
  if (attribute.tupleType) return { types: [attribute.tupleType], homogeneous: true };
  if (attribute.tupleTypes) return { types: attribute.tupleTypes, homogeneous: false };
  if (attribute.tupleAttrs) {
    const types = attribute.tupleAttrs.map((ident) => {
      const part = byIdent.get(ident);
      if (!part) throw new SegmentProblem(`composite tuple ${attribute.ident} names ${ident}, which is not in the segment's schema`);
      return part.valueType;
    });
    return { types, homogeneous: false };
  }
  throw new SegmentProblem(`tuple attribute ${attribute.ident} has no tupleType, tupleTypes or tupleAttrs`);
}

/** How one attribute's values travel, with a label for messages: ':person/age (long)'. */
export interface AttributeCodec extends Codec {
  readonly attribute: Attribute;
  readonly label: string;
}

/**
 * A codec for every attribute, by id, for a format version. The schema must be valid (see
 * schema.ts). `wide` is called whenever a value needs version 2 (a long beyond 2^53).
 */
export function attributeCodecs(
  schema: readonly Attribute[],
  version: number,
  wide: () => void = () => undefined,
): Map<EntityId, AttributeCodec> {
  const codecOf = codecsOf(version, wide);
  const byIdent = new Map(schema.map((a) => [a.ident, a]));
  const codecs = new Map<EntityId, AttributeCodec>();
  for (const attribute of schema) {
    let codec: Codec;
    if (attribute.valueType === 'tuple') {
      const { types, homogeneous } = tupleElementTypes(attribute, byIdent);
      codec = tupleCodec(
        types.map((t) => {
          if (t === 'tuple') throw new SegmentProblem(`tuple attribute ${attribute.ident} has a tuple element`);
          return codecOf(t);
        }),
        homogeneous,
      );
    } else {
      codec = codecOf(attribute.valueType);
    }
    codecs.set(attribute.id, { ...codec, attribute, label: `${attribute.ident} (${attribute.valueType})` });
  }
  return codecs;
}
