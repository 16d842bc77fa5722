import { it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import { exportRange } from '../../src/segment/export';
import { openMemoryStore } from '../../src/stores';
it('probe', async () => {
  const db = await openDatabase('pglite:memory');
  await db.transact([{ ':db/ident': ':x/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/many' }]);
  await db.transact([{ ':db/id': 'a', ':x/name': 'ann' }]);
  const store = openMemoryStore();
  await exportRange(db, store, 'x', 1, 2);
  await db.transact([[':db/add', ':x/name', ':db/ident', ':x/label']]);
  try { await exportRange(db, store, 'x', 1, 2); console.log('rename: no conflict'); } catch (e) { console.log('rename:', (e as Error).message); }
  await db.transact([[':db/add', ':x/label', ':db/cardinality', ':db.cardinality/one']]);
  try { await exportRange(db, store, 'x', 2, 2); console.log('card: no conflict'); } catch (e) { console.log('card:', (e as Error).message); }
  await db.close();
}, 60000);
