/**
 * An S3 endpoint for tests: S3_ENDPOINT when set; else MinIO in a container when a
 * Docker engine answers; else s3rver in a child process on a random loopback port.
 * s3rver runs in its own process because it needs --openssl-legacy-provider (its list
 * continuation tokens use DES), which a test worker cannot switch on for itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export interface S3TestServer {
  readonly kind: 'external' | 'minio' | 's3rver';
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** False where the server ignores If-None-Match on PUT (s3rver). */
  readonly conditionalWrites: boolean;
  /** A plain client for setup and for tampering behind a store's back; closed with the server. */
  readonly client: S3Client;
  /** Creates a bucket with a unique name starting with label. */
  createBucket(label: string): Promise<string>;
  close(): Promise<void>;
}

const DOCKER_PROBE_MS = 3_000;
const START_TIMEOUT_MS = 15_000;

export async function startS3(): Promise<S3TestServer> {
  const external = process.env.S3_ENDPOINT;
  if (external) {
    return serverAt('external', external, {
      conditionalWrites: process.env.S3_CONDITIONAL_WRITES !== 'false',
      credentials: {
        accessKeyId: process.env.S3_ACCESS_KEY_ID ?? 'minioadmin',
        secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? 'minioadmin',
      },
      region: process.env.S3_REGION ?? 'us-east-1',
      stop: async () => {},
    });
  }
  return (await startMinio()) ?? (await startS3rver());
}

function serverAt(
  kind: S3TestServer['kind'],
  endpoint: string,
  setup: {
    conditionalWrites: boolean;
    credentials: { accessKeyId: string; secretAccessKey: string };
    region: string;
    stop: () => Promise<void>;
  },
): S3TestServer {
  const client = new S3Client({
    endpoint,
    region: setup.region,
    credentials: setup.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    kind,
    endpoint,
    region: setup.region,
    credentials: setup.credentials,
    conditionalWrites: setup.conditionalWrites,
    client,
    async createBucket(label) {
      const clean = label.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40);
      const bucket = `txclone-${clean}-${randomBytes(5).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    async close() {
      client.destroy();
      await setup.stop();
    },
  };
}

/** Only when a Docker engine is plausibly there, so machines without one lose no time. */
async function startMinio(): Promise<S3TestServer | null> {
  const sockets = [
    '/var/run/docker.sock',
    path.join(os.homedir(), '.docker/run/docker.sock'),
    ...(process.env.XDG_RUNTIME_DIR ? [path.join(process.env.XDG_RUNTIME_DIR, 'docker.sock')] : []),
  ];
  const configured = process.env.DOCKER_HOST || process.env.TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE;
  if (!configured && !sockets.some((s) => existsSync(s))) return null;
  let testcontainers: typeof import('testcontainers');
  try {
    testcontainers = await import('testcontainers');
    await withTimeout(testcontainers.getContainerRuntimeClient(), DOCKER_PROBE_MS, 'Docker engine probe');
  } catch {
    return null;
  }
  const credentials = { accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin' };
  const container = await new testcontainers.GenericContainer('minio/minio:latest')
    .withCommand(['server', '/data'])
    .withEnvironment({ MINIO_ROOT_USER: credentials.accessKeyId, MINIO_ROOT_PASSWORD: credentials.secretAccessKey })
    .withExposedPorts(9000)
    .withWaitStrategy(testcontainers.Wait.forHttp('/minio/health/live', 9000))
    .start();
  const endpoint = `http://${container.getHost()}:${container.getMappedPort(9000)}`;
  return serverAt('minio', endpoint, {
    conditionalWrites: true,
    credentials,
    region: 'us-east-1',
    stop: async () => {
      await container.stop();
    },
  });
}

const S3RVER_CHILD = `
const { module, directory } = JSON.parse(process.env.TXCLONE_S3RVER);
const S3rver = require(module);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
server.run().then(
  ({ port }) => process.stdout.write(JSON.stringify({ port }) + '\\n'),
  (err) => { console.error(err); process.exit(1); },
);
// The parent holds our stdin: when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
`;

async function startS3rver(): Promise<S3TestServer> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'txclone-s3rver-'));
  const module = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', S3RVER_CHILD], {
    env: { ...process.env, NODE_OPTIONS: '', TXCLONE_S3RVER: JSON.stringify({ module, directory }) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let port: number;
  try {
    port = await withTimeout(readPort(child), START_TIMEOUT_MS, 's3rver start');
  } catch (err) {
    child.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  return serverAt('s3rver', `http://127.0.0.1:${port}`, {
    conditionalWrites: false,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    region: 'us-east-1',
    stop: async () => {
      await stopChild(child);
      await rm(directory, { recursive: true, force: true });
    },
  });
}

function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve((JSON.parse(line!) as { port: number }).port);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`s3rver exited with code ${code} before listening: ${err.trim()}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
