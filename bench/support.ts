// Shared by the benchmarks: a cached source database and small printing helpers.
import pg from 'pg';
import { LibraryWorkload } from '../src/workload';
import { openDatabase } from '../src/db/open';
import type { Database } from '../src/db/types';

export function postgresBase(): string {
  return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

export function postgresUrl(schema: string): string {
  const url = new URL(postgresBase());
  url.searchParams.set('schema', schema);
  return url.toString();
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresBase() });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

const COMPLETE = ':bench/complete';

/**
 * A source database on the PostgreSQL server with at least `datoms` datoms of the library
 * workload, built once and reused by later runs (schema bench_source_<datoms>).
 */
export async function benchSource(datoms: number): Promise<Database> {
  const schema = `bench_source_${datoms}`;
  let source = await openDatabase(postgresUrl(schema));
  if ((await source.resolve(COMPLETE)) !== null) return source;
  await source.close();
  await dropSchema(schema);
  source = await openDatabase(postgresUrl(schema));
  const workload = new LibraryWorkload({ seed: 42, stageEvery: 5000 });
  let written = 0;
  const started = Date.now();
  while (written < datoms) {
    written += await workload.run(source, 5000, 500);
    process.stderr.write(`\rbuilding source: ${written} datoms`);
  }
  await source.transact([{ ':db/ident': COMPLETE }]);
  process.stderr.write(`\rbuilt source: ${written} datoms in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return source;
}

export function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number, got ${process.argv[i + 1]}`);
  return value;
}

export function rate(count: number, ms: number): string {
  return Math.round((count * 1000) / ms).toLocaleString('en-US');
}

export function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
