/**
 * The page-content hash and full page compare of content-based page sharing (Waldspurger, OSDI'02
 * §4.1: a 64-bit hash, Bob Jenkins' in ESX; then a full compare before any merge).
 *
 * The hash ("tcph64", defined in scripts/build-wasm.mjs): 32 independent 32-bit lanes, word i of the
 * page feeding lane i mod 32 with `t = a ^ w; a = (t ^ t >>> 16) * M[lane]; a ^= a >>> S[lane >> 2]` —
 * a bijection of the lane's state for a fixed word, so pages that differ in the words of one lane
 * leave different lane states, and the xorshifts carry high bits down for the multiplies — then a
 * per-lane finish `a = (a ^ a >>> 16) * G[lane]; a ^= a >>> 13`, then a pairwise fold of the 32 lanes (xor with a 16-bit rotation, odd multiply) into two
 * murmur3 `fmix32` halves. Lanes start at `(salt ^ I[lane]) * M[lane]`: the sharing domain's salt
 * seeds the hash, so equal pages in different salt domains hash apart.
 *
 * Two implementations give identical results (a test checks it on random and crafted pages):
 * - **WebAssembly SIMD** (the default wherever WebAssembly is available: Node ≥ 16.4, every current
 *   browser): eight 128-bit accumulators keep eight multiply chains in flight; the page is first
 *   copied into the kernel's own 64 KiB linear memory (one native memcpy), which also serves the full
 *   compare on a hit. This is what keeps the sharing scan above 10^6 pages/s (bench `sharing`).
 * - **JavaScript** (`Math.imul` over Int32Array views): the fallback, and the reference.
 *
 * Why not a cryptographic hash: the hash is only a hint (ESX §4.1); every merge is preceded by a full
 * byte compare, so a collision (natural or forged, threat MEM-04) costs one compare and leaves the
 * page unshared, never a wrong merge.
 */
import { PAGE_SIZE } from '../sim/index.js';
import { fromBase64 } from '../crypto/index.js';
import { HASH_F, HASH_G, HASH_I, HASH_M, HASH_R, PAGE_KERNEL_WASM_BASE64 } from './wasm/page-kernel.js';

const WORDS = PAGE_SIZE >>> 2;

/** Output slot for {@link hashPage}: `lo` and `hi` 32-bit halves of the 64-bit hash. */
export interface Hash64 {
  lo: number;
  hi: number;
}

/**
 * A page hasher: the default is {@link hashPage}; tests inject weak ones (threat MEM-04) through
 * the sharing engine's options.
 */
export type PageHasher = (words: Int32Array, wordOff: number, salt: number, out: Hash64) => Hash64;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

const M = Int32Array.from(HASH_M);
const I = Int32Array.from(HASH_I);
const R = Int32Array.from(HASH_R);
const F = Int32Array.from(HASH_F);
const G = Int32Array.from(HASH_G);
const lanes = new Int32Array(32);
const fold = new Int32Array(16);

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** The JavaScript implementation of the page hash (the reference; identical to the WebAssembly one). */
export function hashPageJs(words: Int32Array, wordOff: number, salt: number, out: Hash64): Hash64 {
  const a = lanes;
  for (let k = 0; k < 32; k++) a[k] = Math.imul(salt ^ I[k], M[k]);
  for (let i = wordOff, e = wordOff + WORDS; i < e; i += 32) {
    for (let k = 0; k < 32; k++) {
      const u = a[k] ^ words[i + k];
      const t = Math.imul(u ^ (u >>> 16), M[k]);
      const v = Math.imul(t ^ (t >>> R[k >>> 2]), G[k]);
      a[k] = v ^ (v >>> 16);
    }
  }
  // Finish each lane, then fold 32 → 16 → 8 → 4 lanes: vector j (lanes 4j..4j+3) with vector j + n/2, times F[f].
  for (let k = 0; k < 32; k++) {
    const t = Math.imul(a[k] ^ (a[k] >>> 16), G[k]);
    a[k] = t ^ (t >>> 13);
  }
  const b = fold;
  for (let k = 0; k < 16; k++) b[k] = Math.imul(a[k] ^ rotl(a[k + 16], 16), F[k]);
  for (let k = 0; k < 8; k++) b[k] = Math.imul(b[k] ^ rotl(b[k + 8], 16), F[16 + k]);
  for (let k = 0; k < 4; k++) b[k] = Math.imul(b[k] ^ rotl(b[k + 4], 16), F[24 + k]);
  const x = fmix32(b[0] ^ rotl(b[2], 16) ^ 4096);
  const y = fmix32(b[1] ^ rotl(b[3], 16) ^ x);
  out.lo = fmix32(x ^ rotl(y, 11)) >>> 0;
  out.hi = y >>> 0;
  return out;
}

