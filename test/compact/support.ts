// What the compaction tests share: a store that counts its reads, and the log a store holds
// read back through the reader restore uses.
import type { SegmentStore } from '../../src/stores/types';
import { overriding } from '../export/support';

/** store, counting the segments read through it. */
export function countingStore(store: SegmentStore): { store: SegmentStore; reads: () => number; reset: () => void } {
  let reads = 0;
  return {
    store: overriding(store, {
      get: (db: string, startT: number, endT: number, level?: number) => {
        reads++;
        return store.get(db, startT, endT, level);
      },
    }),
    reads: () => reads,
    reset: () => {
      reads = 0;
    },
  };
}
