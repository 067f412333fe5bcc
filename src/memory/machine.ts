/**
 * Machine memory after VMware ESX (Waldspurger, OSDI'02 §2): the host's physical frames, shared by
 * every VM. Frames are 4 KiB inside large `ArrayBuffer` slabs that are allocated lazily on first
 * use, so unused machine memory costs no RAM. Side tables are typed arrays (refcount, flags,
 * owner); there is no object per page. A frame is zeroed when it is freed (scrubbing, threat
 * ISO-02), so a reused frame is always zero.
 */
import { checkBool, checkInt, checkObject, invariantError, PAGE_SHIFT, PAGE_SIZE, TerraError, type Mpn } from '../sim/index.js';
import { createFrameKernel, type FrameKernel } from './hash.js';

/** Frames per slab (16 MiB slabs). */
export const SLAB_FRAMES = 4096;
/** log2 of {@link SLAB_FRAMES}. */
export const SLAB_SHIFT = 12;
const SLAB_MASK = SLAB_FRAMES - 1;

/** Owner value meaning "no single owner" (free, or shared by several VMs). */
export const OWNER_NONE = 0xffff;
/** Owner value for TVMM-internal frames. */
export const OWNER_TVMM = 0xfffe;

/** Frame flags. */
export const FrameFlag = {
  /** The frame is allocated. */
  USED: 1,
  /** Shared copy-on-write (refcount may be > 1); never written in place. */
  SHARED: 2,
  /** Holds cloaked data (ciphertext or plaintext of a cloaked page). */
  CLOAKED: 4,
  /** Pinned (not swappable, e.g. a page-table page being walked or DMA target). */
  PINNED: 8,
  /**
   * The frame's bytes are proven all-zero (a full compare against an all-zero page just before it is
   * freed), so freeing it skips the scrub. Set only by the sharing engine on a merge's duplicate.
   */
  ZEROED: 16,
} as const;

/** Counters. */
export interface MachineStats {
  frames: number;
  used: number;
  free: number;
  slabsAllocated: number;
  allocs: number;
  frees: number;
  zeroedOnFree: number;
}

/** The machine's frames. Only the TVMM holds a reference to this object. */
export class MachineMemory {
  readonly frames: number;
  /** Per-frame reference count (number of pmap entries mapping it, plus internal holds). */
  readonly refcount: Uint32Array;
  /** Per-frame {@link FrameFlag} bits. */
  readonly flags: Uint8Array;
  /** Per-frame owner VM id, {@link OWNER_NONE} or {@link OWNER_TVMM}. */
  readonly owner: Uint16Array;
  /** Byte views of slabs; `undefined` until first use. */
  readonly slabs: (Uint8Array | undefined)[];
  /** 32-bit views of the same slabs (for aligned loads and stores on the hot path). */
  readonly slabs32: (Uint32Array | undefined)[];
  /** Signed 32-bit views of the same slabs (hashing and comparing: V8 keeps Int32 loads in registers). */
  readonly slabsI32: (Int32Array | undefined)[];
  #freeStack: Uint32Array;
  #freeTop = 0;
  #fresh = 0;
  #used = 0;
  #allocs = 0;
  #frees = 0;
  #zeroed = 0;

  /**
   * The page kernel over these frames (WebAssembly SIMD hash and compare reading frames in place),
   * or null: then the frames live in plain `ArrayBuffer` slabs and content-based sharing copies
   * each page into a small kernel before hashing it.
   */
  readonly kernel: FrameKernel | null;

  /**
   * Creates `frames` machine frames (RangeError unless 1 ≤ frames ≤ 2^26, i.e. 256 GiB). Machines
   * up to 4 GiB keep their frames in one reserved (not committed) WebAssembly linear memory shared
   * with the page kernel; `{ pageKernel: false }` asks for plain slabs.
   */
  constructor(frames: number, opts: { pageKernel?: boolean } = {}) {
    checkInt('frames', frames, 1, 2 ** 26);
    checkObject('options', opts);
    const useKernel = opts.pageKernel === undefined ? true : checkBool('pageKernel', opts.pageKernel);
    this.frames = frames;
    this.kernel = useKernel ? createFrameKernel(frames) : null;
    this.refcount = new Uint32Array(frames);
    this.flags = new Uint8Array(frames);
    this.owner = new Uint16Array(frames).fill(OWNER_NONE);
    const nslabs = Math.ceil(frames / SLAB_FRAMES);
    this.slabs = new Array(nslabs).fill(undefined);
    this.slabs32 = new Array(nslabs).fill(undefined);
    this.slabsI32 = new Array(nslabs).fill(undefined);
    this.#freeStack = new Uint32Array(Math.min(frames, 1 << 16));
  }

