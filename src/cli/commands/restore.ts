import { Command } from 'commander';
import { waitOutUnavailable } from '../../db/unavailable';
import { compareReplica } from '../../restore/compare';
import { compareClone } from '../../restore/compare-clone';
import { replicaPosition } from '../../restore/position';
import { createRestorer } from '../../restore/restorer';
import { restorerOptions } from '../modes';
import { CliFailure, EXIT_USAGE, collect, defineCommand, parseIntegerOption } from '../command';
import { startProgress } from '../progress';

function parseInstant(value: unknown): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(String(value));
  if (Number.isNaN(date.getTime())) throw new CliFailure(`--until-time: expected an ISO instant like 2026-01-31T12:00:00Z, got ${JSON.stringify(value)}`, EXIT_USAGE);
  return date;
}


export function registerRestoreCommands(program: Command): void {
  defineCommand(
    program
      .command('restore')
      .description('replay segments into the target until caught up (or until a point in time), then exit')
      .option('--until-t <t>', 'point in time: stop after source transaction t')
      .option('--until-time <instant>', 'point in time: stop after the last transaction at or before this ISO instant')
      .option('--elide <attr>', 'drop the datoms of this attribute (repeatable)', collect)
      .option('--allow-foreign-writes', 'replicate into a target that others write to as well'),
    ['target', 'store', 'db', 'mode', 'batchTxns', 'idCacheSize', 'bulkLoadMinTxns', 'encryptionKeyFile', 'encryptionKeyId', 'logLevel'],
    async (ctx, options) => {
      const codec = ctx.codec(); // keys are checked before anything is opened
      const target = await ctx.target();
      const store = ctx.store();
      const settings = restorerOptions(ctx, codec);
      const at = await replicaPosition(target, ctx.db, settings.mode!);
      const head = await store.head(ctx.db);
      const untilT = parseIntegerOption('--until-t', options.untilT);
      const end = Math.min(head?.endT ?? at.position, untilT ?? Infinity);
      const progress = startProgress('restore', Math.max(0, end - at.position), ctx.logger);
      const started = Date.now();
      const elide = options.elide as string[] | undefined;
      const restorer = createRestorer(target, store, ctx.db, {
        ...settings,
        untilT,
        untilInstant: parseInstant(options.untilTime),
        elide,
        allowForeignWrites: options.allowForeignWrites ? true : undefined,
        onProgress: (p) => {
          progress.update(p.position - at.position);
          datoms += p.datoms - stepDatoms;
          stepDatoms = p.datoms;
        },
      });
      // Counted per commit, so that the commits of a step cut short by a restarting server count too.
      let datoms = 0;
      let stepDatoms = 0;
      let toT = at.position;
      let untilReached = false;
      try {
        // A target server restarting mid-restore: the restore goes on from the target's position (each step is CAS-guarded).
        await waitOutUnavailable(
          async () => {
            for (;;) {
              stepDatoms = 0;
              const step = await restorer.next();
              toT = step.toT;
              if (step.status === 'caught-up' || step.untilReached) {
                untilReached = step.untilReached;
                return;
              }
            }
          },
          { what: 'restore', logger: ctx.logger },
        );
        progress.stop();
        const seconds = (Date.now() - started) / 1000;
        const s = restorer.stats();
        console.log(
          `restore${settings.mode === 'clone' ? ' (clone)' : ''}: t=${at.position} -> t=${toT}${untilReached ? ' (until reached)' : ''}, ${toT - at.position} transactions, ` +
            `${datoms} datoms in ${seconds.toFixed(1)} s (${Math.round(datoms / Math.max(seconds, 0.001))} datoms/s)` +
            (s ? `; id cache: ${s.hits} hits, ${s.newAboveMark} new above the mark, ${s.lookups} looked up in ${s.queries} queries, ${s.cacheSize} cached` : ''),
        );
      } finally {
        progress.stop();
      }
    },
  );
  defineCommand(
    program
      .command('verify-replica')
      .description('compare the target with the source datom by datom; exit 1 when they differ')
      .option('--as-of-t <t>', 'compare as of this source t (default: the target position)')
      .option('--ignore <attr>', 'leave this attribute out (e.g. one elided or rewritten; repeatable)', collect)
      .option('--max-differences <n>', 'list at most n differences', '50')
      .option('--max-datoms-in-memory <n>', 'source datoms held at once (about 200 bytes each); more take extra passes', '2000000'),
    ['source', 'target', 'logLevel'],
    async (ctx, options) => {
      const [source, target] = [await ctx.source(), await ctx.target()];
      const targetRole = await target.role();
      if (targetRole.cloneOf !== null) {
        // A clone (or a promoted one): its log is the source's, compared range by range.
        const result = await compareClone(source, target, {
          asOfT: parseIntegerOption('--as-of-t', options.asOfT),
          maxDifferences: parseIntegerOption('--max-differences', options.maxDifferences),
        });
        if (result.equal) {
          console.log(`logs equal: t=1..${result.asOfT}, ${result.transactions} transactions in ${result.ranges} ranges compared by digest`);
          return 0;
        }
        console.log(`DIFFERENT: the logs differ in ${result.differingRanges} of ${result.ranges} ranges (t=1..${result.asOfT})`);
        for (const d of result.differences) console.log(`  ${d.kind}: ${d.detail}`);
        return 1;
      }
      const result = await compareReplica(source, target, {
        asOfT: parseIntegerOption('--as-of-t', options.asOfT),
        ignore: (options.ignore as string[] | undefined) ?? [],
        maxDifferences: parseIntegerOption('--max-differences', options.maxDifferences),
        maxDatomsInMemory: parseIntegerOption('--max-datoms-in-memory', options.maxDatomsInMemory),
      });
      if (result.equal) {
        const passes = result.passes > 1 ? ` in ${result.passes} passes` : '';
        console.log(`equal: source t=${result.asOfT} (target t=${result.targetT}), ${result.sourceDatoms} datoms, ${result.transactions} transactions${passes}`);
        return 0;
      }
      console.log(`DIFFERENT: ${result.differenceCount} differences at source t=${result.asOfT} (target t=${result.targetT})`);
      for (const d of result.differences) console.log(`  ${d.kind}: ${d.detail}`);
      return 1;
    },
  );
}
