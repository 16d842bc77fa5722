// Comparing a clone with its source: their logs must be equal row for row. Each range of t
// is compared by digest on both sides (two queries, no rows moved); only a range whose
// digests differ is read, to name the first transaction and datom that differ.
import type { Database, Transaction } from '../db/types';

export interface CompareCloneOptions {
  /** Compare t = 1..asOfT (default: the clone's basis). */
  asOfT?: number;
  /** Transactions per digest range. */
  rangeTxns?: number;
  /** List at most this many differences (default 50). */
  maxDifferences?: number;
}

export interface CloneDifference {
  kind: 'missing' | 'extra' | 'transaction' | 'datom';
  detail: string;
}

export interface CompareCloneResult {
  equal: boolean;
  asOfT: number;
  sourceT: number;
  targetT: number;
  transactions: number;
  ranges: number;
  differingRanges: number;
  differences: CloneDifference[];
}

export async function compareClone(source: Database, clone: Database, options: CompareCloneOptions = {}): Promise<CompareCloneResult> {
  const [sourceT, targetT] = await Promise.all([source.basisT(), clone.basisT()]);
  const asOfT = options.asOfT ?? targetT;
  const rangeTxns = options.rangeTxns ?? 10_000;
  const maxDifferences = options.maxDifferences ?? 50;
  const differences: CloneDifference[] = [];
  const note = (d: CloneDifference) => {
    if (differences.length < maxDifferences) differences.push(d);
  };
  if (asOfT > sourceT) note({ kind: 'extra', detail: `the clone holds t=${sourceT + 1}..${asOfT}, which the source does not` });
  if (asOfT > targetT) note({ kind: 'missing', detail: `the clone lacks t=${targetT + 1}..${asOfT}` });
  let ranges = 0;
  let differingRanges = 0;
  const end = Math.min(asOfT, sourceT, targetT);
  for (let from = 1; from <= end; from += rangeTxns) {
    const to = Math.min(end, from + rangeTxns - 1);
    ranges++;
    const [a, b] = await Promise.all([source.logDigest(from, to), clone.logDigest(from, to)]);
    if (a === b) continue;
    differingRanges++;
    if (differences.length < maxDifferences) await diffRange(source, clone, from, to, note);
  }
  return {
    equal: differences.length === 0 && differingRanges === 0,
    asOfT,
    sourceT,
    targetT,
    transactions: end,
    ranges,
    differingRanges,
    differences,
  };
}

/** Names the transactions and datoms of one range that differ. */
async function diffRange(source: Database, clone: Database, from: number, to: number, note: (d: CloneDifference) => void): Promise<void> {
  const read = async (db: Database) => {
    const txs = new Map<number, Transaction>();
    for await (const tx of db.txRange(from, to)) txs.set(tx.t, tx);
    return txs;
  };
  const [left, right] = await Promise.all([read(source), read(clone)]);
  for (let t = from; t <= to; t++) {
    const a = left.get(t);
    const b = right.get(t);
    if (!a || !b) {
      if (a || b) note({ kind: a ? 'missing' : 'extra', detail: `t=${t} is ${a ? 'missing from the clone' : 'only in the clone'}` });
      continue;
    }
    if (a.tx !== b.tx || a.instant.getTime() !== b.instant.getTime()) {
      note({ kind: 'transaction', detail: `t=${t}: source tx ${a.tx} at ${a.instant.toISOString()}, clone tx ${b.tx} at ${b.instant.toISOString()}` });
    }
    const n = Math.max(a.datoms.length, b.datoms.length);
    for (let i = 0; i < n; i++) {
      const x = a.datoms[i] ? show(a.datoms[i]!) : 'nothing';
      const y = b.datoms[i] ? show(b.datoms[i]!) : 'nothing';
      if (x !== y) note({ kind: 'datom', detail: `t=${t} datom ${i}: source ${x}, clone ${y}` });
    }
  }
}

function show(d: Transaction['datoms'][number]): string {
  const [e, a, v, added] = d;
  const value = v instanceof Date ? (Number.isNaN(v.getTime()) ? 'an invalid instant' : v.toISOString()) : v instanceof Uint8Array ? `bytes(${Buffer.from(v).toString('hex')})` : typeof v === 'bigint' ? `${v}N` : JSON.stringify(v);
  return `[${e} ${a} ${value} ${added}]`;
}
