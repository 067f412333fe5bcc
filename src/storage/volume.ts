/**
 * The cluster volume: a VMFS-like file system shared by several simulated hosts, after DeDe
 * (Clements, Ahmad, Vilayannur, Li, "Decentralized Deduplication in SAN Cluster File Systems",
 * USENIX ATC'09 §3.1, §3.2): files of 1 MiB blocks that split into 4 KiB sub-blocks through 1 KiB
 * pointer blocks, a reference count per 4 KiB unit, the copy-on-write bit on the *pointer*, an
 * atomic compare-and-share, and on-disk per-file locks with a host id and a lease.
 *
 * Crash consistency (ours; VMFS journals metadata too): every metadata change is a transaction of
 * whole 4 KiB metadata pages written to a redo journal (pages first, then a header whose CRC covers
 * them), then applied in place, then the journal is cleared. Data for newly allocated blocks is
 * written before the transaction that references it; units freed by a transaction are not reused
 * before it commits. So any prefix of the store's writes reopens to the state before or after each
 * transaction, never in between. The on-disk format is in docs/storage-format.md.
 *
 * Hot state is typed arrays over one in-memory image of the metadata region (refcounts, pointer
 * blocks, inode maps): no object per block.
 */
import {
  TerraError,
  VirtualClock,
  checkBool,
  checkInt,
  checkObject,
  checkOneOf,
  checkString,
  invariant,
  type SimContext,
} from '../sim/index.js';
import type { BlockStore } from './store.js';
import { crc32 } from './crc32.js';

/** File block size: 1 MiB (VMFS default, DeDe §3.2). */
export const BLOCK_SIZE = 1 << 20;
/** Sub-block size: 4 KiB (DeDe §3.2: a 1 MB block splits into 256 × 4 KB). */
export const SUB_SIZE = 4096;
/** Sub-blocks per file block. */
export const SUBS_PER_BLOCK = 256;
/** Metadata page size. */
export const META_PAGE = 4096;
/** Maximum file blocks per file (pointers in one inode page): 960 ⇒ 960 MiB per file. */
export const MAX_FILE_BLOCKS = 960;
/** Maximum file size in bytes. */
export const MAX_FILE_SIZE = MAX_FILE_BLOCKS * BLOCK_SIZE;
/** Format version written in the superblock. */
export const FORMAT_VERSION = 1;

const MAGIC = 'TCVOLUME';
const JMAGIC = 'TCJRNL01';
const COW = 0x80000000;
const SPLIT = 0x40000000;
const LOW30 = 0x3fffffff;
const LOW31 = 0x7fffffff;
const NAME_MAX = 120;
const INO_MAP = 256; // byte offset of the pointer map inside an inode page
const INO_PAYLOAD = 192;
/** Bytes of per-file inline payload (used by merge-request files). */
export const PAYLOAD_SIZE = 64;
const MAX_JOURNAL_PAGES = 1000;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Kinds of files on the volume. */
export const FILE_TYPES = ['vdisk', 'log', 'index', 'arena', 'merge', 'data'] as const;
/** A file type. */
export type FileType = (typeof FILE_TYPES)[number];

/** Geometry chosen at format time. */
export interface VolumeGeometry {
  /** Number of 1 MiB data blocks. */
  largeBlocks: number;
  /** Number of inodes (files). */
  inodes: number;
  /** Number of 1 KiB pointer blocks. */
  pointerBlocks: number;
  /** Journal capacity in 4 KiB pages (max metadata pages per transaction). */
  journalPages: number;
}

/** Computed on-disk layout (byte offsets). */
export interface VolumeLayout extends VolumeGeometry {
  readonly metaStart: number;
  readonly metaPages: number;
  readonly ckOff: number;
  readonly rcOff: number;
  readonly pbmapOff: number;
  readonly inodeOff: number;
  readonly pbOff: number;
  readonly dataStart: number;
  readonly totalSize: number;
}

/** Options for {@link ClusterVolume.open}. */
export interface VolumeOpenOptions {
  /** The simulation context (clock for leases, trace). Default: a private clock, no trace. */
  ctx?: SimContext;
  /** Lock lease length in virtual ns (default 30 s: our choice; VMFS renews leases by heartbeat). */
  leaseNs?: number;
  /** Open even when metadata page checksums fail (used by the checker). Default false. */
  allowCorrupt?: boolean;
}

/** Where a 4 KiB block of a file lives. */
export interface BlockLocation {
  readonly kind: 'hole' | 'whole' | 'sub';
  /** Global 4 KiB unit number (meaningless for holes). */
  readonly unit: number;
  /** The COW bit on the pointer. */
  readonly cow: boolean;
}

/** Public description of a file. */
export interface FileInfo {
  readonly ino: number;
  readonly name: string;
  readonly type: FileType;
  readonly generation: number;
  readonly size: number;
  readonly domain: number;
  readonly monitored: boolean;
  readonly lockHost: number;
  readonly leaseExpiry: number;
}

/** Counters of the volume. */
export interface VolumeStats {
  transactions: number;
  journalPagesWritten: number;
  dataBytesWritten: number;
  dataBytesRead: number;
  cowBreaks: number;
  splits: number;
  largeAllocs: number;
  unitAllocs: number;
  shares: number;
  lockAcquires: number;
  lockRefusals: number;
  journalReplays: number;
}

/** A listener told about each successful file write (DeDe's in-band write monitor hooks here). */
export type WriteListener = (host: number, ino: number, offset: number, data: Uint8Array) => void;

/** Computes the layout for a geometry; throws RangeError on impossible geometry. */
export function computeLayout(g: VolumeGeometry): VolumeLayout {
  checkObject('geometry', g);
  const largeBlocks = checkInt('largeBlocks', g.largeBlocks, 1, 1 << 20);
  const inodes = checkInt('inodes', g.inodes, 4, 1 << 16);
  const pointerBlocks = checkInt('pointerBlocks', g.pointerBlocks, 4, 1 << 22);
  const journalPages = checkInt('journalPages', g.journalPages, 16, MAX_JOURNAL_PAGES);
  const metaStart = (3 + journalPages) * META_PAGE;
  const rcPages = Math.ceil((largeBlocks * SUBS_PER_BLOCK * 4) / META_PAGE);
  const pbmapPages = Math.ceil(pointerBlocks / META_PAGE);
  const pbPages = Math.ceil(pointerBlocks / 4);
  const rest = rcPages + pbmapPages + inodes + pbPages;
  let ck = 1;
  while ((rest + ck) * 4 > ck * META_PAGE) ck++;
  const metaPages = ck + rest;
  const ckOff = 0;
  const rcOff = ck * META_PAGE;
  const pbmapOff = rcOff + rcPages * META_PAGE;
  const inodeOff = pbmapOff + pbmapPages * META_PAGE;
  const pbOff = inodeOff + inodes * META_PAGE;
  const metaEnd = metaStart + metaPages * META_PAGE;
  const dataStart = Math.ceil(metaEnd / BLOCK_SIZE) * BLOCK_SIZE;
  return {
    largeBlocks, inodes, pointerBlocks, journalPages, metaStart, metaPages,
    ckOff, rcOff, pbmapOff, inodeOff, pbOff, dataStart, totalSize: dataStart + largeBlocks * BLOCK_SIZE,
  };
}

/** Default geometry for `largeBlocks` MiB of data. */
export function defaultGeometry(largeBlocks: number): VolumeGeometry {
  checkInt('largeBlocks', largeBlocks, 1, 1 << 20);
  return {
    largeBlocks,
    inodes: 256,
    pointerBlocks: Math.max(64, largeBlocks * 8),
    journalPages: 512,
  };
}

function writeAscii(b: Uint8Array, off: number, s: string): void {
  for (let i = 0; i < s.length; i++) b[off + i] = s.charCodeAt(i);
}
function readAscii(b: Uint8Array, off: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[off + i]);
  return s;
}

function encodeSuperblock(g: VolumeGeometry, volumeId: number): Uint8Array {
  const p = new Uint8Array(META_PAGE);
  const dv = new DataView(p.buffer);
  writeAscii(p, 0, MAGIC);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, g.largeBlocks, true);
  dv.setUint32(16, g.inodes, true);
  dv.setUint32(20, g.pointerBlocks, true);
  dv.setUint32(24, g.journalPages, true);
  dv.setUint32(28, volumeId >>> 0, true);
  dv.setUint32(60, crc32(p, 0, 60), true);
  return p;
}

