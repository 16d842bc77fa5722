// BullMQ wiring. Nothing outside this folder imports bullmq.
export { ProducerService, type ProducerCompaction, type ProducerRun, type ProducerServiceOptions } from './producer';
export { Coalescer } from './coalesce';
export { ConsumerService, type ConsumerServiceOptions, type ReplayJobResult } from './consumer';
export { InProcessReplicator, type InProcessReplicatorOptions } from './in-process';
export { ReplayQueue, REPLAY_JOB_NAME, type ReplayCounts, type ReplayJobData, type ReplayQueueOptions, type ReplayRange } from './replay-queue';
export { exportNew, type ExportRun, type ExportRunOptions, type ExportSettings } from './export-run';
export { observeTarget, type TargetStanding } from './observe';
export { DEFAULT_PREFIX, exportQueueName, exportSchedulerId, replayJobId, replayQueueName, validateTargetName } from './names';
export { openRedis, closeRedis, describeRedis, type RedisConfig } from './redis';
export type { BackoffOptions } from './backoff';
