// What a command opens, opened on demand and closed once at the end.
import { statSync } from 'node:fs';
import pino from 'pino';
import pretty from 'pino-pretty';
import { openDatabase } from '../db/open';
import type { Database } from '../db/types';
import { clearCodec, segmentCodec, type SegmentCodec } from '../segment/codec';
import { loadKeyRing } from '../segment/keyring';
import { openStore } from '../stores/open';
import type { SegmentStore } from '../stores/types';
import { ConfigError, required, type Config } from './config';

export function createLogger(level: string): pino.Logger {
  if (process.stderr.isTTY) return pino({ level }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }));
  return pino({ level }, pino.destination({ dest: 2, sync: true }));
}

export class CliContext {
  readonly logger: pino.Logger;
  private readonly opened: Array<() => Promise<unknown>> = [];
  private sourceDb: Promise<Database> | null = null;
  private targetDb: Promise<Database> | null = null;
  private segmentStore: SegmentStore | null = null;
  private segmentCodec: SegmentCodec | null = null;

  constructor(readonly config: Config) {
    this.logger = createLogger(config.logLevel ?? 'info');
  }

  get db(): string {
    return required(this.config, 'db');
  }

  source(): Promise<Database> {
    return (this.sourceDb ??= this.open(required(this.config, 'source')));
  }

  target(): Promise<Database> {
    return (this.targetDb ??= this.open(required(this.config, 'target')));
  }

  store(): SegmentStore {
    if (!this.segmentStore) {
      const store = openStore(required(this.config, 'store'));
      this.opened.push(() => store.close());
      this.segmentStore = store;
    }
    return this.segmentStore;
  }

  /** Reads and writes segments: with the key ring when keys are configured, else clear only. */
  codec(): SegmentCodec {
    if (!this.segmentCodec) {
      const keys = loadKeyRing({
        env: process.env.TXCLONE_ENCRYPTION_KEYS,
        file: this.config.encryptionKeyFile,
        activeKeyId: this.config.encryptionKeyId,
      });
      this.segmentCodec = keys ? segmentCodec(keys) : clearCodec;
      const file = this.config.encryptionKeyFile;
      if (file !== undefined && (statSync(file).mode & 0o077) !== 0)
        this.logger.warn({ file }, 'the key file can be read by others than its owner: chmod 600 it');
      if (keys) this.logger.debug({ keyIds: keys.keyIds, activeKeyId: keys.activeKeyId }, 'encryption keys loaded');
    }
    return this.segmentCodec;
  }

  /** The codec for a command that writes segments: with several keys, one must be named active. */
  sealingCodec(): SegmentCodec {
    const codec = this.codec();
    if (codec === clearCodec || codec.activeKeyId !== null) return codec;
    throw new ConfigError(
      'config: the encryption keys hold several keys and none is active: name the one that seals new segments with --encryption-key-id or TXCLONE_ENCRYPTION_KEY_ID',
    );
  }

  private async open(url: string): Promise<Database> {
    const db = await openDatabase(url);
    this.opened.push(() => db.close());
    return db;
  }

  async close(): Promise<void> {
    for (const close of this.opened.splice(0).reverse()) await close().catch(() => undefined);
  }
}
