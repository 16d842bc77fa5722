// Run by interruption.test.ts: restores into a PGlite directory, printing each commit, until killed.
import { openDatabase } from '../../src/db/open';
import { Restorer } from '../../src/restore/restore';
import { openDirectoryStore } from '../../src/stores/directory';

const [targetUrl, storeDir] = process.argv.slice(2) as [string, string];
const target = await openDatabase(targetUrl);
const store = openDirectoryStore({ path: storeDir });
await new Restorer(target, store, 'lib', {
  batchTxns: 5,
  onProgress: (p) => process.stdout.write(`committed ${p.position}\n`),
}).all();
await target.close();
await store.close();
