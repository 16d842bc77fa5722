import { Command, Option } from 'commander';
import type { MetricsServer } from '../../metrics/server';
import { CliFailure, EXIT_USAGE, defineCommand } from '../command';
import { required, type ConfigKey } from '../config';
import { parseLevels } from '../../compact/levels';
import type { CliContext } from '../context';
import { restorerOptions } from '../modes';

/** What each role needs configured: checked before anything starts (and by the compose test). */
export const ROLE_KEYS = {
  producer: ['source', 'store', 'db', 'redis'],
  consumer: ['target', 'store', 'db', 'redis'],
} as const satisfies Record<string, readonly ConfigKey[]>;

interface Service {
  start(): Promise<void>;
  close(): Promise<void>;
  health(): Promise<{ ok: boolean; detail?: unknown }>;
}

/** Waits for SIGTERM or SIGINT. */
function untilSignal(ctx: CliContext): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      ctx.logger.info({ signal }, 'stopping: finishing the batch in flight');
      resolve(signal);
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
  });
}

export function registerReplicateCommand(program: Command): void {
  defineCommand(
    program
      .command('replicate')
      .description('run the replication services until SIGTERM/SIGINT: the producer, the consumer, or both')
      .addOption(new Option('--role <role>', 'which service to run').choices(['producer', 'consumer', 'both']).default('both'))
      .option('--no-queue', 'without Redis: run the producer and consumer loops in this process (role both)')
      .option('--no-compact', 'the producer does not compact the store (nor delete what compaction covers)'),
    [
      'source', 'target', 'store', 'db', 'redis', 'targetName', 'interval', 'maxTxns', 'maxBytes', 'mode', 'batchTxns', 'idCacheSize', 'bulkLoadMinTxns',
      'metricsPort', 'metricsHost', 'compactionLevels', 'compactInterval', 'retentionGrace', 'encryptionKeyFile', 'encryptionKeyId', 'logLevel',
    ],
    async (ctx, options) => {
      const role = options.role as 'producer' | 'consumer' | 'both';
      const config = ctx.config;
      const roles = role === 'both' ? (['producer', 'consumer'] as const) : [role];
      for (const r of roles) for (const key of ROLE_KEYS[r]) if (key !== 'redis' || options.queue !== false) required(config, key);
      // Loaded here, not at start-up: bullmq, ioredis and prom-client take longer to load than the rest of the CLI.
      const [{ Metrics }, { startMetricsServer }, { ConsumerService, InProcessReplicator, ProducerService }] = await Promise.all([
        import('../../metrics/metrics'),
        import('../../metrics/server'),
        import('../../queue'),
      ]);
      const metrics = new Metrics({ processMetrics: true });
      const codec = role === 'consumer' ? ctx.codec() : ctx.sealingCodec();
      const exportSettings = { maxTxns: config.maxTxns, maxBytes: config.maxBytes, codec };
      const restore = restorerOptions(ctx, codec);
      const services: Service[] = [];
      if (options.queue === false) {
        if (role !== 'both') throw new CliFailure('replicate --no-queue runs producer and consumer together: use --role both', EXIT_USAGE);
        services.push(
          new InProcessReplicator({
            source: await ctx.source(), target: await ctx.target(), store: ctx.store(), db: ctx.db, targetName: config.targetName,
            intervalMs: config.interval, export: exportSettings, restore, logger: ctx.logger, metrics,
          }),
        );
      } else {
        if (role !== 'consumer') {
          services.push(
            new ProducerService({
              source: await ctx.source(), store: ctx.store(), db: ctx.db, targets: [config.targetName ?? 'default'], redis: config.redis!,
              intervalMs: config.interval, export: exportSettings, logger: ctx.logger, metrics,
              ...(options.compact === false
                ? {}
                : { compaction: { levels: parseLevels(config.compactionLevels!), intervalMs: config.compactInterval, graceMs: config.retentionGrace } }),
            }),
          );
        }
        if (role !== 'producer') {
          services.push(
            new ConsumerService({
              target: await ctx.target(), store: ctx.store(), db: ctx.db, targetName: config.targetName, redis: config.redis!,
              restore, logger: ctx.logger, metrics,
            }),
          );
        }
      }
      let server: MetricsServer | null = null;
      const stopped = untilSignal(ctx);
      try {
        for (const service of services) await service.start();
        if (config.metricsPort !== undefined) {
          server = await startMetricsServer({
            port: config.metricsPort,
            host: config.metricsHost,
            metrics,
            health: async () => {
              const states = await Promise.all(services.map((s) => s.health()));
              return { ok: states.every((s) => s.ok), detail: states };
            },
          });
          ctx.logger.info({ url: server.url }, 'serving /healthz and /metrics');
        }
        ctx.logger.info({ role, mode: restore.mode, queue: options.queue !== false, db: ctx.db }, 'replicating');
        await stopped;
      } finally {
        for (const service of services.reverse()) await service.close();
        await server?.close();
      }
      ctx.logger.info({}, 'stopped cleanly');
    },
  );
}
