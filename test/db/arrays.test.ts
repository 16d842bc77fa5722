// The array literals the writer sends read back, element for element, as what was written.
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boolArray, int8Array, textArray } from '../../src/db/sql/arrays';
import { createPGlite } from '../../src/db/sql/pglite';
import { startPostgres } from '../support/postgres';

type Query = (sql: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>;

const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\u0000'));
const tricky = fc.constantFrom('', '"', '\\', '\\"', '{', '}', ',', ' x ', 'NULL', 'null', '{"a":1}', 'a\nb', '\t');

describe.each([
  ['PGlite', async () => {
    const db = await createPGlite();
    return { query: (async (sql, params) => (await db.query<Record<string, unknown>>(sql, params)).rows) as Query, close: () => db.close() };
  }],
  ['PostgreSQL', async () => {
    const client = new pg.Client({ connectionString: (await startPostgres()).url });
    await client.connect();
    return { query: (async (sql, params) => (await client.query(sql, params)).rows) as Query, close: () => client.end() };
  }],
])('array literals on %s', (_name, open) => {
  let db: { query: Query; close(): Promise<unknown> };
  beforeAll(async () => {
    db = await open();
  });
  afterAll(() => db?.close());

  it('text arrays keep every string exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(text, tricky), { maxLength: 30 }), async (values) => {
        const [row] = await db.query('select $1::text[] as v', [textArray(values)]);
        expect(row!.v).toEqual(values);
      }),
      { numRuns: 200 },
    );
  });

  it('int8 and bool arrays keep their values', async () => {
    const ints = [0, -1, 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1_000_000];
    const [row] = await db.query('select $1::int8[]::text[] as i, $2::bool[] as b, $3::int8[] as e', [
      int8Array(ints),
      boolArray([true, false, true]),
      int8Array([]),
    ]);
    expect(row!.i).toEqual(ints.map(String));
    expect(row!.b).toEqual([true, false, true]);
    expect(row!.e).toEqual([]);
  });
});
