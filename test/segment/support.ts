// Helpers shared by the segment tests.
import type { Attribute, Value, ValueType } from '../../src/db/types';
import type { Segment, SegmentInput } from '../../src/segment';
import { tupleElementTypes } from '../../src/segment/values';

/** The encoder's input that gives back a decoded segment's bytes. */
export function inputOf(segment: Segment): SegmentInput {
  const { database, startT, endT, sourceBasisT, createdAt } = segment.header;
  const { schema, idents, transactions } = segment;
  return { database, startT, endT, sourceBasisT, createdAt, schema, idents, transactions };
}

/** An exact text for a value that fails unless the JS type fits the value type: 1 and 1.0, -0 and 0 differ. */
export function exact(type: ValueType, v: unknown, attribute?: Attribute, schema: Attribute[] = []): string {
  const fail = (): never => {
    throw new Error(`${type} value has the wrong JS type: ${String(v)} (${typeof v})`);
  };
  switch (type) {
    case 'string':
    case 'uri':
    case 'keyword':
    case 'symbol':
    case 'bigdec':
    case 'uuid':
      return typeof v === 'string' ? `${type}:${JSON.stringify(v)}` : fail();
    case 'boolean':
      return typeof v === 'boolean' ? `${type}:${v}` : fail();
    case 'long':
      if (typeof v === 'bigint' && (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))) return `${type}:${v}`;
      return typeof v === 'number' && Number.isSafeInteger(v) ? `${type}:${v}` : fail();
    case 'ref':
      return typeof v === 'number' && Number.isSafeInteger(v) ? `${type}:${v}` : fail();
    case 'float':
      return typeof v === 'number' && (Number.isNaN(v) || Math.fround(v) === v) ? `${type}:${Object.is(v, -0) ? '-0' : String(v)}` : fail();
    case 'bigint':
      return typeof v === 'bigint' ? `${type}:${v.toString(16)}` : fail();
    case 'double':
      return typeof v === 'number' ? `${type}:${Object.is(v, -0) ? '-0' : String(v)}` : fail();
    case 'instant':
      return v instanceof Date ? `${type}:${v.getTime()}` : fail();
    case 'bytes':
      return v instanceof Uint8Array && Object.getPrototypeOf(v) === Uint8Array.prototype
        ? `${type}:${Buffer.from(v).toString('hex')}`
        : fail();
    case 'tuple': {
      if (!Array.isArray(v) || !attribute) return fail();
      const { types, homogeneous } = tupleElementTypes(attribute, new Map(schema.map((a) => [a.ident, a])));
      return `[${v.map((el, i) => (el === null ? 'nil' : exact(types[homogeneous ? 0 : i]!, el))).join(' ')}]`;
    }
  }
}

/** Every datom of a segment as exact text, [t tx instant e a v added]. */
export function exactDatoms(input: Pick<SegmentInput, 'schema' | 'transactions'>): string[] {
  const schema = [...input.schema];
  const byId = new Map(schema.map((a) => [a.id, a]));
  const out: string[] = [];
  for (const { t, tx, instant, datoms } of input.transactions) {
    for (const [e, a, v, added] of datoms) {
      const attribute = byId.get(a)!;
      out.push(`${t} ${tx} ${instant.getTime()} ${e} ${a} ${exact(attribute.valueType, v as Value, attribute, schema)} ${added}`);
    }
  }
  return out;
}
