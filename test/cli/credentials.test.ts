// Every command, run as a user runs it with secrets about: a password in every database
// URL, a password in the Redis URL, encryption keys and an AWS secret key in the
// environment, logs at debug level. Its stdout, stderr and logs are scanned, on success and
// on failure (a server that refuses, a bad URL, an unreachable S3): no secret appears.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open';
import { LibraryWorkload } from '../../src/workload';
import { startPostgres } from '../support/postgres';
import { startTxclone, txclone, type RunResult } from './support';

const DB_PASSWORD = `dbpw-${randomBytes(9).toString('hex')}`;
const REDIS_PASSWORD = `redispw-${randomBytes(9).toString('hex')}`;
const AWS_SECRET = `awssecret-${randomBytes(12).toString('hex')}`;
const KEY = randomBytes(32);
/** Every secret, and every way a key could be spelled. */
const SECRETS = [
  DB_PASSWORD,
  encodeURIComponent(DB_PASSWORD),
  REDIS_PASSWORD,
  AWS_SECRET,
  KEY.toString('base64'),
  KEY.toString('base64').replace(/=+$/, ''),
  KEY.toString('base64url'),
  KEY.toString('hex'),
];
const ENV = {
  TXCLONE_ENCRYPTION_KEYS: `k1=${KEY.toString('base64')}`,
  AWS_ACCESS_KEY_ID: 'AKIATXCLONETEST',
  AWS_SECRET_ACCESS_KEY: AWS_SECRET,
  PGPASSWORD: DB_PASSWORD,
  TXCLONE_LOG_LEVEL: 'debug',
};

let dir: string;
let serverUrl: string;
let sourceUrl: string;
let targetUrl: string;
let redisUrl: string | null = null;
let redisServer: ChildProcess | null = null;
const schemas: string[] = [];
const scanned: Array<{ what: string; text: string }> = [];

/** A URL of a fresh schema on the test server, with the password in it. */
function withPassword(serverUrl: string, schema: string): string {
  const url = new URL(serverUrl);
  url.password = DB_PASSWORD;
  url.searchParams.set('schema', schema);
  schemas.push(schema);
  return url.toString();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server that requires a password, where one is installed. */
async function passwordRedis(): Promise<string | null> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', REDIS_PASSWORD, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const started = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    setTimeout(() => resolve(child.exitCode === null), 500);
  });
  if (!started) return null;
  redisServer = child;
  return `redis://:${REDIS_PASSWORD}@127.0.0.1:${port}`;
}

async function run(what: string, args: string[], expectCode: number | null = 0): Promise<RunResult> {
  const started = Date.now();
  const result = await txclone(args, ENV);
  if (process.env.CREDENTIALS_TIMING) console.info(`${what}: exit ${result.code} in ${Date.now() - started} ms`);
  scanned.push({ what, text: `${result.stdout}\n${result.stderr}` });
  if (expectCode !== null) expect(result.code, `${what}:\n${result.stdout}\n${result.stderr}`).toBe(expectCode);
  return result;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-credentials-'));
  const server = await startPostgres();
  serverUrl = server.url;
  const tag = randomBytes(4).toString('hex');
  sourceUrl = withPassword(server.url, `cred_src_${tag}`);
  targetUrl = withPassword(server.url, `cred_tgt_${tag}`);
  // The test server trusts local connections: the password travels in the URL and is ignored.
  const source = await openDatabase(sourceUrl);
  await new LibraryWorkload({ seed: 14, stageEvery: 30 }).run(source, 90, 15);
  await source.close();
  redisUrl = await passwordRedis();
}, 120_000);

