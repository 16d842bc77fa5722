// The store's size over time with compaction and retention: --minutes (default 60) of
// simulated time at --rate transactions/s (default 200), an L0 segment flushed every
// --flush ms (default 100) holding what committed since the last flush, a compaction pass
// and retention every --compact-every ms (default 1000) with the default levels and grace
// (or --levels, --grace). Prints the objects kept (the most at any compaction pass, and
// at the end), the segments of each level at the end, and how many objects a replica
// catching up from t=0 (and from the worst of 200 other positions) reads.
//
// What is simulated, and what is not: time is a clock this bench advances (every segment
// is stamped with it, retention measures the grace with it, instants of transactions are
// taken from it), so an hour runs in minutes. Transactions are synthetic (4 datoms each:
// the instant and three values), written straight into segments, not read from a
// database; the store is the in-memory store. Everything else is the real code: the
// segment encoder, compact(), enforceRetention() and the reader's choice of segments.
//   npx tsx bench/store-size.ts [--minutes 60] [--rate 200] [--flush 100] [--compact-every 1000]
import { compact, enforceRetention, formatLevels, parseLevels, DEFAULT_GRACE_MS, DEFAULT_LEVELS } from '../src/compact';
import type { Attribute, Transaction } from '../src/db/types';
import { SegmentReader } from '../src/restore/segments';
import { clearCodec } from '../src/segment/codec';
import { openMemoryStore } from '../src/stores/memory';
import type { SegmentStore } from '../src/stores/types';
import { argNumber } from './support';

const minutes = argNumber('minutes', 60);
const rate = argNumber('rate', 200);
const flushMs = argNumber('flush', 100);
const compactEveryMs = argNumber('compact-every', 1000);
const graceMs = process.argv.includes('--grace') ? Number(process.argv[process.argv.indexOf('--grace') + 1]) : DEFAULT_GRACE_MS;
const levels = process.argv.includes('--levels') ? parseLevels(process.argv[process.argv.indexOf('--levels') + 1]!) : [...DEFAULT_LEVELS];

const attr = (id: number, ident: string, valueType: Attribute['valueType']): Attribute => ({
  id, ident, valueType, cardinality: 'one', unique: null, isComponent: false, noHistory: false, tupleAttrs: null, tupleType: null, tupleTypes: null,
});
const SCHEMA = [attr(50, ':db/txInstant', 'instant'), attr(100, ':order/total', 'long'), attr(101, ':order/status', 'keyword'), attr(102, ':order/note', 'string')];

const start = Date.UTC(2026, 0, 1);
let clock = start;
const store: SegmentStore = openMemoryStore({ now: () => new Date(clock) });
const db = 'bench';
let t = 0;
let carried = 0;
let maxObjects = 0;
let passes = 0;
let written = 0;
const started = Date.now();

async function objects(): Promise<number> {
  let n = 0;
  for await (const _ of store.list(db)) n++;
  return n;
}

function flush(): void {
  carried += (rate * flushMs) / 1000;
  const count = Math.floor(carried);
  carried -= count;
  if (count === 0) return;
  const transactions: Transaction[] = [];
  for (let i = 0; i < count; i++) {
    t++;
    // Spread over the flush interval that just ended.
    const instant = new Date(clock - flushMs + Math.floor(((i + 1) * flushMs) / (count + 1)));
    const tx = 1_000_000 + t;
    transactions.push({
      t, tx, instant,
      datoms: [[tx, 50, instant, true], [t, 100, t * 7, true], [t, 101, ':status/new', true], [t, 102, `order ${t}`, true]],
    });
  }
  const first = transactions[0]!;
  const last = transactions[transactions.length - 1]!;
  const encoded = clearCodec.encode({
    database: db, startT: first.t, endT: last.t, sourceBasisT: last.t, createdAt: last.instant.getTime(), schema: SCHEMA, idents: [], transactions,
  });
  pending.push(store.put(db, first.t, last.t, encoded.bytes).then(() => undefined));
}
const pending: Promise<void>[] = [];

const end = start + minutes * 60_000;
const instants = new Map<string, number>();
let nextCompaction = start + compactEveryMs;
while (clock < end) {
  clock += flushMs;
  flush();
  if (clock >= nextCompaction) {
    await Promise.all(pending.splice(0));
    const result = await compact(store, db, { levels, instants });
    written += result.segments.filter((s) => s.written).length;
    // As the producer's compactor does: retention works from the pass's own listing.
    await enforceRetention(store, db, { graceMs, now: () => new Date(clock), segments: result.listed });
    passes++;
    maxObjects = Math.max(maxObjects, await objects());
    nextCompaction += compactEveryMs;
    if (passes % 60 === 0) process.stderr.write(`\rsimulated ${Math.round((clock - start) / 60_000)} of ${minutes} min, t=${t}, ${await objects()} objects`);
  }
}
await Promise.all(pending.splice(0));
process.stderr.write('\n');

/** Objects a reader at position reads to reach the end. */
async function catchUp(position: number): Promise<number> {
  const reader = new SegmentReader(store, db, 0);
  let reads = 0;
  for (let p = position; p < t; ) {
    const next = await reader.segmentAfter(p);
    if (!next || next.info.startT > p + 1) throw new Error(`no segment holds t=${p + 1}`);
    reads++;
    p = next.info.endT;
  }
  return reads;
}
const byLevel = new Map<number, number>();
for await (const s of store.list(db)) byLevel.set(s.level, (byLevel.get(s.level) ?? 0) + 1);
let worst = { position: 0, reads: await catchUp(0) };
for (let i = 1; i <= 200; i++) {
  const position = Math.floor((t * i) / 201);
  const reads = await catchUp(position);
  if (reads > worst.reads) worst = { position, reads };
}
console.log(
  `${minutes} simulated min at ${rate} tx/s (t=1..${t}), a flush every ${flushMs} ms (${Math.round((minutes * 60_000) / flushMs)} L0 segments), ` +
    `compaction every ${compactEveryMs} ms, levels ${formatLevels(levels)}, grace ${graceMs} ms:`,
);
console.log(`  objects kept: ${await objects()} at the end, at most ${maxObjects} (after any compaction pass); ${written} compacted segments written`);
console.log(`  at the end by level: ${[...byLevel].sort((a, b) => a[0] - b[0]).map(([l, n]) => `L${l} ${n}`).join(', ')}`);
console.log(`  catch-up from t=0 reads ${await catchUp(0)} objects; the worst of 200 other positions (t=${worst.position}) reads ${worst.reads}`);
console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s of real time)`);
await store.close();
