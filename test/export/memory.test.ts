// Invariant 6: the producer's memory is bounded by the segment size, never the database's.
//
// Two measurements, on a source of 20,000 transactions exported 500 at a time:
// - Read-ahead, exactly: the source is wrapped so that every transaction its txRange yields
//   is counted, and the store so that every put counts the transactions of its segment as
//   released. Transactions yielded but not yet put are what the producer can be holding;
//   a producer that read the log (or a range) whole before writing would exceed maxTxns.
// - Retention, by the garbage collector: each yielded transaction is tracked by a WeakRef.
//   At each put, after a full collection, the transactions still alive are counted. A
//   producer that kept transactions once written (in its result, a cache, a closure) would
//   show them alive here. gc() is the real V8 collector, reached through --expose-gc.
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database, Transaction, TxRequest } from '../../src/db/types';
import { backup, exportRange } from '../../src/segment/export';
import { openMemoryStore } from '../../src/stores';
import type { SegmentStore } from '../../src/stores/types';
import { overriding, Sources } from './support';

const TOTAL = 20_000;
const MAX_TXNS = 500;

const sources = new Sources();
let big: Database;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

beforeAll(async () => {
  big = await sources.open('big');
  await big.transact([
    { ':db/ident': ':n/i', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' },
    { ':db/ident': ':n/text', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' },
  ]);
  for (let done = 1; done < TOTAL; ) {
    const size = Math.min(2_000, TOTAL - done);
    const requests: TxRequest[] = Array.from({ length: size }, (_, k) => ({
      ops: [{ ':n/i': done + k, ':n/text': `row ${done + k} ${'.'.repeat((done + k) % 50)}` }],
    }));
    await big.transactBatch(requests);
    done += size;
  }
  expect(await big.basisT()).toBe(TOTAL);
}, 120_000);

afterAll(() => sources.close());

interface Observation {
  source: Database;
  store: SegmentStore;
  /** Most transactions yielded by txRange and not yet in a put segment, at any moment. */
  maxAhead: () => number;
  /** Most txRange reads open at once, and how many are open now. */
  maxOpen: () => number;
  open: () => number;
  /** Most yielded transactions alive after a full GC at a put, not counting the segments being put. */
  maxRetained: () => number;
  yielded: () => number;
  puts: () => number;
}

function observe(source: Database, store: SegmentStore): Observation {
  let yielded = 0;
  let released = 0;
  let maxAhead = 0;
  let open = 0;
  let maxOpen = 0;
  let maxRetained = 0;
  let puts = 0;
  let live: Array<{ t: number; ref: WeakRef<Transaction> }> = [];
  const putting = new Map<number, number>(); // startT -> endT of the puts under way

  return {
    source: overriding(source, {
      async *txRange(startT: number, endT: number): AsyncGenerator<Transaction> {
        open++;
        maxOpen = Math.max(maxOpen, open);
        try {
          for await (const tx of source.txRange(startT, endT)) {
            yielded++;
            maxAhead = Math.max(maxAhead, yielded - released);
            live.push({ t: tx.t, ref: new WeakRef(tx) });
            yield tx;
          }
        } finally {
          open--;
        }
      },
    }),
    store: overriding(store, {
      async put(db, startT, endT, bytes) {
        puts++;
        putting.set(startT, endT);
        try {
          // Back to the event loop first: a WeakRef keeps its target for the rest of the job that made it.
          await new Promise((resolve) => setImmediate(resolve));
          gc();
          live = live.filter((x) => x.ref.deref() !== undefined);
          const busy = (t: number) => [...putting].some(([s, e]) => s <= t && t <= e);
          maxRetained = Math.max(maxRetained, live.filter((x) => !busy(x.t)).length);
          return await store.put(db, startT, endT, bytes);
        } finally {
          putting.delete(startT);
          released += endT - startT + 1;
        }
      },
    }),
    maxAhead: () => maxAhead,
    maxOpen: () => maxOpen,
    open: () => open,
    maxRetained: () => maxRetained,
    yielded: () => yielded,
    puts: () => puts,
  };
}

it('exportRange reads at most one segment ahead and keeps nothing it has written', async () => {
  const store = openMemoryStore();
  const seen = observe(big, store);
  const result = await exportRange(seen.source, seen.store, 'big', 1, TOTAL, { maxTxns: MAX_TXNS });
  expect(result).toMatchObject({ startT: 1, endT: TOTAL, transactions: TOTAL });
  expect(result.segments).toHaveLength(TOTAL / MAX_TXNS);
  expect(seen.puts()).toBe(TOTAL / MAX_TXNS);
  // Each transaction read once; never more than a segment's worth waiting to be written.
  expect(seen.yielded()).toBe(TOTAL);
  expect(seen.maxAhead()).toBe(MAX_TXNS);
  // One read at a time, each closed once its segment was cut (a read left open holds the source's page).
  expect(seen.maxOpen()).toBe(1);
  expect(seen.open()).toBe(0);
  // Written segments are garbage: nothing of them outlives a collection.
  expect(seen.maxRetained()).toBeLessThan(MAX_TXNS);
  console.info(
    `export of ${TOTAL} transactions, ${MAX_TXNS} a segment: at most ${seen.maxAhead()} read ahead, ` +
      `${seen.maxRetained()} retained after GC`,
  );
  await store.close();
}, 120_000);

it('a parallel backup holds at most one segment per worker', async () => {
  const store = openMemoryStore();
  const seen = observe(big, store);
  const result = await backup(seen.source, seen.store, 'big', { segmentTxns: MAX_TXNS, parallel: 3 });
  expect(result).toMatchObject({ startT: 1, endT: TOTAL, transactions: TOTAL });
  expect(seen.yielded()).toBe(TOTAL);
  expect(seen.maxOpen()).toBe(3);
  expect(seen.open()).toBe(0);
  expect(seen.maxAhead()).toBeLessThanOrEqual(3 * MAX_TXNS);
  expect(seen.maxAhead()).toBeGreaterThan(MAX_TXNS);
  expect(seen.maxRetained()).toBeLessThan(3 * MAX_TXNS);
  console.info(`parallel backup: at most ${seen.maxAhead()} read ahead, ${seen.maxRetained()} retained after GC`);
  await store.close();
}, 120_000);
