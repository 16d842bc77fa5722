// Compares a replica with its source, datom by datom, under the id map.
import type { Attribute, Database, EntityId, Value } from '../db/types';
import { ORIGINAL_ID } from '../idmap/idmap';
import { LAST_SOURCE_TRANSACTION, TXCLONE_NAMESPACE, bookkeepingAttributes } from './bookkeeping';

/** Options of compareReplica. */
export interface CompareOptions {
  /** Compare the source as of this t with the target when it had applied it; default: the target's position. */
  asOfT?: number;
  /** Attributes (idents) left out of the comparison, e.g. those elided or rewritten. */
  ignore?: Iterable<string>;
  /** Differences listed at most (all are counted). */
  maxDifferences?: number;
  /**
   * Source datoms held in memory at most (default 2,000,000, about 200 bytes each). A larger
   * source is compared in passes, one per share of its entities, each reading both
   * databases again.
   */
  maxDatomsInMemory?: number;
}

export type DifferenceKind = 'missing-in-target' | 'extra-in-target' | 'unmapped-entity' | 'transactions';

/** One difference found between a source and its replica. */
export interface Difference {
  kind: DifferenceKind;
  detail: string;
}

/** What compareReplica found: equal or not, what it compared, and the first differences. */
export interface CompareResult {
  equal: boolean;
  asOfT: number;
  /** The target's t that corresponds to asOfT. */
  targetT: number;
  sourceDatoms: number;
  targetDatoms: number;
  transactions: number;
  differenceCount: number;
  /** The first maxDifferences differences. */
  differences: Difference[];
  /** Passes over the datoms (1 unless the source exceeded maxDatomsInMemory). */
  passes: number;
}

/**
 * Every current datom of the source as of asOfT has exactly one counterpart in the target
 * (ids through :txclone/original-id, attributes and built-ins by ident, values with their
 * types) and vice versa; the transactions agree in number and instants.
 * Memory: the target's id map (about 60 bytes per entity) and at most maxDatomsInMemory
 * source datoms; a larger source costs more passes instead.
 */
export async function compareReplica(source: Database, target: Database, options: CompareOptions = {}): Promise<CompareResult> {
  const ignore = new Set(options.ignore ?? []);
  const max = options.maxDifferences ?? 100;
  const differences: Difference[] = [];
  let differenceCount = 0;
  const report = (kind: DifferenceKind, detail: string) => {
    differenceCount++;
    if (differences.length < max) differences.push({ kind, detail });
  };

  const holder = await target.entity(LAST_SOURCE_TRANSACTION);
  const position = holder?.[LAST_SOURCE_TRANSACTION];
  if (typeof position !== 'number') throw new Error(`target ${target.location} is not a txclone replica (no ${LAST_SOURCE_TRANSACTION})`);
  const asOfT = options.asOfT ?? position;
  if (asOfT > position) throw new Error(`target ${target.location} has applied source t=${position}, not yet t=${asOfT}`);
  const targetT = await targetTFor(target, asOfT, position);

  const [sourceSchema, targetSchema, sourceBuiltins, targetBuiltins] = await Promise.all([
    source.schema(),
    target.schema(),
    source.builtins(),
    target.builtins(),
  ]);

  // Target entity -> source entity.
  const toSource = new Map<EntityId, EntityId>();
  const originalId = [...targetSchema.values()].find((a) => a.ident === ORIGINAL_ID)?.id;
  for await (const [e, a, v] of target.datoms({ asOfT: targetT })) {
    if (a === originalId) toSource.set(e, v as number);
  }

  // The bookkeeping attributes themselves (on either side) are not data.
  const sourceBookkeeping = bookkeepingAttributes(sourceSchema.values());
  const targetBookkeeping = bookkeepingAttributes(targetSchema.values());

  const budget = options.maxDatomsInMemory ?? 2_000_000;
  if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`maxDatomsInMemory must be a positive integer, got ${budget}`);
  const sides: Sides = { source, target, asOfT, targetT, sourceSchema, targetSchema, sourceBuiltins, targetBuiltins, sourceBookkeeping, targetBookkeeping, toSource, ignore };
  let passes = 1;
  let totals = await comparePass(sides, { index: 0, of: 1 }, budget, report);
  if (totals.overflowCount !== null) {
    // Too many to hold at once: a pass per share of the entities, each share a little under
    // the budget (ids spread evenly over shares, but not exactly).
    passes = Math.ceil((totals.overflowCount * 1.25) / budget);
    totals = { sourceDatoms: 0, targetDatoms: 0, overflowCount: null };
    for (let index = 0; index < passes; index++) {
      const pass = await comparePass(sides, { index, of: passes }, Infinity, report);
      totals.sourceDatoms += pass.sourceDatoms;
      totals.targetDatoms += pass.targetDatoms;
    }
  }
  const { sourceDatoms, targetDatoms } = totals;

  const transactions = await compareTransactions(source, target, asOfT, targetT, report);
  return {
    equal: differenceCount === 0,
    asOfT,
    targetT,
    sourceDatoms,
    targetDatoms,
    transactions,
    differenceCount,
    differences,
    passes,
  };
}

