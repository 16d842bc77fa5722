import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DatabaseOpenError } from '../errors';

const LOCK_FILE = 'txclone.lock';

interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An exclusive lock on a PGlite directory: a lock file naming its holder. */
export class DirectoryLock {
  private constructor(private readonly path: string) {}

  static async acquire(dir: string): Promise<DirectoryLock> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, LOCK_FILE);
    const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, 'wx');
        await handle.writeFile(JSON.stringify(me));
        await handle.sync();
        await handle.close();
        return new DirectoryLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readHolder(path);
      // A lock left by a process that died on this host is stale; one from another host is not ours to judge.
      if (holder && holder.host === me.host && !alive(holder.pid)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      const who = holder ? `process ${holder.pid} on ${holder.host} since ${holder.since}` : 'an unreadable lock file';
      throw new DatabaseOpenError(
        `database directory ${dir} is in use by ${who}; PGlite allows one process at a time (lock file ${path})`,
      );
    }
    throw new DatabaseOpenError(`could not lock database directory ${dir}`);
  }

  async release(): Promise<void> {
    await unlink(this.path).catch(() => undefined);
  }
}

async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}
