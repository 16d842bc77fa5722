// The segment format, versions 1 and 2: the transactions startT..endT of one source database.
// Version 2 adds the value types float and symbol and longs beyond 2^53 (values.ts); a
// segment that holds none of them is written as version 1, byte for byte as before.
//
// Bytes: gzip( CBOR( document ) ), checksummed with SHA-256 over the gzipped bytes.
// The document is a CBOR map:
//   header:       { format: 'txclone.segment', version: 1 or 2, database, startT, endT,
//                   txCount, datomCount, sourceBasisT, createdAt }
//   schema:       [ { id, ident, valueType, cardinality, unique, isComponent, noHistory,
//                     tupleAttrs, tupleType, tupleTypes }, ... ] by ascending id
//   idents:       [ [id, ident], ... ] by ascending id
//   transactions: [ [t, tx, instant ms, [ [e, a, v, added], ... ]], ... ] every t in order
// Values are written per their attribute's valueType (values.ts), so a segment cannot be
// read without its schema, and every datom's attribute is in it.
// With encryption keys, a SegmentCodec (codec.ts) seals these bytes in an envelope
// (envelope.ts); the functions here read and write the clear bytes.
import type { Attribute, EntityId, Transaction, TxDatom, Value } from '../db/types';
import { describe } from '../db/values';
import { checkCborSubset, createDecoder, createEncoder } from './cbor';
import { sha256Hex, verifyChecksum } from './checksum';
import { DEFAULT_GZIP_LEVEL, DEFAULT_MAX_DECOMPRESSED_BYTES, gunzip, gzip } from './compression';
import { isSealed, readSealedHeader } from './envelope';
import { SegmentDecodeError, SegmentEncodeError, SegmentKeyError, SegmentProblem } from './errors';
import {
  SEGMENT_FORMAT,
  SEGMENT_VERSION,
  SEGMENT_VERSIONS,
  describeIssues,
  type SegmentVersion,
  documentSchema,
  headerSchema,
  identsSchema,
  schemaSchema,
} from './schema';
import { VERSION_1_TYPES, attributeCodecs, type AttributeCodec } from './values';

export { SEGMENT_FORMAT, SEGMENT_VERSION, SEGMENT_VERSIONS, type SegmentVersion } from './schema';

/** A segment's header: format, version, database and t range, and its counts. */
export interface SegmentHeader {
  format: typeof SEGMENT_FORMAT;
  /** 1, or 2 when the segment holds a float or symbol attribute or a long beyond 2^53. */
  version: SegmentVersion;
  /** The source database's name. */
  database: string;
  startT: number;
  endT: number;
  txCount: number;
  datomCount: number;
  /** The source's basis t when the segment was written. */
  sourceBasisT: number;
  /** When the segment was written, ms since the epoch. */
  createdAt: number;
}

/** A decoded segment: header, the schema its datoms use, idents, and transactions. */
export interface Segment {
  header: SegmentHeader;
  /** Every attribute the datoms use (and the parts of composite tuples), by ascending id. */
  schema: Attribute[];
  /** Built-in entities the datoms refer to, [id, ident], by ascending id. */
  idents: Array<[EntityId, string]>;
  /** Every t of startT..endT, once, in order. */
  transactions: Transaction[];
}

/** What encodeSegment takes: the database, range and transactions, with the schema they use. */
export interface SegmentInput {
  database: string;
  startT: number;
  endT: number;
  sourceBasisT: number;
  /** Ms since the epoch; now when absent. */
  createdAt?: number;
  /** Every attribute the datoms use, in any order; a Map's values() will do. */
  schema: Iterable<Attribute>;
  /** Built-in entities the datoms refer to; a Map<EntityId, string> will do. */
  idents: Iterable<readonly [EntityId, string]>;
  /** Exactly the transactions startT..endT, in order. */
  transactions: readonly Transaction[];
}

/** Options of encodeSegment. */
export interface EncodeOptions {
  /** gzip level 0..9; DEFAULT_GZIP_LEVEL (5) when absent. */
  level?: number;
  /** How errors name the segment; 'database startT..endT' when absent. */
  name?: string;
}

