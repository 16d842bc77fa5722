// The README's main job on the embedded default: a source PGlite database with a growing
// library workload, a producer exporting into a directory store and a consumer restoring
// into a target PGlite database, concurrently, until the replica has caught up; then the
// replica is compared with its source, datom by datom.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { openDatabase } from '../../db/open';
import type { Database } from '../../db/types';
import { compareReplica } from '../../restore/compare';
import { compareClone } from '../../restore/compare-clone';
import { replicaPosition, type ReplicaMode } from '../../restore/position';
import { continuousRestore } from '../../restore/continuous';
import { exportAll } from '../../segment/export';
import { openDirectoryStore } from '../../stores/directory';
import { CliFailure, EXIT_USAGE, defineCommand, parseIntegerOption } from '../command';
import type { CliContext } from '../context';
import { startProgress } from '../progress';
import { LibraryWorkload } from '../../workload';

const MARKER = '.txclone-demo';
const DB = 'library';

/** An earlier demo's directory is replaced; any other non-empty directory is refused. */
async function prepareDir(dir: string): Promise<void> {
  if (existsSync(dir)) {
    const entries = await readdir(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new CliFailure(`demo: ${dir} exists and is not a txclone demo directory; choose another --dir`, EXIT_USAGE);
    }
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, MARKER), 'made by txclone demo\n');
}

function rate(n: number, ms: number): string {
  return Math.round((n * 1000) / Math.max(ms, 1)).toLocaleString('en-US');
}

async function position(target: Database, mode: ReplicaMode): Promise<number> {
  return (await replicaPosition(target, DB, mode)).position;
}

export function registerDemoCommand(program: Command): void {
  defineCommand(
    program
      .command('demo')
      .description('replicate a growing PGlite database through a directory store into another PGlite database, then verify')
      .option('--dir <dir>', 'work directory (source, store and target live here)', './txclone-demo')
      .option('--transactions <n>', 'source transactions in all (half before replication starts, half while it runs)', '20000')
      .option('--seed <n>', 'workload seed', '1')
      .addOption(new Option('--mode <mode>', "replica mode: remap (own ids) or clone (the source's ids and log)").choices(['remap', 'clone']).default('remap')),
    ['logLevel'],
    async (ctx, options) => runDemo(ctx, options),
  );
}

