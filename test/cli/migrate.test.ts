// The README's walk-through: a PGlite database moved to PostgreSQL with the CLI, the
// coordinator in one process and the commands that steer it in others.
import { afterEach, expect, test } from 'vitest';
import { openDatabase } from '../../src/db/open';
import type { Database } from '../../src/db/types';
import { freshPostgresUrl } from '../support/postgres';
import { seedSource, tempDir } from '../migrate/support';
import { startTxclone, txclone, until } from './support';

const opened: Database[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close().catch(() => undefined);
});

test('migrate start | status | cutover | finish, PGlite to PostgreSQL; bad input errors', async () => {
  const dir = await tempDir('cli-migrate');
  const sourceUrl = `pglite:${dir}/app`;
  const targetUrl = await freshPostgresUrl();
  const seeding = await openDatabase(sourceUrl);
  await seedSource(seeding, 300);
  await seeding.close();
  const common = ['--store', `${dir}/store`, '--db', 'app'];

  const usage = await txclone(['migrate', 'start', '--source', sourceUrl, '--target', targetUrl, ...common, '--id', 'Not Valid']);
  expect(usage.code).toBe(1);
  expect(usage.stderr).toMatch(/invalid migration id "Not Valid"/);
  const none = await txclone(['migrate', 'status', ...common]);
  expect(none.code).toBe(1);
  expect(none.stderr).toMatch(/database app in .* has no migration/);

  const run = startTxclone(['migrate', 'start', '--source', sourceUrl, '--target', targetUrl, ...common, '--id', 'to-pg', '--ready-lag', '0']);
  await until(async () => (await txclone(['migrate', 'status', ...common])).stdout.includes('streaming'), 120_000, 'streaming');
  const status = await txclone(['migrate', 'status', ...common, '--json']);
  expect(JSON.parse(status.stdout)).toMatchObject({ id: 'to-pg', state: 'streaming', migrations: ['to-pg'] });

  const early = await txclone(['migrate', 'finish', ...common]);
  expect(early.code).toBe(1);
  expect(early.stderr).toMatch(/has not cut over .*nothing to finish/);
  const cutover = await txclone(['migrate', 'cutover', ...common]);
  expect(cutover.code, cutover.stderr).toBe(0);
  expect(cutover.stdout).toMatch(/migration to-pg: cutover done; state cut-over/);
  const finish = await txclone(['migrate', 'finish', ...common]);
  expect(finish.code, finish.stderr).toBe(0);
  expect(await run.exited).toBe(0);
  expect(run.output()).toMatch(/finished/);
  const after = await txclone(['migrate', 'status', ...common, '--source', sourceUrl, '--target', targetUrl]);
  expect(after.stdout).toMatch(/migration to-pg of app: finished/);
  expect(after.stdout).toMatch(/^ +\d+ \S+ cut-over +t=\d+/m);
  expect(after.stdout).toMatch(/^source: t=\d+, clone of app$/m);
  expect(after.stdout).toMatch(/^target: t=\d+, primary$/m);
  const rollback = await txclone(['migrate', 'rollback', ...common, '--timeout', '1000']);
  expect(rollback.code).toBe(1);
  expect(rollback.stderr).toMatch(/migration to-pg is finished \(at .*\): a rollback is no longer possible/);

  const target = await openDatabase(targetUrl);
  opened.push(target);
  expect((await target.role()).role).toBe('primary');
  await target.transact([{ ':writer/key': 'written after the move' }]);
  const source = await openDatabase(sourceUrl);
  opened.push(source);
  await expect(source.transact([{ ':writer/key': 'x' }])).rejects.toMatchObject({ name: 'ReadOnlyCloneError' });
});