/** A segment's bytes and their SHA-256. */
export interface EncodedSegment {
  /** The segment's bytes: what the store holds. */
  bytes: Buffer;
  /** SHA-256 of bytes, lowercase hexadecimal. */
  sha256: string;
  header: SegmentHeader;
  txCount: number;
  datomCount: number;
  /** Size of the CBOR before gzip. */
  uncompressedBytes: number;
}

/** Options of decodeSegment. */
export interface DecodeOptions {
  /** How errors name the segment: its store key or its range. */
  name: string;
  /** Refuse a segment that decompresses to more than this; 512 MiB when absent. */
  maxDecompressedBytes?: number;
  /** When given, the bytes must have this SHA-256 (hex) or SegmentChecksumError is thrown first. */
  sha256?: string;
}

/** A number as itself, anything else with its type. */
const show = (x: unknown): string => (typeof x === 'number' ? String(x) : describe(x));

const isEntityId = (x: unknown): x is EntityId => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function attributeRow(a: Attribute): Attribute {
  // A fresh object in a fixed key order: equal schemas give equal bytes.
  return {
    id: a.id,
    ident: a.ident,
    valueType: a.valueType,
    cardinality: a.cardinality,
    unique: a.unique,
    isComponent: a.isComponent,
    noHistory: a.noHistory,
    tupleAttrs: a.tupleAttrs,
    tupleType: a.tupleType,
    tupleTypes: a.tupleTypes,
  };
}

/** Checks the input and writes it as a segment. Throws SegmentEncodeError naming t and attribute. */
export function encodeSegment(input: SegmentInput, options: EncodeOptions = {}): EncodedSegment {
  const encoded = encodeSegmentBytes(input, options);
  return { ...encoded, sha256: sha256Hex(encoded.bytes) };
}

/** encodeSegment without the checksum, for a caller that seals the bytes and hashes what it stores. */
export function encodeSegmentBytes(input: SegmentInput, options: EncodeOptions = {}): Omit<EncodedSegment, 'sha256'> {
  const name = options.name ?? `${input.database} ${input.startT}..${input.endT}`;
  const refuse = (problem: string, cause?: unknown) => new SegmentEncodeError(name, problem, { cause });

  const schemaParsed = schemaSchema.safeParse([...input.schema].map(attributeRow).sort((x, y) => x.id - y.id));
  if (!schemaParsed.success) throw refuse(describeIssues(schemaParsed.error, 'schema'));
  const schema = schemaParsed.data;
  const identsParsed = identsSchema.safeParse([...input.idents].map(([id, ident]): [EntityId, string] => [id, ident]).sort((x, y) => x[0] - y[0]));
  if (!identsParsed.success) throw refuse(describeIssues(identsParsed.error, 'idents'));

  const { transactions, startT, endT } = input;
  if (!Number.isSafeInteger(startT) || !Number.isSafeInteger(endT) || endT < startT)
    throw refuse(`${show(startT)}..${show(endT)} is not a range of t`);
  const headerParsed = headerSchema.safeParse({
    format: SEGMENT_FORMAT,
    version: schema.every((a) => VERSION_1_TYPES.has(a.valueType) && (a.tupleTypes ?? [a.tupleType]).every((t) => t === null || VERSION_1_TYPES.has(t))) ? 1 : SEGMENT_VERSION,
    database: input.database,
    startT,
    endT,
    txCount: endT - startT + 1,
    datomCount: 0, // counted below
    sourceBasisT: input.sourceBasisT,
    createdAt: input.createdAt ?? Date.now(),
  });
  if (!headerParsed.success) throw refuse(describeIssues(headerParsed.error, 'header'));
  const header = headerParsed.data;
  if (transactions.length === 0) throw refuse('has no transactions (an empty segment is not valid)');
  let codecs: Map<EntityId, AttributeCodec>;
  try {
    // Written with version 2's codecs; a long beyond 2^53 makes a version-1 segment version 2.
    codecs = attributeCodecs(schema, SEGMENT_VERSION, () => (header.version = SEGMENT_VERSION));
  } catch (e) {
    throw refuse(`schema: ${(e as Error).message}`, e);
  }

  const rows = new Array<unknown>(transactions.length);
  for (let i = 0; i < transactions.length; i++) {
    const { t, tx, instant, datoms } = transactions[i]!;
    if (t !== startT + i)
      throw refuse(`transaction ${i} has t=${show(t)}, expected t=${startT + i} (every t of ${startT}..${endT} once, in order)`);
    if (!isEntityId(tx)) throw refuse(`transaction t=${t}: tx ${show(tx)} is not an entity id`);
    if (!(instant instanceof Date) || Number.isNaN(instant.getTime()))
      throw refuse(`transaction t=${t}: instant ${describe(instant)} is not a valid Date`);
    if (!Array.isArray(datoms)) throw refuse(`transaction t=${t}: datoms ${describe(datoms)} is not an array`);
    try {
      rows[i] = [t, tx, instant.getTime(), encodeDatoms(datoms, codecs)];
    } catch (e) {
      if (e instanceof SegmentProblem) throw refuse(`transaction t=${t} ${e.message}`, e);
      throw e;
    }
    header.datomCount += datoms.length;
  }
  if (transactions.length !== header.txCount)
    throw refuse(`holds t ${startT}..${startT + transactions.length - 1}, expected ${startT}..${endT}`);

  const cbor = createEncoder().encode({ header, schema, idents: identsParsed.data, transactions: rows });
  const bytes = gzip(cbor, options.level ?? DEFAULT_GZIP_LEVEL);
  return {
    bytes,
    header,
    txCount: header.txCount,
    datomCount: header.datomCount,
    uncompressedBytes: cbor.length,
  };
}

