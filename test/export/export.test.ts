// The producer's single runs: exportRange cuts and returns what it wrote, exportNext and
// exportAll follow the store's head, pacing slows them, bad input is refused before
// anything is read, and a segment carries the schema and idents a restore needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibraryWorkload } from '../../src/workload';
import type { Attribute, Database, EntityId } from '../../src/db/types';
import { backup, exportAll, exportNext, exportRange, repair, type ExportedSegment } from '../../src/segment/export';
import { decodeSegment } from '../../src/segment/format';
import { openMemoryStore } from '../../src/stores';
import type { SegmentStore } from '../../src/stores/types';
import { collect, listed, readBack, readSegments, sourceLog, Sources, typedLog } from './support';

const sources = new Sources();
/** 300 transactions of the library workload: every value type, schema installed in stages. */
let lib: Database;

beforeAll(async () => {
  lib = await sources.library(300, 17);
}, 120_000);

afterAll(() => sources.close());

const spans = (segments: readonly ExportedSegment[]) => segments.map((s) => [s.info.startT, s.info.endT]);

async function isEmpty(store: SegmentStore, db: string): Promise<boolean> {
  return (await collect(store.list(db))).length === 0;
}

describe('exportRange', () => {
  it('cuts the range at maxTxns, writes each segment once and returns the range it wrote', async () => {
    const store = openMemoryStore();
    const seen: ExportedSegment[] = [];
    const result = await exportRange(lib, store, 'lib', 1, 95, { maxTxns: 20, onSegment: (s) => seen.push(s) });
    const log = await sourceLog(lib, 1, 95);
    expect(spans(result.segments)).toEqual([[1, 20], [21, 40], [41, 60], [61, 80], [81, 95]]);
    expect(result).toMatchObject({ startT: 1, endT: 95, transactions: 95, datoms: log.reduce((n, tx) => n + tx.datoms.length, 0) });
    expect(result.segments.map((s) => s.transactions)).toEqual([20, 20, 20, 20, 15]);
    expect(result.segments.every((s) => s.written && /^[0-9a-f]{64}$/.test(s.info.sha256 ?? ''))).toBe(true);
    expect(seen).toEqual(result.segments);
    expect(await listed(store, 'lib')).toEqual(spans(result.segments));
    expect(typedLog(await readBack(store, 'lib'))).toEqual(typedLog(log));

    // The same again: the same bytes, so nothing is written and nothing fails.
    const again = await exportRange(lib, store, 'lib', 1, 95, { maxTxns: 20 });
    expect(spans(again.segments)).toEqual(spans(result.segments));
    expect(again.segments.map((s) => s.written)).toEqual([false, false, false, false, false]);
    expect(again.segments.map((s) => s.info.sha256)).toEqual(result.segments.map((s) => s.info.sha256));
    await store.close();
  });

  it('stops at the basis when endT is beyond it, and returns what it wrote', async () => {
    const store = openMemoryStore();
    const result = await exportRange(lib, store, 'lib', 250, 10_000, { maxTxns: 40 });
    expect(result).toMatchObject({ startT: 250, endT: 300, transactions: 51 });
    expect(spans(result.segments)).toEqual([[250, 289], [290, 300]]);
    expect(await listed(store, 'lib')).toEqual([[250, 289], [290, 300]]);
    await store.close();
  });

  it('cuts at maxBytes too; a segment holds at least one transaction', async () => {
    const store = openMemoryStore();
    const byBytes = await exportRange(lib, store, 'small', 1, 300, { maxTxns: 1000, maxBytes: 2_000 });
    expect(byBytes.endT).toBe(300);
    expect(byBytes.segments.length).toBeGreaterThan(5);
    expect(byBytes.segments.some((s) => s.transactions > 1)).toBe(true);
    expect(typedLog(await readBack(store, 'small'))).toEqual(typedLog(await sourceLog(lib)));
    // Looser byte limit, fewer segments; maxTxns still cuts where it comes first.
    const looser = await exportRange(lib, store, 'looser', 1, 300, { maxTxns: 1000, maxBytes: 20_000 });
    expect(looser.segments.length).toBeLessThan(byBytes.segments.length);
    const both = await exportRange(lib, store, 'both', 1, 300, { maxTxns: 3, maxBytes: 20_000 });
    expect(both.segments.every((s) => s.transactions <= 3)).toBe(true);
    // One byte: every transaction is its own segment, never an empty one.
    const tiny = await exportRange(lib, store, 'tiny', 1, 30, { maxBytes: 1 });
    expect(spans(tiny.segments)).toEqual(Array.from({ length: 30 }, (_, i) => [i + 1, i + 1]));
    await store.close();
  });

  it('returns nothing for a range past the basis', async () => {
    const store = openMemoryStore();
    const empty = { startT: null, endT: null, segments: [], transactions: 0, datoms: 0 };
    expect(await exportRange(lib, store, 'lib', 301, 400)).toEqual(empty);
    expect(await exportRange(lib, store, 'lib', 10_000, 10_000)).toEqual(empty);
    expect(await isEmpty(store, 'lib')).toBe(true);
    await store.close();
  });

  it('refuses bad ranges and limits with a clear error, before writing anything', async () => {
    const store = openMemoryStore();
    const cases: Array<[number, number, object, RegExp]> = [
      [0, 10, {}, /startT must be a t of 1 or more, got 0/],
      [-3, 10, {}, /startT must be a t of 1 or more, got -3/],
      [1.5, 10, {}, /startT must be a t of 1 or more, got 1.5/],
      [Number.NaN, 10, {}, /startT must be a t of 1 or more, got NaN/],
      [1, Number.NaN, {}, /endT must be an integer, got NaN/],
      [1, 2.5, {}, /endT must be an integer, got 2.5/],
      [1, Number.POSITIVE_INFINITY, {}, /endT must be an integer, got Infinity/],
      [10, 5, {}, /endT must not be before startT, got 10\.\.5/],
      [1, 10, { maxTxns: 0 }, /maxTxns must be a positive integer, got 0/],
      [1, 10, { maxTxns: -1 }, /maxTxns must be a positive integer, got -1/],
      [1, 10, { maxTxns: 2.5 }, /maxTxns must be a positive integer, got 2.5/],
      [1, 10, { maxTxns: Number.NaN }, /maxTxns must be a positive integer, got NaN/],
      [1, 10, { maxBytes: 0 }, /maxBytes must be a positive integer, got 0/],
      [1, 10, { maxBytes: Number.NaN }, /maxBytes must be a positive integer, got NaN/],
      [1, 10, { level: 10 }, /level must be a gzip level 0\.\.9, got 10/],
      [1, 10, { level: 1.5 }, /level must be a gzip level 0\.\.9, got 1.5/],
    ];
    for (const [startT, endT, options, message] of cases) {
      const error = await exportRange(lib, store, 'lib', startT, endT, options).catch((e: unknown) => e);
      expect(error, `${startT}..${endT} ${JSON.stringify(options)}`).toBeInstanceOf(RangeError);
      expect((error as Error).message).toMatch(message);
    }
    await expect(exportNext(lib, store, 'lib', { maxTxns: 0 })).rejects.toThrow(/maxTxns must be a positive integer/);
    await expect(exportAll(lib, store, 'lib', { maxBytes: -5 })).rejects.toThrow(/maxBytes must be a positive integer/);
    await expect(exportRange(lib, store, 'not/a name', 1, 10)).rejects.toThrow(/not\/a name/);
    expect(await isEmpty(store, 'lib')).toBe(true);
    await store.close();
  });

  it('is deterministic: the same log gives the same bytes, whenever it is exported', async () => {
    const first = openMemoryStore();
    const second = openMemoryStore();
    const a = await exportRange(lib, first, 'lib', 1, 300, { maxTxns: 60 });
    await new Promise((resolve) => setTimeout(resolve, 20)); // a later clock changes nothing
    const b = await exportRange(lib, second, 'lib', 1, 300, { maxTxns: 60 });
    expect(b.segments.map((s) => s.info.sha256)).toEqual(a.segments.map((s) => s.info.sha256));
    for (const s of a.segments) {
      expect(Buffer.from(await second.get('lib', s.info.startT, s.info.endT))).toEqual(
        Buffer.from(await first.get('lib', s.info.startT, s.info.endT)),
      );
    }
    await first.close();
    await second.close();
  });
});

