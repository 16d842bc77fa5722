// Export throughput: a source of at least --datoms datoms (default 1,000,000) exported to
// the directory store and to an S3 server (s3rver here; S3_ENDPOINT when set).
//   npx tsx bench/export.ts [--datoms 1000000]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { backup, exportAll, type ExportResult } from '../src/segment/export';
import { openDirectoryStore } from '../src/stores/directory';
import { openS3Store } from '../src/stores/s3';
import type { SegmentStore } from '../src/stores/types';
import { startS3 } from '../test/support/s3';
import { argNumber, benchSource, mib, rate } from './support';

const datoms = argNumber('datoms', 1_000_000);
const source = await benchSource(datoms);

async function run(label: string, store: SegmentStore, parallel = 0): Promise<void> {
  const started = Date.now();
  // exportAll is the producer's sequential loop; backup reads and writes `parallel` segments at once.
  const result: ExportResult = parallel
    ? await backup(source, store, 'bench', { segmentTxns: 2000, parallel })
    : await exportAll(source, store, 'bench', { maxTxns: 2000 });
  const ms = Date.now() - started;
  const stored = result.segments.reduce((n, s) => n + s.info.size, 0);
  const cbor = result.segments.reduce((n, s) => n + s.uncompressedBytes, 0);
  console.log(
    `${label}: ${result.datoms} datoms, ${result.transactions} transactions, ${result.segments.length} segments in ${(ms / 1000).toFixed(1)} s: ` +
      `${rate(result.datoms, ms)} datoms/s, ${(stored / 1024 / 1024 / (ms / 1000)).toFixed(1)} MB/s stored; ` +
      `${mib(cbor)} MiB CBOR -> ${mib(stored)} MiB gzip (ratio ${(cbor / stored).toFixed(2)})`,
  );
}

for (const parallel of [0, 2, 4]) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-bench-export-'));
  const directory = openDirectoryStore({ path: dir });
  try {
    await run(parallel ? `directory, backup --parallel ${parallel}` : 'directory, export', directory, parallel);
  } finally {
    await directory.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const s3 = await startS3();
try {
  const bucket = await s3.createBucket('bench');
  const store = openS3Store({
    bucket,
    prefix: 'bench',
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: s3.credentials,
    checksums: 'WHEN_REQUIRED',
  });
  try {
    await run(`s3 (${s3.kind}), backup --parallel 4`, store, 4);
  } finally {
    await store.close();
  }
} finally {
  await s3.close();
  await source.close();
}
