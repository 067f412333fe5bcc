/**
 * Byte stores that hold a cluster volume (DeDe, Clements et al., USENIX ATC'09 §2: one shared SAN
 * LUN seen by every host). The core library uses only this interface; the file-backed store lives
 * in `file-store.ts` (Node only, exported from `terracloak/node`).
 */
import { checkInt, copyBytes, checkBytes } from '../sim/index.js';

/** A flat, byte-addressed persistent store. Reads return fresh arrays; writes copy their input. */
export interface BlockStore {
  /** Size in bytes. */
  readonly size: number;
  /** Reads `len` bytes at `offset`; throws RangeError beyond the end. */
  read(offset: number, len: number): Uint8Array;
  /** Writes `data` at `offset`; throws RangeError beyond the end. */
  write(offset: number, data: Uint8Array): void;
  /** Orders/flushes preceding writes (no-op in memory; fsync for files when asked). */
  sync(): void;
  /** Releases resources; later calls throw. */
  close(): void;
}

const CHUNK = 1 << 20;

/** An in-memory sparse store (1 MiB chunks allocated on first write; unwritten bytes read as zero). */
export class MemoryStore implements BlockStore {
  readonly size: number;
  #chunks = new Map<number, Uint8Array>();
  #closed = false;
  /** Counters: bytes read and written, writes, syncs. */
  readonly counters = { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, syncs: 0 };
  /** Optional fault hook: called before each write with (offset, data); may throw to simulate a crash, or return false to drop the write (lost or torn write). */
  beforeWrite: ((offset: number, data: Uint8Array) => void | boolean) | undefined;

  /** Creates a zero-filled store of `size` bytes (≤ 2^40). */
  constructor(size: number) {
    this.size = checkInt('size', size, 1, 2 ** 40);
  }

  #range(offset: unknown, len: unknown): [number, number] {
    if (this.#closed) throw new RangeError('store is closed');
    const o = checkInt('offset', offset, 0, this.size);
    const l = checkInt('len', len, 0, this.size - o);
    return [o, l];
  }

  /** Reads `len` bytes at `offset` (fresh copy). */
  read(offset: number, len: number): Uint8Array {
    const [o, l] = this.#range(offset, len);
    const out = new Uint8Array(l);
    let done = 0;
    while (done < l) {
      const pos = o + done, ci = Math.floor(pos / CHUNK), co = pos - ci * CHUNK;
      const take = Math.min(l - done, CHUNK - co);
      const c = this.#chunks.get(ci);
      if (c) out.set(c.subarray(co, co + take), done);
      done += take;
    }
    this.counters.reads++;
    this.counters.bytesRead += l;
    return out;
  }

  /** Writes a copy of `data` at `offset`. */
  write(offset: number, data: Uint8Array): void {
    checkBytes('data', data);
    const [o, l] = this.#range(offset, data.length);
    if (this.beforeWrite && this.beforeWrite(o, data) === false) return;
    let done = 0;
    while (done < l) {
      const pos = o + done, ci = Math.floor(pos / CHUNK), co = pos - ci * CHUNK;
      const take = Math.min(l - done, CHUNK - co);
      let c = this.#chunks.get(ci);
      if (!c) {
        c = new Uint8Array(Math.min(CHUNK, this.size - ci * CHUNK));
        this.#chunks.set(ci, c);
      }
      c.set(data.subarray(done, done + take), co);
      done += take;
    }
    this.counters.writes++;
    this.counters.bytesWritten += l;
  }

  /** No-op (memory is always "durable" within the process). */
  sync(): void {
    this.counters.syncs++;
  }

  /** Marks the store closed. */
  close(): void {
    this.#closed = true;
  }

  /** A deep copy of the store (for crash/twin-world tests). */
  clone(): MemoryStore {
    const m = new MemoryStore(this.size);
    for (const [k, v] of this.#chunks) m.#chunks.set(k, v.slice());
    return m;
  }

  /** Bytes of host memory actually allocated for chunks. */
  get allocatedBytes(): number {
    let s = 0;
    for (const c of this.#chunks.values()) s += c.length;
    return s;
  }
}

/** Copies `data` (validated) — helper used by the volume for inputs. */
export function copyIn(name: string, data: unknown): Uint8Array {
  return copyBytes(name, data);
}
