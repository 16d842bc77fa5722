// An exclusive lock on a PGlite directory: a lock file naming its holder. PGlite does not
// lock its data directory, and two processes (or two instances in one process) opening it
// corrupt it.
//
// The file appears atomically with its content (written aside, then hard-linked into place,
// which fails when it exists). A lock whose holder died on this host is stale and taken
// over. Two processes taking over the same stale lock at the same instant could both
// succeed; that needs a crash and two simultaneous starts, and is accepted.
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DatabaseOpenError } from '../errors';

const LOCK_FILE = 'txclone.lock';

interface LockHolder {
  pid: number;
  host: string;
  since: string;
  command: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describeHolder(holder: LockHolder): string {
  const self = holder.pid === process.pid && holder.host === hostname() ? ' (this process)' : '';
  return `process ${holder.pid}${self} on ${holder.host} (${holder.command}) since ${holder.since}`;
}

export class DirectoryLock {
  private constructor(private readonly path: string) {}

  static async acquire(dir: string): Promise<DirectoryLock> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, LOCK_FILE);
    const me: LockHolder = {
      pid: process.pid,
      host: hostname(),
      since: new Date().toISOString(),
      command: process.argv.slice(1).join(' ').slice(0, 200),
    };
    const aside = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await writeFile(aside, JSON.stringify(me), { flag: 'wx' });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await place(aside, path, me);
          return new DirectoryLock(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const holder = await readHolder(path);
        if (holder === 'gone') continue;
        // A lock left by a process that died on this host is stale; one from another host is not ours to judge.
        if (holder && holder.host === me.host && !alive(holder.pid)) {
          await unlink(path).catch(() => undefined);
          continue;
        }
        const who = holder ? describeHolder(holder) : 'an unreadable lock file';
        throw new DatabaseOpenError(
          `database directory ${dir} is in use by ${who}; PGlite allows one process at a time (lock file ${path})`,
        );
      }
      throw new DatabaseOpenError(`could not lock database directory ${dir} (lock file ${path} keeps changing)`);
    } finally {
      await unlink(aside).catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    await unlink(this.path).catch(() => undefined);
  }
}

/** Puts the lock file in place; EEXIST when it exists. */
async function place(aside: string, path: string, me: LockHolder): Promise<void> {
  try {
    await link(aside, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Filesystems without hard links: exclusive create, briefly visible empty (read as unreadable).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS')
      await writeFile(path, JSON.stringify(me), { flag: 'wx' });
    else throw err;
  }
}

async function readHolder(path: string): Promise<LockHolder | null | 'gone'> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockHolder;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : null;
  }
}
