import { Command } from 'commander';
import { compact } from '../../compact/compact';
import { parseLevels } from '../../compact/levels';
import { enforceRetention } from '../../compact/retention';
import { defineCommand } from '../command';

export function registerCompactCommand(program: Command): void {
  defineCommand(
    program
      .command('compact')
      .description('one compaction pass (merge segments into levels), then retention (delete what compacted segments hold, after the grace period)')
      .option('--no-retention', 'compact only; delete nothing')
      .option('--dry-run', 'compact, and print what retention would delete'),
    ['store', 'db', 'compactionLevels', 'retentionGrace', 'encryptionKeyFile', 'encryptionKeyId', 'logLevel'],
    async (ctx, options) => {
      const store = ctx.store();
      const levels = parseLevels(ctx.config.compactionLevels!);
      const result = await compact(store, ctx.db, { levels, codec: ctx.sealingCodec(), logger: ctx.logger });
      const written = result.segments.filter((s) => s.written);
      for (const s of written) console.log(`compacted ${s.inputs} segments into ${s.info.startT}-${s.info.endT} L${s.info.level} (${s.transactions} transactions, ${s.info.size} bytes)`);
      console.log(`compact: ${written.length} segments written${result.segments.length > written.length ? `, ${result.segments.length - written.length} already there` : ''}`);
      if (options.retention === false) return;
      const retention = await enforceRetention(store, ctx.db, { graceMs: ctx.config.retentionGrace, dryRun: Boolean(options.dryRun), logger: ctx.logger });
      for (const s of retention.deleted) console.log(`${options.dryRun ? 'would delete' : 'deleted'} ${s.startT}-${s.endT} L${s.level} (held by a compacted segment)`);
      console.log(
        `retention: ${retention.deleted.length} ${options.dryRun ? 'would be deleted' : 'deleted'}` +
          (retention.waiting ? `, ${retention.waiting} held but within the grace period of ${ctx.config.retentionGrace} ms` : ''),
      );
    },
  );
}
