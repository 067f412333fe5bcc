/**
 * DeDe's shared index (Clements et al., USENIX ATC'09 §3.4): entries Unique(H, f, o) (a hint) and
 * Shared(H, a) (an arena offset), keyed here by (trust domain, SHA-256). In memory it is an
 * open-addressing hash table over typed arrays; on the volume it is a packed list sorted by
 * (domain, hash) with a CRC per 64-byte entry (format in docs/storage-format.md).
 */
import { checkBytes, checkInt, TerraError } from '../sim/index.js';
import { crc32 } from './crc32.js';

/** Entry states (0 = empty slot, 3 = deleted). */
export const UNIQUE = 1;
/** Shared entry state. */
export const SHARED = 2;
const TOMB = 3;
/** Bytes per on-disk index entry. */
export const INDEX_ENTRY_SIZE = 64;
const HASH = 32;

/** One decoded index entry. */
export interface IndexEntry {
  readonly domain: number;
  readonly hash: Uint8Array;
  readonly state: 'unique' | 'shared';
  /** Unique: inode; shared: 0. */
  readonly ino: number;
  /** Unique: inode generation; shared: 0. */
  readonly gen: number;
  /** Unique: 4 KiB block within the file; shared: arena 4 KiB offset. */
  readonly off: number;
}

/** The in-memory index: (domain, hash) → entry, on typed arrays. */
export class IndexTable {
  #cap: number;
  #hash: Uint8Array;
  #dom: Uint32Array;
  #state: Uint8Array;
  #ino: Uint32Array;
  #gen: Uint32Array;
  #off: Uint32Array;
  #live = 0;
  #filled = 0;

  /** An empty table sized for about `expected` entries. */
  constructor(expected = 1024) {
    checkInt('expected', expected, 0, 1 << 26);
    let c = 16;
    while (c < expected * 2) c *= 2;
    this.#cap = c;
    this.#hash = new Uint8Array(c * HASH);
    this.#dom = new Uint32Array(c);
    this.#state = new Uint8Array(c);
    this.#ino = new Uint32Array(c);
    this.#gen = new Uint32Array(c);
    this.#off = new Uint32Array(c);
  }

  /** Number of live entries. */
  get size(): number {
    return this.#live;
  }

  #slotStart(domain: number, h: Uint8Array): number {
    const x = (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) ^ Math.imul(domain, 0x9e3779b1);
    return (x >>> 0) & (this.#cap - 1);
  }

