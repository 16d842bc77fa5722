import type { ObjectBackend } from './backend';
import { parseSegmentKey, segmentsPrefix } from './keys';
import type { SegmentInfo } from './types';

/** The segments of db after the key startAfter, in key order (= t order), one page at a time. */
export async function* scanSegments(
  backend: ObjectBackend,
  db: string,
  startAfter: string | undefined,
  pageSize: number,
): AsyncGenerator<SegmentInfo> {
  const prefix = segmentsPrefix(db);
  let after = startAfter;
  for (;;) {
    const page = await backend.listPage(prefix, after, pageSize);
    for (const object of page.objects) {
      const range = parseSegmentKey(db, object.key);
      if (!range) continue;
      yield {
        db,
        startT: range.startT,
        endT: range.endT,
        level: range.level,
        key: object.key,
        size: object.size,
        ...(object.sha256 === undefined ? {} : { sha256: object.sha256 }),
        ...(object.modifiedAt === undefined ? {} : { modifiedAt: object.modifiedAt }),
      };
    }
    const last = page.objects.at(-1);
    if (!page.truncated || last === undefined) return;
    after = last.key;
  }
}

export async function firstSegment(
  backend: ObjectBackend,
  db: string,
  startAfter: string | undefined,
): Promise<SegmentInfo | null> {
  for await (const segment of scanSegments(backend, db, startAfter, 1)) return segment;
  return null;
}
