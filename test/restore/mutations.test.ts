// 10,000 mutations of real segments (their gzip bytes, and their decoded CBOR structure
// written back as well-formed bytes) go through verify, decode and restore. Each ends in a
// clear error or a correct result: never a crash, never a hang (each case is timed), and
// never a partial apply (a restore that fails leaves the target at a whole transaction it
// accounts for, and one refused at decode leaves it untouched).
//
// Every case is verified and decoded; restore runs for every decodable mutation of the
// first segment (up to a cap, each into a fresh database: a schema of one in-memory PGlite)
// and for a sample of the refused ones (into one database that must stay untouched).
// MUTATIONS and MUTATION_SEED change the run.
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PGlite } from '@electric-sql/pglite';
import { DatomDatabase } from '../../src/db/datom-db';
import { PGliteDriver, createPGlite } from '../../src/db/sql/pglite';
import type { Database } from '../../src/db/types';
import { readPosition } from '../../src/restore/bookkeeping';
import { Restorer } from '../../src/restore/restore';
import { clearCodec, encodeSegment, SegmentDecodeError, sha256Hex, type Segment } from '../../src/segment';
import { MemoryBucket, openMemoryStore, segmentKey } from '../../src/stores';
import type { SegmentInfo } from '../../src/stores/types';
import { mutator, type Mutation } from '../support/mutate';
import { inputOf } from '../segment/support';
import { Resources, exportInSizes, expectReplica, librarySource } from './fixtures';

const CASES = Number(process.env.MUTATIONS ?? 10_000);
const SEED = Number(process.env.MUTATION_SEED ?? 13);
/** Decoding a few-KiB segment takes about a millisecond; a second is a hang. */
const DECODE_BOUND_MS = 2_000;
/** A restore of 30 transactions; far beyond it is a hang. */
const RESTORE_BOUND_MS = 60_000;
/** Decodable mutations of the first segment restored, each into a fresh database. */
const APPLIED_RESTORES = 40;
/** Refused mutations restored into the same PGlite, which must stay untouched. */
const REFUSED_RESTORE_EVERY = 40;

const resources = new Resources();
let source: Database;
let infos: SegmentInfo[];
let originals: Uint8Array[];
let decoded: Segment[];

beforeAll(async () => {
  ({ source } = await librarySource(resources, 120, 61));
  const store = resources.memoryStore();
  await exportInSizes(source, store, 'lib', [30]);
  infos = [];
  for await (const info of store.list('lib')) infos.push(info);
  originals = await Promise.all(infos.map((i) => store.get('lib', i.startT, i.endT)));
  decoded = originals.map((bytes, k) => clearCodec.decode(bytes, { name: infos[k]!.key, place: placeOf(infos[k]!) }));
}, 180_000);

afterAll(async () => {
  await resources.close();
  await (await pglite)?.close();
});

/** Targets are schemas of one in-memory PGlite: a fresh one costs a few DDL statements, not PGlite's start-up. */
let pglite: Promise<PGlite> | null = null;
let schemas = 0;
async function freshTarget(): Promise<Database> {
  pglite ??= createPGlite();
  const schema = `mutation_${++schemas}`;
  const db = await DatomDatabase.open(`pglite:memory?schema=${schema}`, PGliteDriver.shared(await pglite, schema));
  resources.onClose(() => db.close());
  return db;
}

const placeOf = (info: SegmentInfo) => ({ database: info.db, startT: info.startT, endT: info.endT });

/** A store holding one segment: the bytes under the range's key, with the given checksum. */
function storeHolding(info: SegmentInfo, bytes: Uint8Array, sha256: string) {
  const bucket = new MemoryBucket();
  bucket.objects.set(segmentKey(info.db, info.startT, info.endT), { bytes, sha256 });
  return openMemoryStore({ bucket, warn: () => {} });
}

/** Errors that mean the code broke, not that it refused bad input. */
const CRASHES = new Set(['TypeError', 'ReferenceError', 'SyntaxError', 'RangeError', 'AssertionError']);

