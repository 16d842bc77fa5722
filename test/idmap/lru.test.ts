import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruCache } from '../../src/idmap/lru';

/** The obvious model: an array from least to most recent. */
class ModelLru {
  entries: Array<[number, number]> = [];
  constructor(private readonly capacity: number) {}
  get(key: number): number | undefined {
    const i = this.entries.findIndex(([k]) => k === key);
    if (i === -1) return undefined;
    const [entry] = this.entries.splice(i, 1);
    this.entries.push(entry!);
    return entry![1];
  }
  set(key: number, value: number): void {
    const i = this.entries.findIndex(([k]) => k === key);
    if (i !== -1) this.entries.splice(i, 1);
    this.entries.push([key, value]);
    if (this.entries.length > this.capacity) this.entries.shift();
  }
}

describe('LruCache', () => {
  it('evicts the least recently used entry, where a get counts as a use', () => {
    const lru = new LruCache<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    lru.set('c', 30);
    lru.set('d', 4);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.get('c')).toBe(30);
    expect(lru.size).toBe(2);
  });

  it('agrees with a simple model under random operations', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 12 }), fc.integer()), { maxLength: 300 }),
        (capacity, ops) => {
          const lru = new LruCache<number, number>(capacity);
          const model = new ModelLru(capacity);
          for (const [isSet, key, value] of ops) {
            if (isSet) {
              lru.set(key, value);
              model.set(key, value);
            } else {
              expect(lru.get(key)).toBe(model.get(key));
            }
            expect(lru.size).toBe(model.entries.length);
          }
          for (const [key, value] of model.entries) expect(lru.get(key)).toBe(value);
        },
      ),
    );
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new LruCache(0)).toThrow(/positive integer, got 0/);
    expect(() => new LruCache(1.5)).toThrow(/positive integer/);
  });
});
