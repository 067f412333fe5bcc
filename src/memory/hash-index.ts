/**
 * The sharing engine's hash table (ESX §4.1: one global table of shared and hint frames), as an
 * open-addressing index over typed arrays: 32-bit key (the low half of a page's 64-bit hash) → frame
 * number. Linear probing with backward-shift deletion, so there are no tombstones and a lookup stops
 * at the first empty slot; the table doubles at half full, so probes stay short. No object per entry
 * (a `Map` of 10^5 entries costs ~3× more per operation and ~30 bytes per entry).
 */
const EMPTY = -1;

/** Key → frame index (one entry per key). */
export class HashIndex {
  /** Slot i at [2i] (key) and [2i + 1] (value, or -1 when empty): one cache line per probe. */
  #t: Int32Array;
  #mask: number;
  #size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.#t = new Int32Array(2 * cap).fill(EMPTY);
    this.#mask = cap - 1;
  }

  /** Entries in the index. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of the two slot arrays. */
  get bytes(): number {
    return this.#t.byteLength;
  }

  #slot(key: number): number {
    // fmix-style spread of the key: the low bits of a hash half are already uniform, but keys
    // injected by tests (weak hashers, threat MEM-04) are not.
    let h = Math.imul(key ^ (key >>> 16), 0x45d9f3b);
    h ^= h >>> 16;
    return h & this.#mask;
  }

  /** The frame stored under `key`, or -1. */
  get(key: number): number {
    key |= 0;
    const t = this.#t, mask = this.#mask;
    for (let j = this.#slot(key); ; j = (j + 1) & mask) {
      const v = t[2 * j + 1];
      if (v === EMPTY) return EMPTY;
      if (t[2 * j] === key) return v;
    }
  }

  /** Stores `val` (≥ 0) under `key`, replacing any entry with that key. */
  set(key: number, val: number): void {
    key |= 0;
    if (4 * (this.#size + 1) > this.#t.length) this.#grow();
    const t = this.#t, mask = this.#mask;
    for (let j = this.#slot(key); ; j = (j + 1) & mask) {
      if (t[2 * j + 1] === EMPTY) {
        t[2 * j] = key;
        t[2 * j + 1] = val;
        this.#size++;
        return;
      }
      if (t[2 * j] === key) {
        t[2 * j + 1] = val;
        return;
      }
    }
  }

  /** Removes the entry under `key`; returns whether there was one. */
  delete(key: number): boolean {
    key |= 0;
    const t = this.#t, mask = this.#mask;
    let j = this.#slot(key);
    for (; ; j = (j + 1) & mask) {
      if (t[2 * j + 1] === EMPTY) return false;
      if (t[2 * j] === key) break;
    }
    // Backward-shift deletion: move later entries of the probe run into the hole when their home
    // slot does not lie cyclically in (hole, current].
    let hole = j;
    for (let k = (j + 1) & mask; t[2 * k + 1] !== EMPTY; k = (k + 1) & mask) {
      const home = this.#slot(t[2 * k]);
      const inRange = hole <= k ? home > hole && home <= k : home > hole || home <= k;
      if (!inRange) {
        t[2 * hole] = t[2 * k];
        t[2 * hole + 1] = t[2 * k + 1];
        hole = k;
      }
    }
    t[2 * hole + 1] = EMPTY;
    this.#size--;
    return true;
  }

  /** Removes every entry for which `drop(key, val)` is true. */
  deleteWhere(drop: (key: number, val: number) => boolean): void {
    const keep: number[] = [];
    const t = this.#t;
    for (let j = 0; j < t.length; j += 2) if (t[j + 1] !== EMPTY && !drop(t[j], t[j + 1])) keep.push(t[j], t[j + 1]);
    t.fill(EMPTY);
    this.#size = 0;
    for (let i = 0; i < keep.length; i += 2) this.set(keep[i], keep[i + 1]);
  }

  #grow(): void {
    const old = this.#t;
    this.#t = new Int32Array(old.length * 2).fill(EMPTY);
    this.#mask = old.length - 1;
    this.#size = 0;
    for (let j = 0; j < old.length; j += 2) if (old[j + 1] !== EMPTY) this.set(old[j], old[j + 1]);
  }
}
