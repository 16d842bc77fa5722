// Zod schemas for a segment's document (format version 1) as it comes out of CBOR: the
// header, the attributes, the idents and the shape of each transaction row. Datom values
// are checked by values.ts, which knows each attribute's type.
import { z } from 'zod';
import { VALUE_TYPES, type ValueType } from '../db/types';
import { KEYWORD } from './values';

/** The format name every segment's header carries. */
export const SEGMENT_FORMAT = 'txclone.segment';
/**
 * The newest format version. A segment is written in version 1 unless it holds what only
 * version 2 can (a float or symbol attribute, a long beyond 2^53), so that segments without
 * them keep the bytes every earlier txclone wrote; a reader takes both.
 */
export const SEGMENT_VERSION = 2;
/** The format versions this release reads. */
export const SEGMENT_VERSIONS: readonly number[] = [1, 2];
/** A segment's format version. */
export type SegmentVersion = 1 | 2;

const entityId = z.int().min(0);
const keyword = z.string().regex(KEYWORD, "expected a keyword like ':ns/name'");
const valueType = z.enum(VALUE_TYPES as readonly ValueType[] as [ValueType, ...ValueType[]]);
const scalarType = valueType.refine((t) => t !== 'tuple', 'a tuple element cannot be a tuple');

export const attributeSchema = z
  .strictObject({
    id: entityId,
    ident: keyword,
    valueType,
    cardinality: z.enum(['one', 'many']),
    unique: z.enum(['identity', 'value']).nullable(),
    isComponent: z.boolean(),
    noHistory: z.boolean(),
    tupleAttrs: z.array(keyword).min(1).nullable(),
    tupleType: scalarType.nullable(),
    tupleTypes: z.array(scalarType).min(1).nullable(),
  })
  .superRefine((a, ctx) => {
    const kinds = [a.tupleAttrs, a.tupleType, a.tupleTypes].filter((k) => k !== null).length;
    if (a.valueType === 'tuple' && kinds !== 1)
      ctx.addIssue({ code: 'custom', message: `tuple attribute ${a.ident} needs exactly one of tupleAttrs, tupleType, tupleTypes` });
    if (a.valueType !== 'tuple' && kinds !== 0)
      ctx.addIssue({ code: 'custom', message: `${a.ident} is not a tuple but has tupleAttrs, tupleType or tupleTypes` });
  });

/** The attributes, each id and ident once; a composite tuple's parts are in the list and are not tuples. */
export const schemaSchema = z.array(attributeSchema).superRefine((attributes, ctx) => {
  const ids = new Set<number>();
  const byIdent = new Map<string, ValueType>();
  attributes.forEach((a, i) => {
    if (ids.has(a.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `attribute id ${a.id} appears twice` });
    if (byIdent.has(a.ident)) ctx.addIssue({ code: 'custom', path: [i, 'ident'], message: `attribute ${a.ident} appears twice` });
    ids.add(a.id);
    byIdent.set(a.ident, a.valueType);
  });
  attributes.forEach((a, i) => {
    for (const part of a.tupleAttrs ?? []) {
      const type = byIdent.get(part);
      if (type === undefined)
        ctx.addIssue({ code: 'custom', path: [i, 'tupleAttrs'], message: `composite tuple ${a.ident} names ${part}, which is not in the segment's schema` });
      else if (type === 'tuple')
        ctx.addIssue({ code: 'custom', path: [i, 'tupleAttrs'], message: `composite tuple ${a.ident} names ${part}, a tuple` });
    }
  });
});

/** Built-in entities the datoms refer to: [id, ident] pairs, each id once. */
export const identsSchema = z.array(z.tuple([entityId, keyword])).superRefine((pairs, ctx) => {
  const ids = new Set<number>();
  pairs.forEach(([id], i) => {
    if (ids.has(id)) ctx.addIssue({ code: 'custom', path: [i, 0], message: `entity ${id} appears twice` });
    ids.add(id);
  });
});

export const headerSchema = z
  .strictObject({
    format: z.literal(SEGMENT_FORMAT),
    version: z.union([z.literal(1), z.literal(2)]),
    database: z.string().min(1),
    startT: z.int().min(1),
    endT: z.int().min(1),
    txCount: z.int().min(1),
    datomCount: z.int().min(0),
    sourceBasisT: z.int().min(0),
    /** When the segment was written, ms since the epoch (a producer may use the last tx's instant). */
    createdAt: z.int().min(-8.64e15).max(8.64e15),
  })
  .superRefine((h, ctx) => {
    if (h.endT < h.startT) ctx.addIssue({ code: 'custom', path: ['endT'], message: `endT ${h.endT} is before startT ${h.startT}` });
    else if (h.txCount !== h.endT - h.startT + 1)
      ctx.addIssue({ code: 'custom', path: ['txCount'], message: `txCount ${h.txCount} does not match the range ${h.startT}..${h.endT}` });
    if (h.sourceBasisT < h.endT)
      ctx.addIssue({ code: 'custom', path: ['sourceBasisT'], message: `sourceBasisT ${h.sourceBasisT} is before endT ${h.endT}` });
  });

/** [t, tx, instant ms, datoms]; each datom [e, a, v, added] is checked against its attribute. */
export const transactionRowSchema = z.tuple([
  z.int().min(1),
  entityId,
  z.int().min(-8.64e15).max(8.64e15),
  z.custom<unknown[]>((x) => Array.isArray(x), 'expected an array of datoms'),
]);

export const documentSchema = z.strictObject({
  header: headerSchema,
  schema: schemaSchema,
  idents: identsSchema,
  transactions: z.array(transactionRowSchema),
});

export type SegmentDocument = z.infer<typeof documentSchema>;

/** The first problem zod found, with where: 'header.endT: endT 3 is before startT 5'. */
export function describeIssues(error: z.ZodError, root?: string): string {
  const [first, ...rest] = error.issues;
  if (!first) return 'is invalid';
  const path = root === undefined ? first.path : [root, ...first.path];
  const where = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  return `${where ? `${where}: ` : ''}${first.message}${more}`;
}