afterAll(async () => {
  redisServer?.kill('SIGKILL');
  const server = await startPostgres();
  const { dropSchema } = await import('../support/postgres');
  for (const schema of schemas) await dropSchema(server.url, schema).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

it('no command prints a password, a key or a secret, whether it succeeds or fails', async () => {
  const store = path.join(dir, 'store');
  const common = ['--store', store, '--db', 'lib'];

  // Every command's help.
  const help = ['backup', 'export', 'gaps', 'repair', 'replicate', 'restore', 'verify-replica', 'segments', 'segments list', 'segments verify', 'segments inspect', 'segments encrypt', 'prune', 'status', 'promote', 'demo'];
  await Promise.all([run('--help', ['--help']), ...help.map((c) => run(`${c} --help`, [...c.split(' '), '--help']))]);

  // Every command that works, in an order that makes each one do something.
  await run('backup', ['backup', '--source', sourceUrl, ...common, '--segment-txns', '30']);
  await run('export', ['export', '--source', sourceUrl, ...common]);
  await Promise.all([
    run('gaps', ['gaps', '--source', sourceUrl, ...common]),
    run('repair', ['repair', '--source', sourceUrl, ...common]),
    run('segments list', ['segments', 'list', ...common]),
    run('segments verify', ['segments', 'verify', ...common]),
    run('segments inspect', ['segments', 'inspect', '1-30', ...common]),
    run('segments encrypt', ['segments', 'encrypt', ...common, '--to', path.join(dir, 'sealed-copy')]),
  ]);
  const cloneUrl = withPassword(serverUrl, `cred_clone_${randomBytes(4).toString('hex')}`);
  await Promise.all([run('restore', ['restore', '--target', targetUrl, ...common]), run('restore --mode clone', ['restore', '--mode', 'clone', '--target', cloneUrl, ...common])]);
  await run('promote', ['promote', '--target', cloneUrl]);
  await run('promote a replica that is no clone', ['promote', '--target', targetUrl], 2);
  await Promise.all([
    run('verify-replica', ['verify-replica', '--source', sourceUrl, '--target', targetUrl]),
    run('status', ['status', '--source', sourceUrl, '--target', targetUrl, ...common]),
    run('status --json', ['status', '--json', '--source', sourceUrl, '--target', targetUrl, ...common]),
    run('prune', ['prune', ...common, '--before-t', '31', '--replica', targetUrl, '--dry-run']),
  ]);

  // The services, for a few seconds each, then SIGTERM.
  const hung: string[] = [];
  const services: Array<[string, string[]]> = [
    ['replicate --no-queue', ['replicate', '--no-queue', '--source', sourceUrl, '--target', withPassword(serverUrl, `cred_live_${randomBytes(4).toString('hex')}`), ...common, '--interval', '200']],
  ];
  if (redisUrl) {
    services.push(['replicate --role both (Redis with a password)', ['replicate', '--role', 'both', '--source', sourceUrl, '--target', targetUrl, ...common, '--redis', redisUrl, '--interval', '200']]);
    // A wrong Redis password: the services complain, without the password.
    services.push(['replicate (wrong Redis password)', ['replicate', '--role', 'producer', '--source', sourceUrl, ...common, '--redis', redisUrl.replace(REDIS_PASSWORD, `${REDIS_PASSWORD}x`), '--interval', '200']]);
  }
  await Promise.all(
    services.map(async ([what, args]) => {
      const service = startTxclone(args, ENV);
      await new Promise((r) => setTimeout(r, 6_000));
      service.child.kill('SIGTERM');
      // A producer whose Redis refuses its password does not stop on SIGTERM (a known bug, not
      // what this test is about): it is killed after a grace period, and its output scanned all the same.
      const stopped = await Promise.race([service.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 20_000))]);
      if (!stopped) {
        hung.push(what);
        service.child.kill('SIGKILL');
        await service.exited;
      }
      scanned.push({ what, text: service.output() });
    }),
  );

  // Failures: a database that does not exist, a bad URL, a refused server, an unreachable S3.
  const noDatabase = new URL(targetUrl);
  noDatabase.pathname = '/no_such_database_txclone';
  const badSchema = new URL(targetUrl);
  badSchema.searchParams.set('schema', 'not a schema!');
  const refused = new URL(targetUrl);
  refused.port = String(await freePort());
  await Promise.all([
    run('restore into a database that does not exist', ['restore', '--target', noDatabase.toString(), ...common], 1),
    run('restore into a bad URL', ['restore', '--target', badSchema.toString(), ...common], null),
    run('status of a refused server', ['status', '--source', refused.toString(), ...common], null),
    run('verify-replica through the environment', ['verify-replica'], null).catch(() => undefined),
    run('export to an unreachable S3', ['export', '--source', sourceUrl, '--store', `s3://bucket/prefix?endpoint=http://127.0.0.1:${await freePort()}&region=us-east-1&forcePathStyle=true`, '--db', 'lib'], null),
  ]);
  // Secrets through TXCLONE_* variables, one of them malformed.
  const viaEnv = await txclone(['status', ...common], { ...ENV, TXCLONE_SOURCE: sourceUrl, TXCLONE_TARGET: badSchema.toString() });
  scanned.push({ what: 'status with a malformed TXCLONE_TARGET', text: `${viaEnv.stdout}\n${viaEnv.stderr}` });

  // The scan: every output of every run.
  const leaks = scanned.flatMap(({ what, text }) => SECRETS.filter((s) => text.includes(s)).map((s) => `${what}: ${s.slice(0, 12)}... in\n${text.slice(0, 1500)}`));
  expect(leaks).toEqual([]);
  // The runs did run: logs at debug level, errors where expected.
  expect(scanned.length).toBeGreaterThan(25);
  expect(scanned.some((s) => s.what.startsWith('restore into a database') && /no_such_database_txclone/.test(s.text))).toBe(true);
  if (hung.length) console.warn(`did not stop on SIGTERM within 20 s (killed): ${hung.join('; ')}`);
  console.info(`${scanned.length} runs scanned (${scanned.reduce((n, s) => n + s.text.length, 0)} characters of output), Redis with a password: ${redisUrl ? 'yes' : 'no redis-server installed'}`);
}, 400_000);
