// One producer run: export what the source has beyond the store's head. Shared by the
// queued producer and the in-process replicator.
import type { Database } from '../db/types';
import { silentLogger, type Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import { exportAll, type ExportedSegment, type ExportOptions } from '../segment/export';
import type { SegmentInfo, SegmentStore } from '../stores/types';

/** How segments are cut and paced (the rest of ExportOptions belongs to the run). */
export type ExportSettings = Omit<ExportOptions, 'logger' | 'onSegment' | 'signal'>;

export interface ExportRunOptions {
  export?: ExportSettings;
  logger?: Logger;
  metrics?: Metrics;
  signal?: AbortSignal;
}

export interface ExportRun {
  /** Segments this run wrote or found written, in t order. */
  segments: ExportedSegment[];
  /** The store's newest segment after the run. */
  head: SegmentInfo | null;
  sourceBasisT: number;
  /** The signal stopped the run between two segments. */
  aborted: boolean;
}

export async function exportNew(source: Database, store: SegmentStore, db: string, options: ExportRunOptions = {}): Promise<ExportRun> {
  const segments: ExportedSegment[] = [];
  let aborted = false;
  try {
    await exportAll(source, store, db, {
      ...options.export,
      logger: options.logger ?? silentLogger,
      signal: options.signal,
      onSegment: (segment) => {
        segments.push(segment);
        if (segment.written) {
          options.metrics?.segmentExported(db, { transactions: segment.transactions, datoms: segment.datoms, bytes: segment.info.size });
        }
      },
    });
  } catch (err) {
    // The export's own errors name the source, the store and the range.
    if (!options.signal?.aborted) throw err;
    aborted = true;
  }
  const [head, sourceBasisT] = await Promise.all([store.head(db), source.basisT()]);
  options.metrics?.exportPosition(db, { sourceBasisT, storeHeadT: head?.endT ?? 0 });
  return { segments, head, sourceBasisT, aborted };
}
