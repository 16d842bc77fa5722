/**
 * A small file system of a test's own, to fill up: a tmpfs mounted on a temporary directory
 * (as root, where mounting is allowed). fill() leaves only so many bytes free with a ballast
 * file, free() deletes it: the disk fills mid-write, and space is freed, as on a real host.
 *
 * smallFileSystem() resolves to null, with the reason, where the machine does not allow a
 * mount (not root, or in a container without CAP_SYS_ADMIN).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SmallFileSystem {
  readonly dir: string;
  /** Bytes free now. */
  available(): Promise<number>;
  /** Leaves about `bytes` free (a ballast file takes the rest). */
  fill(bytes: number): Promise<void>;
  /** Deletes the ballast. */
  free(): Promise<void>;
  close(): Promise<void>;
}

export type SmallFileSystemResult = { fs: SmallFileSystem; reason: null } | { fs: null; reason: string };

export async function smallFileSystem(sizeBytes: number): Promise<SmallFileSystemResult> {
  if (process.platform !== 'linux') return { fs: null, reason: `tmpfs mounts need Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { fs: null, reason: 'mounting a tmpfs needs root' };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'txclone-small-fs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return { fs: null, reason: `this machine does not allow a tmpfs mount: ${(err as Error).message.trim()}` };
  }
  const ballast = path.join(dir, 'ballast');
  const available = async () => {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  };
  let closed = false;
  const fs: SmallFileSystem = {
    dir,
    available,
    async fill(bytes) {
      const free = await available();
      if (free > bytes) await run('fallocate', ['-l', String(free - bytes), ballast]);
    },
    async free() {
      await rm(ballast, { force: true });
    },
    async close() {
      if (closed) return;
      closed = true;
      await run('umount', ['-l', dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return { fs, reason: null };
}