/** Compares two 4 KiB pages word by word in JavaScript (every word is read when they are equal). */
export function pagesEqual(a: Int32Array, aOff: number, b: Int32Array, bOff: number): boolean {
  // Int32Array views keep V8 on int32 loads (a Uint32Array element above 2^31 would be a double).
  for (let i = 0; i < WORDS; i += 4) {
    if (a[aOff + i] !== b[bOff + i] || a[aOff + i + 1] !== b[bOff + i + 1] ||
        a[aOff + i + 2] !== b[bOff + i + 2] || a[aOff + i + 3] !== b[bOff + i + 3]) return false;
  }
  return true;
}

/**
 * The page kernel: two page slots, the hash of a slot and the compare of the two slots. The sharing
 * scanner loads the candidate into slot 0, hashes it, and on a table hit loads the other frame into
 * slot 1 to rehash (hint) and compare it — so each page crosses into the kernel once.
 */
export interface PageKernel {
  /** `'wasm-simd'` or `'js'`. */
  readonly backend: 'wasm-simd' | 'js';
  /** Copies the 4 KiB page at word `off` of `words` into `slot` (0 or 1). */
  load(slot: 0 | 1, words: Int32Array, off: number): void;
  /** Hashes `slot` with `salt` into `out`. */
  hash(slot: 0 | 1, salt: number, out: Hash64): Hash64;
  /** True when the two slots hold equal pages (full compare). */
  equal(): boolean;
  /** True when `slot` holds an all-zero page (full compare with the kernel's zero page). */
  isZero(slot: 0 | 1): boolean;
}

