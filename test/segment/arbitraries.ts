// fast-check generators for segments: attributes of every value type (tuples of all three
// kinds) and datoms whose values fit their attribute.
import fc from 'fast-check';
import type { Attribute, Scalar, TxDatom, Value, ValueType } from '../../src/db/types';
import type { SegmentInput } from '../../src/segment';
import { attribute } from './fixtures';

type ScalarType = Exclude<ValueType, 'tuple'>;
export const SCALAR_TYPES: ScalarType[] = [
  'string', 'keyword', 'boolean', 'long', 'bigint', 'double', 'bigdec', 'instant', 'uuid', 'uri', 'bytes', 'ref', 'float', 'symbol',
];

const WHOLE_AND_SPECIAL_DOUBLES = [1, 0, -0, -1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e300, NaN, Infinity, -Infinity, Number.MIN_VALUE];

function makeScalarArb(type: ScalarType): fc.Arbitrary<Scalar> {
  switch (type) {
    case 'string':
      return fc.string({ unit: 'binary', maxLength: 20 });
    case 'keyword':
      return fc.stringMatching(/^:[a-z][a-z0-9]{0,5}\/[a-z][a-z0-9.+*!?-]{0,8}$/);
    case 'boolean':
      return fc.boolean();
    case 'long':
      return fc.oneof(
        fc.integer(),
        fc.maxSafeInteger(),
        fc.constantFrom(0, -1, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
        fc.constantFrom(2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n, -9007199254740993n),
      );
    case 'float':
      return fc.oneof(fc.float(), fc.constantFrom(1, 0, -0, 2 ** 24, NaN, Infinity, -Infinity));
    case 'symbol':
      return fc.stringMatching(/^[a-z][a-z0-9]{0,5}(\/[a-z*+!?<>=-][a-z0-9.+*!?-]{0,8})?$/).filter((s) => !['nil', 'true', 'false'].includes(s));
    case 'bigint':
      return fc.oneof(fc.bigInt(), fc.bigInt({ min: -(2n ** 4000n), max: 2n ** 4000n }), fc.constantFrom(0n, -1n, 2n ** 64n, -(2n ** 64n)));
    case 'double':
      return fc.oneof(fc.double(), fc.constantFrom(...WHOLE_AND_SPECIAL_DOUBLES), fc.integer().map((n) => n * 1.0));
    case 'bigdec':
      return fc.stringMatching(/^[-+]?(\d{1,25}(\.\d{0,12})?|\.\d{1,12})([eE][-+]?\d{1,3})?$/);
    case 'instant':
      return fc.date({ noInvalidDate: true });
    case 'uuid':
      return fc.uuid().map((u) => u.toLowerCase());
    case 'uri':
      return fc.webUrl();
    case 'bytes':
      return fc.uint8Array({ maxLength: 40 });
    case 'ref':
      return fc.maxSafeNat();
  }
}

const SCALAR_ARBS = new Map(SCALAR_TYPES.map((t) => [t, makeScalarArb(t)]));

export function scalarArb(type: ScalarType): fc.Arbitrary<Scalar> {
  return SCALAR_ARBS.get(type)!;
}

function valueArb(a: Attribute, byIdent: Map<string, Attribute>): fc.Arbitrary<Value> {
  if (a.valueType !== 'tuple') return scalarArb(a.valueType);
  const element = (t: ValueType) => fc.option(scalarArb(t as ScalarType), { nil: null });
  if (a.tupleType) return fc.array(element(a.tupleType), { maxLength: 6 });
  const types = a.tupleTypes ?? a.tupleAttrs!.map((ident) => byIdent.get(ident)!.valueType);
  return fc.tuple(...types.map(element));
}

const flags = fc.record({
  cardinality: fc.constantFrom('one' as const, 'many' as const),
  unique: fc.constantFrom(null, 'identity' as const, 'value' as const),
  isComponent: fc.boolean(),
  noHistory: fc.boolean(),
});

/** One attribute per scalar type, then homogeneous, heterogeneous and composite tuples. */
export const schemaArb: fc.Arbitrary<Attribute[]> = fc
  .tuple(
    fc.array(flags, { minLength: SCALAR_TYPES.length, maxLength: SCALAR_TYPES.length }),
    fc.array(fc.constantFrom(...SCALAR_TYPES), { minLength: 1, maxLength: 2 }),
    fc.array(fc.array(fc.constantFrom(...SCALAR_TYPES), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 2 }),
    fc.array(fc.shuffledSubarray(SCALAR_TYPES, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 2 }),
  )
  .map(([scalarFlags, homogeneous, heterogeneous, composite]) => {
    const scalars = SCALAR_TYPES.map((t, i) => attribute(100 + i, `:scalar/${t}`, t, scalarFlags[i]));
    let id = 200;
    return [
      ...scalars,
      ...homogeneous.map((t) => attribute(id++, `:tuple/homogeneous-${id}`, 'tuple', { tupleType: t })),
      ...heterogeneous.map((ts) => attribute(id++, `:tuple/heterogeneous-${id}`, 'tuple', { tupleTypes: ts })),
      ...composite.map((ts) =>
        attribute(id++, `:tuple/composite-${id}`, 'tuple', { tupleAttrs: ts.map((t) => `:scalar/${t}`) }),
      ),
    ];
  });

export const segmentInputArb: fc.Arbitrary<SegmentInput> = schemaArb.chain((schema) => {
  const byIdent = new Map(schema.map((a) => [a.ident, a]));
  const datom: fc.Arbitrary<TxDatom> = fc.oneof(
    ...schema.map((a) => fc.tuple(fc.maxSafeNat(), fc.constant(a.id), valueArb(a, byIdent), fc.boolean())),
  );
  return fc
    .record({
      database: fc.string({ minLength: 1, maxLength: 12 }),
      startT: fc.integer({ min: 1, max: 2 ** 40 }),
      extraBasis: fc.nat(),
      createdAt: fc.integer({ min: 0, max: 2 ** 45 }),
      txs: fc.array(
        fc.record({ tx: fc.maxSafeNat(), instant: fc.date({ noInvalidDate: true }), datoms: fc.array(datom, { maxLength: 8 }) }),
        { minLength: 1, maxLength: 4 },
      ),
    })
    .map(({ database, startT, extraBasis, createdAt, txs }) => {
      const endT = startT + txs.length - 1;
      return {
        database,
        startT,
        endT,
        sourceBasisT: endT + extraBasis,
        createdAt,
        schema,
        idents: [[20, ':db.type/string'] as [number, string]],
        transactions: txs.map((tx, i) => ({ t: startT + i, ...tx })),
      };
    });
});
