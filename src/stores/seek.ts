import type { ObjectBackend } from './backend';
import { keyBeforeStart } from './keys';
import { firstSegment } from './scan';

/**
 * Where a listing must start so that its first segments are those holding t > afterT.
 *
 * Keys sort by startT and a listing only runs forward, so the segment holding afterT+1
 * (which may start before it) cannot be looked up directly:
 * - most readers stand at a segment boundary, where one probe finds it;
 * - a reader at the end of the log (nothing starts after afterT) can only need the last
 *   segment, which starts at or after the one HEAD names;
 * - otherwise we gallop backwards with probes of doubling width until a segment starts
 *   inside the window: O(log distance) one-key listings, never a listing of everything
 *   before afterT.
 * A segment that starts before the window and overlaps others may be missed; verify
 * reports overlaps.
 */
export async function seekAfterT(
  backend: ObjectBackend,
  db: string,
  afterT: number,
  headStartT: () => Promise<number | null>,
): Promise<string | undefined> {
  const firstFrom = (startT: number) => firstSegment(backend, db, keyBeforeStart(db, startT));
  const boundary = keyBeforeStart(db, afterT + 1);

  const next = await firstFrom(afterT + 1);
  if (next?.startT === afterT + 1) return boundary;

  if (next === null) {
    const hint = await headStartT();
    if (hint !== null && hint <= afterT) {
      const last = await firstFrom(hint);
      if (last !== null && last.startT <= afterT) return keyBeforeStart(db, hint);
    }
  }

  const first = await firstSegment(backend, db, undefined);
  if (first === null || first.startT > afterT) return boundary;

  for (let step = 1; ; step *= 2) {
    const low = Math.max(first.startT, afterT + 1 - step);
    const found = low === first.startT ? first : await firstFrom(low);
    if (found !== null && found.startT <= afterT) return keyBeforeStart(db, low);
  }
}
