import { Command } from 'commander';
import { segmentToEdn } from '../../segment/edn';
import { sealedHeader } from '../../segment/codec';
import { encryptSegments } from '../../segment/encrypt';
import { startProgress } from '../progress';
import { readPosition } from '../../restore/bookkeeping';
import { CliFailure, EXIT_USAGE, collect, defineCommand, parseIntegerOption } from '../command';


function parseRange(text: string): [number, number, number] {
  const match = /^(\d+)(?:-|\.\.)(\d+)(?:\.L([1-9]))?$/.exec(text.replace(/\.seg$/, '').split('/').pop() ?? '');
  if (!match) throw new CliFailure(`segment: expected a range like 1-1000 or 1-1000.L1 (or a segment file name), got ${JSON.stringify(text)}`, EXIT_USAGE);
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

export function registerSegmentCommands(program: Command): void {
  const segments = program.command('segments').description('list, verify or inspect the segments in the store');
  defineCommand(
    segments.command('list').description('segments in t order, every level (a compacted segment L1.. lists beside the ones it holds)').option('--after-t <t>', 'only segments holding a t after this'),
    ['store', 'db', 'logLevel'],
    async (ctx, options) => {
      let count = 0;
      for await (const info of ctx.store().list(ctx.db, { afterT: parseIntegerOption('--after-t', options.afterT) })) {
        count++;
        console.log(`${info.startT}-${info.endT}\t${info.size} bytes\t${info.sha256 ?? ''}\t${info.key}\tL${info.level}`);
      }
      if (count === 0) console.log('no segments');
    },
  );
  defineCommand(
    segments.command('verify').description('read every segment: checksums, gaps, overlaps; exit 1 on any problem'),
    ['store', 'db', 'logLevel'],
    async (ctx) => {
      const report = await ctx.store().verify(ctx.db, { fromT: 1 });
      console.log(`${report.segments} segments, ${report.bytes} bytes, t=${report.firstT ?? '-'}..${report.lastT ?? '-'}`);
      for (const gap of report.gaps) console.log(`gap: t=${gap.startT}..${gap.endT} is in no segment`);
      for (const o of report.overlaps) console.log(`overlap: t=${o.startT}..${o.endT} is in ${o.first.key} and ${o.second.key}`);
      for (const c of report.corrupt) console.log(`corrupt: ${c.key}: ${c.reason}`);
      console.log(report.ok ? 'ok' : 'PROBLEMS FOUND');
      return report.ok ? 0 : 1;
    },
  );
  defineCommand(
    segments.command('inspect <range>').description('print a segment (e.g. 1-1000) as EDN; a sealed one needs its key'),
    ['store', 'db', 'encryptionKeyFile', 'encryptionKeyId', 'logLevel'],
    async (ctx, _options, [range]) => {
      const [startT, endT, level] = parseRange(range!);
      const codec = ctx.codec();
      const bytes = await ctx.store().get(ctx.db, startT, endT, level);
      const name = `${ctx.store().location} ${ctx.db} ${startT}-${endT}`;
      const segment = codec.decode(bytes, { name, place: { database: ctx.db, startT, endT } });
      const sealed = sealedHeader(bytes, name);
      if (sealed) console.log(`;; sealed with key "${sealed.keyId}" (${sealed.cipher})`);
      console.log(segmentToEdn(segment));
    },
  );
  defineCommand(
    segments
      .command('encrypt')
      .description('copy every segment into another store, sealed with the active key and verified; the store itself is never written')
      .requiredOption('--to <store>', 'the store the sealed copies go to (another directory or S3 prefix); run again to copy what is new'),
    ['store', 'db', 'parallel', 'encryptionKeyFile', 'encryptionKeyId', 'logLevel'],
    async (ctx, options) => {
      const codec = ctx.sealingCodec();
      if (codec.activeKeyId === null)
        throw new CliFailure('segments encrypt: no encryption keys: set TXCLONE_ENCRYPTION_KEYS or --encryption-key-file', EXIT_USAGE);
      const from = ctx.store();
      const { openStore } = await import('../../stores/open');
      const to = openStore(String(options.to));
      try {
        if (to.location === from.location) throw new CliFailure(`segments encrypt: --to names the store itself (${from.location}); give another one`, EXIT_USAGE);
        const head = await from.head(ctx.db);
        const progress = startProgress('encrypt', head?.endT ?? 0, ctx.logger);
        let done = 0;
        try {
          const result = await encryptSegments(from, to, ctx.db, codec, {
            parallel: ctx.config.parallel,
            logger: ctx.logger,
            onSegment: (s) => progress.update((done += s.info.endT - s.info.startT + 1)),
          });
          progress.stop();
          console.log(
            `encrypt: ${result.segments} segments sealed with key "${result.keyId}" and verified in ${to.location} ` +
              `(${result.written} written, ${result.alreadyThere} already there), ${result.bytes} bytes`,
          );
        } finally {
          progress.stop();
        }
      } finally {
        await to.close();
      }
    },
  );
  defineCommand(
    program
      .command('prune')
      .description('retention: delete old segments, never one a target still needs')
      .option('--before-t <t>', 'delete segments whose last t is before this')
      .option('--keep-after-t <t>', 'never delete a segment holding a t after this')
      .option('--replica <url>', 'a target database whose position must stay restorable (repeatable)', collect)
      .option('--dry-run', 'print what would be deleted'),
    ['store', 'db', 'logLevel'],
    async (ctx, options) => {
      const beforeT = parseIntegerOption('--before-t', options.beforeT);
      if (beforeT === undefined) throw new CliFailure('prune: --before-t is required', EXIT_USAGE);
      const positions: number[] = [];
      const { openDatabase } = await import('../../db/open');
      for (const url of (options.replica as string[] | undefined) ?? []) {
        const replica = await openDatabase(url);
        try {
          positions.push((await readPosition(replica, ctx.db)).position);
        } finally {
          await replica.close();
        }
      }
      const result = await ctx.store().prune(ctx.db, {
        beforeT,
        keepAfterT: parseIntegerOption('--keep-after-t', options.keepAfterT),
        targetPositions: positions.length ? positions : undefined,
        dryRun: Boolean(options.dryRun),
      });
      for (const s of result.deleted) console.log(`${options.dryRun ? 'would delete' : 'deleted'} ${s.startT}-${s.endT} (${s.key})`);
      if (result.deleted.length === 0) console.log('nothing to prune');
    },
  );
}
