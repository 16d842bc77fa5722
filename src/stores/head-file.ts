import { parseEDNString } from 'edn-data';
import { z } from 'zod';
import { isSha256Hex } from './checksum';
import { MAX_LEVEL, segmentKey } from './keys';

/** What `{db}/HEAD.edn` says: the newest segment, as last written. A hint, not the truth. */
export interface HeadRecord {
  readonly db: string;
  readonly startT: number;
  readonly endT: number;
  readonly size: number;
  readonly sha256: string;
  /** The segment's compaction level; 0 (and absent from the file) for a flushed segment. */
  readonly level?: number;
  readonly writtenAt: Date;
}

const HEAD_FORMAT = 1;

const t = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const headSchema = z
  .object({
    format: z.literal(HEAD_FORMAT),
    db: z.string(),
    key: z.string(),
    'start-t': t,
    'end-t': t,
    level: z.number().int().min(1).max(MAX_LEVEL).optional(),
    size: z.number().int().nonnegative(),
    sha256: z.string().refine(isSha256Hex, 'expected 64 lowercase hex digits'),
    'written-at': z.date().refine((d) => !Number.isNaN(d.getTime()), 'invalid instant'),
  })
  .refine((h) => h['start-t'] <= h['end-t'], 'start-t is after end-t')
  .refine((h) => h.key === segmentKey(h.db, h['start-t'], h['end-t'], h.level ?? 0), 'key does not match db, start-t and end-t');

/** A small EDN map, one entry a line, so a person can read it with `cat`. */
export function formatHead(head: HeadRecord): string {
  const entries: [string, string][] = [
    ['format', String(HEAD_FORMAT)],
    ['db', JSON.stringify(head.db)],
    ['key', JSON.stringify(segmentKey(head.db, head.startT, head.endT, head.level ?? 0))],
    ['start-t', String(head.startT)],
    ['end-t', String(head.endT)],
    ...(head.level ? [['level', String(head.level)] as [string, string]] : []),
    ['size', String(head.size)],
    ['sha256', JSON.stringify(head.sha256)],
    ['written-at', `#inst ${JSON.stringify(head.writtenAt.toISOString())}`],
  ];
  return `{${entries.map(([k, v]) => `:${k} ${v}`).join('\n ')}}\n`;
}

export type ParsedHead = { ok: true; head: HeadRecord } | { ok: false; problem: string };

/** Never throws: a HEAD that does not parse is reported so the caller can repair it. */
export function parseHead(text: string, db: string): ParsedHead {
  let value: unknown;
  try {
    value = parseEDNString(text, {
      mapAs: 'object',
      keywordAs: 'string',
      tagHandlers: { inst: (v) => new Date(String(v)) },
    });
  } catch (err) {
    return { ok: false, problem: `not EDN: ${(err as Error).message}` };
  }
  const parsed = headSchema.safeParse(value);
  if (!parsed.success) {
    const problem = parsed.error.issues.map((i) => `${i.path.join('.') || 'HEAD'}: ${i.message}`).join('; ');
    return { ok: false, problem };
  }
  const h = parsed.data;
  if (h.db !== db) return { ok: false, problem: `names database ${JSON.stringify(h.db)}, expected ${JSON.stringify(db)}` };
  return {
    ok: true,
    head: {
      db: h.db,
      startT: h['start-t'],
      endT: h['end-t'],
      size: h.size,
      sha256: h.sha256,
      ...(h.level === undefined ? {} : { level: h.level }),
      writtenAt: h['written-at'],
    },
  };
}
