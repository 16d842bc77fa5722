// Every error names the segment it is about (invariant 5: a bad segment is never applied,
// and the operator must be able to tell which one it was).

/** A segment's bytes could not be turned into a valid segment; nothing of it may be applied. */
export class SegmentDecodeError extends Error {
  override name = 'SegmentDecodeError';
  constructor(
    /** The segment, as the caller named it (a store key or a range). */
    readonly segment: string,
    /** What is wrong, without the segment's name. */
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`segment ${segment}: ${problem}`, options);
  }
}

/** The segment's bytes are not the bytes that were written (their SHA-256 differs). */
export class SegmentChecksumError extends SegmentDecodeError {
  override name = 'SegmentChecksumError';
}

/** The encoder refused its input: the transactions, schema or header do not make a valid segment. */
export class SegmentEncodeError extends Error {
  override name = 'SegmentEncodeError';
  constructor(
    readonly segment: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`segment ${segment}: ${problem}`, options);
  }
}

/** A problem found below the segment level; the caller adds where it was and which segment. */
export class SegmentProblem extends Error {
  override name = 'SegmentProblem';
}

/**
 * A sealed segment cannot be opened with the key ring at hand: the key it names is not in
 * the ring ('missing'), or the ring's key of that id is another key ('wrong'). Nothing of
 * the segment may be applied. The message names the segment and the key id, never a key.
 */
export class SegmentKeyError extends SegmentDecodeError {
  override name = 'SegmentKeyError';
  constructor(
    segment: string,
    /** The id of the key the segment was sealed with. */
    readonly keyId: string,
    readonly reason: 'missing' | 'wrong',
    problem: string,
  ) {
    super(segment, problem);
  }
}
