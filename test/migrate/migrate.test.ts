// Live migration end to end, against real databases: writers in other processes go through
// their own routers while a migration copies, streams, cuts over (and rolls back).
import { afterEach, describe, expect, onTestFinished, test } from 'vitest';
import { openDatabase } from '../../src/db/open';
import type { Database } from '../../src/db/types';
import { Journal, liveMigrate, MigrationStateError, type Migration } from '../../src/migrate';
import { compareReplica, createRestorer } from '../../src/restore';
import { openDirectoryStore, type SegmentStore } from '../../src/stores';
import { sleep } from '../../src/sleep';
import { freshPostgresUrl } from '../support/postgres';
import { checkAcks, seedSource, startWriter, tempDir, WRITER_SCHEMA, type Ack } from './support';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close().catch(() => undefined);
});

async function open(url: string): Promise<Database> {
  const db = await openDatabase(url);
  opened.push(db);
  return db;
}

async function caughtUp(migration: Migration): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const s = await migration.status();
    if (s.lag === 0 && s.source.basisT === s.target.basisT) return;
    await sleep(50);
  }
  throw new Error('the clone did not catch up');
}

describe('live migration, PostgreSQL to PostgreSQL, writers in two processes', () => {
  test('cutover: every acknowledged write once in the new primary, ids kept, the old source follows, a downstream replica stays equal', async () => {
    const [sourceUrl, targetUrl, replicaUrl] = [await freshPostgresUrl(), await freshPostgresUrl(), await freshPostgresUrl()];
    const storeDir = await tempDir('migrate-store');
    const source = await open(sourceUrl);
    await seedSource(source, 1500);
    const target = await open(targetUrl);
    const store = openDirectoryStore({ path: storeDir });
    opened.push(store);

    const migration = await liveMigrate({ source, target, store, db: 'lib', id: 'move-1', names: { source: 'old', target: 'new' }, readyLag: 100, stepMs: 100, intervalMs: 20 });
    opened.push(migration);
    const databases = { old: sourceUrl, new: targetUrl };
    const writers = ['p1', 'p2'].map((name) => startWriter({ databases, store: storeDir, db: 'lib', name, rate: 100, loops: 4 }));
    await Promise.all(writers.map((w) => w.started));

    // A downstream remap replica following the same store database.
    const replica = await open(replicaUrl);
    const downstream = createRestorer(replica, store, 'lib', { mode: 'remap' });

    await migration.waitReady();
    expect((await migration.status()).phase).toBe('ready');
    await sleep(500);
    const before: Ack[] = writers.flatMap((w) => w.acks.slice());
    await downstream.all();
    const cut = await migration.cutover();
    expect(cut).toMatchObject({ from: 'old', to: 'new' });
    const afterCut = await migration.status();
    expect(afterCut.phase).toBe('after-cutover');
    expect(afterCut.target.role).toMatchObject({ role: 'primary', fence: null });
    expect(afterCut.source.role).toMatchObject({ role: 'clone', cloneOf: 'lib' });
    await sleep(1000);
    await Promise.all(writers.map((w) => w.stop()));
    const acks = writers.flatMap((w) => w.acks);
    expect(writers.flatMap((w) => w.errors)).toEqual([]);
    expect(acks.some((a) => a.db === 'old') && acks.some((a) => a.db === 'new')).toBe(true);

    await checkAcks(acks, target, 'old', [{ t: cut.t, from: 'old', to: 'new' }]);
    // Ids stored before the cutover name the same entities after it.
    for (const ack of before.slice(-50)) expect(await target.entity(ack.e)).toMatchObject({ ':writer/key': ack.key, ':writer/seq': ack.seq });
    // The old source follows the new primary through the store, streamed in reverse.
    await caughtUp(migration);
    const t = await target.basisT();
    expect(await source.logDigest(1, t)).toBe(await target.logDigest(1, t));
    await expect(source.transact([{ ':writer/key': 'late' }])).rejects.toMatchObject({ name: 'ReadOnlyCloneError' });
    // The remap replica that followed the old source keeps following without noticing.
    await downstream.all();
    expect((await compareReplica(target, replica)).equal).toBe(true);

    await migration.finish();
    await expect(migration.rollback()).rejects.toThrow(/is finished: a rollback is no longer possible/);
    expect((await migration.done()).phase).toBe('finished');
  });

  test('rollback: cut over, keep writing, roll back; every write once in the old source again', async () => {
    const [sourceUrl, targetUrl] = [await freshPostgresUrl(), await freshPostgresUrl()];
    const storeDir = await tempDir('migrate-store');
    const source = await open(sourceUrl);
    await seedSource(source, 300);
    const target = await open(targetUrl);
    const store = openDirectoryStore({ path: storeDir });
    opened.push(store);
    const migration = await liveMigrate({ source, target, store, db: 'lib', id: 'there-and-back', names: { source: 'a', target: 'b' }, readyLag: 100, stepMs: 100, intervalMs: 20 });
    opened.push(migration);
    const writers = ['p1', 'p2'].map((name) => startWriter({ databases: { a: sourceUrl, b: targetUrl }, store: storeDir, db: 'lib', name, rate: 100, loops: 4 }));
    await Promise.all(writers.map((w) => w.started));
    await migration.waitReady();
    const there = await migration.cutover();
    await sleep(700);
    await migration.waitReady();
    const back = await migration.rollback();
    expect(back).toMatchObject({ from: 'b', to: 'a' });
    expect(back.t).toBeGreaterThan(there.t);
    await sleep(700);
    await Promise.all(writers.map((w) => w.stop()));
    expect(writers.flatMap((w) => w.errors)).toEqual([]);
    const acks = writers.flatMap((w) => w.acks);
    expect(new Set(acks.map((a) => a.db))).toEqual(new Set(['a', 'b']));
    await checkAcks(acks, source, 'a', [
      { t: there.t, from: 'a', to: 'b' },
      { t: back.t, from: 'b', to: 'a' },
    ]);
    const status = await migration.status();
    expect(status).toMatchObject({ state: 'rolled-back', primary: 'a' });
    expect(status.target.role.role).toBe('clone');
    await migration.abort();
    expect((await source.role())).toMatchObject({ role: 'primary', fence: null });
  });
});