async function runDemo(ctx: CliContext, options: Record<string, unknown>): Promise<number> {
  const dir = path.resolve(String(options.dir));
  const total = parseIntegerOption('--transactions', options.transactions)!;
  const mode = options.mode as ReplicaMode;
  if (total < 10) throw new CliFailure('demo: --transactions must be at least 10', EXIT_USAGE);
  await prepareDir(dir);
  const log = ctx.logger;
  const source = await openDatabase(`pglite:${path.join(dir, 'source')}`);
  const target = await openDatabase(`pglite:${path.join(dir, 'target')}`);
  const store = openDirectoryStore({ path: path.join(dir, 'store') });
  const controller = new AbortController();
  try {
    console.log(`txclone demo in ${dir}: source, store and target on the embedded default (PGlite, a directory)`);
    const workload = new LibraryWorkload({ seed: parseIntegerOption('--seed', options.seed), stageEvery: Math.max(50, Math.floor(total / 5)) });
    const before = Math.floor(total / 2);
    const fill = startProgress('source', before, log);
    let written = 0;
    let sourceDatoms = 0;
    const fillStarted = Date.now();
    while (written < before) {
      const n = Math.min(500, before - written);
      sourceDatoms += await workload.run(source, n, 100);
      fill.update((written += n));
    }
    fill.stop();
    console.log(`1. source: ${written} transactions, ${sourceDatoms} datoms written in ${((Date.now() - fillStarted) / 1000).toFixed(1)} s`);

    // The replication runs while the workload goes on writing.
    const started = Date.now();
    let exported = { segments: 0, datoms: 0, ms: 0 };
    let restoredDatoms = 0;
    let restoreMs = 0;
    let maxLag = 0;
    let writing = true;
    const producer = (async () => {
      while (!controller.signal.aborted) {
        const t0 = Date.now();
        const result = await exportAll(source, store, DB, { maxTxns: 1000, logger: log });
        exported = { segments: exported.segments + result.segments.length, datoms: exported.datoms + result.datoms, ms: exported.ms + (result.segments.length ? Date.now() - t0 : 0) };
        if (!writing && result.segments.length === 0) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const consumer = continuousRestore(target, store, DB, {
      signal: controller.signal,
      pollMs: 100,
      mode,
      logger: log,
      onStep: (step) => {
        restoredDatoms += step.datoms;
        restoreMs += step.ms;
      },
    });
    const replicate = startProgress('replicate', total, log);
    const during = total - before;
    let more = 0;
    while (more < during) {
      const n = Math.min(100, during - more);
      sourceDatoms += await workload.run(source, n, 50);
      more += n;
      const lag = (await source.basisT()) - (await position(target, mode));
      maxLag = Math.max(maxLag, lag);
      replicate.update(await position(target, mode), await source.basisT());
    }
    writing = false;
    const writesDone = Date.now();
    await producer;
    const finalBasis = await source.basisT();
    while ((await position(target, mode)) < finalBasis) {
      replicate.update(await position(target, mode), finalBasis);
      await new Promise((r) => setTimeout(r, 100));
    }
    replicate.update(finalBasis, finalBasis);
    replicate.stop();
    const catchUp = (Date.now() - writesDone) / 1000;
    controller.abort();
    const summary = await consumer;
    const seconds = (Date.now() - started) / 1000;
    console.log(`2. replicated ${finalBasis} transactions (${mode} mode) while ${during} more were written, in ${seconds.toFixed(1)} s`);

    const verifyStarted = Date.now();
    const result = mode === 'clone' ? await verifyClone(source, target) : await compareReplica(source, target);
    if (mode === 'clone') console.log(`3. verify: the clone's log ${result.equal ? 'EQUALS' : 'DIFFERS FROM'} the source's: ${result.transactions} transactions compared by digest in ${((Date.now() - verifyStarted) / 1000).toFixed(1)} s`);
    else console.log(`3. verify: ${result.equal ? 'EQUAL' : 'DIFFERENT'}: ${result.sourceDatoms} current datoms and ${result.transactions} transactions compared in ${((Date.now() - verifyStarted) / 1000).toFixed(1)} s`);
    console.log('');
    console.log('summary');
    console.log(`  source        ${finalBasis} transactions, ${sourceDatoms} datoms logged`);
    console.log(`  segments      ${exported.segments} in ${path.join(dir, 'store')}, export ${rate(exported.datoms, exported.ms)} datoms/s`);
    console.log(`  restore       ${restoredDatoms} datoms, ${rate(restoredDatoms, restoreMs)} datoms/s while applying`);
    console.log(`  lag           at most ${maxLag} transactions behind while the workload wrote; caught up ${catchUp.toFixed(1)} s after its last write`);
    if (summary.idMap) console.log(`  id cache      ${summary.idMap.hits} hits, ${summary.idMap.newAboveMark} new above the mark, ${summary.idMap.lookups} looked up`);
    console.log(`  verify        ${result.equal ? 'equal' : `${result.differenceCount} differences`}`);
    for (const d of result.differences.slice(0, 10)) console.log(`    ${d.kind}: ${d.detail}`);
    return result.equal ? 0 : 1;
  } finally {
    controller.abort();
    await store.close();
    await target.close();
    await source.close();
  }
}

/** A clone's verification in the shape of compareReplica's result: logs compared by digest. */
async function verifyClone(source: Database, target: Database) {
  const logs = await compareClone(source, target);
  return { ...logs, sourceDatoms: 0, differenceCount: logs.differences.length + logs.differingRanges };
}
