// PostgreSQL array literals, built here instead of by node-postgres: it prepares every
// element through a generic path (a regular expression per string), which cost more than
// a second of a million-datom restore. Values never hold U+0000 (values.ts refuses it).

export function int8Array(values: readonly number[]): string {
  return `{${values.join(',')}}`;
}

export function boolArray(values: readonly boolean[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) out += i === 0 ? (values[i] ? 't' : 'f') : values[i] ? ',t' : ',f';
  return out + '}';
}

const NEEDS_ESCAPE = /["\\]/;

export function textArray(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (i > 0) out += ',';
    out += '"';
    out += NEEDS_ESCAPE.test(v) ? v.replace(/["\\]/g, '\\$&') : v;
    out += '"';
  }
  return out + '}';
}
