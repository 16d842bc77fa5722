/** The target is not a replica this restore may write to (foreign data, another source). */
export class TargetRefusedError extends Error {
  override name = 'TargetRefusedError';
}

/** The target no longer matches the source: a retraction of a datom it does not hold. */
export class ReplicaDivergedError extends Error {
  override name = 'ReplicaDivergedError';
}

/** Someone other than txclone wrote to the target. */
export class ForeignWriteError extends Error {
  override name = 'ForeignWriteError';
}

/** The store has no segment for the next transaction. */
export class SegmentGapError extends Error {
  override name = 'SegmentGapError';
  constructor(
    message: string,
    readonly missingFromT: number,
    readonly missingToT: number | null,
  ) {
    super(message);
  }
}
