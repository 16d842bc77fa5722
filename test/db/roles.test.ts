// Roles live in the meta row; a database made before roles existed gets them when opened.
import { describe, expect, it } from 'vitest';
import { DatabaseFencedError, CloneRefusedError } from '../../src/db/errors';
import { openDatabase } from '../../src/db/open';
import { freshPostgresUrl } from '../support/postgres';
import { sqlOf } from '../support/tables';

describe('roles', () => {
  it('a database made before roles opens as a primary, and a fence refuses writes until lifted', async () => {
    const url = await freshPostgresUrl();
    let db = await openDatabase(url);
    await db.transact([{ ':db/ident': ':p/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]);
    await sqlOf(db).query('alter table meta drop column role, drop column clone_of, drop column loading, drop column fence');
    await db.close();
    db = await openDatabase(url);
    try {
      expect(await db.role()).toEqual({ role: 'primary', cloneOf: null, loading: false, fence: null });
      expect(await db.fence({ migration: 'm1', newPrimary: 'pg-new' })).toBe(1);
      expect(await db.fence({ migration: 'm1', newPrimary: 'pg-new' })).toBe(1); // the same migration again: a no-op
      await expect(db.fence({ migration: 'm2', newPrimary: 'other' })).rejects.toBeInstanceOf(CloneRefusedError);
      const err = await db.transact([{ ':p/name': 'Ann' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseFencedError);
      expect(err).toMatchObject({ retryable: true, migration: 'm1', newPrimary: 'pg-new' });
      expect((err as Error).message).toMatch(/fenced by migration m1: it accepts no writes; the new primary is pg-new/);
      expect(await db.basisT()).toBe(1); // nothing written
      await db.unfence('m2'); // another migration's unfence leaves it fenced
      expect((await db.role()).fence).not.toBeNull();
      await db.unfence('m1');
      expect((await db.transact([{ ':p/name': 'Ann' }])).t).toBe(2);
      // A fenced primary can be demoted by its migration: it becomes a clone, which refuses writes.
      await db.fence({ migration: 'm1', newPrimary: 'pg-new' });
      await expect(db.demote('lib', 'm2')).rejects.toBeInstanceOf(CloneRefusedError);
      await db.demote('lib', 'm1');
      expect(await db.role()).toEqual({ role: 'clone', cloneOf: 'lib', loading: false, fence: null });
      await expect(db.transact([{ ':p/name': 'Bea' }])).rejects.toThrow(/is a clone of "lib"/);
    } finally {
      await db.close();
    }
  });
});
