/**
 * Mutations of real segments, reproducible from a seed: the stored (gzip) bytes damaged the
 * way disks, networks and careless tools damage files, and the decoded CBOR document changed
 * the way a buggy or hostile producer would write it (then encoded and gzipped again, so
 * the bytes are well-formed and only the structure is wrong).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { createDecoder, createEncoder } from '../../src/segment/cbor';
import { prng } from '../../src/workload';

export type MutationLayer = 'bytes' | 'structure';

export interface Mutation {
  readonly layer: MutationLayer;
  /** What was done, for messages: `bit 3 of byte 120 flipped`, `transactions[2][3][0][1] = -1`. */
  readonly what: string;
  readonly bytes: Uint8Array;
}

export interface Mutator {
  /** One mutation of `bytes` (a clear segment's stored bytes); `others` are other segments' bytes. */
  mutate(bytes: Uint8Array, others: readonly Uint8Array[]): Mutation;
}

type Path = Array<string | number>;

export function mutator(seed: number): Mutator {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

  const byteMutations: Array<(b: Buffer, others: readonly Uint8Array[]) => [string, Uint8Array]> = [
    (b) => {
      const i = int(b.length);
      const bit = int(8);
      const out = Buffer.from(b);
      out[i]! ^= 1 << bit;
      return [`bit ${bit} of byte ${i} flipped`, out];
    },
    (b) => {
      const i = int(b.length);
      const out = Buffer.from(b);
      out[i] = int(256);
      return [`byte ${i} set to ${out[i]}`, out];
    },
    (b) => {
      const n = int(b.length);
      return [`truncated to ${n} of ${b.length} bytes`, b.subarray(0, n)];
    },
    (b) => {
      const n = 1 + int(64);
      return [`${n} random bytes appended`, Buffer.concat([b, randomBytes(n)])];
    },
    (b) => {
      const i = int(b.length);
      const n = 1 + int(Math.min(256, b.length - i));
      return [`bytes ${i}..${i + n - 1} deleted`, Buffer.concat([b.subarray(0, i), b.subarray(i + n)])];
    },
    (b) => {
      const i = int(b.length);
      const n = 1 + int(Math.min(256, b.length - i));
      return [`bytes ${i}..${i + n - 1} repeated`, Buffer.concat([b.subarray(0, i + n), b.subarray(i)])];
    },
    (b) => {
      const i = int(b.length);
      const n = 1 + int(Math.min(512, b.length - i));
      const out = Buffer.from(b);
      out.fill(0, i, i + n);
      return [`bytes ${i}..${i + n - 1} zeroed`, out];
    },
    (b) => {
      const i = int(b.length);
      const n = 1 + int(Math.min(64, b.length - i));
      const out = Buffer.from(b);
      randomBytes(n).copy(out, i);
      return [`bytes ${i}..${i + n - 1} overwritten at random`, out];
    },
    (_b, others) => {
      const i = int(others.length);
      return [`replaced by segment ${i} of another range`, others[i]!];
    },
  ];

  // Values a structural mutation puts in place of another: every CBOR type a segment uses, and some it does not.
  const values: Array<() => [string, unknown]> = [
    () => ['null', null],
    () => ['true', true],
    () => ['false', false],
    () => ['0', 0],
    () => ['-1', -1],
    () => ['1.5', 1.5],
    () => ['NaN', Number.NaN],
    () => ['Infinity', Number.POSITIVE_INFINITY],
    () => ['2^53', 2 ** 53],
    () => ['2^64 (bigint)', 2n ** 64n],
    () => {
      const n = int(100_000);
      return [String(n), n];
    },
    () => ['""', ''],
    () => ['":db/ident"', ':db/ident'],
    () => ['":no/such"', ':no/such'],
    () => ['"x"', 'x'],
    () => ['[]', []],
    () => ['[1, 2, 3, 4]', [1, 2, 3, 4]],
    () => ['{}', {}],
    () => ['bytes', new Uint8Array([1, 2, 3])],
  ];

  const isContainer = (x: unknown): x is Record<string, unknown> | unknown[] => typeof x === 'object' && x !== null && !(x instanceof Uint8Array);
  const keysOf = (x: Record<string, unknown> | unknown[]): Array<string | number> => (Array.isArray(x) ? x.map((_, i) => i) : Object.keys(x));

  /** A random path: down from the document, stopping at random (deeper is likelier). */
  const randomPath = (document: unknown): Path => {
    const path: Path = [];
    let at: unknown = document;
    for (;;) {
      if (!isContainer(at)) return path;
      const keys = keysOf(at);
      if (keys.length === 0) return path;
      if (path.length > 0 && random() < 0.2) return path;
      const key = pick(keys);
      path.push(key);
      at = (at as Record<string | number, unknown>)[key];
    }
  };

  const get = (document: unknown, path: Path): unknown => path.reduce<unknown>((at, k) => (at as Record<string | number, unknown>)[k], document);
  const show = (path: Path) => path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('') || '(document)';

  const structureMutations: Array<(document: Record<string, unknown>) => string | null> = [
    (d) => {
      const path = randomPath(d);
      if (path.length === 0) return null;
      const parent = get(d, path.slice(0, -1)) as Record<string | number, unknown>;
      const [label, value] = pick(values)();
      parent[path[path.length - 1]!] = value;
      return `${show(path)} = ${label}`;
    },
    (d) => {
      const path = randomPath(d);
      if (path.length === 0) return null;
      const parent = get(d, path.slice(0, -1)) as Record<string | number, unknown> | unknown[];
      const key = path[path.length - 1]!;
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      return `${show(path)} deleted`;
    },
    (d) => {
      const path = randomPath(d);
      if (path.length === 0) return null;
      const parent = get(d, path.slice(0, -1));
      const key = path[path.length - 1]!;
      if (!Array.isArray(parent)) return null;
      parent.splice(key as number, 0, structuredClone(parent[key as number]));
      return `${show(path)} repeated`;
    },
    (d) => {
      const path = randomPath(d);
      if (path.length === 0) return null;
      const parent = get(d, path.slice(0, -1));
      if (!Array.isArray(parent) || parent.length < 2) return null;
      const i = path[path.length - 1] as number;
      const j = int(parent.length);
      [parent[i], parent[j]] = [parent[j], parent[i]];
      return `${show(path)} swapped with [${j}]`;
    },
    (d) => {
      const path = randomPath(d);
      const value = get(d, path);
      if (typeof value !== 'number' || path.length === 0) return null;
      const parent = get(d, path.slice(0, -1)) as Record<string | number, unknown>;
      const delta = pick([-1, 1, 1000, -1000]);
      parent[path[path.length - 1]!] = value + delta;
      return `${show(path)} ${delta > 0 ? '+' : ''}${delta}`;
    },
    (d) => {
      // The header's fields, which say where the segment belongs and what it holds.
      const header = d['header'] as Record<string, unknown> | undefined;
      if (!isContainer(header)) return null;
      const field = pick(['database', 'startT', 'endT', 'txCount', 'datomCount', 'sourceBasisT', 'createdAt', 'format', 'version']);
      const [label, value] = pick([
        ...values,
        () => ['"other"', 'other'] as [string, unknown],
        () => [`${String(header[field])} + 1`, typeof header[field] === 'number' ? (header[field] as number) + 1 : 1] as [string, unknown],
      ])();
      header[field] = value;
      return `header.${field} = ${label}`;
    },
    (d) => {
      // A datom's entity, attribute, value or added flag.
      const txs = d['transactions'];
      if (!Array.isArray(txs) || txs.length === 0) return null;
      const ti = int(txs.length);
      const datoms = (txs[ti] as unknown[] | undefined)?.[3];
      if (!Array.isArray(datoms) || datoms.length === 0) return null;
      const di = int(datoms.length);
      const datom = datoms[di];
      if (!Array.isArray(datom)) return null;
      const part = int(4);
      const choices: Array<() => [string, unknown]> = [
        ...values,
        () => {
          // Another datom's part at the same place: a plausible value of another attribute.
          const other = pick(datoms) as unknown[];
          return [`the same part of another datom`, Array.isArray(other) ? other[part] : null];
        },
      ];
      const [label, value] = pick(choices)();
      datom[part] = value;
      return `transactions[${ti}][3][${di}][${part}] = ${label}`;
    },
    (d) => {
      // A schema attribute's definition: type, cardinality, uniqueness, ident, tuple parts.
      const schema = d['schema'];
      if (!Array.isArray(schema) || schema.length === 0) return null;
      const i = int(schema.length);
      const attr = schema[i] as Record<string, unknown>;
      if (!isContainer(attr) || Array.isArray(attr)) return null;
      const field = pick(['id', 'ident', 'valueType', 'cardinality', 'unique', 'isComponent', 'noHistory', 'tupleAttrs', 'tupleType', 'tupleTypes']);
      const [label, value] = pick([
        ...values,
        () => ['"ref"', 'ref'] as [string, unknown],
        () => ['"long"', 'long'] as [string, unknown],
        () => ['"string"', 'string'] as [string, unknown],
        () => ['"many"', 'many'] as [string, unknown],
        () => ['"identity"', 'identity'] as [string, unknown],
        () => ['"value"', 'value'] as [string, unknown],
        () => ['another attribute\'s id', (pick(schema) as Record<string, unknown>)['id']] as [string, unknown],
        () => ['another attribute\'s ident', (pick(schema) as Record<string, unknown>)['ident']] as [string, unknown],
      ])();
      attr[field] = value;
      return `schema[${i}].${field} = ${label}`;
    },
  ];

  return {
    mutate(bytes, others) {
      if (random() < 0.5) {
        const [what, out] = pick(byteMutations)(Buffer.from(bytes), others);
        return { layer: 'bytes', what, bytes: out };
      }
      const cbor = gunzipSync(bytes);
      for (;;) {
        const document = createDecoder().decode(cbor) as Record<string, unknown>;
        const what = pick(structureMutations)(document);
        if (what === null) continue;
        let encoded: Uint8Array;
        try {
          encoded = createEncoder().encode(document);
        } catch {
          continue; // not representable in CBOR (cannot happen with the values above, but a mutation is not a test of cbor-x)
        }
        return { layer: 'structure', what, bytes: gzipSync(encoded, { level: 1 }) };
      }
    },
  };
}
