// The gzip layer of a segment.
import { gunzipSync, gzipSync } from 'node:zlib';
import { SegmentProblem } from './errors';

/**
 * Level 5: on bench/segment.ts's 200k-datom segment it compresses as well as zlib's default 6
 * (4.07x, within 0.1%) in under half the time; levels 1-4 are faster again but 1-3% larger.
 */
export const DEFAULT_GZIP_LEVEL = 5;

/** 512 MiB: a segment larger than this decompressed is refused rather than read (a gzip bomb). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024;

export function gzip(data: Uint8Array, level: number): Buffer {
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`gzip level ${level} is not 0..9`);
  return gzipSync(data, { level });
}

/** The one gzip stream bytes hold, bounded to maxBytes; anything after it is an error. */
export function gunzip(bytes: Uint8Array, maxBytes: number): Buffer {
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // info: true also reports how much input the stream used; @types/node does not model it.
    result = gunzipSync(bytes, { maxOutputLength: maxBytes, info: true }) as unknown as typeof result;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE')
      throw new SegmentProblem(`decompresses to more than ${maxBytes} bytes (the limit)`);
    throw new SegmentProblem(`is not a gzip stream (${err.message})`);
  }
  if (result.engine.bytesWritten !== bytes.length)
    throw new SegmentProblem(`has ${bytes.length - result.engine.bytesWritten} bytes after its gzip stream`);
  return result.buffer;
}
