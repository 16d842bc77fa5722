// Configuration: one definition per key; flags over TXCLONE_* environment over a config
// file over defaults. An error names the key, where its value came from, and the value.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { KEY_ID } from '../segment/keyring';
import { DEFAULT_GRACE_MS, DEFAULT_LEVELS, formatLevels, parseLevels } from '../compact/levels';

const require = createRequire(import.meta.url);

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const url = z.string().min(1);

/** Every configuration key: its schema, what it means, and its environment variable. */
export const CONFIG_KEYS = {
  source: { schema: url, env: 'TXCLONE_SOURCE', help: 'source database URL (pglite:DIR, pglite:memory, postgres://...?schema=NAME)' },
  target: { schema: url, env: 'TXCLONE_TARGET', help: 'target database URL' },
  store: { schema: url, env: 'TXCLONE_STORE', help: 'segment store URL (a directory, file:///dir, s3://bucket/prefix?endpoint=..., memory:)' },
  db: {
    schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a name of letters, digits, . _ -'),
    env: 'TXCLONE_DB',
    help: "the source database's name in the store",
  },
  redis: { schema: url, env: 'TXCLONE_REDIS', help: 'Redis URL for the queue' },
  targetName: {
    schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a name of letters, digits, . _ -'),
    env: 'TXCLONE_TARGET_NAME',
    help: 'a name for the target in queue names',
  },
  interval: { schema: positiveInt, env: 'TXCLONE_INTERVAL', help: 'producer interval (ms)' },
  maxTxns: { schema: positiveInt, env: 'TXCLONE_MAX_TXNS', help: 'transactions per segment at most' },
  maxBytes: { schema: positiveInt, env: 'TXCLONE_MAX_BYTES', help: 'approximate bytes per segment at most' },
  segmentTxns: { schema: positiveInt, env: 'TXCLONE_SEGMENT_TXNS', help: 'transactions per segment in a backup' },
  parallel: { schema: positiveInt, env: 'TXCLONE_PARALLEL', help: 'segments exported at once in a backup (copied at once by segments encrypt)' },
  maxTxPerSecond: { schema: positiveInt, env: 'TXCLONE_MAX_TX_PER_SECOND', help: 'pacing: source transactions read per second at most' },
  pauseMs: { schema: nonNegativeInt, env: 'TXCLONE_PAUSE_MS', help: 'pacing: pause after each segment (ms)' },
  batchTxns: { schema: positiveInt, env: 'TXCLONE_BATCH_TXNS', help: 'source transactions per target commit' },
  mode: {
    schema: z.enum(['remap', 'clone']),
    env: 'TXCLONE_MODE',
    help: "replica mode: remap (the target assigns its own ids) or clone (the target keeps the source's ids, t and log)",
  },
  bulkLoadMinTxns: {
    schema: positiveInt,
    env: 'TXCLONE_BULK_LOAD_MIN_TXNS',
    help: 'clone mode: an empty clone this many transactions behind loads in bulk (indexes built at the end)',
  },
  idCacheSize: {
    schema: positiveInt,
    env: 'TXCLONE_ID_CACHE_SIZE',
    help: 'source-to-target ids a restore keeps in memory (about 60 bytes each)',
  },
  metricsPort: { schema: nonNegativeInt.max(65535), env: 'TXCLONE_METRICS_PORT', help: 'serve /healthz and /metrics on this port' },
  metricsHost: { schema: z.string().min(1), env: 'TXCLONE_METRICS_HOST', help: 'address for the metrics server' },
  // The keys themselves come only from TXCLONE_ENCRYPTION_KEYS or this file (context.ts):
  // never from a flag, which would show in the process list and in config errors.
  encryptionKeyFile: {
    schema: z.string().min(1),
    env: 'TXCLONE_ENCRYPTION_KEY_FILE',
    help: 'file of encryption keys, id=base64 of 32 random bytes, one per line (or set TXCLONE_ENCRYPTION_KEYS=id=base64,...); seals and opens segments',
  },
  encryptionKeyId: {
    schema: z.string().regex(KEY_ID, 'expected a key id: 1 to 32 letters, digits, . _ -'),
    env: 'TXCLONE_ENCRYPTION_KEY_ID',
    help: 'the key that seals new segments (needed when there are several keys)',
  },
  compactionLevels: {
    schema: z.string().superRefine((text, ctx) => {
      try {
        parseLevels(text);
      } catch (err) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
      }
    }),
    env: 'TXCLONE_COMPACTION_LEVELS',
    help: 'compaction levels L1,L2,...: each transactions/window (a level-n segment closes at that many transactions, or where instants cross a window)',
  },
  compactInterval: { schema: positiveInt, env: 'TXCLONE_COMPACT_INTERVAL', help: 'run compaction and retention this often (ms)' },
  retentionGrace: {
    schema: nonNegativeInt,
    env: 'TXCLONE_RETENTION_GRACE',
    help: 'delete a segment a compacted one holds this long after the compacted one was written (ms)',
  },
  logLevel: { schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']), env: 'TXCLONE_LOG_LEVEL', help: 'log level' },
} as const;

