/**
 * The guest's filesystem: a flat namespace of files whose metadata (superblock, inode table, block
 * bitmap) and data (the page cache) live in guest-physical pages, persisted to a block device by
 * DMA when one is attached (a simplified Unix FFS/ext2 layout: superblock, inode table, block
 * bitmap, 12 direct + 1 indirect block per inode; McKusick et al., "A Fast File System for UNIX",
 * TOCS 1984). Without a disk it is RAM-only: the page cache is the only copy. The on-disk format
 * is documented in docs/guest-layout.md. Everything here is untrusted guest code.
 */
import { ERRNO } from './abi.js';
import type { GuestDisk, PhysMemory } from '../tvmm/index.js';

const PAGE = 4096;

/** On-disk and in-memory layout constants. */
export const FSLAYOUT = Object.freeze({
  /** 'TCFS' */
  magic: 0x53464354,
  version: 1,
  inodes: 128,
  inodeSize: 128,
  inodeTableBlock: 1,
  inodeTableBlocks: 4,
  bitmapBlock: 5,
  direct: 12,
  /** Block numbers per indirect block. */
  perIndirect: 1024,
  nameMax: 55,
  /** Largest number of fs blocks (8 bitmap blocks). */
  maxBlocks: 8 * 32768,
});
/** Superblock field offsets. */
export const SUPER = Object.freeze({ magic: 0, version: 4, blocks: 8, inodes: 12, inodeStart: 16, inodeBlocks: 20, bitmapStart: 24, bitmapBlocks: 28, dataStart: 32, freeBlocks: 36 });
/** Inode field offsets (128-byte inodes). */
export const INODE = Object.freeze({ mode: 0, size: 4, nlink: 8, flags: 12, direct: 16, indirect: 64, name: 72 });
/** Largest file size in pages. */
export const MAX_FILE_PAGES = FSLAYOUT.direct + FSLAYOUT.perIndirect;

/** What the filesystem needs from the kernel's page allocator. */
export interface FsPages {
  readonly phys: PhysMemory;
  /** A zeroed page for the page cache / metadata (undefined when memory is exhausted). */
  alloc(kind: 'cache' | 'meta'): number | undefined;
  /** Drops one reference to a page. */
  put(gppn: number): void;
  /** References held on a page (the cache holds one). */
  refs(gppn: number): number;
}

interface CachePage {
  g: number;
  dirty: boolean;
  /** Tag of a queued write of this page (interrupt-driven fsync); the page is not evicted meanwhile. */
  wtag?: number;
}

/** Filesystem statistics. */
export interface FsStats {
  diskReads: number;
  diskWrites: number;
  cachePages: number;
  evicted: number;
}

/** The guest filesystem (flat namespace). */
export class GuestFs {
  readonly #pg: FsPages;
  readonly #disk: GuestDisk | undefined;
  /** Metadata pages: superblock, inode table pages, bitmap pages. */
  superGppn = 0;
  readonly #inodePages: number[] = [];
  readonly #bitmapPages: number[] = [];
  readonly #cache = new Map<number, CachePage>();
  readonly #indirect = new Map<number, { g: number; dirty: boolean }>();
  readonly #opens = new Map<number, number>();
  #blocks = 0;
  #dataStart = 0;
  #hint = 0;
  #metaDirty = false;
  readonly stats: FsStats = { diskReads: 0, diskWrites: 0, cachePages: 0, evicted: 0 };

  constructor(pages: FsPages, disk?: GuestDisk) {
    this.#pg = pages;
    this.#disk = disk;
  }

  /** Whether the filesystem persists to a disk. */
  get persistent(): boolean {
    return this.#disk !== undefined;
  }