describe('live migration, PGlite to PostgreSQL, one process', () => {
  test('writes through migration.router across the cutover; the fence refuses a direct write', async () => {
    const started = Date.now();
    const lap = (what: string) => console.log(`pglite test: ${what} at ${Date.now() - started} ms`);
    const dir = await tempDir('migrate-pglite');
    const source = await open(`pglite:${dir}/app`);
    await seedSource(source, 200);
    lap('seeded');
    const target = await open(await freshPostgresUrl());
    const store = openDirectoryStore({ path: `${dir}/store` });
    opened.push(store);
    const acceptedBy = new WeakMap<object, string>();
    const migration = await liveMigrate({
      source, target, store, db: 'app', id: 'to-postgres', names: { source: 'src', target: 'tgt' }, readyLag: 50, stepMs: 100, intervalMs: 20,
      router: { onAccepted: (name, report) => acceptedBy.set(report, name) },
    });
    opened.push(migration);
    const acks: Ack[] = [];
    const cutovers: string[] = [];
    const failures: unknown[] = [];
    let stop = false;
    migration.router.on('cutover', (e) => cutovers.push(`${e.from}->${e.to}`));
    onTestFinished(() => {
      stop = true;
    });
    const loops = [0, 1].map(async (loop) => {
      for (let seq = 0; !stop; seq++) {
        const key = `w-${loop}-${seq}`;
        const report = await migration.router.transact([{ ':db/id': 'w', ':writer/key': key, ':writer/seq': seq }]).catch((err: unknown) => {
          if (!stop) failures.push(err);
          return null;
        });
        if (report === null) break;
        acks.push({ type: 'ack', key, loop, seq, t: report.t, e: report.tempids.w!, db: acceptedBy.get(report)!, at: Date.now(), waited: 0 });
        await sleep(25);
      }
    });
    await migration.waitReady();
    lap('ready');
    expect((await migration.router.primary()).name).toBe('src');
    const cut = await migration.cutover();
    lap('cut over');
    expect((await migration.router.primary()).name).toBe('tgt');
    // The fence lives in the database: a writer that does not use a router is refused too.
    await expect(source.transact([{ ':writer/key': 'direct' }])).rejects.toMatchObject({ name: 'ReadOnlyCloneError' });
    await sleep(500);
    stop = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(cutovers).toEqual(['src->tgt']);
    await checkAcks(acks, target, 'src', [{ t: cut.t, from: 'src', to: 'tgt' }]);
    expect(acks.filter((a) => a.t > cut.t).length).toBeGreaterThan(0);
    await migration.finish();
  });
});

