// The services as users run them: producer and consumer as child processes over Redis,
// while a workload keeps writing to the source; killed, restarted, Redis flushed.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LibraryWorkload } from '../../src/workload';
import { openDatabase } from '../../src/db/open';
import { readPosition } from '../../src/restore/bookkeeping';
import { freshPostgresUrl } from '../support/postgres';
import { startTxclone, txclone, until } from './support';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

// A Redis logical database of its own, so that FLUSHDB touches no other test file's queues.
const REDIS_URL = `${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}/11`;

describe('replicate', () => {
  it('producer and consumer converge while the source keeps writing, through SIGKILL, SIGTERM, a Redis flush and a second consumer', async () => {
    const db = `e2e-${randomBytes(4).toString('hex')}`;
    const sourceUrl = await freshPostgresUrl();
    const targetUrl = await freshPostgresUrl();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-replicate-'));
    dirs.push(dir);
    const store = path.join(dir, 'store');
    const env = { TXCLONE_DB: db, TXCLONE_STORE: store, TXCLONE_REDIS: REDIS_URL, TXCLONE_INTERVAL: '200', TXCLONE_MAX_TXNS: '50' };
    const producerArgs = ['replicate', '--role', 'producer', '--source', sourceUrl];
    const consumerArgs = ['replicate', '--role', 'consumer', '--target', targetUrl];

    const source = await openDatabase(sourceUrl);
    const target = await openDatabase(targetUrl);
    const redis = new Redis(REDIS_URL);
    try {
      const workload = new LibraryWorkload({ seed: 77, stageEvery: 100 });
      await workload.run(source, 100, 20);
      const position = async () => (await readPosition(target, db)).position;
      const write = (count: number) => workload.run(source, count, 10);

      let producer = startTxclone(producerArgs, env);
      let consumer = startTxclone(consumerArgs, env);
      await until(async () => (await position()) >= 50, 60_000, 'the consumer to start applying');

      // SIGKILL the consumer mid-run, keep writing, start it again.
      consumer.child.kill('SIGKILL');
      await consumer.exited;
      await write(60);
      consumer = startTxclone(consumerArgs, env);
      await until(async () => (await position()) >= (await source.basisT()) - 5, 60_000, 'catch-up after SIGKILL of the consumer');

      // SIGKILL the producer mid-run; the new one goes on from the store's head.
      producer.child.kill('SIGKILL');
      await producer.exited;
      await write(40);
      producer = startTxclone(producerArgs, env);

      // Redis loses everything: the producer re-creates its scheduler, the consumer reconciles.
      await redis.flushdb();
      await write(40);

      // A second consumer on the same target; the CAS decides who applies what.
      const second = startTxclone(consumerArgs, env);
      await write(40);
      const basis = await source.basisT();
      await until(async () => (await position()) === basis, 90_000, `the replica to reach t=${basis}`);

      // SIGTERM: each service finishes what it is doing, closes everything and exits 0.
      // (A signal that arrives while Node is still loading the CLI finds no handler yet.)
      for (const service of [second, consumer, producer]) {
        await until(async () => service.output().includes('"msg":"replicating"'), 60_000, 'a service to be running');
      }
      for (const service of [second, consumer, producer]) service.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect(await consumer.exited).toBe(0);
      expect(await producer.exited).toBe(0);
      expect(consumer.output()).toContain('stopped cleanly');

      // One target transaction per source transaction: nothing applied twice.
      expect(await target.basisT()).toBe(basis);
      const verify = await txclone(['verify-replica', '--source', sourceUrl, '--target', targetUrl]);
      expect(verify.stdout).toMatch(/^equal/);
      expect(verify.code).toBe(0);
    } finally {
      redis.disconnect();
      await source.close();
      await target.close();
    }
  }, 300_000);

  it('--no-queue runs both loops in one process, without Redis, and stops on SIGTERM', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-noqueue-'));
    dirs.push(dir);
    const sourceUrl = `pglite:${path.join(dir, 'source')}`;
    const targetUrl = `pglite:${path.join(dir, 'target')}`;
    const source = await openDatabase(sourceUrl);
    await new LibraryWorkload({ seed: 8, stageEvery: 50 }).run(source, 150, 25);
    await source.close();
    const service = startTxclone(
      ['replicate', '--no-queue', '--source', sourceUrl, '--target', targetUrl, '--store', path.join(dir, 'store'), '--db', 'lib', '--interval', '100', '--metrics-port', '0'],
      { TXCLONE_REDIS: 'redis://127.0.0.1:1' },
    );
    // The target's directory belongs to the service while it runs: read its log instead.
    await until(async () => /"toT":150\b/.test(service.output()), 90_000, 'the replica to catch up');
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const verify = await txclone(['verify-replica', '--source', sourceUrl, '--target', targetUrl]);
    expect(verify.stdout).toMatch(/^equal: source t=150/);
  }, 180_000);
});
