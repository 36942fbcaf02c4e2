/**
 * A set of UUIDs (canonical lowercase text, as the raw tables store event_id) in typed arrays: 16 bytes per id in
 * an open-addressing table, no string or object per entry. A rebuild remembers millions of event ids; in a
 * `Set<string>` they would be millions of heap objects that every major garbage collection traces, which slowed
 * the whole drain down; typed-array memory is never traced.
 */
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class UuidSet {
  private words: Uint32Array;
  private used: Uint8Array;
  private mask: number;
  private count = 0;
  private readonly key = new Uint32Array(4);

  constructor(capacity = 1 << 16) {
    let size = 1;
    while (size < capacity * 2) size <<= 1;
    this.words = new Uint32Array(size * 4);
    this.used = new Uint8Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  has(id: string): boolean {
    this.parse(id);
    return this.find(this.words, this.used, this.mask) >= 0;
  }

  add(id: string): void {
    this.parse(id);
    if (this.find(this.words, this.used, this.mask) >= 0) return;
    if ((this.count + 1) * 2 > this.used.length) this.grow();
    this.insert(this.words, this.used, this.mask);
    this.count++;
  }

  private parse(id: string): void {
    if (id.length !== 36 || !UUID_TEXT.test(id)) throw new Error(`not a canonical UUID: ${id}`);
    const k = this.key;
    k[0] = Number.parseInt(id.slice(0, 8), 16);
    k[1] = Number.parseInt(id.slice(9, 13) + id.slice(14, 18), 16);
    k[2] = Number.parseInt(id.slice(19, 23) + id.slice(24, 28), 16);
    k[3] = Number.parseInt(id.slice(28, 36), 16);
  }

  private slot(mask: number): number {
    const k = this.key;
    // Random bits of v4 UUIDs are spread over every word; mix them anyway for other versions.
    return (Math.imul(k[0]! ^ k[3]!, 0x9e3779b1) ^ Math.imul(k[1]! ^ k[2]!, 0x85ebca6b)) & mask;
  }

  /** Index of the key in the table, or -1 (the key is in this.key). */
  private find(words: Uint32Array, used: Uint8Array, mask: number): number {
    const k = this.key;
    for (let i = this.slot(mask); ; i = (i + 1) & mask) {
      if (used[i] === 0) return -1;
      const o = i * 4;
      if (words[o] === k[0] && words[o + 1] === k[1] && words[o + 2] === k[2] && words[o + 3] === k[3])
        return i;
    }
  }

  private insert(words: Uint32Array, used: Uint8Array, mask: number): void {
    let i = this.slot(mask);
    while (used[i] !== 0) i = (i + 1) & mask;
    used[i] = 1;
    words.set(this.key, i * 4);
  }

  private grow(): void {
    const oldWords = this.words;
    const oldUsed = this.used;
    const size = oldUsed.length * 2;
    this.words = new Uint32Array(size * 4);
    this.used = new Uint8Array(size);
    this.mask = size - 1;
    const saved = Uint32Array.from(this.key);
    for (let i = 0; i < oldUsed.length; i++) {
      if (oldUsed[i] === 0) continue;
      this.key.set(oldWords.subarray(i * 4, i * 4 + 4));
      this.insert(this.words, this.used, this.mask);
    }
    this.key.set(saved);
  }
}
