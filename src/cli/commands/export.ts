import { Command } from 'commander';
import { waitOutUnavailable } from '../../db/unavailable';
import { backup, exportAll, findGaps, repair, type BackupOptions, type ExportedSegment, type ExportResult } from '../../segment/export';
import { defineCommand } from '../command';
import type { CliContext } from '../context';
import { startProgress } from '../progress';

function pacing(ctx: CliContext): BackupOptions {
  const c = ctx.config;
  return {
    maxTxns: c.maxTxns,
    maxBytes: c.maxBytes,
    segmentTxns: c.segmentTxns,
    parallel: c.parallel,
    maxTxPerSecond: c.maxTxPerSecond,
    pauseMs: c.pauseMs,
    codec: ctx.sealingCodec(),
    logger: ctx.logger,
  };
}

async function withProgress(ctx: CliContext, label: string, run: (options: BackupOptions) => Promise<ExportResult>): Promise<void> {
  const source = await ctx.source();
  const basis = await source.basisT();
  const head = await ctx.store().head(ctx.db);
  const progress = startProgress(label, Math.max(0, basis - (label === 'backup' ? 0 : head?.endT ?? 0)), ctx.logger);
  // Counted per segment, so that segments of an attempt the server's restart cut short count too.
  const ranges = new Map<number, ExportedSegment>();
  let done = 0;
  const started = Date.now();
  try {
    const onSegment = (s: ExportedSegment) => {
      if (!ranges.has(s.info.startT)) progress.update((done += s.transactions));
      ranges.set(s.info.startT, s);
    };
    // A source server restarting mid-export: the export runs again (segments are write-once, the same bytes a no-op).
    await waitOutUnavailable(() => run({ ...pacing(ctx), onSegment }), { what: label, logger: ctx.logger });
    progress.stop();
    const seconds = (Date.now() - started) / 1000;
    const segments = [...ranges.values()].sort((a, b) => a.info.startT - b.info.startT);
    const transactions = segments.reduce((n, s) => n + s.transactions, 0);
    const datoms = segments.reduce((n, s) => n + s.datoms, 0);
    const range = segments.length === 0 ? 'nothing new' : `t=${segments[0]!.info.startT}..${segments[segments.length - 1]!.info.endT}`;
    console.log(`${label}: ${range}, ${segments.length} segments, ${transactions} transactions, ${datoms} datoms in ${seconds.toFixed(1)} s`);
  } finally {
    progress.stop();
  }
}

export function registerExportCommands(program: Command): void {
  defineCommand(
    program.command('backup').description('initial backup: every missing range up to the source basis, in parallel; resumable'),
    ['source', 'store', 'db', 'segmentTxns', 'parallel', 'maxBytes', 'maxTxPerSecond', 'pauseMs', 'encryptionKeyFile', 'encryptionKeyId', 'logLevel'],
    async (ctx) => {
      ctx.sealingCodec(); // the keys are checked before anything is opened
      const source = await ctx.source();
      await withProgress(ctx, 'backup', (options) => backup(source, ctx.store(), ctx.db, options));
    },
  );
  defineCommand(
    program.command('export').description("export the source's new transactions as segments, until caught up"),
    ['source', 'store', 'db', 'maxTxns', 'maxBytes', 'maxTxPerSecond', 'pauseMs', 'encryptionKeyFile', 'encryptionKeyId', 'logLevel'],
    async (ctx) => {
      ctx.sealingCodec(); // the keys are checked before anything is opened
      const source = await ctx.source();
      await withProgress(ctx, 'export', (options) => exportAll(source, ctx.store(), ctx.db, options));
    },
  );
  defineCommand(
    program.command('gaps').description('list the ranges no segment holds (from the listing only)'),
    ['store', 'db', 'source', 'logLevel'],
    async (ctx) => {
      const upToT = ctx.config.source ? await (await ctx.source()).basisT() : undefined;
      const gaps = await findGaps(ctx.store(), ctx.db, { upToT });
      for (const gap of gaps) console.log(`missing t=${gap.startT}..${gap.endT}`);
      if (gaps.length === 0) console.log('no gaps');
      return gaps.length ? 1 : 0;
    },
  );
  defineCommand(
    program.command('repair').description('re-export exactly the missing ranges below the store head'),
    ['source', 'store', 'db', 'segmentTxns', 'parallel', 'encryptionKeyFile', 'encryptionKeyId', 'logLevel'],
    async (ctx) => {
      const settings = pacing(ctx);
      const result = await repair(await ctx.source(), ctx.store(), ctx.db, settings);
      console.log(result.segments.length ? `repaired ${result.segments.map((s) => `t=${s.info.startT}..${s.info.endT}`).join(', ')}` : 'nothing to repair');
    },
  );
}