describe('exportNext and exportAll', () => {
  it('exportNext writes the segment after the head and returns null when caught up', async () => {
    const db = await sources.open('grow');
    const workload = new LibraryWorkload({ seed: 5, stageEvery: 20 });
    await workload.run(db, 50, 10);
    const store = openMemoryStore();
    const seen: ExportedSegment[] = [];
    const next = async () => (await exportNext(db, store, 'grow', { maxTxns: 20, onSegment: (s) => seen.push(s) }))?.info ?? null;
    expect(await next()).toMatchObject({ startT: 1, endT: 20 });
    expect(await next()).toMatchObject({ startT: 21, endT: 40 });
    expect(await next()).toMatchObject({ startT: 41, endT: 50 });
    expect(await next()).toBeNull();
    expect(seen.map((s) => [s.info.startT, s.info.endT, s.written])).toEqual([[1, 20, true], [21, 40, true], [41, 50, true]]);
    // The source moves on; so does the next segment.
    await workload.run(db, 15, 5);
    expect(await next()).toMatchObject({ startT: 51, endT: 65 });
    expect(await next()).toBeNull();
    // It follows the head wherever an earlier run cut: here after a range of odd size.
    const other = openMemoryStore();
    await exportRange(db, other, 'grow', 1, 33);
    expect((await exportNext(db, other, 'grow', { maxTxns: 20 }))!.info).toMatchObject({ startT: 34, endT: 53 });
    expect(typedLog(await readBack(store, 'grow'))).toEqual(typedLog(await sourceLog(db)));
    await store.close();
    await other.close();
  });

  it('exportAll exports after the head until the basis, and nothing when caught up', async () => {
    const store = openMemoryStore();
    const first = await exportAll(lib, store, 'lib', { maxTxns: 64 });
    expect(first).toMatchObject({ startT: 1, endT: 300, transactions: 300 });
    expect(spans(first.segments)).toEqual([[1, 64], [65, 128], [129, 192], [193, 256], [257, 300]]);
    expect(await exportAll(lib, store, 'lib', { maxTxns: 64 })).toEqual({ startT: null, endT: null, segments: [], transactions: 0, datoms: 0 });

    const partial = openMemoryStore();
    await exportRange(lib, partial, 'lib', 1, 111, { maxTxns: 50 });
    const rest = await exportAll(lib, partial, 'lib', { maxTxns: 100 });
    expect(spans(rest.segments)).toEqual([[112, 211], [212, 300]]);
    expect(typedLog(await readBack(partial, 'lib'))).toEqual(typedLog(await sourceLog(lib)));
    await store.close();
    await partial.close();
  });
});

