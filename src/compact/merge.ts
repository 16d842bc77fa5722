// One segment from several contiguous ones: every transaction exactly as it was, the
// schema and idents of all of them (a later segment's definition of an attribute wins, as
// an export of the whole range would write the newer one), and the header fields an
// export writes (sourceBasisT = endT, createdAt = the last transaction's instant), so the
// result depends only on the inputs.
import type { Attribute, EntityId, Transaction } from '../db/types';
import type { Segment, SegmentInput } from '../segment/format';

export class CompactionError extends Error {
  override name = 'CompactionError';
}

export interface MergeInput {
  /** How errors name it (its store key). */
  name: string;
  segment: Segment;
}

export function mergeSegments(database: string, inputs: readonly MergeInput[]): SegmentInput {
  if (inputs.length === 0) throw new CompactionError('nothing to merge');
  const transactions: Transaction[] = [];
  const schema = new Map<EntityId, Attribute>();
  const idents = new Map<EntityId, string>();
  let previous: MergeInput | null = null;
  for (const input of inputs) {
    const { header } = input.segment;
    if (header.database !== database) throw new CompactionError(`${input.name} holds database ${JSON.stringify(header.database)}, not ${JSON.stringify(database)}`);
    if (previous && header.startT !== previous.segment.header.endT + 1)
      throw new CompactionError(`${input.name} starts at t=${header.startT}, but ${previous.name} ends at t=${previous.segment.header.endT}: not contiguous`);
    for (const tx of input.segment.transactions) transactions.push(tx);
    for (const attribute of input.segment.schema) schema.set(attribute.id, attribute);
    for (const [id, ident] of input.segment.idents) idents.set(id, ident);
    previous = input;
  }
  const first = inputs[0]!.segment.header;
  const last = transactions[transactions.length - 1]!;
  return {
    database,
    startT: first.startT,
    endT: previous!.segment.header.endT,
    sourceBasisT: previous!.segment.header.endT,
    createdAt: last.instant.getTime(),
    schema: schema.values(),
    idents,
    transactions,
  };
}