  #eq(slot: number, domain: number, h: Uint8Array): boolean {
    if (this.#dom[slot] !== domain) return false;
    const b = slot * HASH;
    for (let i = 0; i < HASH; i++) if (this.#hash[b + i] !== h[i]) return false;
    return true;
  }

  /** Slot of (domain, hash), or -1. */
  find(domain: number, h: Uint8Array): number {
    let s = this.#slotStart(domain, h);
    for (;;) {
      const st = this.#state[s];
      if (st === 0) return -1;
      if (st !== TOMB && this.#eq(s, domain, h)) return s;
      s = (s + 1) & (this.#cap - 1);
    }
  }

  /** Inserts or replaces the entry for (domain, hash); returns its slot. */
  set(domain: number, h: Uint8Array, state: 1 | 2, ino: number, gen: number, off: number): number {
    checkBytes('hash', h, HASH);
    const existing = this.find(domain, h);
    let s = existing;
    if (s < 0) {
      if ((this.#filled + 1) * 4 > this.#cap * 3) this.#grow();
      s = this.#slotStart(domain, h);
      while (this.#state[s] === UNIQUE || this.#state[s] === SHARED) s = (s + 1) & (this.#cap - 1);
      if (this.#state[s] === 0) this.#filled++;
      this.#hash.set(h, s * HASH);
      this.#dom[s] = domain;
      this.#live++;
    }
    this.#state[s] = state;
    this.#ino[s] = ino >>> 0;
    this.#gen[s] = gen >>> 0;
    this.#off[s] = off >>> 0;
    return s;
  }

  /** Deletes the entry in `slot`. */
  deleteSlot(slot: number): void {
    if (this.#state[slot] === UNIQUE || this.#state[slot] === SHARED) {
      this.#state[slot] = TOMB;
      this.#live--;
    }
  }

  #grow(): void {
    const old = this.entries();
    const n = new IndexTable(Math.max(old.length, this.#cap));
    for (const e of old) n.set(e.domain, e.hash, e.state === 'unique' ? UNIQUE : SHARED, e.ino, e.gen, e.off);
    this.#cap = n.#cap;
    this.#hash = n.#hash;
    this.#dom = n.#dom;
    this.#state = n.#state;
    this.#ino = n.#ino;
    this.#gen = n.#gen;
    this.#off = n.#off;
    this.#live = n.#live;
    this.#filled = n.#filled;
  }

  /** State of a slot (1 unique, 2 shared). */
  state(slot: number): number {
    return this.#state[slot];
  }
  /** Unique: inode of a slot. */
  ino(slot: number): number {
    return this.#ino[slot];
  }
  /** Unique: generation of a slot. */
  gen(slot: number): number {
    return this.#gen[slot];
  }
  /** Block (unique) or arena offset (shared) of a slot. */
  off(slot: number): number {
    return this.#off[slot];
  }
  /** Domain of a slot. */
  domain(slot: number): number {
    return this.#dom[slot];
  }
  /** Hash of a slot (fresh copy). */
  hash(slot: number): Uint8Array {
    return this.#hash.slice(slot * HASH, slot * HASH + HASH);
  }

  /** Live slots. */
  slots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.#cap; s++) if (this.#state[s] === UNIQUE || this.#state[s] === SHARED) out.push(s);
    return out;
  }

  /** Every live entry (fresh objects). */
  entries(): IndexEntry[] {
    return this.slots().map((s) => ({
      domain: this.#dom[s],
      hash: this.hash(s),
      state: this.#state[s] === UNIQUE ? ('unique' as const) : ('shared' as const),
      ino: this.#ino[s],
      gen: this.#gen[s],
      off: this.#off[s],
    }));
  }

  /** Serialises as the on-disk packed list sorted by (domain, hash). */
  serialize(): Uint8Array {
    const slots = this.slots();
    const H = this.#hash, D = this.#dom;
    slots.sort((a, b) => {
      if (D[a] !== D[b]) return D[a] - D[b];
      const x = a * HASH, y = b * HASH;
      for (let i = 0; i < HASH; i++) if (H[x + i] !== H[y + i]) return H[x + i] - H[y + i];
      return 0;
    });
    const out = new Uint8Array(slots.length * INDEX_ENTRY_SIZE);
    const dv = new DataView(out.buffer);
    slots.forEach((s, k) => {
      const b = k * INDEX_ENTRY_SIZE;
      out.set(H.subarray(s * HASH, s * HASH + HASH), b);
      dv.setUint32(b + 32, D[s], true);
      out[b + 36] = this.#state[s];
      dv.setUint32(b + 40, this.#ino[s], true);
      dv.setUint32(b + 44, this.#gen[s], true);
      dv.setUint32(b + 48, this.#off[s], true);
      dv.setUint32(b + 60, crc32(out, b, b + 60), true);
    });
    return out;
  }

  /**
   * Parses an on-disk index. Entries whose CRC or state is wrong, or that break the sort order,
   * are dropped and counted in `bad` (the index is only a hint: dropping loses dedup, not data).
   * With `strict`, the first bad entry throws TerraError('CORRUPT').
   */
  static parse(bytes: Uint8Array, strict = false): { table: IndexTable; bad: number } {
    checkBytes('bytes', bytes);
    const n = Math.floor(bytes.length / INDEX_ENTRY_SIZE);
    let bad = bytes.length % INDEX_ENTRY_SIZE === 0 ? 0 : 1;
    if (bad && strict) throw new TerraError('CORRUPT', 'index: length is not a whole number of entries', { where: 'index' });
    const t = new IndexTable(n);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let prev: Uint8Array | undefined;
    for (let k = 0; k < n; k++) {
      const b = k * INDEX_ENTRY_SIZE;
      const st = bytes[b + 36];
      const ok = dv.getUint32(b + 60, true) === crc32(bytes, b, b + 60) && (st === UNIQUE || st === SHARED);
      const key = bytes.subarray(b, b + 36);
      const dom = dv.getUint32(b + 32, true);
      const ordered = ok && (!prev || compareKey(prev, dom, key) < 0);
      if (!ok || !ordered) {
        if (strict) throw new TerraError('CORRUPT', `index: entry ${k} is corrupt or out of order`, { where: 'index', entry: k });
        bad++;
        continue;
      }
      prev = bytes.slice(b, b + 36);
      t.set(dom, bytes.subarray(b, b + 32), st as 1 | 2, dv.getUint32(b + 40, true), dv.getUint32(b + 44, true), dv.getUint32(b + 48, true));
    }
    return { table: t, bad };
  }
}

function compareKey(prev: Uint8Array, dom: number, key: Uint8Array): number {
  const pd = prev[32] | (prev[33] << 8) | (prev[34] << 16) | (prev[35] << 24);
  if ((pd >>> 0) !== dom) return (pd >>> 0) - dom;
  for (let i = 0; i < HASH; i++) if (prev[i] !== key[i]) return prev[i] - key[i];
  return 0;
}
