// docker-compose.yml wires the services by environment: every variable the producer and
// consumer set must be one txclone reads, and every one a role needs must be set.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_KEYS } from '../../src/cli/config';
import { ROLE_KEYS } from '../../src/cli/commands/replicate';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
}

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as { services: Record<string, Service> };
const known = new Set(Object.values(CONFIG_KEYS).map((k) => k.env));

describe('docker-compose.yml', () => {
  it('has Redis with AOF and noeviction, MinIO with its bucket, PostgreSQL, producer and consumer', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['consumer', 'minio', 'minio-init', 'postgres', 'producer', 'redis']);
    const redis = compose.services.redis!.command as string[];
    expect(redis.join(' ')).toContain('--appendonly yes');
    expect(redis.join(' ')).toContain('--maxmemory-policy noeviction');
    expect(JSON.stringify(compose.services['minio-init']!.command)).toContain('mc mb');
    expect(compose.services.producer!.build).toBeDefined();
    expect(compose.services.consumer!.build).toBeDefined();
  });

  for (const role of ['producer', 'consumer'] as const) {
    it(`${role}: every TXCLONE_* variable is one txclone reads, and every one the role needs is set`, () => {
      const service = compose.services[role]!;
      expect(service.command).toEqual(['replicate', '--role', role]);
      const env = service.environment ?? {};
      for (const name of Object.keys(env).filter((n) => n.startsWith('TXCLONE_'))) expect(known, name).toContain(name);
      for (const key of ROLE_KEYS[role]) expect(env, CONFIG_KEYS[key].env).toHaveProperty(CONFIG_KEYS[key].env);
      // The store's credentials come from the AWS SDK's default chain.
      expect(env).toHaveProperty('AWS_ACCESS_KEY_ID');
      expect(env.TXCLONE_STORE).toMatch(/^s3:\/\/txclone\/.*endpoint=http:\/\/minio:9000/);
      for (const [name, value] of Object.entries(env)) {
        const key = Object.entries(CONFIG_KEYS).find(([, def]) => def.env === name);
        if (key) expect(key[1].schema.safeParse(value).success, `${name}=${value}`).toBe(true);
      }
    });
  }
});