/** The CBOR form of one transaction's datoms; a datom needing no conversion is written as it is. */
function encodeDatoms(datoms: readonly TxDatom[], codecs: ReadonlyMap<EntityId, AttributeCodec>): unknown[] {
  const out = new Array<unknown>(datoms.length);
  for (let i = 0; i < datoms.length; i++) {
    const d = datoms[i] as unknown;
    if (!Array.isArray(d) || d.length !== 4) throw new SegmentProblem(`datom ${i}: ${describe(d)} is not [e, a, v, added]`);
    const e: unknown = d[0];
    const a: unknown = d[1];
    const added: unknown = d[3];
    if (!isEntityId(e)) throw new SegmentProblem(`datom ${i}: entity ${show(e)} is not an entity id`);
    const codec = codecs.get(a as EntityId);
    if (codec === undefined) throw new SegmentProblem(`datom ${i}: attribute ${show(a)} is not in the segment's schema`);
    if (typeof added !== 'boolean') throw new SegmentProblem(`datom ${i}: added ${describe(added)} is not a boolean`);
    let v: unknown;
    try {
      v = codec.toCbor(d[2]);
    } catch (err) {
      if (err instanceof SegmentProblem) throw new SegmentProblem(`datom ${i}: value for ${codec.label} ${err.message}`);
      throw err;
    }
    out[i] = codec.identity ? d : [e, a, v, added];
  }
  return out;
}

/**
 * Reads a clear segment's bytes. Anything but a complete, valid segment of this format version
 * throws SegmentDecodeError naming the segment and the problem; nothing partial is returned.
 * Sealed bytes are refused with SegmentKeyError: a SegmentCodec (codec.ts) opens them.
 */