  /** Number of frames in use. */
  get used(): number {
    return this.#used;
  }
  /** Number of free frames. */
  get free(): number {
    return this.frames - this.#used;
  }

  /**
   * Allocates a zeroed frame for `owner` with refcount 1; throws TerraError('OUT_OF_MEMORY') when
   * every frame is in use (callers reclaim first; the manager's reclamation states make that rare).
   */
  alloc(owner: number): Mpn {
    let m: number;
    if (this.#freeTop > 0) m = this.#freeStack[--this.#freeTop];
    else if (this.#fresh < this.frames) m = this.#fresh++;
    else throw new TerraError('OUT_OF_MEMORY', 'machine memory exhausted');
    const s = m >>> SLAB_SHIFT;
    if (this.slabs[s] === undefined) {
      const n = Math.min(SLAB_FRAMES, this.frames - s * SLAB_FRAMES);
      // A slab is a view of the kernel's linear memory (frame m at byte m·4096), or its own buffer.
      const buf = this.kernel ? this.kernel.buffer : new ArrayBuffer(n * PAGE_SIZE);
      const at = this.kernel ? s * SLAB_FRAMES * PAGE_SIZE : 0;
      this.slabs[s] = new Uint8Array(buf, at, n * PAGE_SIZE);
      this.slabs32[s] = new Uint32Array(buf, at, n * PAGE_SIZE / 4);
      this.slabsI32[s] = new Int32Array(buf, at, n * PAGE_SIZE / 4);
    }
    if (this.flags[m] !== 0) throw invariantError(`frame ${m} on the free list is in use`);
    this.flags[m] = FrameFlag.USED;
    this.refcount[m] = 1;
    this.owner[m] = owner;
    this.#used++;
    this.#allocs++;
    return m as Mpn;
  }

  /** Adds a reference to a used frame. */
  incRef(m: Mpn): void {
    if (!(this.flags[m] & FrameFlag.USED)) throw invariantError(`incRef on free frame ${m}`);
    this.refcount[m]++;
  }

  /** Drops a reference; frees (and zeroes) the frame at zero. Returns the new count. */
  decRef(m: Mpn): number {
    if (!(this.flags[m] & FrameFlag.USED) || this.refcount[m] === 0) throw invariantError(`decRef on free frame ${m}`);
    const r = --this.refcount[m];
    if (r === 0) this.#release(m);
    return r;
  }

  #release(m: number): void {
    if (!(this.flags[m] & FrameFlag.ZEROED)) {
      const w = (m & SLAB_MASK) << (PAGE_SHIFT - 2);
      this.slabs32[m >>> SLAB_SHIFT]!.fill(0, w, w + PAGE_SIZE / 4);
    }
    this.#zeroed++;
    this.flags[m] = 0;
    this.owner[m] = OWNER_NONE;
    this.#used--;
    this.#frees++;
    if (this.#freeTop === this.#freeStack.length) {
      const bigger = new Uint32Array(Math.min(this.frames, this.#freeStack.length * 2));
      bigger.set(this.#freeStack);
      this.#freeStack = bigger;
    }
    this.#freeStack[this.#freeTop++] = m;
  }

  /** A view of one frame's 4 KiB (allocates a small view object: not for the per-access hot path). */
  bytes(m: Mpn): Uint8Array {
    const s = this.slabs[m >>> SLAB_SHIFT];
    if (s === undefined) throw invariantError(`frame ${m} has no slab`);
    const o = (m & SLAB_MASK) << PAGE_SHIFT;
    return s.subarray(o, o + PAGE_SIZE);
  }

  /** Byte offset of frame `m` inside its slab. */
  static offsetInSlab(m: number): number {
    return (m & SLAB_MASK) << PAGE_SHIFT;
  }

  /** Copies frame `src` into frame `dst`. */
  copy(dst: Mpn, src: Mpn): void {
    this.bytes(dst).set(this.bytes(src));
  }

  /** True when every byte of the frame is zero. */
  isZero(m: Mpn): boolean {
    const s = this.slabs32[m >>> SLAB_SHIFT]!;
    const o = (m & SLAB_MASK) << (PAGE_SHIFT - 2);
    for (let i = o, e = o + PAGE_SIZE / 4; i < e; i++) if (s[i] !== 0) return false;
    return true;
  }

  /** Counters. */
  stats(): MachineStats {
    return {
      frames: this.frames,
      used: this.#used,
      free: this.frames - this.#used,
      slabsAllocated: this.slabs.reduce((n, s) => n + (s ? 1 : 0), 0),
      allocs: this.#allocs,
      frees: this.#frees,
      zeroedOnFree: this.#zeroed,
    };
  }
}
