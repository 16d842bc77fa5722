// Schema changes: what may change, what may not, and that the schema the database uses
// follows every change (also retracted idents); on both drivers.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/types';
import { attribute, PEOPLE } from './attributes';
import { collect, FIXTURES, type DatabaseFixture } from './fixtures';

describe.each(FIXTURES)('on %s', (_name, make) => {
  let fixture: DatabaseFixture;
  let db: Database;
  beforeAll(async () => {
    fixture = await make();
  });
  afterAll(() => fixture?.close());
  beforeEach(async () => {
    db = await fixture.open();
    await db.transact(PEOPLE);
  });

  const refusal = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ name: 'TransactionError', code: 'schema-change' });

  it('installing an attribute again records nothing', async () => {
    const report = await db.transact([attribute(':person/age', 'long')]);
    expect(report.datoms).toHaveLength(1);
  });

  it('never changes a valueType', async () => {
    await refusal(db.transact([attribute(':person/age', 'string')]));
    await refusal(db.transact([[':db/add', ':person/age', ':db/valueType', ':db.type/double']]));
    expect((await db.transact([{ ':person/age': 3 }])).t).toBe(2);
  });

  it('never retracts an attribute (its ident, valueType or cardinality), but renames it', async () => {
    const age = (await db.resolve(':person/age'))!;
    const { tempids } = await db.transact([{ ':db/id': 'p', ':person/age': 3 }]);
    await refusal(db.transact([[':db/retractEntity', ':person/age']]));
    await refusal(db.transact([[':db/retract', ':person/age', ':db/ident', ':person/age']]));
    await refusal(db.transact([[':db/retract', ':person/age', ':db/cardinality', ':db.cardinality/one']]));
    await db.transact([[':db/add', age, ':db/ident', ':person/years']]);
    expect(await db.resolve(':person/age')).toBeNull();
    expect(await db.entity(tempids.p!)).toEqual({ ':person/years': 3 });
    expect((await db.schema()).get(age)!.ident).toBe(':person/years');
    await expect(db.transact([{ ':person/age': 4 }])).rejects.toMatchObject({ code: 'unknown-attribute' });
    // The whole log still reads, with the attribute's new name in the schema.
    expect((await collect(db.txRange(1, 10))).length).toBe(3);
  });

  it('follows a retracted enum ident: it no longer resolves, and references to it are gone', async () => {
    const { tempids } = await db.transact([{ ':db/id': 'p', ':person/status': ':status/away' }]);
    await db.transact([[':db/retractEntity', ':status/away']]);
    expect(await db.resolve(':status/away')).toBeNull();
    expect(await db.entity(tempids.p!)).toBeNull();
    await expect(db.transact([{ ':person/status': ':status/away' }])).rejects.toMatchObject({ code: 'unknown-ident' });
    // A later transaction of the same batch sees the retraction too.
    await expect(
      db.transactBatch([{ ops: [[':db/retractEntity', ':status/active']] }, { ops: [{ ':person/status': ':status/active' }] }]),
    ).rejects.toMatchObject({ code: 'unknown-ident' });
    expect(await db.resolve(':status/active')).toEqual(expect.any(Number));
  });

  it('changes cardinality many to one only when no entity holds several values', async () => {
    const { tempids } = await db.transact([{ ':db/id': 'p', ':person/nick': ['a', 'b'] }, { ':person/nick': ['c'] }]);
    await refusal(db.transact([[':db/add', ':person/nick', ':db/cardinality', ':db.cardinality/one']]));
    // Also when the several values come from an earlier transaction of the same batch.
    await db.transact([[':db/retract', tempids.p!, ':person/nick', 'b']]);
    await refusal(
      db.transactBatch([
        { ops: [[':db/add', tempids.p!, ':person/nick', 'z']] },
        { ops: [[':db/add', ':person/nick', ':db/cardinality', ':db.cardinality/one']] },
      ]),
    );
    await db.transact([[':db/add', ':person/nick', ':db/cardinality', ':db.cardinality/one']]);
    const report = await db.transact([[':db/add', tempids.p!, ':person/nick', 'y']]);
    expect(report.datoms.filter((d) => typeof d[2] === 'string').map((d) => [d[2], d[3]])).toEqual([['a', false], ['y', true]]);
    await db.transact([[':db/add', ':person/nick', ':db/cardinality', ':db.cardinality/many']]);
    await db.transact([[':db/add', tempids.p!, ':person/nick', 'x']]);
    expect((await db.entity(tempids.p!))![':person/nick']).toEqual(['x', 'y']);
  });

  it('makes an attribute unique only when no two entities hold one value', async () => {
    await db.transact([{ ':person/age': 5 }, { ':person/age': 5 }, { ':person/age': 6 }]);
    await refusal(db.transact([[':db/add', ':person/age', ':db/unique', ':db.unique/identity']]));
    await db.transact([attribute(':person/code', 'long'), { ':person/code': 1 }, { ':person/code': 2 }]);
    await db.transact([[':db/add', ':person/code', ':db/unique', ':db.unique/identity']]);
    const again = await db.transact([{ ':db/id': 'x', ':person/code': 1, ':person/age': 9 }]);
    expect(await db.datomsAVET(':person/code', 1)).toEqual([again.tempids.x]);
  });

  it('refuses incomplete or inconsistent attributes and changes to the built-in schema', async () => {
    await refusal(db.transact([{ ':db/ident': ':x/a', ':db/valueType': ':db.type/long' }]));
    await refusal(db.transact([{ ':db/ident': ':x/a', ':db/valueType': ':db.type/long', ':db/cardinality': ':status/active' }]));
    await refusal(db.transact([{ ':db/ident': ':x/a', ':db/valueType': ':status/active', ':db/cardinality': ':db.cardinality/one' }]));
    await refusal(db.transact([attribute(':x/a', 'long', { component: true })]));
    await refusal(db.transact([attribute(':x/t', 'tuple')]));
    await refusal(db.transact([attribute(':x/t', 'tuple', { tupleAttrs: [':person/name', ':nope/nope'] })]));
    await refusal(db.transact([attribute(':x/t', 'tuple', { tupleAttrs: [':person/name', ':person/nick'] })]));
    // :db/tupleTypes is itself a tuple, of 2 to 8 keywords.
    await expect(db.transact([attribute(':x/t', 'tuple', { tupleTypes: ['long'] })])).rejects.toMatchObject({ code: 'invalid-value' });
    await refusal(db.transact([attribute(':x/t', 'tuple', { tupleTypes: ['long', 'tuple'] })]));
    await refusal(db.transact([attribute(':x/t', 'long', { tupleType: 'long' })]));
    await db.transact([attribute(':x/t', 'tuple', { tupleType: 'string' })]);
    await refusal(db.transact([[':db/add', ':x/t', ':db/tupleType', ':db.type/long']]));
    await refusal(db.transact([[':db/add', ':db/ident', ':db/cardinality', ':db.cardinality/many']]));
    await refusal(db.transact([[':db/retractEntity', ':db.type/long']]));
    // Documentation is not schema: the built-in entities take it.
    await db.transact([[':db/add', ':db.type/long', ':db/doc', 'A 64-bit integer.']]);
    expect((await db.entity(':db.type/long'))![':db/doc']).toBe('A 64-bit integer.');
  });

  it('allows :db/isComponent, :db/doc and :db/noHistory to change', async () => {
    await db.transact([[':db/add', ':person/friend', ':db/isComponent', true], [':db/add', ':person/friend', ':db/doc', 'A friend.']]);
    const friend = [...(await db.schema()).values()].find((a) => a.ident === ':person/friend')!;
    expect(friend.isComponent).toBe(true);
    await db.transact([[':db/add', ':person/friend', ':db/noHistory', true]]);
    expect([...(await db.schema()).values()].find((a) => a.ident === ':person/friend')!.noHistory).toBe(true);
  });
});
