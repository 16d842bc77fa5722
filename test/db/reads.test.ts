// Reading: the log, the current datoms and the database as of a t, the AVET lookups,
// entities, and batches of transactions; on both drivers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionError } from '../../src/db';
import type { Database } from '../../src/db/types';
import { attribute, PEOPLE } from './attributes';
import { collect, FIXTURES, type DatabaseFixture } from './fixtures';

const bySort = <T>(xs: T[]) => xs.map((x) => JSON.stringify(x)).sort();

describe.each(FIXTURES)('on %s', (_name, make) => {
  let fixture: DatabaseFixture;
  beforeAll(async () => {
    fixture = await make();
  });
  afterAll(() => fixture?.close());

  async function people(options = {}): Promise<Database> {
    const db = await fixture.open(options);
    await db.transact(PEOPLE);
    return db;
  }

  describe('txRange', () => {
    it('streams the transactions of a range page by page, in t order', async () => {
      const db = await people({ txPageSize: 3 });
      for (let i = 0; i < 10; i++) await db.transact([{ ':person/age': i }]);
      const all = await collect(db.txRange(1, 11));
      expect(all.map((tx) => tx.t)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect((await collect(db.txRange(4, 8))).map((tx) => tx.t)).toEqual([4, 5, 6, 7, 8]);
      expect((await collect(db.txRange(-5, 2))).map((tx) => tx.t)).toEqual([1, 2]);
      expect(await collect(db.txRange(12, 20))).toEqual([]);
      expect(await collect(db.txRange(5, 4))).toEqual([]);
      expect(all[5]).toEqual(expect.objectContaining({ t: 6, tx: expect.any(Number), instant: expect.any(Date) }));
      expect(all[5]!.datoms).toContainEqual([expect.any(Number), (await db.resolve(':person/age'))!, 4, true]);
      // Stopping early reads no more pages.
      const firstTwo = [];
      for await (const tx of db.txRange(1, 11)) {
        firstTwo.push(tx.t);
        if (firstTwo.length === 2) break;
      }
      expect(firstTwo).toEqual([1, 2]);
    });
  });

  describe('datoms', () => {
    it('streams the current datoms in entity order, and the database as of any t', async () => {
      const db = await people({ entityPageSize: 2 });
      const { tempids } = await db.transact([
        { ':db/id': 'a', ':person/name': 'A', ':person/age': 1, ':person/nick': ['x', 'y'] },
        { ':db/id': 'b', ':person/name': 'B', ':person/friend': 'a' },
      ]);
      const t2 = await db.basisT();
      await db.transact([[':db/add', tempids.a!, ':person/age', 2], [':db/retract', tempids.a!, ':person/nick', 'x']]);
      const t3 = await db.basisT();
      await db.transact([[':db/retractEntity', tempids.a!]]);
      await db.transact([[':db/add', ':db/ident', ':db/doc', 'Names an entity.']]);
      const [a, b, age, name, nick, friend, doc, ident] = [
        tempids.a!,
        tempids.b!,
        ...(await Promise.all([':person/age', ':person/name', ':person/nick', ':person/friend', ':db/doc', ':db/ident'].map((i) => db.resolve(i)))),
      ] as number[];

      const now = await collect(db.datoms());
      expect(now.map((d) => d[0])).toEqual([...now.map((d) => d[0])].sort((x, y) => x - y));
      expect(now.filter((d) => d[0] === a)).toEqual([]);
      expect(now.filter((d) => d[0] === b)).toEqual([[b, name, 'B']]);
      expect(now).toContainEqual([ident, doc, 'Names an entity.']);

      const atT2 = await collect(db.datoms({ asOfT: t2 }));
      expect(bySort(atT2.filter((d) => d[0] === a || d[0] === b))).toEqual(
        bySort([[a, name, 'A'], [a, age, 1], [a, nick, 'x'], [a, nick, 'y'], [b, name, 'B'], [b, friend, a]]),
      );
      const atT3 = await collect(db.datoms({ asOfT: t3 }));
      expect(bySort(atT3.filter((d) => d[0] === a))).toEqual(bySort([[a, name, 'A'], [a, age, 2], [a, nick, 'y']]));
      expect(atT3).not.toContainEqual([ident, doc, 'Names an entity.']);

      // As of 0: the built-in schema alone, as the database began.
      const fresh = await fixture.open();
      const builtins = await collect(fresh.datoms());
      expect(bySort(await collect(db.datoms({ asOfT: 0 })))).toEqual(bySort(builtins));
      expect(bySort(await collect(db.datoms({ asOfT: await db.basisT() })))).toEqual(bySort(now));
    });
  });

  describe('AVET, maxValue, entity, resolve', () => {
    it('finds the entities holding a value, one value or many at once', async () => {
      const db = await people();
      const { tempids } = await db.transact([
        { ':db/id': 'a', ':person/age': 30, ':person/nick': ['x'], ':person/status': ':status/active' },
        { ':db/id': 'b', ':person/age': 30, ':person/nick': ['x', 'y'] },
        { ':db/id': 'c', ':person/age': 31, ':person/name': 'C' },
      ]);
      expect(await db.datomsAVET(':person/age', 30)).toEqual([tempids.a, tempids.b].sort((x, y) => x! - y!));
      expect(await db.datomsAVET(':person/age', 99)).toEqual([]);
      expect(await db.datomsAVETMany(':person/nick', ['y', 'z', 'x'])).toEqual([[tempids.b], [], [tempids.a, tempids.b].sort((x, y) => x! - y!)]);
      expect(await db.datomsAVET(':person/status', ':status/active')).toEqual([tempids.a]);
      expect(await db.datomsAVET((await db.resolve(':person/name'))!, 'C')).toEqual([tempids.c]);
      await expect(db.datomsAVET(':person/nope', 1)).rejects.toThrow(/unknown attribute :person\/nope/);
    });

    it('gives the largest value of a numeric attribute, compared as a number', async () => {
      const db = await people();
      await db.transact([
        attribute(':n/long', 'long'),
        attribute(':n/big', 'bigint'),
        attribute(':n/double', 'double'),
        attribute(':n/at', 'instant'),
        attribute(':n/text', 'string'),
      ]);
      expect(await db.maxValue(':n/long')).toBeNull();
      await db.transact([
        { ':n/long': 9, ':n/big': 2n ** 80n, ':n/double': 9.5, ':n/at': new Date(9) },
        { ':n/long': 10, ':n/big': 10n, ':n/double': 10.25, ':n/at': new Date(10) },
        { ':n/long': -11, ':n/big': -(2n ** 90n), ':n/double': -1e300, ':n/at': new Date(-11) },
        { ':n/long': Number.MAX_SAFE_INTEGER - 1 },
      ]);
      expect(await db.maxValue(':n/long')).toBe(Number.MAX_SAFE_INTEGER - 1);
      expect(await db.maxValue(':n/big')).toBe(2n ** 80n);
      expect(await db.maxValue(':n/double')).toBe(10.25);
      expect(await db.maxValue(':n/at')).toEqual(new Date(10));
      await expect(db.maxValue(':n/text')).rejects.toThrow(/long, bigint, double, float or instant/);
    });

    it('reads an entity by id, ident or lookup ref, and resolves references', async () => {
      const db = await people();
      const { tempids } = await db.transact([{ ':db/id': 'a', ':person/name': 'A', ':person/nick': ['p', 'q'] }]);
      const expected = { ':person/name': 'A', ':person/nick': ['p', 'q'] };
      expect(await db.entity(tempids.a!)).toEqual(expected);
      expect(await db.entity([':person/name', 'A'])).toEqual(expected);
      expect(await db.entity([':person/name', 'Z'])).toBeNull();
      expect(await db.entity(10 ** 9)).toBeNull();
      expect(await db.entity(':person/nick')).toMatchObject({ ':db/ident': ':person/nick' });
      expect(await db.resolve(':nope/nope')).toBeNull();
      expect(await db.resolve('not-a-keyword')).toBeNull();
      expect(await db.resolve(tempids.a!)).toBe(tempids.a);
      expect(await db.resolve([':person/age', 3])).toBeNull();
    });
  });

  describe('transactBatch', () => {
    it('commits several transactions at once, each its own t and transaction entity', async () => {
      const db = await people();
      const instant = new Date(Date.now() + 1000);
      const reports = await db.transactBatch([
        { ops: [{ ':db/id': 'a', ':person/name': 'A', ':person/email': 'a@x' }], txInstant: instant },
        // Later transactions see the earlier ones: lookup refs, upserts, and freed unique values.
        { ops: [[':db/add', [':person/name', 'A'], ':person/age', 1], { ':db/id': 'again', ':person/name': 'A', ':person/nick': ['n'] }] },
        { ops: [[':db/retract', [':person/name', 'A'], ':person/email', 'a@x'], [':db/add', 'datomic.tx', ':audit/user', 'u']] },
        { ops: [{ ':db/id': 'b', ':person/email': 'a@x', ':person/friend': [':person/name', 'A'] }] },
        { ops: [[':db/cas', [':person/name', 'A'], ':person/age', 1, 2]] },
      ]);
      expect(reports.map((r) => r.t)).toEqual([2, 3, 4, 5, 6]);
      expect(new Set(reports.map((r) => r.tx)).size).toBe(5);
      expect(reports[1]!.tempids.again).toBe(reports[0]!.tempids.a);
      const a = reports[0]!.tempids.a!;
      expect(await db.entity(a)).toEqual({ ':person/name': 'A', ':person/age': 2, ':person/nick': ['n'] });
      expect(await db.entity(reports[3]!.tempids.b!)).toEqual({ ':person/email': 'a@x', ':person/friend': a });
      const log = await collect(db.txRange(2, 6));
      expect(log.map((tx) => tx.tx)).toEqual(reports.map((r) => r.tx));
      expect(log.map((tx) => tx.instant.getTime() >= instant.getTime())).toEqual([true, true, true, true, true]);
      expect(await db.entity(reports[2]!.tx)).toMatchObject({ ':audit/user': 'u' });
      expect(await db.transactBatch([])).toEqual([]);
    });

    it('leaves the datoms out of the reports when asked to, and writes the same', async () => {
      const db = await people();
      const reports = await db.transactBatch(
        [{ ops: [{ ':db/id': 'a', ':person/name': 'A' }] }, { ops: [{ ':db/id': 'b', ':person/name': 'B', ':person/age': 3 }] }],
        { datoms: false },
      );
      expect(reports.map((r) => r.datoms)).toEqual([[], []]);
      expect(await db.resolve([':person/name', 'A'])).toBe(reports[0]!.tempids.a);
      expect(await db.resolve([':person/name', 'B'])).toBe(reports[1]!.tempids.b);
      const log = await collect(db.txRange(reports[0]!.t, reports[1]!.t));
      expect(log.map((tx) => [tx.t, tx.tx, tx.datoms.length])).toEqual([
        [reports[0]!.t, reports[0]!.tx, 2],
        [reports[1]!.t, reports[1]!.tx, 3],
      ]);
    });

    it('writes nothing when one transaction of the batch fails', async () => {
      const db = await people();
      await db.transact([{ ':person/name': 'A', ':person/age': 1 }]);
      const before = { basis: await db.basisT(), datoms: await collect(db.datoms()) };
      const err = await db
        .transactBatch([
          { ops: [{ ':person/name': 'B' }] },
          { ops: [[':db/add', [':person/name', 'B'], ':person/age', 5], attribute(':more/x', 'long')] },
          { ops: [[':db/cas', [':person/name', 'A'], ':person/age', 5, 6]] },
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransactionError);
      expect((err as TransactionError).message).toMatch(/^transaction 3 of 3 in the batch: :db\/cas failed/);
      expect(await db.basisT()).toBe(before.basis);
      expect(await collect(db.datoms())).toEqual(before.datoms);
      expect(await db.resolve(':more/x')).toBeNull();
      expect(await db.resolve([':person/name', 'B'])).toBeNull();
      // The schema the failed batch installed is not cached either.
      await expect(db.transact([{ ':more/x': 1 }])).rejects.toThrow(/unknown attribute/);
      const next = await db.transact([{ ':person/name': 'B' }]);
      expect(next.t).toBe(before.basis + 1);
    });
  });
});
