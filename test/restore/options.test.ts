import { afterEach, describe, expect, it } from 'vitest';
import { restoreAll } from '../../src/restore';
import { compareReplica } from '../../src/restore/compare';
import { Resources, exportInSizes, expectReplica, librarySource } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());

describe('restore options', () => {
  it('elide drops the datoms of an attribute, matched by ident, and still advances t', async () => {
    const { source } = await librarySource(resources, 120, 3);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [40]);
    const target = await resources.database();
    await restoreAll(target, store, 'lib', { elide: [':member/name'] });

    const schema = await source.schema();
    const nameAttr = [...schema.values()].find((a) => a.ident === ':member/name')!.id;
    let member: number | undefined;
    for await (const [e, a] of source.datoms()) if (a === nameAttr) member ??= e;
    const email = (await source.entity(member!))![':member/email'] as string;
    const replica = (await target.datomsAVET(':member/email', email))[0]!;
    const restored = (await target.entity(replica))!;
    expect(restored[':member/email']).toBe(email);
    expect(restored[':member/name']).toBeUndefined();
    // One target transaction per source transaction, even those left empty by elision.
    expect(await target.basisT()).toBe(await source.basisT());
    await expectReplica(source, target, { ignore: [':member/name'] });
    // Without ignoring it, the comparison sees exactly what was elided.
    const strict = await compareReplica(source, target);
    expect(strict.equal).toBe(false);
    expect(strict.differences.every((d) => d.kind === 'missing-in-target' && d.detail.includes(':member/name'))).toBe(true);
  });

  it('rewrite masks values of one attribute, keyed by ident, and keeps retractions consistent', async () => {
    const { source } = await librarySource(resources, 150, 4);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [50]);
    const target = await resources.database();
    await restoreAll(target, store, 'lib', {
      rewrite: { ':member/name': (v) => `masked-${String(v).length}` },
    });
    let names = 0;
    for await (const [e, a, v] of target.datoms()) {
      const schema = await target.schema();
      if (schema.get(a)?.ident === ':member/name') {
        names++;
        expect(v).toMatch(/^masked-\d+$/);
        expect(e).toBeGreaterThan(0);
      }
    }
    expect(names).toBeGreaterThan(0);
    await expectReplica(source, target, { ignore: [':member/name'] });
  });

  it('untilT stops after the last transaction at or before it; a later run continues', async () => {
    const { source } = await librarySource(resources, 90, 5);
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'lib', [30]);
    const target = await resources.database();
    const totals = await restoreAll(target, store, 'lib', { untilT: 47 });
    expect(totals.toT).toBe(47);
    // Every applied transaction counted, the last segment's too.
    expect(totals.transactions).toBe(47);
    expect(totals.untilReached).toBe(true);
    expect(await target.basisT()).toBe(47);
    await expectReplica(source, target, { asOfT: 47 });
    await restoreAll(target, store, 'lib');
    await expectReplica(source, target);
  });

  it('untilInstant stops after the last transaction at or before the instant', async () => {
    const source = await resources.database();
    await source.transact([{ ':db/ident': ':n/v', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' }], {
      txInstant: new Date('2020-01-01T00:00:00Z'),
    });
    for (let i = 1; i <= 20; i++) {
      await source.transact([{ ':n/v': i }], { txInstant: new Date(Date.UTC(2020, 0, 1 + i)) });
    }
    const store = resources.memoryStore();
    await exportInSizes(source, store, 'n', [7]);
    const target = await resources.database();
    // 2020-01-11 is the instant of the 11th data transaction, t = 11 + 1.
    const totals = await restoreAll(target, store, 'n', { untilInstant: new Date('2020-01-11T00:00:00Z') });
    expect(totals.toT).toBe(11);
    expect(totals.untilReached).toBe(true);
    await expectReplica(source, target, { asOfT: 11 });
    const later = await restoreAll(target, store, 'n', { untilInstant: new Date('2020-01-11T12:00:00Z') });
    expect(later.toT).toBe(11);
  });
});
