// The Redis connection every queue part shares. BullMQ only loads ioredis by itself
// through require(), which native ESM lacks, so the services build the client here.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger';

/** A Redis URL (`redis://host:6379/0`) or ioredis options. */
export type RedisConfig = string | RedisOptions;

/**
 * A client that BullMQ can block on: commands wait out a disconnection instead of
 * failing after a few retries (BullMQ refuses blocking clients that give up).
 */
export function openRedis(config: RedisConfig, options: { name?: string; logger?: Logger } = {}): Redis {
  const fixed: RedisOptions = { maxRetriesPerRequest: null, ...(options.name ? { connectionName: options.name } : {}) };
  const client = typeof config === 'string' ? new Redis(config, fixed) : new Redis({ ...config, ...fixed });
  // ioredis reconnects by itself; without a listener each failed attempt would print as unhandled.
  client.on('error', (err: Error) => options.logger?.debug({ redis: describeRedis(config), err: err.message }, 'redis connection error'));
  return client;
}

/** Quits politely; a client that cannot reach Redis is disconnected instead. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/** A URL without its password, for logs. */
export function describeRedis(config: RedisConfig): string {
  if (typeof config !== 'string') return `redis://${config.host ?? '127.0.0.1'}:${config.port ?? 6379}/${config.db ?? 0}`;
  try {
    const url = new URL(config);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'redis (unparsable URL)';
  }
}