export function decodeSegment(bytes: Uint8Array, options: DecodeOptions): Segment {
  const { name } = options;
  if (options.sha256 !== undefined) verifyChecksum(bytes, options.sha256, name);
  if (bytes instanceof Uint8Array && isSealed(bytes)) {
    const { keyId } = readSealedHeader(bytes, name).header;
    throw new SegmentKeyError(name, keyId, 'missing', `is sealed with key "${keyId}": read it through a SegmentCodec holding the key ring`);
  }
  try {
    return readSegment(bytes, options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  } catch (e) {
    if (e instanceof SegmentProblem) throw new SegmentDecodeError(name, e.message, { cause: e });
    // Anything else (a RangeError from a decoder deep down, say) still means a bad segment.
    throw new SegmentDecodeError(name, `does not decode: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function readSegment(bytes: Uint8Array, maxBytes: number): Segment {
  if (!(bytes instanceof Uint8Array)) throw new SegmentProblem(`is ${describe(bytes)}, not bytes`);
  const cbor = gunzip(bytes, maxBytes);
  checkCborSubset(cbor);
  let document: unknown;
  try {
    document = createDecoder().decode(cbor);
  } catch (e) {
    throw new SegmentProblem(`CBOR does not decode (${e instanceof Error ? e.message : String(e)})`);
  }
  checkFormat(document);
  const parsed = documentSchema.safeParse(document);
  if (!parsed.success) throw new SegmentProblem(describeIssues(parsed.error));
  const { header, schema, idents, transactions: rows } = parsed.data;

  if (rows.length !== header.txCount)
    throw new SegmentProblem(`holds ${rows.length} transactions, the header says ${header.txCount}`);
  let datomCount = 0;
  for (let i = 0; i < rows.length; i++) {
    const t = rows[i]![0];
    if (t !== header.startT + i)
      throw new SegmentProblem(`transaction ${i} has t=${t}, expected t=${header.startT + i} (every t of ${header.startT}..${header.endT} once, in order)`);
    datomCount += rows[i]![3].length;
  }
  if (datomCount !== header.datomCount)
    throw new SegmentProblem(`holds ${datomCount} datoms, the header says ${header.datomCount}`);

  const codecs = attributeCodecs(schema, header.version);
  const transactions = new Array<Transaction>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [t, tx, instant, datoms] = rows[i]!;
    try {
      decodeDatoms(datoms, codecs);
    } catch (e) {
      if (e instanceof SegmentProblem) throw new SegmentProblem(`transaction t=${t} ${e.message}`);
      throw e;
    }
    transactions[i] = { t, tx, instant: new Date(instant), datoms: datoms as TxDatom[] };
  }
  return { header, schema, idents, transactions };
}

/** A foreign file or another version gets its own message, before zod looks at the details. */
function checkFormat(document: unknown): void {
  const header: unknown = isRecord(document) ? document['header'] : undefined;
  if (!isRecord(header)) throw new SegmentProblem('is not a txclone segment (no header)');
  if (header['format'] !== SEGMENT_FORMAT)
    throw new SegmentProblem(`is not a txclone segment (format ${describe(header['format'])})`);
  if (!SEGMENT_VERSIONS.includes(header['version'] as number))
    throw new SegmentProblem(
      `has format version ${show(header['version'])}, this txclone reads versions ${SEGMENT_VERSIONS.join(' and ')} (a newer txclone wrote it?)`,
    );
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Checks and converts each datom's value in place (the arrays are the decoder's own). */
function decodeDatoms(datoms: unknown[], codecs: ReadonlyMap<EntityId, AttributeCodec>): void {
  for (let i = 0; i < datoms.length; i++) {
    const d = datoms[i];
    if (!Array.isArray(d) || d.length !== 4) throw new SegmentProblem(`datom ${i}: ${describe(d)} is not [e, a, v, added]`);
    const e: unknown = d[0];
    const a: unknown = d[1];
    if (!isEntityId(e)) throw new SegmentProblem(`datom ${i}: entity ${show(e)} is not an entity id`);
    const codec = codecs.get(a as EntityId);
    if (codec === undefined) throw new SegmentProblem(`datom ${i}: attribute ${show(a)} is not in the segment's schema`);
    if (typeof d[3] !== 'boolean') throw new SegmentProblem(`datom ${i}: added ${describe(d[3])} is not a boolean`);
    let v: Value;
    try {
      v = codec.fromCbor(d[2]);
    } catch (err) {
      if (err instanceof SegmentProblem) throw new SegmentProblem(`datom ${i}: value for ${codec.label} ${err.message}`);
      throw err;
    }
    d[2] = v;
  }
}