describe('pacing', () => {
  // Lower bounds only: a loaded machine makes an export slower, never faster.
  it('maxTxPerSecond: 60 transactions at 60 per second take about a second', async () => {
    const store = openMemoryStore();
    const started = performance.now();
    const result = await exportRange(lib, store, 'lib', 1, 60, { maxTxns: 10, maxTxPerSecond: 60 });
    expect(result.transactions).toBe(60);
    expect(performance.now() - started).toBeGreaterThanOrEqual(0.8 * 1000);
    await store.close();
  });

  it('pauseMs: a pause after each segment', async () => {
    const store = openMemoryStore();
    const started = performance.now();
    const result = await exportRange(lib, store, 'lib', 1, 40, { maxTxns: 10, pauseMs: 150 });
    expect(result.segments).toHaveLength(4);
    expect(performance.now() - started).toBeGreaterThanOrEqual(0.8 * 4 * 150);
    await store.close();
  });

  it('a parallel backup keeps to one rate for all its workers', async () => {
    const store = openMemoryStore();
    const started = performance.now();
    // 300 transactions at 300 per second: one second, however many workers share it.
    const result = await backup(lib, store, 'lib', { segmentTxns: 20, parallel: 3, maxTxPerSecond: 300 });
    expect(result.transactions).toBe(300);
    expect(performance.now() - started).toBeGreaterThanOrEqual(0.8 * 1000);
    await store.close();
  });

  it('bad pacing values are refused before anything is written', async () => {
    const store = openMemoryStore();
    const bad: Array<[object, RegExp]> = [
      [{ maxTxPerSecond: 0 }, /maxTxPerSecond must be positive, got 0/],
      [{ maxTxPerSecond: -1 }, /maxTxPerSecond must be positive, got -1/],
      [{ maxTxPerSecond: Number.NaN }, /maxTxPerSecond must be positive, got NaN/],
      [{ pauseMs: -1 }, /pauseMs must be 0\.\.\d+ ms, got -1/],
      [{ pauseMs: Number.NaN }, /pauseMs must be 0\.\.\d+ ms, got NaN/],
      [{ pauseMs: Number.POSITIVE_INFINITY }, /pauseMs must be 0\.\.\d+ ms, got Infinity/],
      [{ pauseMs: 2 ** 31 }, /pauseMs must be 0\.\.\d+ ms, got 2147483648/],
    ];
    for (const [options, message] of bad) {
      await expect(exportRange(lib, store, 'lib', 1, 10, options), JSON.stringify(options)).rejects.toThrow(message);
      await expect(exportAll(lib, store, 'lib', options)).rejects.toThrow(message);
      await expect(backup(lib, store, 'lib', options)).rejects.toThrow(message);
    }
    expect(await isEmpty(store, 'lib')).toBe(true);
    // repair checks them too, even with nothing to repair.
    await exportRange(lib, store, 'lib', 1, 10);
    await expect(repair(lib, store, 'lib', { pauseMs: -1 })).rejects.toThrow(/pauseMs/);
    await store.close();
  });
});