interface Sides {
  source: Database;
  target: Database;
  asOfT: number;
  targetT: number;
  sourceSchema: Map<EntityId, Attribute>;
  targetSchema: Map<EntityId, Attribute>;
  sourceBuiltins: Map<EntityId, string>;
  targetBuiltins: Map<EntityId, string>;
  sourceBookkeeping: ReadonlySet<EntityId>;
  targetBookkeeping: ReadonlySet<EntityId>;
  /** Target entity -> source entity. */
  toSource: ReadonlyMap<EntityId, EntityId>;
  ignore: ReadonlySet<string>;
}

interface PassResult {
  sourceDatoms: number;
  targetDatoms: number;
  /** Non-null when the source held more than the budget: how many datoms it holds (nothing was compared). */
  overflowCount: number | null;
}

/**
 * Compares the datoms of the entities whose source id falls in one share (id mod of ===
 * index). A source with more datoms in the share than the budget is only counted.
 */
async function comparePass(
  sides: Sides,
  share: { index: number; of: number },
  budget: number,
  report: (kind: DifferenceKind, detail: string) => void,
): Promise<PassResult> {
  const { source, target, sourceSchema, targetSchema, sourceBuiltins, targetBuiltins, toSource, ignore } = sides;
  const inShare = (sourceE: EntityId) => share.of === 1 || sourceE % share.of === share.index;
  const sourceKeys = new Set<string>();
  let sourceDatoms = 0;
  let overflow = false;
  for await (const [e, a, v] of source.datoms({ asOfT: sides.asOfT })) {
    if (sourceBuiltins.has(e) || sides.sourceBookkeeping.has(e) || !inShare(e)) continue;
    const attribute = sourceSchema.get(a)!;
    if (skip(attribute, ignore)) continue;
    sourceDatoms++;
    if (overflow) continue;
    if (sourceKeys.size >= budget) {
      overflow = true;
      sourceKeys.clear();
      continue;
    }
    sourceKeys.add(datomKey(e, attribute, v, (id) => sourceBuiltins.get(id) ?? id, sourceSchema));
  }
  if (overflow) return { sourceDatoms: 0, targetDatoms: 0, overflowCount: sourceDatoms };

  let targetDatoms = 0;
  const unmapped = new Set<EntityId>();
  for await (const [e, a, v] of target.datoms({ asOfT: sides.targetT })) {
    if (targetBuiltins.has(e) || sides.targetBookkeeping.has(e)) continue;
    const attribute = targetSchema.get(a)!;
    if (skip(attribute, ignore)) continue;
    const sourceE = toSource.get(e);
    if (sourceE === undefined) {
      // An entity with no source id belongs to no share: the first pass reports it.
      if (share.index !== 0) continue;
      targetDatoms++;
      if (!unmapped.has(e)) report('unmapped-entity', `target entity ${e} has no ${ORIGINAL_ID} (first datom: ${attribute.ident} ${show(v)})`);
      unmapped.add(e);
      continue;
    }
    if (!inShare(sourceE)) continue;
    targetDatoms++;
    const key = datomKey(sourceE, attribute, v, (id) => targetBuiltins.get(id) ?? toSource.get(id) ?? `unmapped:${id}`, targetSchema);
    if (!sourceKeys.delete(key)) report('extra-in-target', `target [${e} ${attribute.ident} ${show(v)}] (source entity ${sourceE}) has no counterpart in the source`);
  }
  for (const key of sourceKeys) {
    const [e, ident, value] = key.split('\u0001');
    report('missing-in-target', `source [${e} ${ident} ${value}] is missing from the target`);
  }
  return { sourceDatoms, targetDatoms, overflowCount: null };
}

