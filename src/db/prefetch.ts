// Reads, in three queries, what a batch's transactions will need from the database: the
// existing entities they name by id, the holders of the unique values they assert or look
// up, and the entities those holders are. Transactions then run without per-datom reads.
// Attributes the batch itself installs are not known here; their reads happen on demand.
import { isEntityMap, mapValues } from './ops';
import { encodePlain } from './resolver';
import type { Schema } from './schema';
import type { BatchState } from './state';
import type { Attribute, EntityId, TxRequest } from './types';

export async function prefetch(
  state: BatchState,
  schema: Schema,
  nextEid: EntityId,
  requests: readonly TxRequest[],
): Promise<void> {
  const eids = new Set<EntityId>();
  const pairs: Array<[EntityId, string]> = [];

  const unique = (attribute: Attribute | undefined, v: unknown) => {
    if (!attribute?.unique) return;
    if (attribute.valueType === 'ref') {
      // A unique ref names its entity by id or ident; a lookup ref is read when resolved.
      const id = typeof v === 'number' ? v : typeof v === 'string' ? schema.identToId.get(v) : undefined;
      if (id !== undefined && Number.isSafeInteger(id) && id >= 0) pairs.push([attribute.id, String(id)]);
      return;
    }
    try {
      pairs.push([attribute.id, encodePlain(schema, attribute, v)]);
    } catch {
      // An invalid value is reported, with its operation, when the transaction runs.
    }
  };
  const lookupRef = (ref: unknown) => {
    if (Array.isArray(ref) && ref.length === 2) unique(schema.attribute(ref[0] as string), ref[1]);
  };
  const entity = (e: unknown) => {
    if (typeof e === 'number' && e < nextEid) eids.add(e);
    else lookupRef(e);
  };
  const value = (attribute: Attribute | undefined, v: unknown) => {
    if (attribute?.valueType === 'ref') {
      if (isEntityMap(v)) entityMap(v);
      else if (Array.isArray(v)) lookupRef(v);
      else unique(attribute, v);
    } else {
      unique(attribute, v);
    }
  };
  const entityMap = (map: Record<string, unknown>) => {
    entity(map[':db/id']);
    for (const [key, v] of Object.entries(map)) {
      if (key === ':db/id') continue;
      const attribute = schema.attribute(key);
      if (attribute) for (const x of mapValues(attribute, v)) value(attribute, x);
    }
  };

  for (const request of requests) {
    for (const op of request.ops) {
      if (isEntityMap(op)) {
        entityMap(op);
      } else if (Array.isArray(op)) {
        const [kind, e, a, v, w] = op as readonly unknown[];
        entity(e);
        if (kind === ':db/retractEntity' || (typeof a !== 'string' && typeof a !== 'number')) continue;
        const attribute = schema.attribute(a);
        if (op.length >= 4) value(attribute, v);
        if (kind === ':db/cas') value(attribute, w);
      }
    }
  }
  await state.loadHolders(pairs);
  for (const [a, v] of pairs) for (const holder of state.holdersOf(a, v)) eids.add(holder);
  await state.load(eids);
}
