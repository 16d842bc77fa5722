import { describe, expect, test } from 'vitest';
import { formatHead, parseHead, segmentKey } from '../../src/stores';
import { keyBeforeStart, parseSegmentKey } from '../../src/stores/keys';
import { backoffDelay, retry } from '../../src/stores/retry';
import { isTransientS3Error, s3ErrorFacts } from '../../src/stores/s3-errors';

const SHA = 'ab'.repeat(32);

describe('segment keys', () => {
  test('sort in t order and parse back', () => {
    const keys = [[9, 10], [10, 99], [100, 100], [2 ** 53 - 1, 2 ** 53 - 1]].map(([s, e]) => segmentKey('db', s!, e!));
    expect([...keys].sort()).toEqual(keys);
    expect(parseSegmentKey('db', keys[1]!)).toEqual({ startT: 10, endT: 99, level: 0 });
    expect(parseSegmentKey('other', keys[1]!)).toBeNull();
    expect(parseSegmentKey('db', 'db/segments/1-2.seg')).toBeNull();
    expect(parseSegmentKey('db', 'db/segments/00000000000000000002-00000000000000000001.seg')).toBeNull();
  });

  test('a level is in the key from L1 on; level 0 keeps the name segments had before levels', () => {
    expect(segmentKey('db', 1, 20)).toBe('db/segments/00000000000000000001-00000000000000000020.seg');
    expect(segmentKey('db', 1, 20, 2)).toBe('db/segments/00000000000000000001-00000000000000000020.L2.seg');
    expect(parseSegmentKey('db', segmentKey('db', 1, 20, 2))).toEqual({ startT: 1, endT: 20, level: 2 });
    expect(parseSegmentKey('db', 'db/segments/00000000000000000001-00000000000000000020.L0.seg')).toBeNull();
    expect(parseSegmentKey('db', 'db/segments/00000000000000000001-00000000000000000020.L10.seg')).toBeNull();
    // Start order first, then end: the segments starting at a t list together, the longest last.
    const keys = [segmentKey('db', 1, 10), segmentKey('db', 1, 100, 1), segmentKey('db', 1, 1000, 2), segmentKey('db', 11, 20)];
    expect([...keys].sort()).toEqual(keys);
    expect(segmentKey('db', 1, 10, 1) < segmentKey('db', 1, 10)).toBe(true);
  });

  test('keyBeforeStart sorts after every earlier start and before every segment at that start', () => {
    const before = keyBeforeStart('db', 10);
    expect(segmentKey('db', 9, 1000) < before).toBe(true);
    expect(before < segmentKey('db', 10, 10)).toBe(true);
  });
});

describe('HEAD file', () => {
  const head = { db: 'db', startT: 11, endT: 20, size: 123, sha256: SHA, writtenAt: new Date('2025-01-02T03:04:05.678Z') };

  test('round-trips and reads as EDN', () => {
    const text = formatHead(head);
    expect(text).toBe(
      '{:format 1\n :db "db"\n :key "db/segments/00000000000000000011-00000000000000000020.seg"\n :start-t 11\n' +
        ` :end-t 20\n :size 123\n :sha256 "${SHA}"\n :written-at #inst "2025-01-02T03:04:05.678Z"}\n`,
    );
    expect(parseHead(text, 'db')).toEqual({ ok: true, head });
  });

  test('names a compacted segment with its level', () => {
    const text = formatHead({ ...head, level: 1 });
    expect(text).toContain(':key "db/segments/00000000000000000011-00000000000000000020.L1.seg"');
    expect(text).toContain(':level 1');
    expect(parseHead(text, 'db')).toEqual({ ok: true, head: { ...head, level: 1 } });
  });

  test.each([
    ['', /HEAD: /],
    ['{:format 1', /HEAD: /],
    ['[1 2 3]', /HEAD: /],
    [formatHead(head).replace(':end-t 20', ':end-t 5'), /start-t is after end-t|key does not match/],
    [formatHead(head).replace(':format 1', ':format 2'), /format/],
    [formatHead(head).replace(SHA, 'nothex'), /sha256/],
    [formatHead(head).replace('2025-01-02T03:04:05.678Z', 'yesterday'), /written-at/],
    [formatHead({ ...head, db: 'other' }), /names database "other"/],
  ])('reports a corrupt HEAD without throwing: %j', (text, problem) => {
    const parsed = parseHead(text, 'db');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });
});

describe('retry', () => {
  const options = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

  test('full jitter: uniform below a ceiling that doubles up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, options, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.5)).toBe(200);
  });

  test('retries transient failures, stops at once on permanent ones, gives up after the attempts', async () => {
    const policy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 1, isTransient: (e: unknown) => (e as Error).message === 'flaky' };
    let calls = 0;
    expect(
      await retry(async () => {
        calls += 1;
        if (calls < 3) throw new Error('flaky');
        return 'done';
      }, policy),
    ).toBe('done');
    expect(calls).toBe(3);

    calls = 0;
    await expect(retry(async () => { calls += 1; throw new Error('broken'); }, policy)).rejects.toThrow('broken');
    expect(calls).toBe(1);

    calls = 0;
    await expect(retry(async () => { calls += 1; throw new Error('flaky'); }, policy)).rejects.toThrow('flaky');
    expect(calls).toBe(4);
  });
});

describe('S3 error classification', () => {
  const service = (name: string, status: number) => Object.assign(new Error('m'), { name, $metadata: { httpStatusCode: status } });
  const system = (code: string, message = code) => Object.assign(new Error(message), { code });

  test.each([
    [service('SlowDown', 503), true],
    [service('InternalError', 500), true],
    [service('Unknown', 502), true],
    [service('TooManyRequests', 429), true],
    [service('NotImplemented', 501), false],
    [service('NoSuchBucket', 404), false],
    [service('AccessDenied', 403), false],
    [service('InvalidArgument', 400), false],
    [system('ECONNRESET'), true],
    [system('EPIPE'), true],
    [new Error('socket hang up'), true],
    [Object.assign(new Error('timed out'), { name: 'TimeoutError' }), true],
    [system('ENOTFOUND'), false],
  ])('%s → transient: %s', (err, transient) => {
    expect(isTransientS3Error(err)).toBe(transient);
  });

  test('facts prefer the S3 code, then the system code, then the name', () => {
    expect(s3ErrorFacts(service('NoSuchBucket', 404))).toEqual({ code: 'NoSuchBucket', status: 404, message: 'm' });
    expect(s3ErrorFacts(system('ECONNRESET', 'read ECONNRESET'))).toEqual({ code: 'ECONNRESET', status: undefined, message: 'read ECONNRESET' });
    expect(s3ErrorFacts(new Error('plain')).code).toBeUndefined();
  });
});
