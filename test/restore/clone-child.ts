// Run by clone-kill.test.ts: clones into a target, printing each commit, until killed.
import { openDatabase } from '../../src/db/open';
import { createRestorer } from '../../src/restore/restorer';
import { openDirectoryStore } from '../../src/stores/directory';

const [targetUrl, storeDir, bulkLoadMinTxns] = process.argv.slice(2) as [string, string, string];
const target = await openDatabase(targetUrl);
const store = openDirectoryStore({ path: storeDir });
await createRestorer(target, store, 'lib', {
  mode: 'clone',
  batchTxns: 5,
  bulkLoadMinTxns: Number(bulkLoadMinTxns),
  onProgress: (p) => process.stdout.write(`committed ${p.position}\n`),
}).all();
await target.close();
await store.close();
