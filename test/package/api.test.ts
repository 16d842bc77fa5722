// The public API as its users see it: every export of src/index.ts has a doc comment, and
// classes and helpers that only txclone's own folders and tests use stay out of it.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicExports } from './public-api';

const root = path.resolve(import.meta.dirname, '../..');
const exports = publicExports(root);

describe('the public API (src/index.ts)', () => {
  it('documents every export', () => {
    expect(exports.length).toBeGreaterThan(100);
    const undocumented = exports.filter((e) => !e.documented).map((e) => `${e.name} (${e.declaredIn})`);
    expect(undocumented, 'exports without a doc comment on the export or the declaration').toEqual([]);
  });

  it('leaves internals out', () => {
    const names = new Set(exports.map((e) => e.name));
    const internal = [
      'DatomDatabase', 'FIRST_USER_ENTITY_ID', 'ObjectSegmentStore', 'ObjectBackend', 'formatHead', 'parseHead', 'headKey',
      'segmentKey', 'IdMap', 'LruCache', 'Pacer', 'ReplayQueue', 'replayJobId', 'openRedis', 'exportNew', 'observeTarget',
      'errorKind', 'prng', 'SCHEMA_STAGES', 'PGliteDriver', 'PostgresDriver', 'CliContext', 'translateTx', 'installOps',
      'LogBatch', 'roleOf', 'assertWritable',
    ];
    expect(internal.filter((name) => names.has(name))).toEqual([]);
  });

  it('exports what the README uses', () => {
    for (const name of ['openDatabase', 'openStore', 'exportAll', 'restoreAll', 'compareReplica', 'Restorer', 'continuousRestore', 'backup', 'findGaps', 'repair', 'ProducerService', 'ConsumerService', 'InProcessReplicator', 'Metrics', 'segmentCodec', 'KeyRing', 'loadKeyRing', 'encryptSegments', 'LibraryWorkload']) {
      expect(exports.find((e) => e.name === name), name).toMatchObject({ kind: 'value', documented: true });
    }
  });
});
