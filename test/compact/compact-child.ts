// Run by kill.test.ts: one compaction pass and retention over a directory store, logging
// each segment written and each deleted as a JSON line, until done or killed.
import { compact, enforceRetention, parseLevels } from '../../src/compact';
import type { Logger } from '../../src/logger';
import { openDirectoryStore } from '../../src/stores/directory';

const [dir, levels] = process.argv.slice(2) as [string, string];
const line = (msg: string | undefined, obj: object) => process.stdout.write(`${JSON.stringify({ msg, ...obj })}\n`);
const logger: Logger = { debug: (o, m) => line(m, o), info: (o, m) => line(m, o), warn: (o, m) => line(m, o), error: (o, m) => line(m, o) };
const store = openDirectoryStore({ path: dir });
await compact(store, 'lib', { levels: parseLevels(levels), logger });
process.stdout.write('compaction done\n');
await enforceRetention(store, 'lib', { graceMs: 0, logger });
process.stdout.write('retention done\n');
await store.close();