it(`${CASES} mutated segments: verify, decode and restore each end in a clear error or a correct result`, async () => {
  const mutate = mutator(SEED);
  const failures: string[] = [];
  const tally = { bytes: 0, structure: 0, verifyCaught: 0, decodeRefused: 0, decodeAccepted: 0, unchanged: 0, restoreRefused: 0, restoreApplied: 0, targetRefused: 0 };
  let slowestDecodeMs = 0;
  let slowestRestoreMs = 0;
  let untouched: Database | null = null;
  /** A few of the errors a target gave for segments that decoded, for the log. */
  const targetErrors: string[] = [];

  const fail = (i: number, m: Mutation, problem: string) => {
    failures.push(`case ${i} (segment ${infos[i % infos.length]!.key}, ${m.layer}: ${m.what}): ${problem}`);
  };

  for (let i = 0; i < CASES && failures.length < 10; i++) {
    const k = i % originals.length;
    const info = infos[k]!;
    const m = mutate.mutate(originals[k]!, originals.filter((_, j) => j !== k));
    tally[m.layer]++;
    const changed = !Buffer.from(m.bytes).equals(Buffer.from(originals[k]!));

    // verify: bytes changed behind the store's back fail their checksum, named by key. A
    // structural mutation was written with its own checksum (a faulty producer): verify,
    // which reads checksums only, passes it, and decode must catch it.
    const written = m.layer === 'bytes' ? info.sha256! : sha256Hex(m.bytes);
    const stored = storeHolding(info, m.bytes, written);
    const report = await stored.verify('lib');
    const caught = report.corrupt.some((c) => c.key === info.key);
    if (m.layer === 'bytes' && changed !== caught) fail(i, m, `verify ${caught ? 'reported' : 'missed'} it: ${JSON.stringify(report.corrupt)}`);
    if (m.layer === 'structure' && !report.ok) fail(i, m, `verify refused a segment whose checksum holds: ${JSON.stringify(report)}`);
    if (caught) tally.verifyCaught++;
    await stored.close();

    // decode, checked against the place it is stored at.
    const name = `mutations ${info.key}`;
    let segment: Segment | null = null;
    const started = performance.now();
    try {
      segment = clearCodec.decode(m.bytes, { name, place: placeOf(info) });
      tally.decodeAccepted++;
    } catch (err) {
      if (!(err instanceof SegmentDecodeError)) fail(i, m, `decode threw ${String(err)}`);
      else if (!err.message.startsWith(`segment ${name}: `)) fail(i, m, `the error does not name the segment: ${err.message}`);
      else tally.decodeRefused++;
    }
    const decodeMs = performance.now() - started;
    slowestDecodeMs = Math.max(slowestDecodeMs, decodeMs);
    if (decodeMs > DECODE_BOUND_MS) fail(i, m, `decode took ${Math.round(decodeMs)} ms`);
    const same = segment !== null && isDeepStrictEqual(segment, decoded[k]);
    if (segment) {
      if (same) tally.unchanged++;
      const { database, startT, endT } = segment.header;
      if (database !== info.db || startT !== info.startT || endT !== info.endT) fail(i, m, `decoded a segment of another place: ${database} ${startT}..${endT}`);
      // What decodes is a valid segment: the encoder takes it back.
      try {
        encodeSegment(inputOf(segment));
      } catch (err) {
        fail(i, m, `decoded, but the encoder refuses it: ${String(err)}`);
      }
    }

    // restore (the first segment only, so that every target starts empty).
    if (k !== 0) continue;
    const applied = segment !== null;
    if (applied ? tally.restoreApplied + tally.targetRefused >= APPLIED_RESTORES : i % (REFUSED_RESTORE_EVERY * infos.length) !== 0) continue;
    const target = applied ? await freshTarget() : (untouched ??= await freshTarget());
    const store = storeHolding(info, m.bytes, sha256Hex(m.bytes));
    const restoreStarted = performance.now();
    let outcome: { error: unknown } | null = null;
    try {
      await bounded(new Restorer(target, store, 'lib', { batchTxns: 10 }).all(), RESTORE_BOUND_MS);
    } catch (error) {
      outcome = { error };
    }
    slowestRestoreMs = Math.max(slowestRestoreMs, performance.now() - restoreStarted);
    await store.close();
    const at = await readPosition(target, 'lib');
    const basis = await target.basisT();
    if (outcome) {
      const err = outcome.error as Error;
      if (!(err instanceof Error) || CRASHES.has(err.name) || err.message.includes('did not finish'))
        fail(i, m, `restore crashed or hung: ${String(err)}`);
      else if (!/segment |t=\d/.test(err.message)) fail(i, m, `restore error names neither segment nor t: ${err.message}`);
      if (!applied && basis !== 0) fail(i, m, `a segment refused at decode changed the target (basis t=${basis})`);
      // Whole transactions only: one target transaction per source transaction applied.
      if (applied && basis !== at.position) fail(i, m, `target at basis t=${basis} but position ${at.position}: a partial apply`);
      if (applied) {
        tally.targetRefused++;
        if (targetErrors.length < 4) targetErrors.push(`${m.what}: ${err.name}: ${err.message.slice(0, 300)}`);
      } else tally.restoreRefused++;
    } else {
      if (!applied) fail(i, m, 'restore applied a segment decode refuses');
      else if (at.position !== info.endT || basis !== info.endT) fail(i, m, `restore ended at position ${at.position}, basis t=${basis}, expected ${info.endT}`);
      else if (same) await expectReplica(source, target);
      tally.restoreApplied++;
    }
  }

  console.info(
    `${CASES} mutations (seed ${SEED}): ${JSON.stringify(tally)}; slowest decode ${Math.round(slowestDecodeMs)} ms, slowest restore ${Math.round(slowestRestoreMs)} ms` +
      (targetErrors.length ? `; refused by the target, e.g.:\n  ${targetErrors.join('\n  ')}` : ''),
  );
  expect(failures).toEqual([]);
  // Both layers ran, and each way out was taken.
  expect(tally.bytes).toBeGreaterThan(CASES / 3);
  expect(tally.structure).toBeGreaterThan(CASES / 3);
  expect(tally.decodeRefused).toBeGreaterThan(CASES / 3);
  expect(tally.decodeAccepted).toBeGreaterThan(0);
  expect(tally.restoreRefused).toBeGreaterThan(0);
  expect(tally.restoreApplied + tally.targetRefused).toBeGreaterThan(0);
}, 600_000);

async function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
