// A writer process for the migration tests: opens the databases itself and writes through
// its own router, `loops` sequential writers at `rate` transactions per second in all, until
// its stdin ends. Prints one JSON line per acknowledged write (with the database that
// accepted it), per error, and 'done'.
import { openDatabase } from '../../src/db/open';
import type { Database } from '../../src/db/types';
import { openRouter } from '../../src/migrate';
import { openStore } from '../../src/stores';
import { sleep } from '../../src/sleep';

interface Args {
  databases: Record<string, string>;
  store: string;
  db: string;
  name: string;
  rate: number;
  loops: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const databases: Record<string, Database> = {};
for (const [name, url] of Object.entries(args.databases)) databases[name] = await openDatabase(url);
const store = openStore(args.store);
const accepted = new WeakMap<object, string>();
const router = openRouter({
  databases,
  store,
  db: args.db,
  pollMs: 10,
  onAccepted: (database, report) => accepted.set(report, database),
});
let stopping = false;
process.stdin.on('end', () => (stopping = true));
process.stdin.resume();

const periodMs = (1000 * args.loops) / args.rate;
async function loop(index: number): Promise<void> {
  for (let seq = 0; !stopping; seq++) {
    const started = Date.now();
    const key = `${args.name}-${index}-${seq}`;
    try {
      const report = await router.transact([{ ':db/id': 'w', ':writer/key': key, ':writer/seq': seq }]);
      const database = accepted.get(report);
      print({ type: 'ack', key, loop: index, seq, t: report.t, e: report.tempids.w, db: database, at: Date.now(), waited: Date.now() - started });
    } catch (err) {
      print({ type: 'error', key, loop: index, seq, message: (err as Error).message });
    }
    await sleep(Math.max(0, periodMs - (Date.now() - started)));
  }
}

print({ type: 'started', pid: process.pid });
await Promise.all(Array.from({ length: args.loops }, (_, i) => loop(i)));
await router.close();
for (const database of Object.values(databases)) await database.close();
await store.close();
print({ type: 'done' });