describe('cutover timeout and bad input', () => {
  test('a drain that exceeds cutoverTimeout lifts the fence: writes resume on the source, nothing lost; a later cutover works', async () => {
    const [sourceUrl, targetUrl] = [await freshPostgresUrl(), await freshPostgresUrl()];
    const storeDir = await tempDir('migrate-store');
    const source = await open(sourceUrl);
    await seedSource(source, 200);
    const target = await open(targetUrl);
    const store = openDirectoryStore({ path: storeDir });
    opened.push(store);
    const migration = await liveMigrate({ source, target, store, db: 'lib', id: 'too-slow', names: { source: 's', target: 't' }, readyLag: 1_000, cutoverTimeout: 1, stepMs: 100, intervalMs: 20 });
    opened.push(migration);
    const writer = startWriter({ databases: { s: sourceUrl, t: targetUrl }, store: storeDir, db: 'lib', name: 'p1', rate: 100, loops: 2 });
    await writer.started;
    await migration.waitReady();
    await sleep(300);
    await expect(migration.cutover()).rejects.toThrow(/failed and was undone: .*cutoverTimeout 1 ms.*s is unfenced and accepts writes again/s);
    expect((await source.role())).toMatchObject({ role: 'primary', fence: null });
    expect((await target.role()).role).toBe('clone');
    expect(migration.state).toBe('unfenced');
    const ackedBefore = writer.acks.length;
    await sleep(500);
    expect(writer.acks.length).toBeGreaterThan(ackedBefore);
    expect(writer.acks.slice(ackedBefore).every((a) => a.db === 's')).toBe(true);
    await writer.stop();
    expect(writer.errors).toEqual([]);
    await checkAcks(writer.acks, source, 's', []);
    const journal = await (await import('../../src/migrate')).listMigrations(store, 'lib');
    expect(journal.map((c) => c.migration)).toEqual(['too-slow']);
  });

  test('bad input: a target that is not empty, a second migration, a cutover before ready, abort after cutover, rollback after finish', async () => {
    const [sourceUrl, plainTargetUrl, otherUrl] = [await freshPostgresUrl(), await freshPostgresUrl(), await freshPostgresUrl()];
    // A password in the URL (the local server trusts any): it must appear nowhere in the store.
    const targetUrl = plainTargetUrl.replace('postgres://postgres@', 'postgres://postgres:s3cret-pw@');
    expect(targetUrl).toContain('s3cret-pw');
    const storeDir = await tempDir('migrate-store');
    const source = await open(sourceUrl);
    await seedSource(source, 3000);
    const target = await open(targetUrl);
    const other = await open(otherUrl);
    await other.transact(WRITER_SCHEMA);
    const store: SegmentStore = openDirectoryStore({ path: storeDir });
    opened.push(store);

    await expect(liveMigrate({ source, target: other, store, db: 'lib', id: 'm0' })).rejects.toThrow(
      /target .* is not empty \(basis t=1, a primary\): a migration needs an empty target, or a clone of lib/,
    );
    expect(await store.listRecords('lib', 'migrations/')).toEqual([]); // nothing half-written
    await expect(liveMigrate({ source, target: source, store, db: 'lib' })).rejects.toThrow(/source and target are the same database/);
    await expect(liveMigrate({ source, target, store, db: 'lib', id: 'Bad Id' })).rejects.toThrow(/invalid migration id "Bad Id"/);

    const migration = await liveMigrate({ source, target, store, db: 'lib', id: 'm1', stepMs: 1, readyLag: 0 });
    opened.push(migration);
    await expect(migration.cutover()).rejects.toThrow(MigrationStateError);
    await expect(migration.cutover()).rejects.toThrow(/not ready/);
    await expect(liveMigrate({ source, target: await open(await freshPostgresUrl()), store, db: 'lib', id: 'm2' })).rejects.toThrow(
      /database lib in .* already has migration m1 in progress \(state (copying|streaming)/,
    );
    await expect(migration.finish()).rejects.toThrow(/has not cut over .*nothing to finish/);
    await expect(migration.rollback()).rejects.toThrow(/nothing to roll back/);
    await migration.waitReady();
    await migration.cutover();
    await expect(migration.abort()).rejects.toThrow(/has cut over .*use rollback, or finish/);
    await migration.finish();
    await expect(migration.rollback()).rejects.toThrow(/is finished: a rollback is no longer possible/);
    await expect(liveMigrate({ source, target, store, db: 'lib', id: 'm1' })).rejects.toThrow(/migration m1 of lib finished at/);
    const journal = await new Journal({ store, db: 'lib', migration: 'm1', by: 'test' }).entries();
    expect(journal.map((e) => e.state)).toEqual(['copying', 'streaming', 'fenced', 'cut-over', 'finished']);
    for (const name of await store.listRecords('lib', 'migrations/m1/')) {
      expect(new TextDecoder().decode((await store.getRecord('lib', name))!)).not.toContain('s3cret-pw');
    }
    expect(journal[0]!.target).toContain('127.0.0.1');
  });
});