class JsKernel implements PageKernel {
  readonly backend = 'js' as const;
  readonly #slots = [new Int32Array(WORDS), new Int32Array(WORDS)] as const;
  load(slot: 0 | 1, words: Int32Array, off: number): void {
    this.#slots[slot].set(words.subarray(off, off + WORDS));
  }
  hash(slot: 0 | 1, salt: number, out: Hash64): Hash64 {
    return hashPageJs(this.#slots[slot], 0, salt, out);
  }
  equal(): boolean {
    return pagesEqual(this.#slots[0], 0, this.#slots[1], 0);
  }
  isZero(slot: 0 | 1): boolean {
    return pagesEqual(this.#slots[slot], 0, ZERO_PAGE, 0);
  }
}

const ZERO_PAGE = new Int32Array(WORDS);

interface KernelExports {
  hash(p: number, salt: number, out: number): void;
  eq(a: number, b: number): number;
}

/** Copy-in kernel memory layout: slot 0 at 0, slot 1 at 4096, the hash output at 8192, a page never written (zero) at 12288. */
const OUT = 2 * PAGE_SIZE;
const ZERO_OFF = 3 * PAGE_SIZE;

class WasmKernel implements PageKernel {
  readonly backend = 'wasm-simd' as const;
  readonly #x: KernelExports;
  readonly #mem: Int32Array;
  constructor(x: KernelExports, memory: WebAssembly.Memory) {
    this.#x = x;
    this.#mem = new Int32Array(memory.buffer);
  }
  load(slot: 0 | 1, words: Int32Array, off: number): void {
    this.#mem.set(words.subarray(off, off + WORDS), slot * WORDS);
  }
  hash(slot: 0 | 1, salt: number, out: Hash64): Hash64 {
    this.#x.hash(slot * PAGE_SIZE, salt, OUT);
    out.lo = this.#mem[OUT >>> 2] >>> 0;
    out.hi = this.#mem[(OUT >>> 2) + 1] >>> 0;
    return out;
  }
  equal(): boolean {
    return this.#x.eq(0, PAGE_SIZE) === 1;
  }
  isZero(slot: 0 | 1): boolean {
    return this.#x.eq(slot * PAGE_SIZE, ZERO_OFF) === 1;
  }
}

let wasmModule: WebAssembly.Module | null | undefined;

/** The compiled WebAssembly module, or null where WebAssembly (or its SIMD) is unavailable. */
function wasmPageModule(): WebAssembly.Module | null {
  if (wasmModule === undefined) {
    try {
      // Synchronous compile: the module is 2.1 KiB, under every browser's 4 KiB main-thread limit.
      // fromBase64 is ours, not the global atob, which a guest could replace (see src/crypto).
      wasmModule = typeof WebAssembly === 'object' ? new WebAssembly.Module(fromBase64(PAGE_KERNEL_WASM_BASE64)) : null;
    } catch {
      wasmModule = null;
    }
  }
  return wasmModule;
}

function instantiate(memory: WebAssembly.Memory): KernelExports | null {
  const mod = wasmPageModule();
  if (mod === null) return null;
  try {
    return new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as KernelExports;
  } catch {
    return null; // e.g. a CSP that forbids instantiation
  }
}

/**
 * A new page kernel: WebAssembly SIMD where available, else JavaScript (`backend` says which;
 * `prefer: 'js'` forces the fallback). Both give identical hashes and compares.
 */
export function createPageKernel(prefer: 'auto' | 'js' = 'auto'): PageKernel {
  if (prefer !== 'js' && wasmPageModule() !== null) {
    try {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
      const x = instantiate(memory);
      if (x) return new WasmKernel(x, memory);
    } catch {
      /* no memory: fall back */
    }
  }
  return new JsKernel();
}

/**
 * The page kernel working *in place* on a machine's frames: machine memory lives in the kernel's
 * WebAssembly linear memory (frame m at byte m·4096), so hashing and comparing read the frames
 * directly, with no copy. Created by {@link MachineMemory} when the machine fits (≤ 4 GiB).
 */
export interface FrameKernel {
  /** The linear memory's buffer: frames first, then two scratch pages. */
  readonly buffer: ArrayBuffer;
  /** Hashes frame `m` with `salt` into `out`. */
  hashFrame(m: number, salt: number, out: Hash64): Hash64;
  /** Full compare of frames `a` and `b`. */
  framesEqual(a: number, b: number): boolean;
  /** True when frame `m` is all zero (full compare with a zero page). */
  frameIsZero(m: number): boolean;
}

class WasmFrameKernel implements FrameKernel {
  readonly buffer: ArrayBuffer;
  readonly #x: KernelExports;
  readonly #i32: Int32Array;
  readonly #out: number;
  readonly #zero: number;
  constructor(x: KernelExports, memory: WebAssembly.Memory, frames: number) {
    this.#x = x;
    this.buffer = memory.buffer;
    this.#i32 = new Int32Array(memory.buffer);
    this.#out = frames * PAGE_SIZE;
    this.#zero = this.#out + PAGE_SIZE;
  }
  hashFrame(m: number, salt: number, out: Hash64): Hash64 {
    this.#x.hash(m * PAGE_SIZE, salt, this.#out);
    out.lo = this.#i32[this.#out >>> 2] >>> 0;
    out.hi = this.#i32[(this.#out >>> 2) + 1] >>> 0;
    return out;
  }
  framesEqual(a: number, b: number): boolean {
    return this.#x.eq(a * PAGE_SIZE, b * PAGE_SIZE) === 1;
  }
  frameIsZero(m: number): boolean {
    return this.#x.eq(m * PAGE_SIZE, this.#zero) === 1;
  }
}

/** Largest machine (in frames) whose memory goes into one WebAssembly linear memory: 4 GiB less the scratch pages. */
export const MAX_KERNEL_FRAMES = 65535 * 16 - 2;

/**
 * A page kernel over a new linear memory of `frames` frames plus two scratch pages, or null where
 * WebAssembly is unavailable, the machine is too large, or the memory cannot be reserved. The
 * memory is reserved, not committed: untouched frames cost no RAM, as with lazily allocated slabs.
 */
export function createFrameKernel(frames: number): FrameKernel | null {
  if (!Number.isInteger(frames) || frames < 1 || frames > MAX_KERNEL_FRAMES || wasmPageModule() === null) return null;
  try {
    const pages = Math.ceil(((frames + 2) * PAGE_SIZE) / 65536);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const x = instantiate(memory);
    return x ? new WasmFrameKernel(x, memory, frames) : null;
  } catch {
    return null; // RangeError: address space for the reservation not available
  }
}

let shared: PageKernel | undefined;
function defaultKernel(): PageKernel {
  return (shared ??= createPageKernel());
}

/**
 * Hashes the 4 KiB page at word offset `wordOff` of `words` (a slab's Int32 view) with `salt`,
 * writing the 64-bit result into `out` (the default {@link PageHasher}). No validation (hot path;
 * callers pass machine frames).
 */
export function hashPage(words: Int32Array, wordOff: number, salt: number, out: Hash64): Hash64 {
  const k = defaultKernel();
  k.load(0, words, wordOff);
  return k.hash(0, salt | 0, out);
}

/** Hashes a standalone 4 KiB page (RangeError unless `page` is exactly 4096 bytes). */
export function hashBytes(page: Uint8Array, salt = 0): Hash64 {
  if (!(page instanceof Uint8Array) || page.length !== PAGE_SIZE) throw new RangeError('page must be a 4096-byte Uint8Array');
  const words = page.byteOffset % 4 === 0 ? new Int32Array(page.buffer, page.byteOffset, WORDS) : new Int32Array(page.slice().buffer);
  return hashPage(words, 0, salt | 0, { lo: 0, hi: 0 });
}