  #meta(): number {
    const g = this.#pg.alloc('meta');
    if (g === undefined) throw new RangeError('no memory for filesystem metadata');
    return g;
  }

  /** Mounts (reading the disk's metadata, or formatting a disk without a valid superblock). */
  mount(): 'ram' | 'mounted' | 'formatted' {
    const ph = this.#pg.phys;
    this.superGppn = this.#meta();
    for (let i = 0; i < FSLAYOUT.inodeTableBlocks; i++) this.#inodePages.push(this.#meta());
    const disk = this.#disk;
    if (!disk) {
      this.#writeSuper(0, 0, 0);
      return 'ram';
    }
    const blocks = Math.min(disk.blocks, FSLAYOUT.maxBlocks);
    const bitmapBlocks = Math.ceil(blocks / 32768);
    for (let i = 0; i < bitmapBlocks; i++) this.#bitmapPages.push(this.#meta());
    this.#blocks = blocks;
    this.#dataStart = FSLAYOUT.bitmapBlock + bitmapBlocks;
    if (blocks > this.#dataStart && this.#io(false, 0, this.superGppn) === 0) {
      const ok = ph.load32(this.superGppn * PAGE + SUPER.magic) === FSLAYOUT.magic
        && ph.load32(this.superGppn * PAGE + SUPER.blocks) === blocks
        && ph.load32(this.superGppn * PAGE + SUPER.bitmapBlocks) === bitmapBlocks;
      if (ok) {
        for (let i = 0; i < this.#inodePages.length; i++) this.#io(false, FSLAYOUT.inodeTableBlock + i, this.#inodePages[i]);
        for (let i = 0; i < bitmapBlocks; i++) this.#io(false, FSLAYOUT.bitmapBlock + i, this.#bitmapPages[i]);
        return 'mounted';
      }
    }
    // Format: zeroed metadata, metadata blocks marked used.
    ph.zeroPage(this.superGppn);
    for (const g of this.#inodePages) ph.zeroPage(g);
    for (const g of this.#bitmapPages) ph.zeroPage(g);
    for (let b = 0; b < this.#dataStart; b++) this.#setBit(b, true);
    this.#writeSuper(blocks, bitmapBlocks, this.#dataStart);
    this.#metaDirty = true;
    this.#flushMeta();
    return 'formatted';
  }

  #writeSuper(blocks: number, bitmapBlocks: number, dataStart: number): void {
    const ph = this.#pg.phys, s = this.superGppn * PAGE;
    ph.store32(s + SUPER.magic, FSLAYOUT.magic);
    ph.store32(s + SUPER.version, FSLAYOUT.version);
    ph.store32(s + SUPER.blocks, blocks);
    ph.store32(s + SUPER.inodes, FSLAYOUT.inodes);
    ph.store32(s + SUPER.inodeStart, FSLAYOUT.inodeTableBlock);
    ph.store32(s + SUPER.inodeBlocks, FSLAYOUT.inodeTableBlocks);
    ph.store32(s + SUPER.bitmapStart, FSLAYOUT.bitmapBlock);
    ph.store32(s + SUPER.bitmapBlocks, bitmapBlocks);
    ph.store32(s + SUPER.dataStart, dataStart);
  }

  /** Guest-physical pages of the inode table (for introspection). */
  inodeTablePages(): readonly number[] {
    return [...this.#inodePages];
  }

  #io(write: boolean, lba: number, g: number): number {
    const d = this.#disk!;
    const r = write ? d.write(lba, 1, g * PAGE) : d.read(lba, 1, g * PAGE);
    if (write) this.stats.diskWrites++;
    else this.stats.diskReads++;
    return r;
  }

  // ------------------------------------------------------------ inodes

  #iaddr(ino: number): number {
    return this.#inodePages[ino >>> 5] * PAGE + (ino & 31) * FSLAYOUT.inodeSize;
  }
  #iget(ino: number, field: number): number {
    return this.#pg.phys.load32(this.#iaddr(ino) + field);
  }
  #iset(ino: number, field: number, v: number): void {
    this.#pg.phys.store32(this.#iaddr(ino) + field, v >>> 0);
    this.#metaDirty = true;
  }
  #name(ino: number): string {
    const b = this.#pg.phys.read(this.#iaddr(ino) + INODE.name, FSLAYOUT.nameMax + 1);
    const end = b.indexOf(0);
    return new TextDecoder().decode(b.subarray(0, end < 0 ? b.length : end));
  }

  /** Whether `ino` is an allocated inode. */
  valid(ino: number): boolean {
    return Number.isInteger(ino) && ino >= 1 && ino < FSLAYOUT.inodes && this.#iget(ino, INODE.mode) === 1;
  }

  /** The inode of `name`, or -1. */
  lookup(name: string): number {
    for (let i = 1; i < FSLAYOUT.inodes; i++) if (this.#iget(i, INODE.mode) === 1 && this.#iget(i, INODE.nlink) > 0 && this.#name(i) === name) return i;
    return -1;
  }

  /** Names of every file. */
  list(): string[] {
    const out: string[] = [];
    for (let i = 1; i < FSLAYOUT.inodes; i++) if (this.#iget(i, INODE.mode) === 1 && this.#iget(i, INODE.nlink) > 0) out.push(this.#name(i));
    return out.sort();
  }

  /** Creates an empty file; returns its inode or a negative errno. */
  create(name: string): number {
    const bytes = new TextEncoder().encode(name);
    if (bytes.length === 0 || bytes.includes(0)) return -ERRNO.ENOENT;
    if (bytes.length > FSLAYOUT.nameMax) return -ERRNO.ENAMETOOLONG;
    for (let i = 1; i < FSLAYOUT.inodes; i++) {
      if (this.#iget(i, INODE.mode) !== 0) continue;
      const a = this.#iaddr(i);
      this.#pg.phys.write(a, new Uint8Array(FSLAYOUT.inodeSize));
      this.#iset(i, INODE.mode, 1);
      this.#iset(i, INODE.nlink, 1);
      const nb = new Uint8Array(FSLAYOUT.nameMax + 1);
      nb.set(bytes);
      this.#pg.phys.write(a + INODE.name, nb);
      this.#flushMeta();
      return i;
    }
    return -ERRNO.ENOSPC;
  }

  /** File size in bytes. */
  size(ino: number): number {
    return this.#iget(ino, INODE.size);
  }
  /** Sets the recorded size (writes extend it). */
  setSize(ino: number, n: number): void {
    this.#iset(ino, INODE.size, n);
  }

  /** Counts an open reference (an unlinked file lives until its last close). */
  open(ino: number): void {
    this.#opens.set(ino, (this.#opens.get(ino) ?? 0) + 1);
  }
  /** Drops an open reference; frees an unlinked inode at the last one. */
  release(ino: number): void {
    const n = (this.#opens.get(ino) ?? 1) - 1;
    if (n > 0) this.#opens.set(ino, n);
    else {
      this.#opens.delete(ino);
      if (this.valid(ino) && this.#iget(ino, INODE.nlink) === 0) this.#free(ino);
    }
  }

  /** Removes a name; returns 0 or -ENOENT. */
  unlink(name: string): number {
    const ino = this.lookup(name);
    if (ino < 0) return -ERRNO.ENOENT;
    this.#iset(ino, INODE.nlink, 0);
    this.#pg.phys.write(this.#iaddr(ino) + INODE.name, new Uint8Array(FSLAYOUT.nameMax + 1));
    if (!this.#opens.get(ino)) this.#free(ino);
    this.#flushMeta();
    return 0;
  }

  #free(ino: number): void {
    this.truncate(ino);
    this.#iset(ino, INODE.mode, 0);
    this.#flushMeta();
  }

  /** Truncates to zero: drops cached pages and frees blocks. */
  truncate(ino: number): void {
    this.#epochs.set(ino, (this.#epochs.get(ino) ?? 0) + 1);
    for (const [k, c] of [...this.#cache]) {
      if (Math.floor(k / MAX_FILE_PAGES) === ino) {
        this.#cache.delete(k);
        this.#pg.put(c.g);
      }
    }
    if (this.#disk) {
      for (let i = 0; i < FSLAYOUT.direct; i++) {
        const b = this.#iget(ino, INODE.direct + 4 * i);
        if (b) this.#release(b);
        this.#iset(ino, INODE.direct + 4 * i, 0);
      }
      const ind = this.#iget(ino, INODE.indirect);
      if (ind) {
        const ip = this.#loadIndirect(ino);
        if (typeof ip === 'number') {
          for (let i = 0; i < FSLAYOUT.perIndirect; i++) {
            const b = this.#pg.phys.load32(ip * PAGE + 4 * i);
            if (b) this.#release(b);
          }
        }
        this.#setBit(ind, false);
        const e = this.#indirect.get(ino);
        if (e) this.#pg.put(e.g);
        this.#indirect.delete(ino);
        this.#iset(ino, INODE.indirect, 0);
      }
    }
    this.#iset(ino, INODE.size, 0);
    this.stats.cachePages = this.#cache.size;
  }

  // ------------------------------------------------------------ blocks

  #bit(b: number): boolean {
    const w = b >>> 5;
    return ((this.#pg.phys.load32(this.#bitmapPages[w >>> 10] * PAGE + (w & 1023) * 4) >>> (b & 31)) & 1) === 1;
  }
  #setBit(b: number, on: boolean): void {
    const w = b >>> 5;
    const a = this.#bitmapPages[w >>> 10] * PAGE + (w & 1023) * 4;
    const v = this.#pg.phys.load32(a);
    this.#pg.phys.store32(a, (on ? v | (1 << (b & 31)) : v & ~(1 << (b & 31))) >>> 0);
    this.#metaDirty = true;
  }
  /** Frees data block `b`, or, while a queued write of it is in flight, when that write completes (so it never lands on a reallocated block). */
  #release(b: number): void {
    if (this.#writingBlocks.has(b)) this.#deferredFree.add(b);
    else this.#setBit(b, false);
  }
  #allocBlock(): number {
    const span = this.#blocks - this.#dataStart;
    for (let k = 0; k < span; k++) {
      const b = this.#dataStart + ((this.#hint + k) % span);
      if (!this.#bit(b)) {
        this.#setBit(b, true);
        this.#hint = b - this.#dataStart + 1;
        return b;
      }
    }
    return -ERRNO.ENOSPC;
  }

  #loadIndirect(ino: number): number {
    const e = this.#indirect.get(ino);
    if (e) return e.g;
    const g = this.#pg.alloc('meta');
    if (g === undefined) return -ERRNO.ENOMEM;
    const b = this.#iget(ino, INODE.indirect);
    if (b && this.#io(false, b, g) < 0) {
      this.#pg.put(g);
      return -ERRNO.EIO;
    }
    this.#indirect.set(ino, { g, dirty: false });
    return g;
  }

  /** Block of page `idx` of `ino` (0 = hole), allocating when `alloc`; negative errno on failure. */
  #bmap(ino: number, idx: number, alloc: boolean): number {
    if (idx < FSLAYOUT.direct) {
      let b = this.#iget(ino, INODE.direct + 4 * idx);
      if (!b && alloc) {
        b = this.#allocBlock();
        if (b < 0) return b;
        this.#iset(ino, INODE.direct + 4 * idx, b);
      }
      return b;
    }
    const j = idx - FSLAYOUT.direct;
    if (j >= FSLAYOUT.perIndirect) return -ERRNO.EFBIG;
    if (!this.#iget(ino, INODE.indirect)) {
      if (!alloc) return 0;
      const ib = this.#allocBlock();
      if (ib < 0) return ib;
      const old = this.#indirect.get(ino);
      const g = old?.g ?? this.#pg.alloc('meta');
      if (g === undefined) {
        this.#setBit(ib, false);
        return -ERRNO.ENOMEM;
      }
      if (old) this.#pg.phys.zeroPage(g);
      this.#indirect.set(ino, { g, dirty: true });
      this.#iset(ino, INODE.indirect, ib);
    }
    const ip = this.#loadIndirect(ino);
    if (ip < 0) return ip;
    let b = this.#pg.phys.load32(ip * PAGE + 4 * j);
    if (!b && alloc) {
      b = this.#allocBlock();
      if (b < 0) return b;
      this.#pg.phys.store32(ip * PAGE + 4 * j, b);
      this.#indirect.get(ino)!.dirty = true;
    }
    return b;
  }

  // ------------------------------------------------------------ page cache

  /** The page-cache page holding page `idx` of `ino` (read from disk on a miss); negative errno on failure. */
  page(ino: number, idx: number): number {
    if (!Number.isInteger(idx) || idx < 0 || idx >= MAX_FILE_PAGES) return -ERRNO.EFBIG;
    const key = ino * MAX_FILE_PAGES + idx;
    const c = this.#cache.get(key);
    if (c) return c.g;
    this.#ioFailed.delete(key);
    let blk = 0;
    if (this.#disk) {
      blk = this.#bmap(ino, idx, false);
      if (blk < 0) return blk;
    }
    const g = this.#pg.alloc('cache');
    if (g === undefined) return -ERRNO.ENOMEM;
    if (blk && this.#io(false, blk, g) < 0) {
      this.#pg.put(g);
      return -ERRNO.EIO;
    }
    this.#cache.set(key, { g, dirty: false });
    this.stats.cachePages = this.#cache.size;
    return g;
  }

  // ------------------------------------------------------------ interrupt-driven reads

  /** Reads queued on the disk's controller: tag → the page they fill and what it was for. */
  readonly #inflight = new Map<number, { key: number; g: number; blk: number; epoch: number }>();
  readonly #inflightKeys = new Set<number>();
  /** Pages whose queued read failed: the next access reads them synchronously (and reports EIO there). */
  readonly #ioFailed = new Set<number>();
  /** Queued writes: tag → the page and block; blocks with writes in flight; frees deferred until they land; files whose queued write failed. */
  readonly #writing = new Map<number, { key: number; blk: number }>();
  readonly #writingBlocks = new Map<number, number>();
  readonly #deferredFree = new Set<number>();
  readonly #writeErr = new Set<number>();
  /** Per inode, bumped by truncate: a read of that file queued before it never lands in the cache. */
  readonly #epochs = new Map<number, number>();

  /** Whether the disk has an asynchronous controller (interrupt-driven reads). */
  get asyncIo(): boolean {
    return typeof this.#disk?.submit === 'function' && typeof this.#disk.complete === 'function';
  }

  /** Reads queued and not yet completed. */
  get readsInFlight(): number {
    return this.#inflight.size;
  }

  /** Reads and writes queued and not yet completed (the kernel does not halt while any are). */
  get ioInFlight(): number {
    return this.#inflight.size + this.#writing.size;
  }

  /**
   * Interrupt-driven write-back of `ino` (fsync's data half): queues a write for every dirty cached
   * page of the file (allocating its block), marking it clean with the write in flight; a page
   * re-dirtied meanwhile stays dirty and is queued again once its earlier write has landed (writes of
   * one page never overtake each other). Returns how many of the file's writes are in flight (0:
   * nothing to wait for; the caller finishes with {@link fsync}, which also flushes the metadata;
   * at least 1 while the disk is full only because freed blocks await their queued writes),
   * or a negative errno (-5 EIO, once, after a queued write of the file failed and the file's other
   * writes have landed; the failed page stays dirty).
   * With a synchronous disk it does nothing and returns 0.
   */
  writeback(ino: number): number {
    if (!this.asyncIo) return 0;
    const d = this.#disk!;
    let waiting = 0;
    let busy = false;
    let spaceWait = false;
    const mine = [...this.#cache].filter(([k]) => Math.floor(k / MAX_FILE_PAGES) === ino).sort((a, b) => a[0] - b[0]);
    if (this.#writeErr.has(ino)) {
      // A queued write of the file failed: report it once every write of the file has landed.
      const inFlight = mine.filter(([, c]) => c.wtag !== undefined).length;
      if (inFlight > 0) return inFlight;
      this.#writeErr.delete(ino);
      return -ERRNO.EIO;
    }
    for (const [k, c] of mine) {
      if (c.wtag !== undefined) {
        waiting++;
        continue;
      }
      if (!c.dirty || busy) continue;
      const b = this.#bmap(ino, k % MAX_FILE_PAGES, true);
      if (b === -ERRNO.ENOSPC && this.#deferredFree.size > 0) {
        spaceWait = true; // blocks are only held by writes in flight: wait for them to land
        busy = true;
        continue;
      }
      if (b < 0) return b;
      const tag = d.submit!('write', b, 1, c.g * PAGE);
      if (tag < 1) {
        busy = true; // queue full: wait for what is in flight, then go on
        continue;
      }
      this.stats.diskWrites++;
      c.dirty = false;
      c.wtag = tag;
      this.#writing.set(tag, { key: k, blk: b });
      this.#writingBlocks.set(b, (this.#writingBlocks.get(b) ?? 0) + 1);
      waiting++;
    }
    return spaceWait ? Math.max(1, waiting) : waiting;
  }

  /**
   * Interrupt-driven read-ahead for pages `first…last` of `ino`: queues a read on the disk's
   * controller for each page that is neither cached, in flight, nor a hole, each into a fresh page
   * that enters the cache only when its completion arrives ({@link completeIo}). Returns how many
   * pages of the range are in flight (0: every page can be had now through {@link page}), or a
   * negative errno. With a synchronous disk it does nothing and returns 0. A full controller queue
   * stops the queuing; pages not queued are read synchronously later.
   */
  prefetch(ino: number, first: number, last: number): number {
    if (!this.asyncIo) return 0;
    const d = this.#disk!;
    let waiting = 0;
    for (let idx = Math.max(0, first); idx <= Math.min(last, MAX_FILE_PAGES - 1); idx++) {
      const key = ino * MAX_FILE_PAGES + idx;
      if (this.#inflightKeys.has(key)) {
        waiting++;
        continue;
      }
      if (this.#cache.has(key) || this.#ioFailed.has(key)) continue;
      const blk = this.#bmap(ino, idx, false);
      if (blk < 0) return blk;
      if (blk === 0) continue;
      const g = this.#pg.alloc('cache');
      if (g === undefined) break;
      const tag = d.submit!('read', blk, 1, g * PAGE);
      if (tag < 1) {
        this.#pg.put(g);
        break;
      }
      this.stats.diskReads++;
      this.#inflight.set(tag, { key, g, blk, epoch: this.#epochs.get(ino) ?? 0 });
      this.#inflightKeys.add(key);
      waiting++;
    }
    return waiting;
  }

  /**
   * The completion interrupt's work: polls the controller's completion ring and puts each finished
   * read's page in the cache, unless the page was filled or truncated meanwhile (then the late copy
   * is dropped). Returns the number of completions taken.
   */
  completeIo(): number {
    if (!this.asyncIo) return 0;
    const done = this.#disk!.complete!();
    for (const c of done) {
      const w = this.#writing.get(c.tag);
      if (w) {
        this.#writing.delete(c.tag);
        const left = (this.#writingBlocks.get(w.blk) ?? 1) - 1;
        if (left > 0) this.#writingBlocks.set(w.blk, left);
        else {
          this.#writingBlocks.delete(w.blk);
          if (this.#deferredFree.delete(w.blk)) this.#setBit(w.blk, false);
        }
        const e = this.#cache.get(w.key);
        if (e && e.wtag === c.tag) {
          e.wtag = undefined;
          if (c.status < 0) e.dirty = true; // not on disk: keep it dirty, report EIO to the next fsync
        }
        if (c.status < 0) this.#writeErr.add(Math.floor(w.key / MAX_FILE_PAGES));
        continue;
      }
      const r = this.#inflight.get(c.tag);
      if (!r) continue;
      this.#inflight.delete(c.tag);
      this.#inflightKeys.delete(r.key);
      const ino = Math.floor(r.key / MAX_FILE_PAGES), idx = r.key % MAX_FILE_PAGES;
      if (c.status < 0) this.#ioFailed.add(r.key);
      if (c.status < 0 || r.epoch !== (this.#epochs.get(ino) ?? 0) || this.#cache.has(r.key) || this.#bmap(ino, idx, false) !== r.blk) {
        this.#pg.put(r.g);
        continue;
      }
      this.#cache.set(r.key, { g: r.g, dirty: false });
    }
    this.stats.cachePages = this.#cache.size;
    return done.length;
  }

  /** Marks a cached page dirty (written by write(2) or through a shared writable mapping). */
  markDirty(ino: number, idx: number): void {
    const c = this.#cache.get(ino * MAX_FILE_PAGES + idx);
    if (c) c.dirty = true;
  }

  /** Whether a guest page is a page-cache page. */
  isCachePage(g: number): boolean {
    for (const c of this.#cache.values()) if (c.g === g) return true;
    return false;
  }

  /** Writes back the dirty pages of `ino` and the metadata; 0 or a negative errno. */
  fsync(ino: number): number {
    if (!this.#disk) return 0;
    // A page whose queued write is still in flight is left for a later write-back (never overtake it).
    const dirty = [...this.#cache].filter(([k, c]) => Math.floor(k / MAX_FILE_PAGES) === ino && c.dirty && c.wtag === undefined).sort((a, b) => a[0] - b[0]);
    for (const [k, c] of dirty) {
      const b = this.#bmap(ino, k % MAX_FILE_PAGES, true);
      if (b < 0) return b;
      if (this.#io(true, b, c.g) < 0) return -ERRNO.EIO;
      c.dirty = false;
    }
    return this.#flushMeta();
  }

  /** Writes back everything. */
  sync(): number {
    const inos = new Set([...this.#cache.keys()].map((k) => Math.floor(k / MAX_FILE_PAGES)));
    for (const ino of [...inos].sort((a, b) => a - b)) {
      const r = this.fsync(ino);
      if (r < 0) return r;
    }
    return this.#flushMeta();
  }

  #flushMeta(): number {
    if (!this.#disk || !this.#metaDirty) return 0;
    for (const [ino, e] of [...this.#indirect].sort((a, b) => a[0] - b[0])) {
      if (!e.dirty) continue;
      const b = this.#iget(ino, INODE.indirect);
      if (b && this.#io(true, b, e.g) < 0) return -ERRNO.EIO;
      e.dirty = false;
    }
    for (let i = 0; i < this.#inodePages.length; i++) if (this.#io(true, FSLAYOUT.inodeTableBlock + i, this.#inodePages[i]) < 0) return -ERRNO.EIO;
    for (let i = 0; i < this.#bitmapPages.length; i++) if (this.#io(true, FSLAYOUT.bitmapBlock + i, this.#bitmapPages[i]) < 0) return -ERRNO.EIO;
    if (this.#io(true, 0, this.superGppn) < 0) return -ERRNO.EIO;
    this.#metaDirty = false;
    return 0;
  }

  /** Drops up to `n` clean cached pages nobody maps (only with a disk); returns how many. */
  evictClean(n: number): number {
    if (!this.#disk) return 0;
    let freed = 0;
    for (const [k, c] of [...this.#cache]) {
      if (freed >= n) break;
      if (c.dirty || c.wtag !== undefined || this.#pg.refs(c.g) !== 1) continue;
      this.#cache.delete(k);
      this.#pg.put(c.g);
      freed++;
    }
    this.stats.evicted += freed;
    this.stats.cachePages = this.#cache.size;
    return freed;
  }
}
