/**
 * A bounded map that evicts its least recently used entry when full (a Map keeps insertion order: a read moves
 * the entry to the end, the first entry is the oldest). Never cleared wholesale: a flood of new keys evicts only
 * the coldest entries, and the hot ones stay.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  readonly max: number;

  constructor(max: number) {
    if (!(max >= 1)) throw new Error('Lru: max must be at least 1');
    this.max = max;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }
}
