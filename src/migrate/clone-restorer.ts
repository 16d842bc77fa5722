// The clone-mode restorer a migration streams with (src/restore's clone mode).
import type { Database } from '../db/types';
import type { SegmentCodec } from '../segment/codec';
import type { SegmentStore } from '../stores/types';
import { MigrationError } from './errors';
import type { CloneRestorer } from './port';

export function cloneRestorer(_target: Database, _store: SegmentStore, _db: string, _options: { codec?: SegmentCodec }): CloneRestorer {
  throw new MigrationError('clone mode is not available in this build');
}
