// The clone-mode restorer a migration streams with (src/restore's clone mode).
import type { Database } from '../db/types';
import { createRestorer } from '../restore/restorer';
import type { SegmentCodec } from '../segment/codec';
import type { SegmentStore } from '../stores/types';
import type { CloneRestorer } from './port';

export function cloneRestorer(target: Database, store: SegmentStore, db: string, options: { codec?: SegmentCodec }): CloneRestorer {
  return createRestorer(target, store, db, { mode: 'clone', ...options });
}
