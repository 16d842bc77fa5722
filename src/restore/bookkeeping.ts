// What the target records about the replication: the original id of every entity, the
// last source transaction applied, and which source it replicates.
import type { Attribute, Database, EntityId, TxOp } from '../db/types';
import { ORIGINAL_ID } from '../idmap/idmap';
import { TargetRefusedError } from './errors';

/**
 * The attribute holding the last source t a target has applied
 * (`:txclone/last-source-transaction`), advanced by a compare-and-set in each restored transaction.
 */
export const LAST_SOURCE_TRANSACTION = ':txclone/last-source-transaction';
/** The attribute naming the source database a target restores (`:txclone/source-database`). */
export const SOURCE_DATABASE = ':txclone/source-database';
export const TXCLONE_NAMESPACE = ':txclone/';

/** The ids of txclone's own attributes among these: bookkeeping, not data. */
export function bookkeepingAttributes(attributes: Iterable<Attribute>): Set<EntityId> {
  const ids = new Set<EntityId>();
  for (const a of attributes) if (a.ident.startsWith(TXCLONE_NAMESPACE)) ids.add(a.id);
  return ids;
}

/** A target's position: the last source t it applied, and whether its bookkeeping is installed. */
export interface TargetPosition {
  /** The last source t applied; 0 before the first. */
  position: number;
  /** False for an empty target: the first restored transaction installs the bookkeeping. */
  installed: boolean;
  basisT: number;
}

/** Where the target stands; refuses a target that is not empty and not a replica of db. */
export async function readPosition(target: Database, db: string): Promise<TargetPosition> {
  const basisT = await target.basisT();
  const holder = await target.entity(LAST_SOURCE_TRANSACTION);
  const position = holder?.[LAST_SOURCE_TRANSACTION];
  if (typeof position !== 'number') {
    if (basisT === 0) return { position: 0, installed: false, basisT };
    throw new TargetRefusedError(
      `target ${target.location} is not empty (basis t=${basisT}) and holds no ${LAST_SOURCE_TRANSACTION}: ` +
        `txclone restores only into an empty database or a replica it made`,
    );
  }
  const source = holder?.[SOURCE_DATABASE];
  if (source !== db) {
    throw new TargetRefusedError(
      `target ${target.location} is a replica of ${JSON.stringify(source)}, not of ${JSON.stringify(db)}`,
    );
  }
  return { position, installed: true, basisT };
}

/** Operations that install the bookkeeping; they go into the first restored transaction. */
export function installOps(db: string): TxOp[] {
  const long = { ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' };
  return [
    {
      ':db/id': 'txclone.original-id',
      ':db/ident': ORIGINAL_ID,
      ...long,
      ':db/unique': ':db.unique/identity',
      ':db/doc': 'The entity id in the source database this entity was restored from.',
    },
    {
      ':db/id': 'txclone.position',
      ':db/ident': LAST_SOURCE_TRANSACTION,
      ...long,
      ':db/noHistory': true,
      ':db/doc': 'The last source transaction (t) applied to this replica.',
    },
    {
      ':db/id': 'txclone.source',
      ':db/ident': SOURCE_DATABASE,
      ':db/valueType': ':db.type/string',
      ':db/cardinality': ':db.cardinality/one',
      ':db/doc': 'The name of the source database this replica follows.',
    },
    [':db/add', 'txclone.position', SOURCE_DATABASE, db],
  ];
}

/** The compare-and-set that makes a restored transaction exactly-once. */
export function advanceOp(position: number, t: number, installed: boolean): TxOp {
  const entity = installed ? LAST_SOURCE_TRANSACTION : 'txclone.position';
  return [':db/cas', entity, LAST_SOURCE_TRANSACTION, installed ? position : null, t];
}
