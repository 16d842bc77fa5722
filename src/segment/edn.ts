// A segment as readable EDN, for `txclone segments inspect`:
//
// {:format "txclone.segment"
//  :version 1
//  :database "db1"
//  :start-t 1 ... :created-at #inst "..."
//  :schema [{:db/id 72 :db/ident :person/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
//           ...]
//  :idents {20 :db.type/string ...}
//  :transactions [{:t 1 :tx 1001 :instant #inst "..."
//                  :datoms [[1001 :db/txInstant #inst "..." 1001 true]
//                           ...]}]}
//
// Datoms are [e :attribute value tx added]. Values by their attribute's type: keywords as
// keywords, instants #inst, uuids #uuid, bigint 123N, bigdec 12.50M, doubles always with a
// decimal point or exponent (1.0, -0.0, ##NaN, ##Inf, ##-Inf), bytes #txclone/base64 "…"
// (EDN wants user tags namespaced), uris as strings, tuples as vectors with nil for no value,
// floats like doubles (EDN has one floating-point form), symbols as symbols, and longs as
// integers without a suffix however large (a long is 64 bits; only a bigint has N).
// A ref to an entity with an ident (a built-in or an attribute) shows the ident keyword.
import { tagValue, toEDNString, toKeyword, toSymbol, type EDNVal } from 'edn-data';
import type { Attribute, EntityId, Value, ValueType } from '../db/types';
import type { Segment } from './format';
import { tupleElementTypes } from './values';

/** A segment as EDN text (idents for attribute ids), for reading by people. */
export function segmentToEdn(segment: Segment): string {
  const { header, schema, idents, transactions } = segment;
  const names = new Map<EntityId, string>(idents);
  for (const a of schema) names.set(a.id, a.ident);
  const attributes = new Map(schema.map((a) => [a.id, a]));
  const byIdent = new Map(schema.map((a) => [a.ident, a]));

  const value = (attribute: Attribute, v: Value): EDNVal => {
    if (attribute.valueType !== 'tuple') return scalar(attribute.valueType, v, names);
    const { types, homogeneous } = tupleElementTypes(attribute, byIdent);
    return (v as ReadonlyArray<Value | null>).map((el, i) => {
      const type = types[homogeneous ? 0 : i];
      return el === null ? null : type ? scalar(type, el, names) : fallback(el);
    });
  };

  const datom = ([e, a, v, added]: readonly [EntityId, EntityId, Value, boolean], tx: EntityId): string => {
    const attribute = attributes.get(a);
    const rendered = attribute ? value(attribute, v) : fallback(v);
    return toEDNString([e, attribute ? keyword(attribute.ident) : a, rendered, tx, added]);
  };

  const entries: Array<[string, string]> = [
    ['format', toEDNString(header.format)],
    ['version', toEDNString(header.version)],
    ['database', toEDNString(header.database)],
    ['start-t', toEDNString(header.startT)],
    ['end-t', toEDNString(header.endT)],
    ['tx-count', toEDNString(header.txCount)],
    ['datom-count', toEDNString(header.datomCount)],
    ['source-basis-t', toEDNString(header.sourceBasisT)],
    ['created-at', toEDNString(new Date(header.createdAt))],
    ['schema', lines('[', schema.map((a) => toEDNString(attributeMap(a))), ']', ' :schema ['.length)],
    ['idents', lines('{', idents.map(([id, ident]) => `${id} ${toEDNString(keyword(ident))}`), '}', ' :idents {'.length)],
    [
      'transactions',
      lines(
        '[',
        transactions.map((t) => {
          const head = `{:t ${t.t} :tx ${t.tx} :instant ${toEDNString(t.instant)}`;
          const datoms = lines('[', t.datoms.map((d) => datom(d, t.tx)), ']', ' :datoms ['.length);
          return `${head}\n :datoms ${datoms}}`;
        }),
        ']',
        ' :transactions ['.length,
      ),
    ],
  ];
  return `{${entries.map(([k, v]) => `:${k} ${v}`).join('\n ')}}\n`;
}

/** Items one per line, each line after the first indented to sit under the first. */
function lines(open: string, items: string[], close: string, column: number): string {
  const pad = '\n' + ' '.repeat(column);
  return open + items.map((item) => item.replaceAll('\n', pad)).join(pad) + close;
}

const keyword = (ident: string): EDNVal => toKeyword(ident.startsWith(':') ? ident.slice(1) : ident);
const typeKeyword = (t: ValueType): EDNVal => toKeyword(`db.type/${t}`);

function attributeMap(a: Attribute): EDNVal {
  const map: Array<[EDNVal, EDNVal]> = [
    [keyword(':db/id'), a.id],
    [keyword(':db/ident'), keyword(a.ident)],
    [keyword(':db/valueType'), typeKeyword(a.valueType)],
    [keyword(':db/cardinality'), toKeyword(`db.cardinality/${a.cardinality}`)],
  ];
  if (a.unique) map.push([keyword(':db/unique'), toKeyword(`db.unique/${a.unique}`)]);
  if (a.isComponent) map.push([keyword(':db/isComponent'), true]);
  if (a.noHistory) map.push([keyword(':db/noHistory'), true]);
  if (a.tupleAttrs) map.push([keyword(':db/tupleAttrs'), a.tupleAttrs.map(keyword)]);
  if (a.tupleType) map.push([keyword(':db/tupleType'), typeKeyword(a.tupleType)]);
  if (a.tupleTypes) map.push([keyword(':db/tupleTypes'), a.tupleTypes.map(typeKeyword)]);
  return { map };
}

/** EDN numbers are written as symbols: a symbol is printed exactly as its text. */
function doubleText(x: number): string {
  if (Number.isNaN(x)) return '##NaN';
  if (x === Infinity) return '##Inf';
  if (x === -Infinity) return '##-Inf';
  if (Object.is(x, -0)) return '-0.0';
  const s = String(x);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

/** EDN has no '.5' or '5.': write them '0.5' and '5', which are the same decimal, scale and all. */
function bigdecText(s: string): string {
  return s.replace(/^([-+]?)\./, '$10.').replace(/\.(?=[eE]|$)/, '') + 'M';
}

function scalar(type: ValueType, v: Value, names: ReadonlyMap<EntityId, string>): EDNVal {
  switch (type) {
    case 'keyword':
      return keyword(v as string);
    case 'ref': {
      const ident = names.get(v as number);
      return ident ? keyword(ident) : (v as number);
    }
    case 'double':
    case 'float':
      return toSymbol(doubleText(v as number));
    case 'symbol':
      return toSymbol(v as string);
    case 'long':
      return typeof v === 'bigint' ? toSymbol(v.toString()) : (v as number);
    case 'bigdec':
      return toSymbol(bigdecText(v as string));
    case 'uuid':
      return tagValue('uuid', v as string);
    case 'bytes':
      return tagValue('txclone/base64', Buffer.from(v as Uint8Array).toString('base64'));
    default:
      return fallback(v);
  }
}

/** A value whose attribute is unknown, by its JS type. */
function fallback(v: Value | null): EDNVal {
  if (v instanceof Uint8Array) return tagValue('txclone/base64', Buffer.from(v).toString('base64'));
  if (Array.isArray(v)) return v.map((el) => fallback(el as Value | null));
  return v as EDNVal;
}
