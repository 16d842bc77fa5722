// Queue names, job ids and scheduler ids. BullMQ refuses ':' in queue names and job
// ids and all-digit job ids; a store's db name has neither, and target names are
// checked here so that every name below is unambiguous.
import { validateDb } from '../stores/keys';

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The default key prefix of every txclone queue in Redis. */
export const DEFAULT_PREFIX = 'txclone';

export function validateTargetName(target: string): void {
  if (typeof target !== 'string' || !TARGET_NAME.test(target)) {
    throw new RangeError(`invalid target name ${JSON.stringify(target)}: use letters, digits, '_' and '-' (at most 64, not starting with '_' or '-')`);
  }
}

/** The queue a producer announces segments on for one target: `replay.{db}.{target}` (a target has no '.'). */
export function replayQueueName(db: string, target: string): string {
  validateDb(db);
  validateTargetName(target);
  return `replay.${db}.${target}`;
}

/** The queue the producer's scheduler puts its runs on. */
export function exportQueueName(db: string): string {
  validateDb(db);
  return `export.${db}`;
}

export function exportSchedulerId(db: string): string {
  return `export-${db}`;
}

/** The same range for the same target always gets the same id, so a repeat is a no-op. */
export function replayJobId(db: string, target: string, startT: number, endT: number): string {
  return `replay-${db}-${target}-${startT}-${endT}`;
}