describe('what a segment carries for restore', () => {
  it('every attribute its datoms use, as the source defines it, and the idents of the built-ins they name', async () => {
    const store = openMemoryStore();
    await exportRange(lib, store, 'lib', 1, 300, { maxTxns: 25 });
    const schema = await lib.schema();
    const builtins = await lib.builtins();
    const byIdent = new Map([...schema.values()].map((a) => [a.ident, a]));
    for (const { info, segment } of await readSegments(store, 'lib')) {
      const where = `segment ${info.startT}..${info.endT}`;
      const carried = new Map(segment.schema.map((a) => [a.id, a]));
      expect(segment.schema.map((a) => a.id), where).toEqual([...carried.keys()].sort((x, y) => x - y));
      const needed = new Map<EntityId, Attribute>();
      const idents = new Map<EntityId, string>();
      const noteBuiltin = (id: unknown) => {
        if (typeof id === 'number' && builtins.has(id)) idents.set(id, builtins.get(id)!);
      };
      for (const tx of segment.transactions) {
        for (const [e, a, v] of tx.datoms) {
          const attribute = schema.get(a)!;
          needed.set(a, attribute);
          for (const part of attribute.tupleAttrs ?? []) needed.set(byIdent.get(part)!.id, byIdent.get(part)!);
          noteBuiltin(e);
          if (attribute.valueType === 'ref') noteBuiltin(v);
        }
      }
      // Exactly what the datoms need, defined as the source defines it.
      expect(carried, where).toEqual(needed);
      // Every built-in the datoms name, under its ident (a superset is harmless: restore skips ids it never meets).
      for (const [id, ident] of idents) expect(segment.idents, where).toContainEqual([id, ident]);
      for (const [id, ident] of segment.idents) expect(builtins.get(id), where).toBe(ident);
      expect(segment.idents.map(([id]) => id), where).toEqual(segment.idents.map(([id]) => id).sort((x, y) => x - y));
    }
    // The first transaction installs the first schema stage: it names types, cardinalities and uniqueness.
    const first = decodeSegment(await store.get('lib', 1, 25), { name: '1..25' });
    const firstIdents = new Set(first.idents.map(([, ident]) => ident));
    for (const ident of [':db.type/string', ':db.type/ref', ':db.type/keyword', ':db.cardinality/one', ':db.cardinality/many', ':db.unique/identity', ':db.unique/value'])
      expect(firstIdents).toContain(ident);
    for (const ident of [':db/ident', ':db/valueType', ':db/cardinality', ':db/unique', ':db/txInstant'])
      expect(first.schema.map((a) => a.ident)).toContain(ident);
    await store.close();
  });

  it('the parts of a composite tuple, built-in entities as e, and refs inside tuples', async () => {
    const db = await sources.open('parts');
    const attr = (ident: string, valueType: string, extra: object = {}) => ({
      ':db/ident': ident,
      ':db/valueType': `:db.type/${valueType}`,
      ':db/cardinality': ':db.cardinality/one',
      ...extra,
    });
    await db.transact([
      attr(':loan/book', 'ref'),
      attr(':loan/member', 'ref'),
      attr(':loan/key', 'tuple', { ':db/tupleAttrs': [':loan/book', ':loan/member'] }),
      attr(':thing/name', 'string'),
      attr(':thing/refs', 'tuple', { ':db/tupleType': ':db.type/ref' }),
    ]); // t=1
    const made = await db.transact([{ ':db/id': 'b', ':thing/name': 'book' }, { ':db/id': 'm', ':thing/name': 'member' }]); // t=2
    const loan = await db.transact([{ ':db/id': 'loan', ':loan/book': made.tempids.b, ':loan/member': made.tempids.m }]); // t=3
    // Only :loan/book and the derived :loan/key change; :loan/member is not among the datoms.
    await db.transact([[':db/retract', loan.tempids.loan!, ':loan/book', made.tempids.b!]]); // t=4
    await db.transact([[':db/add', ':db.type/string', ':db/doc', 'text']]); // t=5: a built-in as the entity
    await db.transact([{ ':db/id': 'x', ':thing/refs': [':db.type/long', ':db.cardinality/many'] }]); // t=6
    const store = openMemoryStore();
    await exportRange(db, store, 'parts', 1, 6, { maxTxns: 1 });
    const segment = async (t: number) => decodeSegment(await store.get('parts', t, t), { name: `t=${t}` });
    const identsOf = (s: { idents: Array<[EntityId, string]> }) => s.idents.map(([, ident]) => ident);

    const four = await segment(4);
    expect(new Set(four.transactions[0]!.datoms.map(([, a]) => four.schema.find((x) => x.id === a)!.ident))).toEqual(
      new Set([':db/txInstant', ':loan/book', ':loan/key']),
    );
    expect(four.schema.map((a) => a.ident).sort()).toEqual([':db/txInstant', ':loan/book', ':loan/key', ':loan/member']);

    const five = await segment(5);
    const docDatom = five.transactions[0]!.datoms.find(([, a]) => five.schema.find((x) => x.id === a)!.ident === ':db/doc')!;
    expect(five.idents).toContainEqual([docDatom[0], ':db.type/string']);
    expect(five.schema.map((a) => a.ident)).toContain(':db/doc');

    const six = await segment(6);
    expect(identsOf(six)).toEqual(expect.arrayContaining([':db.type/long', ':db.cardinality/many']));

    const one = await segment(1);
    expect(identsOf(one)).toEqual(expect.arrayContaining([':db.type/ref', ':db.type/tuple', ':db.type/string', ':db.cardinality/one']));
    expect(one.schema.map((a) => a.ident)).toEqual(expect.arrayContaining([':db/ident', ':db/valueType', ':db/cardinality', ':db/tupleAttrs', ':db/tupleType']));
    await store.close();
  });
});
