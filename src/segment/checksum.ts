// A segment's SHA-256, over its final (gzipped) bytes: what the store records and checks.
import { createHash } from 'node:crypto';
import { SegmentChecksumError } from './errors';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Lowercase hexadecimal SHA-256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Throws SegmentChecksumError naming the segment unless bytes have the expected SHA-256 (hex). */
export function verifyChecksum(bytes: Uint8Array, expectedSha256: string, name: string): void {
  const expected = expectedSha256.toLowerCase();
  if (!SHA256_HEX.test(expected))
    throw new SegmentChecksumError(name, `expected checksum ${JSON.stringify(expectedSha256)} is not a SHA-256 in hexadecimal`);
  const actual = sha256Hex(bytes);
  if (actual !== expected)
    throw new SegmentChecksumError(name, `checksum mismatch: expected sha256 ${expected}, the ${bytes.length} bytes have ${actual}`);
}
