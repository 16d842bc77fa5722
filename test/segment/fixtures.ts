// A small segment using every value type, shared by the segment tests.
import type { Attribute, Transaction, ValueType } from '../../src/db/types';
import type { SegmentInput } from '../../src/segment';

export function attribute(id: number, ident: string, valueType: ValueType, extra: Partial<Attribute> = {}): Attribute {
  return {
    id,
    ident,
    valueType,
    cardinality: 'one',
    unique: null,
    isComponent: false,
    noHistory: false,
    tupleAttrs: null,
    tupleType: null,
    tupleTypes: null,
    ...extra,
  };
}

export const SCHEMA: Attribute[] = [
  attribute(1, ':db/ident', 'keyword', { unique: 'identity' }),
  attribute(2, ':db/valueType', 'ref'),
  attribute(12, ':db/txInstant', 'instant'),
  attribute(100, ':person/name', 'string', { unique: 'identity' }),
  attribute(101, ':person/status', 'keyword'),
  attribute(102, ':person/active', 'boolean'),
  attribute(103, ':person/age', 'long'),
  attribute(104, ':person/big', 'bigint'),
  attribute(105, ':person/score', 'double', { cardinality: 'many' }),
  attribute(106, ':person/balance', 'bigdec', { noHistory: true }),
  attribute(107, ':person/born', 'instant'),
  attribute(108, ':person/uuid', 'uuid'),
  attribute(109, ':person/site', 'uri'),
  attribute(110, ':person/photo', 'bytes'),
  attribute(111, ':person/friend', 'ref', { cardinality: 'many', isComponent: true }),
  attribute(112, ':person/scores', 'tuple', { tupleType: 'double' }),
  attribute(113, ':person/pair', 'tuple', { tupleTypes: ['string', 'bigint'] }),
  attribute(114, ':person/name+age', 'tuple', { tupleAttrs: [':person/name', ':person/age'] }),
];

export const IDENTS: Array<[number, string]> = [
  [20, ':db.type/string'],
  [23, ':db.type/long'],
];

export function transactions(): Transaction[] {
  const instant = (ms: number) => new Date(Date.UTC(2024, 0, 1) + ms);
  return [
    {
      t: 5,
      tx: 5000,
      instant: instant(1),
      datoms: [
        [5000, 12, instant(1), true],
        [1000, 1, ':person/nickname', true],
        [1000, 2, 20, true],
      ],
    },
    {
      t: 6,
      tx: 5001,
      instant: instant(2),
      datoms: [
        [5001, 12, instant(2), true],
        [2000, 100, 'Ann \u00e9\u{1F600}', true],
        [2000, 101, ':status/active', true],
        [2000, 102, false, true],
        [2000, 103, -42, true],
        [2000, 104, -(10n ** 40n) - 7n, true],
        [2000, 105, 1.0, true],
        [2000, 105, -0, true],
        [2000, 105, NaN, true],
        [2000, 105, -Infinity, true],
        [2000, 106, '12.50', true],
        [2000, 107, new Date(-1), true],
        [2000, 108, '0b5f6c2e-6d1a-4d8e-9c1b-2a3f4e5d6c7b', true],
        [2000, 109, 'https://example.com/a?b=c', true],
        [2000, 110, new Uint8Array([0, 1, 2, 255]), true],
        [2000, 111, 17592186045418, true],
        [2000, 112, [1.0, null, 2.5], true],
        [2000, 113, ['x', 2n ** 70n], true],
        [2000, 114, ['Ann', 42], true],
      ],
    },
    {
      t: 7,
      tx: 5002,
      instant: instant(3),
      datoms: [
        [5002, 12, instant(3), true],
        [2000, 103, -42, false],
        [2000, 103, Number.MAX_SAFE_INTEGER, true],
      ],
    },
  ];
}

export function sampleInput(): SegmentInput {
  return {
    database: 'db1',
    startT: 5,
    endT: 7,
    sourceBasisT: 9,
    createdAt: Date.UTC(2024, 0, 2),
    schema: SCHEMA,
    idents: IDENTS,
    transactions: transactions(),
  };
}
