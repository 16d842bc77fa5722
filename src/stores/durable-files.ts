import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Marks temporary files, which listings skip. */
export const TEMP_MARK = '.tmp-';

function tempPath(file: string): string {
  return `${file}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}`;
}

async function writeSynced(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** mkdir -p, then syncs the parent of every directory it created so they survive a crash. */
export async function ensureDir(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    await syncDir(path.dirname(d));
    if (d === first || path.dirname(d) === d) return;
  }
}

/**
 * Writes file unless it exists, atomically and durably: a synced temp file in the same
 * directory, then link(2), which refuses to replace an existing name (unlike rename).
 * Returns false, leaving the existing file alone, when file exists.
 */
export async function writeOnce(file: string, data: Uint8Array | string): Promise<boolean> {
  const temp = tempPath(file);
  try {
    await writeSynced(temp, data);
    try {
      await link(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  } finally {
    await rm(temp, { force: true });
  }
  await syncDir(path.dirname(file));
  return true;
}

/** Writes or replaces file atomically and durably (temp file, sync, rename, sync dir). */
export async function writeReplace(file: string, data: Uint8Array | string): Promise<void> {
  const temp = tempPath(file);
  try {
    await writeSynced(temp, data);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDir(path.dirname(file));
}
