// Encrypting a store that holds clear segments (or segments sealed with an older key):
// every segment is copied into another store, sealed with the active key. The source
// store is only read, and no object is ever overwritten: the copies are new objects under
// the same key names elsewhere, each read back and checked before it counts.
import { silentLogger, type Logger } from '../logger';
import type { SegmentInfo, SegmentStore } from '../stores/types';
import { sealedHeader, type SegmentCodec } from './codec';
import { decodeSegment } from './format';

/** Options of encryptSegments. */
export interface EncryptSegmentsOptions {
  /** Segments copied at once; 2 when absent. */
  parallel?: number;
  logger?: Logger;
  /** Stops between segments. */
  signal?: AbortSignal;
  /** Called after each segment is written (or found written) and verified. */
  onSegment?: (event: EncryptedSegment) => void;
}

/** One segment encryptSegments copied. */
export interface EncryptedSegment {
  /** The copy, in the destination store. */
  info: SegmentInfo;
  /** How the original was stored: 'clear' or the id of the key it was sealed with. */
  was: string;
  /** False when the destination already held these exact bytes (a rerun). */
  written: boolean;
}

/** What encryptSegments copied, and with which key. */
export interface EncryptResult {
  /** The key the copies are sealed with. */
  keyId: string;
  segments: number;
  written: number;
  /** Segments the destination already held, byte for byte. */
  alreadyThere: number;
  bytes: number;
}

/**
 * Copies every segment of db from `from` to `to`, sealed with the codec's active key;
 * a clear segment is sealed, one sealed with another key of the ring is opened and sealed
 * again, one sealed with the active key is copied as it is. Each copy is read back from
 * `to` and must open to the original's clear bytes. Sealing is deterministic, so a rerun
 * writes only what is missing; a destination holding other bytes for a range is an error
 * (SegmentConflictError), never overwritten.
 */
export async function encryptSegments(
  from: SegmentStore,
  to: SegmentStore,
  db: string,
  codec: SegmentCodec,
  options: EncryptSegmentsOptions = {},
): Promise<EncryptResult> {
  const keyId = codec.activeKeyId;
  if (keyId === null) throw new Error('encrypting segments needs a key ring with an active key');
  // The same place twice would only meet conflicts (nothing is overwritten); say so plainly instead.
  if (from === to) throw new Error(`encrypting segments writes them to another store: ${to.location} is the store they are read from`);
  const parallel = options.parallel ?? 2;
  if (!Number.isSafeInteger(parallel) || parallel < 1) throw new RangeError(`parallel must be a positive integer, got ${parallel}`);
  const logger = options.logger ?? silentLogger;
  const result: EncryptResult = { keyId, segments: 0, written: 0, alreadyThere: 0, bytes: 0 };

  const copy = async (info: SegmentInfo): Promise<void> => {
    const place = { database: db, startT: info.startT, endT: info.endT };
    const name = `${from.location} ${info.key}`;
    const original = await from.get(db, info.startT, info.endT, info.level);
    const was = sealedHeader(original, name)?.keyId ?? 'clear';
    const clear = codec.open(original, { name, place });
    // The original must be a whole, valid segment of this place before anything is written.
    const header = decodeSegment(clear, { name }).header;
    if (header.database !== db || header.startT !== info.startT || header.endT !== info.endT)
      throw new Error(`segment ${name}: holds ${header.database} t=${header.startT}..${header.endT}, not what its key says; not copied`);
    const sealed = codec.seal(clear, place);
    const put = await to.put(db, info.startT, info.endT, sealed, { level: info.level });
    const copyName = `${to.location} ${put.segment.key}`;
    const back = await to.get(db, info.startT, info.endT, info.level);
    if (!Buffer.from(back.buffer, back.byteOffset, back.length).equals(sealed))
      throw new Error(`segment ${copyName}: reads back as other bytes than were written`);
    const reopened = codec.open(back, { name: copyName, place });
    if (!Buffer.from(reopened.buffer, reopened.byteOffset, reopened.length).equals(clear))
      throw new Error(`segment ${copyName}: does not open to the original's bytes`);
    result.segments++;
    result.bytes += sealed.length;
    if (put.written) result.written++;
    else result.alreadyThere++;
    logger.debug({ db, segment: `${info.startT}-${info.endT}`, was, keyId, written: put.written }, 'segment sealed and verified');
    options.onSegment?.({ info: put.segment, was, written: put.written });
  };

  const listing = from.list(db)[Symbol.asyncIterator]();
  let failed = false;
  const worker = async () => {
    while (!failed) {
      options.signal?.throwIfAborted();
      const next = await listing.next();
      if (next.done) return;
      try {
        await copy(next.value);
      } catch (err) {
        failed = true; // the other workers stop taking segments
        throw err;
      }
    }
  };
  // Every worker finishes its segment before the first error is thrown.
  const settled = await Promise.allSettled(Array.from({ length: parallel }, worker));
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  logger.info({ db, from: from.location, to: to.location, ...result }, 'segments sealed');
  return result;
}
