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
  #keys: Int32Array;
  #vals: Int32Array;
  #mask: number;
  #size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.#keys = new Int32Array(cap);
    this.#vals = new Int32Array(cap).fill(EMPTY);
    this.#mask = cap - 1;
  }

  /** Entries in the index. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of the two slot arrays. */
  get bytes(): number {
    return this.#keys.byteLength + this.#vals.byteLength;
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
    const keys = this.#keys, vals = this.#vals, mask = this.#mask;
    for (let j = this.#slot(key); ; j = (j + 1) & mask) {
      const v = vals[j];
      if (v === EMPTY) return EMPTY;
      if (keys[j] === key) return v;
    }
  }

  /** Stores `val` (≥ 0) under `key`, replacing any entry with that key. */
  set(key: number, val: number): void {
    key |= 0;
    if (2 * (this.#size + 1) > this.#keys.length) this.#grow();
    const keys = this.#keys, vals = this.#vals, mask = this.#mask;
    for (let j = this.#slot(key); ; j = (j + 1) & mask) {
      if (vals[j] === EMPTY) {
        keys[j] = key;
        vals[j] = val;
        this.#size++;
        return;
      }
      if (keys[j] === key) {
        vals[j] = val;
        return;
      }
    }
  }

  /** Removes the entry under `key`; returns whether there was one. */
  delete(key: number): boolean {
    key |= 0;
    const keys = this.#keys, vals = this.#vals, mask = this.#mask;
    let j = this.#slot(key);
    for (; ; j = (j + 1) & mask) {
      if (vals[j] === EMPTY) return false;
      if (keys[j] === key) break;
    }
    // Backward-shift deletion: move later entries of the probe run into the hole when their home
    // slot does not lie cyclically in (hole, current].
    let hole = j;
    for (let k = (j + 1) & mask; vals[k] !== EMPTY; k = (k + 1) & mask) {
      const home = this.#slot(keys[k]);
      const inRange = hole <= k ? home > hole && home <= k : home > hole || home <= k;
      if (!inRange) {
        keys[hole] = keys[k];
        vals[hole] = vals[k];
        hole = k;
      }
    }
    vals[hole] = EMPTY;
    this.#size--;
    return true;
  }

  /** Removes every entry for which `drop(key, val)` is true. */
  deleteWhere(drop: (key: number, val: number) => boolean): void {
    const keep: number[] = [];
    const keys = this.#keys, vals = this.#vals;
    for (let j = 0; j < keys.length; j++) if (vals[j] !== EMPTY && !drop(keys[j], vals[j])) keep.push(keys[j], vals[j]);
    vals.fill(EMPTY);
    this.#size = 0;
    for (let i = 0; i < keep.length; i += 2) this.set(keep[i], keep[i + 1]);
  }

  #grow(): void {
    const oldK = this.#keys, oldV = this.#vals;
    this.#keys = new Int32Array(oldK.length * 2);
    this.#vals = new Int32Array(oldK.length * 2).fill(EMPTY);
    this.#mask = oldK.length * 2 - 1;
    this.#size = 0;
    for (let j = 0; j < oldK.length; j++) if (oldV[j] !== EMPTY) this.set(oldK[j], oldV[j]);
  }
}