function skip(attribute: Attribute, ignore: ReadonlySet<string>): boolean {
  return attribute.ident.startsWith(TXCLONE_NAMESPACE) || ignore.has(attribute.ident);
}

/** The target t at which the target had applied source t = asOfT (binary search on its log). */
async function targetTFor(target: Database, asOfT: number, position: number): Promise<number> {
  const basis = await target.basisT();
  if (asOfT === position) return basis;
  if (asOfT === 0) return 0;
  const schema = await target.schema();
  const positionAttr = [...schema.values()].find((a) => a.ident === LAST_SOURCE_TRANSACTION)!.id;
  const sourceTAt = async (t: number): Promise<number> => {
    for await (const tx of target.txRange(t, t)) {
      const d = tx.datoms.find(([, a, , added]) => a === positionAttr && added);
      if (d) return d[2] as number;
    }
    return -1;
  };
  let lo = 1;
  let hi = basis;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await sourceTAt(mid)) < asOfT) lo = mid + 1;
    else hi = mid;
  }
  if ((await sourceTAt(lo)) !== asOfT) throw new Error(`target ${target.location} has no transaction for source t=${asOfT}`);
  return lo;
}

async function compareTransactions(
  source: Database,
  target: Database,
  asOfT: number,
  targetT: number,
  report: (kind: DifferenceKind, detail: string) => void,
): Promise<number> {
  const targetTxs = target.txRange(1, targetT)[Symbol.asyncIterator]();
  let count = 0;
  for await (const tx of source.txRange(1, asOfT)) {
    count++;
    const next = await targetTxs.next();
    if (next.done) {
      report('transactions', `source t=${tx.t} has no target transaction`);
      return count;
    }
    if (next.value.instant.getTime() !== tx.instant.getTime()) {
      report('transactions', `source t=${tx.t} at ${tx.instant.toISOString()} became target t=${next.value.t} at ${next.value.instant.toISOString()}`);
    }
  }
  const extra = await targetTxs.next();
  if (!extra.done) report('transactions', `target t=${extra.value.t} has no source transaction (source has ${count})`);
  return count;
}

function datomKey(
  e: EntityId,
  attribute: Attribute,
  v: Value,
  ref: (id: EntityId) => EntityId | string,
  schema: Map<EntityId, Attribute>,
): string {
  return `${e}\u0001${attribute.ident}\u0001${valueKey(attribute, v, ref, schema)}`;
}

function valueKey(attribute: Attribute, v: Value, ref: (id: EntityId) => EntityId | string, schema: Map<EntityId, Attribute>): string {
  if (attribute.valueType === 'ref') return `ref:${ref(v as number)}`;
  if (attribute.valueType === 'tuple') {
    const types = attribute.tupleType
      ? null
      : attribute.tupleTypes ?? attribute.tupleAttrs!.map((ident) => [...schema.values()].find((a) => a.ident === ident)?.valueType);
    const elements = (v as Value[]).map((el, i) => {
      const type = attribute.tupleType ?? types![i];
      if (el === null) return 'nil';
      return type === 'ref' ? `ref:${ref(el as number)}` : scalarKey(el as Value);
    });
    return `[${elements.join(' ')}]`;
  }
  return scalarKey(v);
}

/** A value with its JavaScript type, so 1 (long) and 1n (bigint) differ; doubles keep -0. */
function scalarKey(v: Value): string {
  if (v instanceof Date) return `inst:${v.getTime()}`;
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('base64')}`;
  if (typeof v === 'bigint') return `${v}N`;
  if (typeof v === 'number') return Object.is(v, -0) ? 'num:-0' : `num:${v}`;
  if (typeof v === 'string') return JSON.stringify(v);
  return `${typeof v}:${String(v)}`;
}

function show(v: Value): string {
  return scalarKey(v);
}
