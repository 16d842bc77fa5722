/**
 * A bounded least-recently-used cache: a Map from key to slot, and the slots in a doubly
 * linked list from least to most recent. Every operation is O(1).
 *
 * (Evicting through a Map's insertion order, `keys().next()`, is not: V8 leaves deleted
 * entries at the front of the table until it rehashes, and each call walks over all of them.
 * With 100,000 entries that cost more than the rest of a restore's id mapping.)
 */
export class LruCache<K, V> {
  private readonly slots = new Map<K, number>();
  private readonly keys: (K | undefined)[];
  private readonly values: (V | undefined)[];
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Least and most recently used slots; -1 when empty. */
  private head = -1;
  private tail = -1;
  private used = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LRU capacity must be a positive integer, got ${capacity}`);
    this.keys = [];
    this.values = [];
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
  }

  get(key: K): V | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    this.touch(slot);
    return this.values[slot];
  }

  set(key: K, value: V): void {
    let slot = this.slots.get(key);
    if (slot !== undefined) {
      this.values[slot] = value;
      this.touch(slot);
      return;
    }
    if (this.used < this.capacity) {
      slot = this.used++;
    } else {
      slot = this.head;
      this.slots.delete(this.keys[slot]!);
      this.unlink(slot);
    }
    this.keys[slot] = key;
    this.values[slot] = value;
    this.slots.set(key, slot);
    this.append(slot);
  }

  get size(): number {
    return this.slots.size;
  }

  private touch(slot: number): void {
    if (slot === this.tail) return;
    this.unlink(slot);
    this.append(slot);
  }

  private unlink(slot: number): void {
    const before = this.prev[slot]!;
    const after = this.next[slot]!;
    if (before === -1) this.head = after;
    else this.next[before] = after;
    if (after === -1) this.tail = before;
    else this.prev[after] = before;
  }

  private append(slot: number): void {
    this.prev[slot] = this.tail;
    this.next[slot] = -1;
    if (this.tail === -1) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
  }
}