/** Decodes a superblock page; returns null when magic, version or checksum is wrong. */
function decodeSuperblock(p: Uint8Array): { g: VolumeGeometry; volumeId: number } | null {
  if (p.length < 64 || readAscii(p, 0, 8) !== MAGIC) return null;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (dv.getUint32(60, true) !== crc32(p, 0, 60)) return null;
  if (dv.getUint32(8, true) !== FORMAT_VERSION) return null;
  const g = {
    largeBlocks: dv.getUint32(12, true),
    inodes: dv.getUint32(16, true),
    pointerBlocks: dv.getUint32(20, true),
    journalPages: dv.getUint32(24, true),
  };
  try {
    computeLayout(g);
  } catch {
    return null;
  }
  return { g, volumeId: dv.getUint32(28, true) };
}

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('terracloak storage requires a little-endian platform');

/** A cluster volume (one per store; every simulated host of the cluster uses the same object). */
export class ClusterVolume {
  readonly store: BlockStore;
  readonly layout: VolumeLayout;
  readonly volumeId: number;
  readonly leaseNs: number;
  readonly #clock: VirtualClock;
  readonly #ctx: SimContext | undefined;
  readonly #meta: Uint8Array;
  readonly #dv: DataView;
  readonly #m32: Uint32Array;
  readonly #rc: Uint32Array;
  readonly #ck: Uint32Array;
  readonly #pbmap: Uint8Array;
  readonly #pb: Uint32Array;
  readonly #used: Uint16Array; // in-memory: used units per large block (derived)
  #names = new Map<string, number>();
  #undo = new Map<number, Uint8Array>();
  #freedBlocks = new Set<number>();
  #inTxn = false;
  #blockCursor = 0;
  #pbCursor = 0;
  #poolCursor = 0;
  #listeners: WriteListener[] = [];
  #writeSeq: Uint32Array;
  #corruptPages: number[];
  #closed = false;
  #failed = false;
  #journalSeq = 1;
  readonly #stats: VolumeStats = {
    transactions: 0, journalPagesWritten: 0, dataBytesWritten: 0, dataBytesRead: 0, cowBreaks: 0, splits: 0,
    largeAllocs: 0, unitAllocs: 0, shares: 0, lockAcquires: 0, lockRefusals: 0, journalReplays: 0,
  };
  /** Test hook: called at named crash points (`commit.afterJournal`, `commit.afterApply`); may throw SimulatedCrash. */
  crashHook: ((point: string) => void) | undefined;

  private constructor(store: BlockStore, layout: VolumeLayout, volumeId: number, meta: Uint8Array, opts: VolumeOpenOptions, corrupt: number[]) {
    this.store = store;
    this.layout = layout;
    this.volumeId = volumeId;
    this.#ctx = opts.ctx;
    this.#clock = opts.ctx?.clock ?? new VirtualClock();
    this.leaseNs = opts.leaseNs ?? 30_000_000_000;
    this.#meta = meta;
    this.#dv = new DataView(meta.buffer);
    this.#m32 = new Uint32Array(meta.buffer);
    this.#ck = new Uint32Array(meta.buffer, layout.ckOff, layout.metaPages);
    this.#rc = new Uint32Array(meta.buffer, layout.rcOff, layout.largeBlocks * SUBS_PER_BLOCK);
    this.#pbmap = new Uint8Array(meta.buffer, layout.pbmapOff, layout.pointerBlocks);
    this.#pb = new Uint32Array(meta.buffer, layout.pbOff, layout.pointerBlocks * SUBS_PER_BLOCK);
    this.#used = new Uint16Array(layout.largeBlocks);
    this.#writeSeq = new Uint32Array(layout.inodes);
    this.#corruptPages = corrupt;
    this.#rebuildDerived();
  }

  // ───────────────────────────── format / open ─────────────────────────────

  /** Formats `store` as an empty volume; throws RangeError if the store is too small. */
  static format(store: BlockStore, geometry: VolumeGeometry, opts: VolumeOpenOptions & { volumeId?: number } = {}): ClusterVolume {
    checkObject('opts', opts);
    const layout = computeLayout(geometry);
    if (store.size < layout.totalSize) throw new RangeError(`store of ${store.size} bytes is smaller than the volume (${layout.totalSize} bytes)`);
    const volumeId = opts.volumeId === undefined ? 1 : checkInt('volumeId', opts.volumeId, 0, 0xffffffff);
    const meta = new Uint8Array(layout.metaPages * META_PAGE);
    const ck = new Uint32Array(meta.buffer, layout.ckOff, layout.metaPages);
    const nCk = layout.rcOff / META_PAGE;
    for (let p = nCk; p < layout.metaPages; p++) ck[p] = crc32(meta, p * META_PAGE, (p + 1) * META_PAGE);
    store.write(layout.metaStart, meta);
    store.write(2 * META_PAGE, new Uint8Array(META_PAGE));
    const sb = encodeSuperblock(layout, volumeId);
    store.write(META_PAGE, sb);
    store.write(0, sb);
    store.sync();
    return ClusterVolume.open(store, opts);
  }

  /**
   * Opens a formatted store: replays a committed journal, loads and checks metadata. A bad
   * superblock (both copies), or a metadata page whose checksum fails, gives TerraError('CORRUPT')
   * (the latter unless `allowCorrupt`), never a crash. The backup superblock is used (and the
   * primary rewritten) when only the primary is bad.
   */
  static open(store: BlockStore, opts: VolumeOpenOptions = {}): ClusterVolume {
    checkObject('opts', opts);
    if (opts.leaseNs !== undefined) checkInt('leaseNs', opts.leaseNs, 1);
    const allowCorrupt = opts.allowCorrupt === undefined ? false : checkBool('allowCorrupt', opts.allowCorrupt);
    if (store.size < 3 * META_PAGE) throw new TerraError('CORRUPT', 'volume: store too small to hold a superblock');
    let sb = decodeSuperblock(store.read(0, META_PAGE));
    const backup = decodeSuperblock(store.read(META_PAGE, META_PAGE));
    if (!sb && backup) {
      sb = backup;
      store.write(0, encodeSuperblock(backup.g, backup.volumeId));
    }
    if (!sb) throw new TerraError('CORRUPT', 'volume: bad superblock (magic, version or checksum)', { where: 'superblock' });
    const layout = computeLayout(sb.g);
    if (store.size < layout.totalSize) throw new TerraError('CORRUPT', 'volume: store shorter than the volume it claims', { where: 'superblock' });
    const replayed = ClusterVolume.#replayJournal(store, layout);
    const meta = store.read(layout.metaStart, layout.metaPages * META_PAGE);
    const ck = new Uint32Array(meta.buffer, layout.ckOff, layout.metaPages);
    const nCk = layout.rcOff / META_PAGE;
    const corrupt: number[] = [];
    for (let p = nCk; p < layout.metaPages; p++) if (ck[p] !== crc32(meta, p * META_PAGE, (p + 1) * META_PAGE)) corrupt.push(p);
    if (corrupt.length && !allowCorrupt)
      throw new TerraError('CORRUPT', `volume: ${corrupt.length} metadata page(s) fail their checksum (first: page ${corrupt[0]}); run the checker with repair`, { where: 'metadata', page: corrupt[0] });
    const v = new ClusterVolume(store, layout, sb.volumeId, meta, { ...opts, allowCorrupt }, corrupt);
    if (replayed) v.#stats.journalReplays++;
    if (!allowCorrupt) v.#validateStructure();
    return v;
  }

  /** Replays a committed journal transaction (idempotent); returns true if one was applied. */
  static #replayJournal(store: BlockStore, layout: VolumeLayout): boolean {
    const h = store.read(2 * META_PAGE, META_PAGE);
    if (readAscii(h, 0, 8) !== JMAGIC) return false;
    const dv = new DataView(h.buffer);
    const count = dv.getUint32(12, true);
    if (count === 0 || count > layout.journalPages || 24 + count * 4 > META_PAGE) return false;
    const pages = store.read(3 * META_PAGE, count * META_PAGE);
    let c = crc32(h, 0, 20);
    const idx: number[] = [];
    for (let i = 0; i < count; i++) {
      const p = dv.getUint32(24 + i * 4, true);
      if (p >= layout.metaPages) return false;
      idx.push(p);
    }
    c = crc32Combine(c, crc32(h, 24, 24 + count * 4), crc32(pages));
    if (dv.getUint32(20, true) !== c) return false; // torn or stale: not committed
    for (let i = 0; i < count; i++) store.write(layout.metaStart + idx[i] * META_PAGE, pages.subarray(i * META_PAGE, (i + 1) * META_PAGE));
    store.sync();
    store.write(2 * META_PAGE, new Uint8Array(META_PAGE));
    store.sync();
    return true;
  }

  /** Structural checks on open that would otherwise crash later (pointer ranges, names). */
  #validateStructure(): void {
    const L = this.layout;
    for (let ino = 0; ino < L.inodes; ino++) {
      const t = this.#type(ino);
      if (t === 0) continue;
      if (t > FILE_TYPES.length) throw new TerraError('CORRUPT', `volume: inode ${ino} has unknown type ${t}`, { where: 'inode', ino });
      const size = this.#size(ino);
      if (!(size >= 0 && size <= MAX_FILE_SIZE && Number.isInteger(size))) throw new TerraError('CORRUPT', `volume: inode ${ino} has impossible size`, { where: 'inode', ino });
      if (this.#nameOf(ino) === undefined) throw new TerraError('CORRUPT', `volume: inode ${ino} has an invalid name`, { where: 'inode', ino });
      for (let fb = 0; fb < MAX_FILE_BLOCKS; fb++) {
        const p = this.#map(ino, fb);
        if (p === 0) continue;
        if (p & SPLIT) {
          const pb = p & LOW30;
          if (pb >= L.pointerBlocks || (p & COW)) throw new TerraError('CORRUPT', `volume: inode ${ino} block ${fb}: bad pointer-block pointer`, { where: 'inode', ino });
          for (let j = 0; j < SUBS_PER_BLOCK; j++) {
            const e = this.#pb[pb * SUBS_PER_BLOCK + j];
            if (e !== 0 && (e & LOW31) - 1 >= L.largeBlocks * SUBS_PER_BLOCK) throw new TerraError('CORRUPT', `volume: pointer block ${pb} entry ${j} out of range`, { where: 'pointer-block', pb });
          }
        } else if ((p & LOW30) - 1 >= L.largeBlocks) throw new TerraError('CORRUPT', `volume: inode ${ino} block ${fb}: block pointer out of range`, { where: 'inode', ino });
      }
    }
  }

  #rebuildDerived(): void {
    this.#used.fill(0);
    for (let u = 0; u < this.#rc.length; u++) if (this.#rc[u] !== 0) this.#used[u >>> 8]++;
    this.#names.clear();
    for (let ino = 0; ino < this.layout.inodes; ino++) {
      if (this.#type(ino) === 0) continue;
      const n = this.#nameOf(ino);
      if (n !== undefined && !this.#names.has(n)) this.#names.set(n, ino);
    }
  }

  // ───────────────────────────── metadata primitives ─────────────────────────────

  #inoBase(ino: number): number {
    return this.layout.inodeOff + ino * META_PAGE;
  }
  #type(ino: number): number {
    return this.#meta[this.#inoBase(ino)];
  }
  #size(ino: number): number {
    return this.#dv.getFloat64(this.#inoBase(ino) + 8, true);
  }
  #gen(ino: number): number {
    return this.#dv.getUint32(this.#inoBase(ino) + 4, true);
  }
  #domain(ino: number): number {
    return this.#dv.getUint32(this.#inoBase(ino) + 16, true);
  }
  #lockHost(ino: number): number {
    return this.#dv.getUint32(this.#inoBase(ino) + 20, true);
  }
  #lease(ino: number): number {
    return this.#dv.getFloat64(this.#inoBase(ino) + 24, true);
  }
  #nameOf(ino: number): string | undefined {
    const b = this.#inoBase(ino);
    const n = this.#dv.getUint16(b + 2, true);
    if (n === 0 || n > NAME_MAX) return undefined;
    try {
      return dec.decode(this.#meta.subarray(b + 64, b + 64 + n));
    } catch {
      return undefined;
    }
  }
  #map(ino: number, fb: number): number {
    return this.#m32[(this.#inoBase(ino) + INO_MAP) / 4 + fb];
  }
  #touch(byteOff: number): void {
    invariant(this.#inTxn, 'metadata mutated outside a transaction');
    const page = Math.floor(byteOff / META_PAGE);
    if (!this.#undo.has(page)) this.#undo.set(page, this.#meta.slice(page * META_PAGE, (page + 1) * META_PAGE));
  }
  #setU32(byteOff: number, v: number): void {
    this.#touch(byteOff);
    this.#dv.setUint32(byteOff, v >>> 0, true);
  }
  #setF64(byteOff: number, v: number): void {
    this.#touch(byteOff);
    this.#dv.setFloat64(byteOff, v, true);
  }
  #setMap(ino: number, fb: number, p: number): void {
    this.#setU32(this.#inoBase(ino) + INO_MAP + fb * 4, p);
  }
  #setPb(pb: number, j: number, e: number): void {
    this.#setU32(this.layout.pbOff + (pb * SUBS_PER_BLOCK + j) * 4, e);
  }
  #setRc(u: number, v: number): void {
    const old = this.#rc[u];
    this.#setU32(this.layout.rcOff + u * 4, v);
    if (old === 0 && v !== 0) this.#used[u >>> 8]++;
    else if (old !== 0 && v === 0) {
      this.#used[u >>> 8]--;
      this.#freedBlocks.add(u >>> 8);
    }
  }
  #incRc(u: number): void {
    this.#setRc(u, this.#rc[u] + 1);
  }
  #decRc(u: number): void {
    invariant(this.#rc[u] > 0, `refcount underflow on unit ${u}`);
    this.#setRc(u, this.#rc[u] - 1);
  }

  /** Runs `fn` as one atomic metadata transaction (nested calls join the outer one). */
  #mutate<T>(fn: () => T): T {
    if (this.#closed) throw new TerraError('INVALID_STATE', 'volume is closed');
    if (this.#failed) throw new TerraError('IO_ERROR', 'a metadata commit failed: reopen the volume (the journal decides what committed)');
    if (this.#inTxn) return fn();
    this.#inTxn = true;
    try {
      const r = fn();
      this.#commit();
      return r;
    } catch (e) {
      this.#abort();
      throw e;
    } finally {
      this.#inTxn = false;
      this.#freedBlocks.clear();
    }
  }

  #abort(): void {
    for (const [page, img] of this.#undo) this.#meta.set(img, page * META_PAGE);
    this.#undo.clear();
    this.#rebuildDerived();
  }

  #commit(): void {
    if (this.#undo.size === 0) return;
    try {
      this.#commitPages();
    } catch (e) {
      // The journal may or may not hold this transaction: only reopening (replay) can tell.
      this.#failed = true;
      throw e;
    }
  }

  #commitPages(): void {
    const L = this.layout;
    const nCk = L.rcOff / META_PAGE;
    const pages = [...this.#undo.keys()].filter((p) => p >= nCk);
    for (const p of pages) this.#setU32(L.ckOff + p * 4, crc32(this.#meta, p * META_PAGE, (p + 1) * META_PAGE));
    const all = [...this.#undo.keys()].sort((a, b) => a - b);
    if (all.length > L.journalPages || 24 + all.length * 4 > META_PAGE)
      throw new TerraError('IO_ERROR', `transaction of ${all.length} metadata pages exceeds the journal (${L.journalPages})`);
    const body = new Uint8Array(all.length * META_PAGE);
    all.forEach((p, i) => body.set(this.#meta.subarray(p * META_PAGE, (p + 1) * META_PAGE), i * META_PAGE));
    const h = new Uint8Array(META_PAGE);
    const hv = new DataView(h.buffer);
    writeAscii(h, 0, JMAGIC);
    hv.setUint32(8, this.#journalSeq++ >>> 0, true);
    hv.setUint32(12, all.length, true);
    hv.setUint32(16, 0, true);
    all.forEach((p, i) => hv.setUint32(24 + i * 4, p, true));
    hv.setUint32(20, crc32Combine(crc32(h, 0, 20), crc32(h, 24, 24 + all.length * 4), crc32(body)), true);
    this.store.write(3 * META_PAGE, body);
    this.store.sync();
    this.store.write(2 * META_PAGE, h);
    this.store.sync();
    this.crashHook?.('commit.afterJournal');
    // Apply in place, coalescing runs of consecutive pages.
    for (let i = 0; i < all.length; ) {
      let j = i + 1;
      while (j < all.length && all[j] === all[j - 1] + 1) j++;
      this.store.write(L.metaStart + all[i] * META_PAGE, this.#meta.slice(all[i] * META_PAGE, (all[j - 1] + 1) * META_PAGE));
      i = j;
    }
    this.store.sync();
    this.crashHook?.('commit.afterApply');
    this.store.write(2 * META_PAGE, new Uint8Array(24));
    this.#undo.clear();
    this.#stats.transactions++;
    this.#stats.journalPagesWritten += all.length;
  }

  // ───────────────────────────── allocation ─────────────────────────────

  #allocLarge(): number {
    const n = this.layout.largeBlocks;
    for (let k = 0; k < n; k++) {
      const b = (this.#blockCursor + k) % n;
      if (this.#used[b] === 0 && !this.#freedBlocks.has(b)) {
        this.#blockCursor = (b + 1) % n;
        this.#stats.largeAllocs++;
        return b;
      }
    }
    throw new TerraError('OUT_OF_MEMORY', 'volume full: no free 1 MiB block', { where: 'allocator' });
  }

  #allocUnit(): number {
    const n = this.layout.largeBlocks;
    // Prefer partially used blocks (sub-block pools): a block referenced by a whole pointer has all units in use.
    for (let k = 0; k < n; k++) {
      const b = (this.#poolCursor + k) % n;
      const used = this.#used[b];
      if (used === 0 || used === SUBS_PER_BLOCK || this.#freedBlocks.has(b)) continue;
      for (let j = 0; j < SUBS_PER_BLOCK; j++) {
        const u = b * SUBS_PER_BLOCK + j;
        if (this.#rc[u] === 0) {
          this.#poolCursor = b;
          this.#stats.unitAllocs++;
          return u;
        }
      }
    }
    const b = this.#allocLarge();
    this.#stats.largeAllocs--;
    this.#poolCursor = b;
    this.#stats.unitAllocs++;
    return b * SUBS_PER_BLOCK;
  }

  #allocPb(): number {
    const n = this.layout.pointerBlocks;
    for (let k = 0; k < n; k++) {
      const p = (this.#pbCursor + k) % n;
      if (this.#pbmap[p] === 0) {
        this.#pbCursor = (p + 1) % n;
        this.#touch(this.layout.pbmapOff + p);
        this.#pbmap[p] = 1;
        for (let j = 0; j < SUBS_PER_BLOCK; j++) if (this.#pb[p * SUBS_PER_BLOCK + j] !== 0) this.#setPb(p, j, 0);
        return p;
      }
    }
    throw new TerraError('OUT_OF_MEMORY', 'volume: no free pointer block', { where: 'allocator' });
  }

  #freePb(p: number): void {
    for (let j = 0; j < SUBS_PER_BLOCK; j++) if (this.#pb[p * SUBS_PER_BLOCK + j] !== 0) this.#setPb(p, j, 0);
    this.#touch(this.layout.pbmapOff + p);
    this.#pbmap[p] = 0;
  }

  // ───────────────────────────── data IO ─────────────────────────────

  #dataWrite(off: number, bytes: Uint8Array): void {
    this.store.write(this.layout.dataStart + off, bytes);
    this.#stats.dataBytesWritten += bytes.length;
  }
  #dataRead(off: number, len: number): Uint8Array {
    this.#stats.dataBytesRead += len;
    return this.store.read(this.layout.dataStart + off, len);
  }
  /** Reads the 4 KiB unit `u` (fresh copy). Used by DeDe verification and the checker. */
  readUnit(u: number): Uint8Array {
    checkInt('unit', u, 0, this.#rc.length - 1);
    return this.#dataRead(u * SUB_SIZE, SUB_SIZE);
  }

  // ───────────────────────────── validation helpers ─────────────────────────────

  #checkHost(host: unknown): number {
    return checkInt('host', host, 1, 0x7fffffff);
  }
  #checkIno(ino: unknown): number {
    const i = checkInt('ino', ino, 0, this.layout.inodes - 1);
    if (this.#type(i) === 0) throw new TerraError('NOT_FOUND', `no file with inode ${i}`, { ino: i });
    return i;
  }
  #holds(host: number, ino: number): boolean {
    const h = this.#lockHost(ino);
    return h === host;
  }
  /** Requires `host` to hold `ino`'s lock (a lock is held until another host breaks it after its lease). */
  #requireLock(host: number, ino: number): void {
    const h = this.#lockHost(ino);
    if (h !== host) {
      this.#stats.lockRefusals++;
      throw new TerraError('BUSY', `file ${ino} is not locked by host ${host}${h ? ` (held by host ${h})` : ''}`, { ino, holder: h });
    }
  }

  // ───────────────────────────── files ─────────────────────────────

  /** Finds a file by name; returns its inode or undefined. */
  lookup(name: string): number | undefined {
    checkString('name', name, { nonEmpty: true, max: NAME_MAX });
    return this.#names.get(name);
  }

  /** Describes a file; throws TerraError('NOT_FOUND') for a free inode. */
  info(ino: number): FileInfo {
    const i = this.#checkIno(ino);
    const b = this.#inoBase(i);
    return {
      ino: i,
      name: this.#nameOf(i) ?? '',
      type: FILE_TYPES[this.#type(i) - 1] ?? 'data',
      generation: this.#gen(i),
      size: this.#size(i),
      domain: this.#domain(i),
      monitored: (this.#meta[b + 1] & 1) === 1,
      lockHost: this.#lockHost(i),
      leaseExpiry: this.#lease(i),
    };
  }

  /** Every file (in inode order). */
  list(): FileInfo[] {
    const out: FileInfo[] = [];
    for (let i = 0; i < this.layout.inodes; i++) if (this.#type(i) !== 0 && this.#nameOf(i) !== undefined) out.push(this.info(i));
    return out;
  }

  /**
   * Creates a file locked by `host`. Throws TerraError('BUSY') if the name exists,
   * ('OUT_OF_MEMORY') when no inode is free; RangeError/TypeError on bad arguments.
   */
  create(host: number, name: string, opts: { type?: FileType; size?: number; domain?: number; monitored?: boolean } = {}): number {
    const h = this.#checkHost(host);
    checkString('name', name, { nonEmpty: true, max: NAME_MAX });
    if (enc.encode(name).length > NAME_MAX) throw new RangeError(`name must be at most ${NAME_MAX} UTF-8 bytes`);
    checkObject('opts', opts);
    const type = opts.type === undefined ? 'vdisk' : checkOneOf('type', opts.type, FILE_TYPES);
    const size = opts.size === undefined ? 0 : checkInt('size', opts.size, 0, MAX_FILE_SIZE);
    const domain = opts.domain === undefined ? 0 : checkInt('domain', opts.domain, 0, 0xffffffff);
    const monitored = opts.monitored === undefined ? false : checkBool('monitored', opts.monitored);
    if (this.#names.has(name)) throw new TerraError('BUSY', `file ${JSON.stringify(name)} exists`);
    let ino = -1;
    for (let i = 0; i < this.layout.inodes; i++) if (this.#type(i) === 0) { ino = i; break; }
    if (ino < 0) throw new TerraError('OUT_OF_MEMORY', 'volume: no free inode');
    this.#mutate(() => {
      const b = this.#inoBase(ino);
      const gen = this.#gen(ino) + 1;
      this.#touch(b);
      this.#meta.fill(0, b, b + INO_MAP);
      this.#meta[b] = FILE_TYPES.indexOf(type) + 1;
      this.#meta[b + 1] = monitored ? 1 : 0;
      const nb = enc.encode(name);
      this.#dv.setUint16(b + 2, nb.length, true);
      this.#meta.set(nb, b + 64);
      this.#setU32(b + 4, gen);
      this.#setF64(b + 8, size);
      this.#setU32(b + 16, domain);
      this.#setU32(b + 20, h);
      this.#setF64(b + 24, this.#clock.now + this.leaseNs);
    });
    this.#names.set(name, ino);
    this.#ctx?.trace.emit('storage', 'file.create', undefined, { ino, name, type, host: h });
    return ino;
  }

  /**
   * Takes (or renews) the on-disk lock of `ino` for `host`. Succeeds when the file is unlocked,
   * already held by `host`, or its holder's lease has expired on the virtual clock; otherwise
   * TerraError('BUSY') and nothing changes.
   */
  lock(host: number, ino: number): void {
    const h = this.#checkHost(host);
    const i = this.#checkIno(ino);
    const cur = this.#lockHost(i);
    if (cur !== 0 && cur !== h && this.#lease(i) > this.#clock.now) {
      this.#stats.lockRefusals++;
      throw new TerraError('BUSY', `file ${i} is locked by host ${cur}`, { ino: i, holder: cur });
    }
    this.#mutate(() => {
      this.#setU32(this.#inoBase(i) + 20, h);
      this.#setF64(this.#inoBase(i) + 24, this.#clock.now + this.leaseNs);
    });
    this.#stats.lockAcquires++;
  }

  /** Tries {@link lock}; returns false instead of throwing BUSY. */
  tryLock(host: number, ino: number): boolean {
    try {
      this.lock(host, ino);
      return true;
    } catch (e) {
      if (e instanceof TerraError && e.code === 'BUSY') return false;
      throw e;
    }
  }

  /** Releases `host`'s lock on `ino`; TerraError('BUSY') if `host` does not hold it. */
  unlock(host: number, ino: number): void {
    const h = this.#checkHost(host);
    const i = this.#checkIno(ino);
    this.#requireLock(h, i);
    this.#mutate(() => {
      this.#setU32(this.#inoBase(i) + 20, 0);
      this.#setF64(this.#inoBase(i) + 24, 0);
    });
  }

  /** Hands the lock of `ino` from `host` to `toHost` (DeDe §3.6: merge-request files). */
  handOff(host: number, ino: number, toHost: number): void {
    const h = this.#checkHost(host);
    const to = this.#checkHost(toHost);
    const i = this.#checkIno(ino);
    this.#requireLock(h, i);
    this.#mutate(() => {
      this.#setU32(this.#inoBase(i) + 20, to);
      this.#setF64(this.#inoBase(i) + 24, this.#clock.now + this.leaseNs);
    });
  }

  /** The file's write sequence number in this process (bumped on every write; DeDe verify-then-remap check). */
  writeSeq(ino: number): number {
    return this.#writeSeq[this.#checkIno(ino)];
  }

  /** Subscribes to successful writes; returns an unsubscribe function. */
  onWrite(l: WriteListener): () => void {
    if (typeof l !== 'function') throw new TypeError('listener must be a function');
    this.#listeners.push(l);
    return () => void (this.#listeners = this.#listeners.filter((x) => x !== l));
  }

  /**
   * Writes `data` at byte `offset` of file `ino` as `host` (which must hold the lock). Unshared
   * allocated blocks are written in place; holes get zeroed new blocks; COW pointers get a private
   * copy. Throws RangeError beyond the file size or for empty data; TerraError('BUSY') without the
   * lock; TerraError('OUT_OF_MEMORY') when the volume is full (then nothing changes).
   */
  writeAt(host: number, ino: number, offset: number, data: Uint8Array): void {
    const h = this.#checkHost(host);
    const i = this.#checkIno(ino);
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    const len = checkInt('data.length', data.length, 1);
    const size = this.#size(i);
    checkInt('offset', offset, 0, size);
    if (offset + len > size) throw new RangeError(`write of ${len} bytes at ${offset} exceeds file size ${size}`);
    this.#requireLock(h, i);
    const copy = data.slice();
    this.#mutate(() => this.#writeRange(i, offset, copy));
    this.#writeSeq[i]++;
    for (const l of this.#listeners) l(h, i, offset, copy);
  }

  #writeRange(ino: number, offset: number, data: Uint8Array): void {
    let src = 0;
    while (src < data.length) {
      const pos = offset + src;
      const fb = Math.floor(pos / BLOCK_SIZE), inBlk = pos - fb * BLOCK_SIZE;
      const take = Math.min(data.length - src, BLOCK_SIZE - inBlk);
      const piece = data.subarray(src, src + take);
      const p = this.#map(ino, fb);
      if (p === 0) {
        const L = this.#allocLarge();
        const buf = new Uint8Array(BLOCK_SIZE);
        buf.set(piece, inBlk);
        this.#dataWrite(L * BLOCK_SIZE, buf);
        for (let j = 0; j < SUBS_PER_BLOCK; j++) this.#setRc(L * SUBS_PER_BLOCK + j, 1);
        this.#setMap(ino, fb, L + 1);
      } else if (p & SPLIT) {
        const pb = p & LOW30;
        let s = 0;
        while (s < take) {
          const q = inBlk + s, j = q >>> 12, inSub = q & (SUB_SIZE - 1);
          const t = Math.min(take - s, SUB_SIZE - inSub);
          this.#writeSub(pb, j, inSub, piece.subarray(s, s + t));
          s += t;
        }
      } else {
        const L = (p & LOW30) - 1;
        if (!(p & COW)) this.#dataWrite(L * BLOCK_SIZE + inBlk, piece);
        else {
          const nL = this.#allocLarge();
          const buf = this.#dataRead(L * BLOCK_SIZE, BLOCK_SIZE);
          buf.set(piece, inBlk);
          this.#dataWrite(nL * BLOCK_SIZE, buf);
          for (let j = 0; j < SUBS_PER_BLOCK; j++) {
            this.#setRc(nL * SUBS_PER_BLOCK + j, 1);
            this.#decRc(L * SUBS_PER_BLOCK + j);
          }
          this.#setMap(ino, fb, nL + 1);
          this.#stats.cowBreaks++;
        }
      }
      src += take;
    }
  }

  #writeSub(pb: number, j: number, inSub: number, bytes: Uint8Array): void {
    const e = this.#pb[pb * SUBS_PER_BLOCK + j];
    if (e === 0) {
      const u = this.#allocUnit();
      const buf = new Uint8Array(SUB_SIZE);
      buf.set(bytes, inSub);
      this.#dataWrite(u * SUB_SIZE, buf);
      this.#setRc(u, 1);
      this.#setPb(pb, j, u + 1);
    } else if (!(e & COW)) {
      this.#dataWrite(((e & LOW31) - 1) * SUB_SIZE + inSub, bytes);
    } else {
      const u = (e & LOW31) - 1;
      const nu = this.#allocUnit();
      const buf = this.#dataRead(u * SUB_SIZE, SUB_SIZE);
      buf.set(bytes, inSub);
      this.#dataWrite(nu * SUB_SIZE, buf);
      this.#setRc(nu, 1);
      this.#decRc(u);
      this.#setPb(pb, j, nu + 1);
      this.#stats.cowBreaks++;
    }
  }

  /** Reads `len` bytes at `offset` of file `ino` (fresh copy; holes read as zeros). RangeError beyond the size. */
  readAt(ino: number, offset: number, len: number): Uint8Array {
    const i = this.#checkIno(ino);
    const size = this.#size(i);
    checkInt('offset', offset, 0, size);
    checkInt('len', len, 0, size - offset);
    const out = new Uint8Array(len);
    let dst = 0;
    while (dst < len) {
      const pos = offset + dst;
      const fb = Math.floor(pos / BLOCK_SIZE), inBlk = pos - fb * BLOCK_SIZE;
      const take = Math.min(len - dst, BLOCK_SIZE - inBlk);
      const p = this.#map(i, fb);
      if (p === 0) {
        /* hole: zeros */
      } else if (p & SPLIT) {
        const pb = p & LOW30;
        let s = 0;
        while (s < take) {
          const q = inBlk + s, j = q >>> 12, inSub = q & (SUB_SIZE - 1);
          const t = Math.min(take - s, SUB_SIZE - inSub);
          const e = this.#pb[pb * SUBS_PER_BLOCK + j];
          if (e !== 0) out.set(this.#dataRead(((e & LOW31) - 1) * SUB_SIZE + inSub, t), dst + s);
          s += t;
        }
      } else {
        out.set(this.#dataRead(((p & LOW30) - 1) * BLOCK_SIZE + inBlk, take), dst);
      }
      dst += take;
    }
    return out;
  }

  /**
   * Sets the size of `ino` (held by `host`). Shrinking frees whole blocks past the end and zeroes
   * the tail of the last block, so growing again reads zeros. RangeError beyond {@link MAX_FILE_SIZE}.
   */
  setSize(host: number, ino: number, size: number): void {
    const h = this.#checkHost(host);
    const i = this.#checkIno(ino);
    const n = checkInt('size', size, 0, MAX_FILE_SIZE);
    this.#requireLock(h, i);
    this.#mutate(() => this.#setSizeTx(i, n));
  }

  #setSizeTx(i: number, n: number): void {
    const old = this.#size(i);
    if (n < old) {
      const keep = Math.ceil(n / BLOCK_SIZE);
      for (let fb = keep; fb < MAX_FILE_BLOCKS; fb++) this.#dropBlock(i, fb);
      const tailEnd = Math.min(old, keep * BLOCK_SIZE);
      if (keep > 0 && n < tailEnd) this.#zeroTail(i, keep - 1, n - (keep - 1) * BLOCK_SIZE, tailEnd - (keep - 1) * BLOCK_SIZE);
    }
    this.#setF64(this.#inoBase(i) + 8, n);
  }

  /** Zeroes bytes [from, to) of file block `fb` without allocating holes (COW-aware). */
  #zeroTail(ino: number, fb: number, from: number, to: number): void {
    const p = this.#map(ino, fb);
    if (p === 0) return;
    if (!(p & SPLIT)) {
      this.#writeRange(ino, fb * BLOCK_SIZE + from, new Uint8Array(to - from));
      return;
    }
    const pb = p & LOW30;
    for (let q = from; q < to; ) {
      const j = q >>> 12, inSub = q & (SUB_SIZE - 1), t = Math.min(to - q, SUB_SIZE - inSub);
      if (this.#pb[pb * SUBS_PER_BLOCK + j] !== 0) this.#writeSub(pb, j, inSub, new Uint8Array(t));
      q += t;
    }
  }

  /** Appends `data` to `ino` (held by `host`) atomically: the new size commits with the data. Returns the old size. */
  append(host: number, ino: number, data: Uint8Array): number {
    const h = this.#checkHost(host);
    const i = this.#checkIno(ino);
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    checkInt('data.length', data.length, 1);
    const old = this.#size(i);
    if (old + data.length > MAX_FILE_SIZE) throw new RangeError('append exceeds the maximum file size');
    this.#requireLock(h, i);
    const copy = data.slice();
    this.#mutate(() => {
      this.#setF64(this.#inoBase(i) + 8, old + copy.length);
      this.#writeRange(i, old, copy);
    });
    this.#writeSeq[i]++;
    return old;
  }

  #dropBlock(ino: number, fb: number): void {
    const p = this.#map(ino, fb);
    if (p === 0) return;
    if (p & SPLIT) {
      const pb = p & LOW30;
      for (let j = 0; j < SUBS_PER_BLOCK; j++) {
        const e = this.#pb[pb * SUBS_PER_BLOCK + j];
        if (e !== 0) this.#decRc((e & LOW31) - 1);
      }
      this.#freePb(pb);
    } else {
      const L = (p & LOW30) - 1;
      for (let j = 0; j < SUBS_PER_BLOCK; j++) this.#decRc(L * SUBS_PER_BLOCK + j);
    }
    this.#setMap(ino, fb, 0);
  }

  /** Deletes `ino` (held by `host`), dropping its references (and a merge request's held unit). */
  remove(host: number, ino: number): void {
    const h = this.#checkHost(host);
    const i = this.#checkIno(ino);
    this.#requireLock(h, i);
    const name = this.#nameOf(i);
    this.#mutate(() => this.#removeTx(i));
    if (name !== undefined) this.#names.delete(name);
  }

  #removeTx(i: number): void {
    for (let fb = 0; fb < MAX_FILE_BLOCKS; fb++) this.#dropBlock(i, fb);
    const b = this.#inoBase(i);
    const gen = this.#gen(i);
    this.#touch(b);
    this.#meta.fill(0, b, b + INO_MAP);
    this.#dv.setUint32(b + 4, gen, true);
  }

  /** Renames `ino` (held by `host`); replaces an existing target file atomically (its lock must be held too). */
  rename(host: number, ino: number, newName: string): void {
    const h = this.#checkHost(host);
    const i = this.#checkIno(ino);
    checkString('newName', newName, { nonEmpty: true, max: NAME_MAX });
    const nb = enc.encode(newName);
    if (nb.length > NAME_MAX) throw new RangeError(`name must be at most ${NAME_MAX} UTF-8 bytes`);
    this.#requireLock(h, i);
    const target = this.#names.get(newName);
    if (target !== undefined && target !== i) this.#requireLock(h, target);
    const oldName = this.#nameOf(i);
    this.#mutate(() => {
      if (target !== undefined && target !== i) this.#removeTx(target);
      const b = this.#inoBase(i);
      this.#touch(b);
      this.#meta.fill(0, b + 64, b + 64 + NAME_MAX);
      this.#dv.setUint16(b + 2, nb.length, true);
      this.#meta.set(nb, b + 64);
    });
    if (oldName !== undefined) this.#names.delete(oldName);
    this.#names.set(newName, i);
  }

  /**
   * Linked clone (DeDe §4.3 "template provisioning via COW copy"): a new file whose pointers share
   * every block of `src` copy-on-write. `host` must hold `src`'s lock (its pointers gain the COW bit).
   */
  clone(host: number, src: number, name: string, opts: { domain?: number } = {}): number {
    const h = this.#checkHost(host);
    const s = this.#checkIno(src);
    checkObject('opts', opts);
    const domain = opts.domain === undefined ? this.#domain(s) : checkInt('domain', opts.domain, 0, 0xffffffff);
    this.#requireLock(h, s);
    const info = this.info(s);
    let dst = -1;
    this.#mutate(() => {
      dst = this.create(h, name, { type: info.type, size: info.size, domain, monitored: info.monitored });
      for (let fb = 0; fb < MAX_FILE_BLOCKS; fb++) {
        const p = this.#map(s, fb);
        if (p === 0) continue;
        if (p & SPLIT) {
          const spb = p & LOW30;
          const npb = this.#allocPb();
          for (let j = 0; j < SUBS_PER_BLOCK; j++) {
            const e = this.#pb[spb * SUBS_PER_BLOCK + j];
            if (e === 0) continue;
            this.#setPb(spb, j, (e | COW) >>> 0);
            this.#setPb(npb, j, (e | COW) >>> 0);
            this.#incRc((e & LOW31) - 1);
          }
          this.#setMap(dst, fb, (SPLIT | npb) >>> 0);
        } else {
          const L = (p & LOW30) - 1;
          this.#setMap(s, fb, (p | COW) >>> 0);
          this.#setMap(dst, fb, (p | COW) >>> 0);
          for (let j = 0; j < SUBS_PER_BLOCK; j++) this.#incRc(L * SUBS_PER_BLOCK + j);
        }
      }
    });
    this.#writeSeq[s]++;
    return dst;
  }

  // ───────────── sub-block primitives DeDe needs (DeDe §3.2: split, compare-and-share) ─────────────

  /** Where 4 KiB block `b4k` of `ino` lives (no side effects). */
  locate(ino: number, b4k: number): BlockLocation {
    const i = this.#checkIno(ino);
    checkInt('b4k', b4k, 0, MAX_FILE_BLOCKS * SUBS_PER_BLOCK - 1);
    const p = this.#map(i, b4k >>> 8);
    if (p === 0) return { kind: 'hole', unit: -1, cow: false };
    if (p & SPLIT) {
      const e = this.#pb[(p & LOW30) * SUBS_PER_BLOCK + (b4k & 255)];
      if (e === 0) return { kind: 'hole', unit: -1, cow: false };
      return { kind: 'sub', unit: (e & LOW31) - 1, cow: (e & COW) !== 0 };
    }
    return { kind: 'whole', unit: ((p & LOW30) - 1) * SUBS_PER_BLOCK + (b4k & 255), cow: (p & COW) !== 0 };
  }

  /** Reference count of unit `u`. */
  refcount(u: number): number {
    return this.#rc[checkInt('unit', u, 0, this.#rc.length - 1)];
  }

  /** Splits file block `fb` of `ino` into 256 sub-block pointers in place (no data copied). */
  #split(ino: number, fb: number): number {
    const p = this.#map(ino, fb);
    if (p & SPLIT) return p & LOW30;
    const pb = this.#allocPb();
    if (p !== 0) {
      const L = (p & LOW30) - 1;
      const cow = p & COW ? COW : 0;
      for (let j = 0; j < SUBS_PER_BLOCK; j++) this.#setPb(pb, j, ((L * SUBS_PER_BLOCK + j + 1) | cow) >>> 0);
    }
    this.#setMap(ino, fb, (SPLIT | pb) >>> 0);
    this.#stats.splits++;
    return pb;
  }

  /**
   * Atomic compare-and-share (DeDe §3.2): if block `dst.b4k` of `dst.ino` holds exactly the bytes
   * of block `src.b4k` of `src.ino` (bitwise compare, under both locks held by `host`), makes both
   * pointers COW references to `src`'s unit and frees `dst`'s old unit. Returns false (changing
   * nothing) when the bytes differ, either block is a hole, or they already share a unit.
   */
  compareAndShare(host: number, src: { ino: number; b4k: number }, dst: { ino: number; b4k: number }): boolean {
    const h = this.#checkHost(host);
    checkObject('src', src);
    checkObject('dst', dst);
    const a = this.locate(src.ino, src.b4k), b = this.locate(dst.ino, dst.b4k);
    this.#requireLock(h, src.ino);
    this.#requireLock(h, dst.ino);
    if (a.kind === 'hole' || b.kind === 'hole' || a.unit === b.unit) return false;
    if (this.#domain(src.ino) !== this.#domain(dst.ino)) throw new TerraError('ISOLATION_VIOLATION', 'compare-and-share across trust domains refused');
    if (!bytesEqual(this.readUnit(a.unit), this.readUnit(b.unit))) return false;
    this.#mutate(() => {
      const spb = this.#split(src.ino, src.b4k >>> 8);
      const dpb = this.#split(dst.ino, dst.b4k >>> 8);
      this.#incRc(a.unit);
      this.#setPb(spb, src.b4k & 255, ((a.unit + 1) | COW) >>> 0);
      this.#setPb(dpb, dst.b4k & 255, ((a.unit + 1) | COW) >>> 0);
      this.#decRc(b.unit);
    });
    this.#writeSeq[src.ino]++;
    this.#writeSeq[dst.ino]++;
    this.#stats.shares++;
    return true;
  }

  /**
   * Adds a COW reference to block `b4k` of `ino` at the end of arena file `arena` (both locked by
   * `host`; DeDe §3.4 virtual arena). Returns the arena 4 KiB offset.
   */
  arenaAdopt(host: number, arena: number, ino: number, b4k: number): number {
    const h = this.#checkHost(host);
    const ar = this.#checkIno(arena);
    const loc = this.locate(ino, b4k);
    this.#requireLock(h, ar);
    this.#requireLock(h, ino);
    if (loc.kind === 'hole') throw new TerraError('INVALID_STATE', 'cannot adopt a hole into the arena');
    const aOff = this.#size(ar) / SUB_SIZE;
    if (!Number.isInteger(aOff) || aOff >= MAX_FILE_BLOCKS * SUBS_PER_BLOCK) throw new TerraError('OUT_OF_MEMORY', 'arena full');
    this.#mutate(() => {
      const pb = this.#split(ino, b4k >>> 8);
      this.#setPb(pb, b4k & 255, ((loc.unit + 1) | COW) >>> 0);
      const apb = this.#split(ar, aOff >>> 8);
      this.#setPb(apb, aOff & 255, ((loc.unit + 1) | COW) >>> 0);
      this.#incRc(loc.unit);
      this.#setF64(this.#inoBase(ar) + 8, (aOff + 1) * SUB_SIZE);
    });
    this.#writeSeq[ino]++;
    return aOff;
  }

  /**
   * Replaces block `b4k` of `ino` by a COW reference to the unit at arena offset `aOff` after a
   * bitwise compare (DeDe Fig. 4 case c). Returns false, changing nothing, on mismatch or if already shared.
   */
  shareFromArena(host: number, arena: number, aOff: number, ino: number, b4k: number): boolean {
    const h = this.#checkHost(host);
    const ar = this.#checkIno(arena);
    const a = this.locate(ar, aOff), b = this.locate(ino, b4k);
    this.#requireLock(h, ino);
    if (a.kind === 'hole' || b.kind === 'hole' || a.unit === b.unit) return false;
    if (!bytesEqual(this.readUnit(a.unit), this.readUnit(b.unit))) return false;
    this.#mutate(() => {
      const pb = this.#split(ino, b4k >>> 8);
      this.#incRc(a.unit);
      this.#setPb(pb, b4k & 255, ((a.unit + 1) | COW) >>> 0);
      this.#decRc(b.unit);
    });
    this.#writeSeq[ino]++;
    this.#stats.shares++;
    return true;
  }

  /** Drops arena offset `aOff` (arena locked by `host`) if the arena holds its only reference (DeDe Fig. 4 d). Returns whether it was freed. */
  arenaCollect(host: number, arena: number, aOff: number): boolean {
    const h = this.#checkHost(host);
    const ar = this.#checkIno(arena);
    const a = this.locate(ar, aOff);
    this.#requireLock(h, ar);
    if (a.kind === 'hole' || this.#rc[a.unit] !== 1) return false;
    this.#mutate(() => {
      const pb = this.#map(ar, aOff >>> 8) & LOW30;
      this.#setPb(pb, aOff & 255, 0);
      this.#decRc(a.unit);
    });
    return true;
  }

  /** Inline payload of a file (64 bytes, fresh copy). */
  payload(ino: number): Uint8Array {
    const b = this.#inoBase(this.#checkIno(ino));
    return this.#meta.slice(b + INO_PAYLOAD, b + INO_PAYLOAD + PAYLOAD_SIZE);
  }

  /** Maximum entries in one merge-request file. */
  static readonly MAX_MERGE_ENTRIES = 1024;

  /**
   * Creates a merge-request file (DeDe §3.6) for file `target` (generation `gen`): slot k of the
   * request is an extra COW reference to the unit at arena offset `entries[k].aOff`, and a list
   * block after the slots names the target 4 KiB block `entries[k].b4k`. One transaction; the
   * request's lock is then handed to `toHost`, the host holding `target`.
   */
  createMergeRequest(host: number, name: string, arena: number, target: number, gen: number, entries: readonly { aOff: number; b4k: number }[], toHost: number): number {
    const h = this.#checkHost(host);
    const to = this.#checkHost(toHost);
    const ar = this.#checkIno(arena);
    const t = this.#checkIno(target);
    checkInt('gen', gen, 0, 0xffffffff);
    if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
    const n = checkInt('entries.length', entries.length, 1, ClusterVolume.MAX_MERGE_ENTRIES);
    const units: number[] = [];
    const list = new Uint8Array(SUB_SIZE);
    const lv = new DataView(list.buffer);
    entries.forEach((e, k) => {
      checkObject('entry', e);
      const loc = this.locate(ar, checkInt('aOff', e.aOff, 0));
      if (loc.kind === 'hole') throw new TerraError('INVALID_STATE', 'merge request for an empty arena slot');
      units.push(loc.unit);
      lv.setUint32(k * 4, checkInt('b4k', e.b4k, 0, MAX_FILE_BLOCKS * SUBS_PER_BLOCK - 1), true);
    });
    this.#requireLock(h, ar);
    const domain = this.#domain(ar);
    if (this.#domain(t) !== domain) throw new TerraError('ISOLATION_VIOLATION', 'merge request across trust domains refused');
    let ino = -1;
    this.#mutate(() => {
      ino = this.create(h, name, { type: 'merge', domain, size: (n + 1) * SUB_SIZE });
      const b = this.#inoBase(ino);
      this.#setU32(b + INO_PAYLOAD, t);
      this.#setU32(b + INO_PAYLOAD + 4, gen);
      this.#setU32(b + INO_PAYLOAD + 8, n);
      units.forEach((u, k) => {
        const pb = this.#split(ino, k >>> 8);
        this.#setPb(pb, k & 255, ((u + 1) | COW) >>> 0);
        this.#incRc(u);
      });
      this.#writeRange(ino, n * SUB_SIZE, list);
      this.#setU32(b + 20, to);
      this.#setF64(b + 24, this.#clock.now + this.leaseNs);
    });
    return ino;
  }

  /**
   * Applies a merge request held by `host` (DeDe §3.6): for each entry whose target block still
   * equals the shared block bytewise (and `host` holds the target with the recorded generation),
   * points the target block at the shared unit (COW) and frees the duplicate; then deletes the
   * request, all in one transaction. Returns the number of blocks merged.
   */
  applyMergeRequest(host: number, req: number): number {
    const h = this.#checkHost(host);
    const r = this.#checkIno(req);
    this.#requireLock(h, r);
    if (this.#type(r) !== FILE_TYPES.indexOf('merge') + 1) throw new TerraError('INVALID_STATE', `file ${r} is not a merge request`);
    const b = this.#inoBase(r);
    const target = this.#dv.getUint32(b + INO_PAYLOAD, true);
    const gen = this.#dv.getUint32(b + INO_PAYLOAD + 4, true);
    const n = Math.min(this.#dv.getUint32(b + INO_PAYLOAD + 8, true), ClusterVolume.MAX_MERGE_ENTRIES, Math.max(0, this.#size(r) / SUB_SIZE - 1));
    const ok = target < this.layout.inodes && this.#type(target) !== 0 && this.#gen(target) === gen && this.#holds(h, target) && this.#domain(target) === this.#domain(r);
    const plan: { b4k: number; held: number; old: number }[] = [];
    if (ok && Number.isInteger(n) && n > 0) {
      const list = this.readAt(r, n * SUB_SIZE, SUB_SIZE);
      const lv = new DataView(list.buffer);
      for (let k = 0; k < n; k++) {
        const held = this.locate(r, k);
        const b4k = lv.getUint32(k * 4, true);
        if (held.kind === 'hole' || b4k >= MAX_FILE_BLOCKS * SUBS_PER_BLOCK || b4k * SUB_SIZE >= this.#size(target)) continue;
        const cur = this.locate(target, b4k);
        if (cur.kind === 'hole' || cur.unit === held.unit || plan.some((p) => p.b4k === b4k)) continue;
        if (!bytesEqual(this.readUnit(held.unit), this.readUnit(cur.unit))) continue;
        plan.push({ b4k, held: held.unit, old: cur.unit });
      }
    }
    const name = this.#nameOf(r);
    this.#mutate(() => {
      for (const p of plan) {
        const pb = this.#split(target, p.b4k >>> 8);
        this.#incRc(p.held);
        this.#setPb(pb, p.b4k & 255, ((p.held + 1) | COW) >>> 0);
        this.#decRc(p.old);
      }
      this.#removeTx(r);
    });
    if (name !== undefined) this.#names.delete(name);
    if (plan.length) {
      this.#writeSeq[target]++;
      this.#stats.shares += plan.length;
    }
    return plan.length;
  }

  // ───────────────────────────── introspection for the checker ─────────────────────────────

  /** Raw pointer of file block `fb` (for the checker). */
  rawPointer(ino: number, fb: number): number {
    return this.#map(this.#checkIno(ino), checkInt('fb', fb, 0, MAX_FILE_BLOCKS - 1));
  }
  /** Raw pointer-block entry (for the checker). */
  rawPbEntry(pb: number, j: number): number {
    return this.#pb[checkInt('pb', pb, 0, this.layout.pointerBlocks - 1) * SUBS_PER_BLOCK + checkInt('j', j, 0, 255)];
  }
  /** Whether pointer block `pb` is marked allocated. */
  pbAllocated(pb: number): boolean {
    return this.#pbmap[checkInt('pb', pb, 0, this.layout.pointerBlocks - 1)] !== 0;
  }
  /** Raw inode type byte, name and size (for the checker; tolerates garbage). */
  rawInode(ino: number): { type: number; name: string | undefined; size: number; lockHost: number } {
    const i = checkInt('ino', ino, 0, this.layout.inodes - 1);
    return { type: this.#type(i), name: this.#nameOf(i), size: this.#size(i), lockHost: this.#lockHost(i) };
  }
  /** Metadata pages whose checksum failed when the volume was opened with `allowCorrupt`. */
  corruptPages(): number[] {
    return this.#corruptPages.slice();
  }
  /** Total 4 KiB units. */
  get units(): number {
    return this.#rc.length;
  }
  /** Units in use (refcount > 0). */
  usedUnits(): number {
    let s = 0;
    for (let b = 0; b < this.#used.length; b++) s += this.#used[b];
    return s;
  }
  /** Pointer blocks in use. */
  usedPointerBlocks(): number {
    let s = 0;
    for (let p = 0; p < this.#pbmap.length; p++) if (this.#pbmap[p]) s++;
    return s;
  }

  /**
   * Repair (checker): sets every refcount and pointer-block bit to the given true values, clears
   * listed inodes, applies pointer edits, optionally clears every lock (offline repair), and rewrites every metadata page with fresh checksums, in journal-sized
   * transactions. Idempotent, so a crash during repair is fixed by repairing again.
   */
  repairMetadata(plan: RepairPlan): void {
    const { trueRc, pbUsed, clearInodes } = plan;
    invariant(trueRc.length === this.#rc.length && pbUsed.length === this.#pbmap.length, 'repair: wrong array sizes');
    for (const ino of clearInodes) checkInt('ino', ino, 0, this.layout.inodes - 1);
    const L = this.layout;
    const nCk = L.rcOff / META_PAGE;
    const all: number[] = [];
    for (let p = nCk; p < L.metaPages; p++) all.push(p);
    this.#inTxn = true;
    try {
      for (const ino of clearInodes) {
        const b = this.#inoBase(ino);
        this.#touch(b);
        this.#meta.fill(0, b, b + META_PAGE);
      }
      for (const e of plan.pointerEdits) this.#meta.set(u32le(e.value), this.#inoBase(e.ino) + INO_MAP + e.fb * 4);
      for (const e of plan.pbEdits) this.#pb[e.pb * SUBS_PER_BLOCK + e.j] = e.value >>> 0;
      if (plan.clearLocks) for (let i = 0; i < this.layout.inodes; i++) {
        this.#dv.setUint32(this.#inoBase(i) + 20, 0, true);
        this.#dv.setFloat64(this.#inoBase(i) + 24, 0, true);
      }
      this.#rc.set(trueRc);
      this.#pbmap.set(pbUsed);
      for (let k = 0; k < all.length; ) {
        const chunk = all.slice(k, k + L.journalPages - 8);
        for (const p of chunk) this.#touch(p * META_PAGE);
        this.#commit();
        k += chunk.length;
      }
    } finally {
      this.#inTxn = false;
      this.#undo.clear();
    }
    this.#corruptPages = [];
    this.#rebuildDerived();
  }

  /** Current virtual time of the volume's clock. */
  get now(): number {
    return this.#clock.now;
  }

  /** Counters (a copy). */
  stats(): VolumeStats {
    return { ...this.#stats };
  }

  /** Closes the volume (the store stays open; later mutations throw INVALID_STATE). */
  close(): void {
    this.#closed = true;
  }
}

/** What the checker's repair writes (see {@link ClusterVolume.repairMetadata}). */
export interface RepairPlan {
  trueRc: Uint32Array;
  pbUsed: Uint8Array;
  clearInodes: number[];
  pointerEdits: { ino: number; fb: number; value: number }[];
  pbEdits: { pb: number; j: number; value: number }[];
  clearLocks: boolean;
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

/** Byte equality (not constant time: used on data the caller owns). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkBytesMax(name: string, v: unknown, max: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (v.length > max) throw new RangeError(`${name} must be at most ${max} bytes`);
  return v.slice();
}

/** Combines three CRCs into one checksum value (order-sensitive mix; not a true CRC concatenation). */
function crc32Combine(a: number, b: number, c: number): number {
  const m = new Uint8Array(12);
  const dv = new DataView(m.buffer);
  dv.setUint32(0, a, true);
  dv.setUint32(4, b, true);
  dv.setUint32(8, c, true);
  return crc32(m);
}

/** Pointer encoding (docs/storage-format.md): the COW bit, on file-map and pointer-block entries. */
export const PTR_COW = COW;
/** Pointer encoding: a file-map entry that names a pointer block. */
export const PTR_SPLIT = SPLIT;