export type ConfigKey = keyof typeof CONFIG_KEYS;
export type Config = { [K in ConfigKey]?: z.infer<(typeof CONFIG_KEYS)[K]['schema']> };

export const DEFAULTS: Config = {
  db: 'main',
  redis: 'redis://127.0.0.1:6379',
  targetName: 'default',
  interval: 1000,
  maxTxns: 1000,
  maxBytes: 8 * 1024 * 1024,
  segmentTxns: 1000,
  parallel: 2,
  mode: 'remap',
  idCacheSize: 100_000,
  metricsHost: '0.0.0.0',
  compactionLevels: formatLevels(DEFAULT_LEVELS),
  compactInterval: 1000,
  retentionGrace: DEFAULT_GRACE_MS,
  logLevel: 'info',
};

/** A bad configuration value: the message names the key, its origin and the value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigSources {
  /** Values from command-line flags (camelCase keys, undefined where not given). */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /** A JSON or YAML file of camelCase keys. */
  file?: string;
}

export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    // yaml is loaded only for a YAML file (synchronously: its CommonJS build), not at every start.
    data = path.endsWith('.json') ? JSON.parse(text) : (require('yaml') as typeof import('yaml')).parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ConfigError(`config file ${path}: expected a map of settings`);
  for (const key of Object.keys(data)) {
    if (!(key in CONFIG_KEYS)) throw new ConfigError(`config file ${path}: unknown key ${JSON.stringify(key)} (known: ${Object.keys(CONFIG_KEYS).join(', ')})`);
  }
  return data as Record<string, unknown>;
}

export function loadConfig(sources: ConfigSources): Config {
  const file = sources.file ? readConfigFile(sources.file) : {};
  const config: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(CONFIG_KEYS)) {
    let origin: string;
    let raw: unknown;
    if (sources.flags[key] !== undefined) {
      raw = sources.flags[key];
      origin = flagName(key);
    } else if (sources.env[def.env] !== undefined && sources.env[def.env] !== '') {
      raw = sources.env[def.env];
      origin = def.env;
    } else if (file[key] !== undefined) {
      raw = file[key];
      origin = `${sources.file}: ${key}`;
    } else {
      config[key] = DEFAULTS[key as ConfigKey];
      continue;
    }
    const parsed = def.schema.safeParse(raw);
    if (!parsed.success) {
      throw new ConfigError(`config: ${origin}=${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')} (${def.help})`);
    }
    config[key] = parsed.data;
  }
  return config as Config;
}

/** The value of key, or a ConfigError saying how to give it. */
export function required<K extends ConfigKey>(config: Config, key: K): NonNullable<Config[K]> {
  const value = config[key];
  if (value === undefined || value === null) {
    throw new ConfigError(`config: ${key} is required: pass ${flagName(key)} or set ${CONFIG_KEYS[key].env} (${CONFIG_KEYS[key].help})`);
  }
  return value as NonNullable<Config[K]>;
}
