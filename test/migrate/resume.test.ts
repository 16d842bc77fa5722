// A coordinator killed at any instant resumes to one consistent outcome: the cutover
// completes, or the source is unfenced. Real SIGKILLs of `txclone migrate start`, and the
// two instants inside a cutover set up exactly (fenced but not promoted; promoted but the old
// primary not demoted yet).
import { afterEach, describe, expect, test } from 'vitest';
import { openDatabase } from '../../src/db/open';
import type { Database } from '../../src/db/types';
import { Journal, liveMigrate } from '../../src/migrate';
import { createRestorer } from '../../src/restore';
import { openDirectoryStore } from '../../src/stores';
import { startTxclone, txclone, until } from '../cli/support';
import { freshPostgresUrl } from '../support/postgres';
import { seedSource, tempDir } from './support';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close().catch(() => undefined);
});

async function open(url: string): Promise<Database> {
  const db = await openDatabase(url);
  opened.push(db);
  return db;
}

/** A migration brought to ready, then stopped as if its process had died at the start of a cutover. */
async function readyThenStopped() {
  const [sourceUrl, targetUrl] = [await freshPostgresUrl(), await freshPostgresUrl()];
  const storeDir = await tempDir('resume-store');
  const source = await open(sourceUrl);
  await seedSource(source, 300);
  const target = await open(targetUrl);
  const store = openDirectoryStore({ path: storeDir });
  opened.push(store);
  const options = { source, target, store, db: 'lib', id: 'cut', names: { source: 'old', target: 'new' }, readyLag: 0, stepMs: 100, intervalMs: 20 };
  const first = await liveMigrate(options);
  await first.waitReady();
  await first.close();
  // What a coordinator does first in a cutover: the journal entry, then the fence.
  const journal = new Journal({ store, db: 'lib', migration: 'cut', by: 'test:1' });
  // Its deadline: a resumed coordinator waits past it before it settles the cutover.
  await journal.append(await journal.latest(), { state: 'fenced', t: await source.basisT(), reason: null, deadline: new Date(Date.now() + 300) });
  const fenceT = await source.fence({ migration: 'cut', newPrimary: 'new' });
  return { source, target, store, options, journal, fenceT };
}

describe('resume after the coordinator died inside a cutover', () => {
  test('fenced, not promoted: the fence refuses every writer; a resumed coordinator lifts it', async () => {
    const { source, target, options, journal, fenceT } = await readyThenStopped();
    const refused = await source.transact([{ ':writer/key': 'direct' }]).catch((e: unknown) => e as Error & Record<string, unknown>);
    expect(refused).toMatchObject({ name: 'DatabaseFencedError', retryable: true, migration: 'cut', newPrimary: 'new' });
    expect(await source.basisT()).toBe(fenceT); // nothing was written
    const resumed = await liveMigrate(options);
    opened.push(resumed);
    expect(resumed.state).toBe('unfenced');
    expect((await journal.latest())!.reason).toMatch(/the coordinator stopped during the cutover; the fence was lifted/);
    expect(await source.role()).toMatchObject({ role: 'primary', fence: null });
    expect((await target.role()).role).toBe('clone');
    await source.transact([{ ':writer/key': 'after' }]);
    // And it can cut over again.
    await resumed.waitReady();
    const cut = await resumed.cutover();
    expect(cut.t).toBe(fenceT + 1);
  });

  test('promoted, old primary not demoted: a resumed coordinator completes the cutover', async () => {
    const { source, target, store, options, journal, fenceT } = await readyThenStopped();
    const restorer = createRestorer(target, store, 'lib', { mode: 'clone' });
    await (await import('../../src/segment/export')).exportAll(source, store, 'lib');
    while ((await target.basisT()) < fenceT) await restorer.next({ untilT: fenceT });
    await target.promote();
    const resumed = await liveMigrate(options);
    opened.push(resumed);
    expect(resumed.state).toBe('cut-over');
    expect((await journal.latest())!.t).toBe(fenceT);
    expect(await source.role()).toMatchObject({ role: 'clone', cloneOf: 'lib', fence: null });
    expect(await target.role()).toMatchObject({ role: 'primary', fence: null });
    const written = await target.transact([{ ':writer/key': 'on the new primary' }]);
    expect(written.t).toBe(fenceT + 1);
    await until(async () => (await source.basisT()) === fenceT + 1, 30_000, 'the old source to follow');
  });
});

describe('SIGKILL of `txclone migrate start`, then the same command again', () => {
  test('killed while copying, while streaming, around the cutover and after it: resumes to one primary and equal logs', async () => {
    const dir = await tempDir('resume-cli');
    const [sourceUrl, targetUrl] = [await freshPostgresUrl(), await freshPostgresUrl()];
    const source = await open(sourceUrl);
    await seedSource(source, 4000);
    const target = await open(targetUrl);
    const store = openDirectoryStore({ path: `${dir}/store` });
    opened.push(store);
    const journal = new Journal({ store, db: 'lib', migration: 'k1', by: 'test:1' });
    const args = ['migrate', 'start', '--source', sourceUrl, '--target', targetUrl, '--store', `${dir}/store`, '--db', 'lib', '--id', 'k1', '--ready-lag', '0', '--max-txns', '200'];
    const state = async () => (await journal.latest())?.state;

    // 1. While copying: as soon as the target holds part of the log.
    let run = startTxclone(args);
    await until(async () => (await target.basisT()) > 0, 60_000, 'the copy to start');
    run.child.kill('SIGKILL');
    await run.exited;
    expect(await state()).toBe('copying');
    expect(await target.basisT()).toBeLessThan(await source.basisT());

    // 2. While streaming, with the source still taking writes.
    run = startTxclone(args);
    await until(async () => (await state()) === 'streaming', 120_000, 'the copy to finish after the resume');
    await source.transact([{ ':writer/key': 'while streaming' }]);
    run.child.kill('SIGKILL');
    await run.exited;

    // 3. Around the cutover: killed the moment the journal shows the fence (or later, if that was quicker).
    run = startTxclone([...args, '--cutover-when-ready']);
    await until(async () => ['fenced', 'cut-over', 'unfenced'].includes((await state()) ?? ''), 120_000, 'the cutover to start');
    run.child.kill('SIGKILL');
    await run.exited;
    const killedIn = await state();

    // 4. After the cutover, while the old source follows the new primary in reverse.
    run = startTxclone([...args, '--cutover-when-ready']);
    await until(async () => (await state()) === 'cut-over', 120_000, 'the cutover after the resume');
    await target.transact([{ ':writer/key': 'on the new primary' }]);
    await until(async () => (await source.basisT()) === (await target.basisT()), 60_000, 'the old source to follow');
    run.child.kill('SIGKILL');
    await run.exited;

    // Resume: one outcome.
    const last = await txclone([...args, '--finish-after-cutover'], {}, 180_000);
    expect(last.code, last.stdout + last.stderr).toBe(0);
    const entries = await journal.entries();
    expect(entries[entries.length - 1]!.state).toBe('finished');
    if (killedIn === 'fenced') expect(entries.some((e) => e.reason?.includes('resumed') || e.reason?.includes('lifted'))).toBe(true);
    expect(await target.role()).toMatchObject({ role: 'primary', fence: null });
    expect((await source.role()).role).toBe('clone');
    const t = await source.basisT();
    expect(await target.basisT()).toBe(t);
    expect(await target.logDigest(1, t)).toBe(await source.logDigest(1, t));
    expect(await target.datomsAVET(':writer/key', 'while streaming')).toHaveLength(1);
    expect(await source.datomsAVET(':writer/key', 'on the new primary')).toHaveLength(1);
  });
});
