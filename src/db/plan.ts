// The datoms one transaction will record, gathered before any is applied, and the
// conflicts Datomic refuses: a datom both asserted and retracted, or two values for a
// cardinality-one attribute of one entity.
import { TransactionError } from './errors';
import type { EntityId } from './types';

export interface StoredTxDatom {
  e: EntityId;
  a: EntityId;
  v: string;
  added: boolean;
}

const datomKey = (e: EntityId, a: EntityId, v: string) => `${e}\u0001${a}\u0001${v}`;

export class TxPlan {
  private asserts = new Map<string, StoredTxDatom>();
  private retracts = new Map<string, StoredTxDatom>();
  /** Datoms the transaction asserts, including ones that already hold. */
  private readonly asserted = new Set<string>();
  /** Datoms the transaction retracts explicitly or through :db/retractEntity, held or not. */
  private readonly retracted = new Set<string>();
  /** Cardinality-one values asserted, by entity and attribute. */
  private readonly oneValue = new Map<string, string>();

  /** name(a, v) says an attribute and a stored value the way a user wrote them, for errors. */
  constructor(private readonly name: (a: EntityId, v?: string) => string) {}

  /** An assertion the user asked for; `holds` when the datom already holds (it records nothing). */
  assert(e: EntityId, a: EntityId, v: string, holds: boolean, cardinalityOne: boolean): void {
    const k = datomKey(e, a, v);
    if (this.retracted.has(k)) this.conflict(e, a, v);
    this.asserted.add(k);
    if (cardinalityOne) {
      const ea = `${e}\u0001${a}`;
      const other = this.oneValue.get(ea);
      if (other !== undefined && other !== v)
        throw new TransactionError(
          `two values for cardinality-one ${this.name(a)} of entity ${e} in one transaction: ${this.name(a, other)} and ${this.name(a, v)}`,
          'datoms-conflict',
        );
      this.oneValue.set(ea, v);
    }
    if (!holds) this.asserts.set(k, { e, a, v, added: true });
  }

  /** A retraction the user asked for; `holds` when the datom holds (else it records nothing). */
  retract(e: EntityId, a: EntityId, v: string, holds: boolean): void {
    const k = datomKey(e, a, v);
    if (this.asserted.has(k)) this.conflict(e, a, v);
    this.retracted.add(k);
    if (holds) this.retracts.set(k, { e, a, v, added: false });
  }

  /** The retraction of a cardinality-one value an assertion replaces. */
  replace(e: EntityId, a: EntityId, old: string): void {
    this.retracts.set(datomKey(e, a, old), { e, a, v: old, added: false });
  }

  /** The datoms planned since the last take, retractions first; the plan keeps its conflict rules. */
  take(): StoredTxDatom[] {
    const out = [...this.retracts.values(), ...this.asserts.values()];
    this.retracts = new Map();
    this.asserts = new Map();
    return out;
  }

  private conflict(e: EntityId, a: EntityId, v: string): never {
    throw new TransactionError(
      `the transaction both asserts and retracts [${e} ${this.name(a)} ${this.name(a, v)}]`,
      'datoms-conflict',
    );
  }
}
