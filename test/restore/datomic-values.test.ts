// Floats, symbols, 64-bit longs and bigdecs (canonical, scale kept) survive export, restore
// and verify-replica exactly, through the commands a user runs; and a replica that differs in
// the last bit of a wide long is told apart from its source.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import type { TxOp } from '../../src/db/types';
import { compareReplica } from '../../src/restore/compare';
import { txclone } from '../cli/support';
import { freshPostgresUrl } from '../support/postgres';
import { Resources } from './fixtures';

const resources = new Resources();
afterEach(() => resources.close());

const many = { ':db/cardinality': ':db.cardinality/many' };
const SCHEMA: TxOp[] = [
  { ':db/ident': ':v/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one', ':db/unique': ':db.unique/identity' },
  { ':db/ident': ':v/float', ':db/valueType': ':db.type/float', ...many },
  { ':db/ident': ':v/symbol', ':db/valueType': ':db.type/symbol', ...many },
  { ':db/ident': ':v/long', ':db/valueType': ':db.type/long', ...many },
  { ':db/ident': ':v/bigdec', ':db/valueType': ':db.type/bigdec', ...many },
  { ':db/ident': ':v/mixed', ':db/valueType': ':db.type/tuple', ':db/cardinality': ':db.cardinality/one',
    ':db/tupleTypes': [':db.type/float', ':db.type/symbol', ':db.type/long', ':db.type/bigdec'] },
  { ':db/ident': ':v/wideId', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one', ':db/unique': ':db.unique/identity' },
];

describe('new value types through export, restore in both modes and verify-replica', () => {
  it('come back exactly, and a one-off wide long is a difference', async () => {
    const [source, target, clone] = [await freshPostgresUrl(), await freshPostgresUrl(), await freshPostgresUrl()];
    const db = await openDatabase(source);
    try {
      await db.transact(SCHEMA);
      await db.transact([
        {
          ':v/name': 'x',
          ':v/float': [1, Math.fround(0.1), -0, NaN, -Infinity, 3.4028234663852886e38],
          ':v/symbol': ['inc', 'clojure.core/inc', 'my.ns/*fn!'],
          ':v/long': [2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n, 42, Number.MAX_SAFE_INTEGER],
          ':v/bigdec': ['+12.50', '12.5', '-0.0', '1E-7', '1.2E3'],
          ':v/mixed': [0.5, 'sym', 2n ** 62n, '+1.10'],
          ':v/wideId': 2n ** 60n + 1n,
        },
      ]);
      // Upsert through the wide identity, a retraction of a wide long and a redundant bigdec.
      await db.transact([
        { ':v/wideId': 2n ** 60n + 1n, ':v/long': [7] },
        [':db/retract', [':v/name', 'x'], ':v/long', -(2n ** 63n)],
        [':db/add', [':v/name', 'x'], ':v/bigdec', '12.50'],
      ]);
      const entity = await db.entity([':v/name', 'x']);
      expect(entity![':v/bigdec']).toEqual(expect.arrayContaining(['12.50', '12.5', '0.0', '1E-7', '1.2E+3']));
      expect(entity![':v/long']).toEqual(expect.arrayContaining([2n ** 63n - 1n, 9007199254740993n, 42, 7]));
    } finally {
      await db.close();
    }

    const { dir: store } = await resources.directoryStore();
    const backup = await txclone(['backup', '--source', source, '--store', store, '--db', 'v']);
    expect(backup.code, backup.stderr).toBe(0);
    const inspect = await txclone(['segments', 'inspect', '1-3', '--store', store, '--db', 'v']);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain(':version 2');
    expect(inspect.stdout).toMatch(/:v\/long 9223372036854775807 \d+ true/);
    expect(inspect.stdout).toMatch(/:v\/symbol clojure.core\/inc \d+ true/);
    expect(inspect.stdout).toMatch(/:v\/bigdec 1\.2E\+3M \d+ true/);
    const restore = await txclone(['restore', '--target', target, '--store', store, '--db', 'v']);
    expect(restore.code, restore.stderr).toBe(0);
    const verify = await txclone(['verify-replica', '--source', source, '--target', target]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^equal: source t=3/);

    // Clone mode: the source's log, row for row.
    const cloned = await txclone(['restore', '--target', clone, '--store', store, '--db', 'v', '--mode', 'clone']);
    expect(cloned.code, cloned.stderr).toBe(0);
    const verifyClone = await txclone(['verify-replica', '--source', source, '--target', clone]);
    expect(verifyClone.code, verifyClone.stdout + verifyClone.stderr).toBe(0);
    expect(verifyClone.stdout).toMatch(/^logs equal: t=1\.\.3/);

    const [s, t, c] = [await resources.database(source), await resources.database(target), await resources.database(clone)];
    expect(await c.entity([':v/name', 'x'])).toEqual(await s.entity([':v/name', 'x']));
    const { [':txclone/original-id']: _original, ...replica } = (await t.entity([':v/name', 'x']))!;
    expect(replica).toEqual(await s.entity([':v/name', 'x']));
    // One more bit in a wide long on the replica alone is found.
    await t.transact([
      [':db/retract', [':v/name', 'x'], ':v/long', 9007199254740993n],
      [':db/add', [':v/name', 'x'], ':v/long', 9007199254740992n],
    ]);
    const result = await compareReplica(s, t);
    expect(result.equal).toBe(false);
    expect(JSON.stringify(result.differences, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toContain('9007199254740993');
  }, 180_000);
});
