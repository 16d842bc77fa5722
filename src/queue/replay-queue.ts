// The queue that tells a target's consumers which segments exist. A job is only a
// hint (invariant 3): the consumer asks the target where it stands and reads the store.
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../logger';
import { DEFAULT_PREFIX, replayJobId, replayQueueName } from './names';
import { closeRedis, openRedis, type RedisConfig } from './redis';

export interface ReplayJobData {
  db: string;
  target: string;
  startT: number;
  endT: number;
}

export interface ReplayRange {
  startT: number;
  endT: number;
}

export interface ReplayQueueOptions {
  db: string;
  /** The target's name; default 'default'. */
  target?: string;
  /** A URL or options (the queue opens and closes its own client), or a client the caller owns. */
  redis: RedisConfig | Redis;
  /** Key prefix in Redis; default 'txclone'. */
  prefix?: string;
  logger?: Logger;
}

export interface ReplayCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

export const REPLAY_JOB_NAME = 'replay';

/** Retries for errors that may pass (a store or database briefly unreachable); the reconcile timer covers the rest. */
const REPLAY_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  // A completed job keeps its id for a while, so the head range announced on every
  // producer run is not replayed as a fresh no-op job each time.
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
};

export class ReplayQueue {
  readonly name: string;
  readonly db: string;
  readonly target: string;
  private readonly queue: Queue<ReplayJobData>;
  private readonly ownClient: Redis | null;

  constructor(options: ReplayQueueOptions) {
    this.db = options.db;
    this.target = options.target ?? 'default';
    this.name = replayQueueName(this.db, this.target);
    const logger = options.logger ?? silentLogger;
    this.ownClient = options.redis instanceof Redis ? null : openRedis(options.redis, { logger });
    const connection = options.redis instanceof Redis ? options.redis : this.ownClient!;
    this.queue = new Queue<ReplayJobData>(this.name, { connection, prefix: options.prefix ?? DEFAULT_PREFIX });
    this.queue.on('error', (err) => logger.error({ queue: this.name, err: err.message }, 'replay queue error'));
  }

  /** Announces one segment range; a range already announced (and not yet forgotten) is deduplicated. */
  async add(startT: number, endT: number): Promise<void> {
    await this.addMany([{ startT, endT }]);
  }

  async addMany(ranges: readonly ReplayRange[]): Promise<void> {
    if (ranges.length === 0) return;
    const jobs = ranges.map(({ startT, endT }) => {
      const id = replayJobId(this.db, this.target, startT, endT);
      return {
        name: REPLAY_JOB_NAME,
        data: { db: this.db, target: this.target, startT, endT },
        opts: { ...REPLAY_JOB_OPTIONS, jobId: id, deduplication: { id } },
      };
    });
    try {
      await this.queue.addBulk(jobs);
    } catch (err) {
      throw new Error(`queue ${this.name}: announcing ${ranges.map((r) => `${r.startT}-${r.endT}`).join(', ')} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Jobs by state. */
  async counts(): Promise<ReplayCounts> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
  }

  async close(): Promise<void> {
    await this.queue.close();
    if (this.ownClient) await closeRedis(this.ownClient);
  }
}
