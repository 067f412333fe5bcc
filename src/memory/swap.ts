/**
 * Host swap after VMware ESX (Waldspurger, OSDI'02 §3.3): the fallback when ballooning is
 * impossible or too slow. A swap daemon pages out *randomly chosen* pages (seeded rng; random
 * replacement avoids pathological interaction with the guest's own policy and double paging),
 * tries to share each page first ("share before swap"), and writes them in clusters of
 * consecutive slots. Page-out is asynchronous to the guest: the daemon runs from the event queue
 * and the device time of a cluster is not charged to any guest; swap-in on a fault is synchronous
 * and charged to the faulting VM (`costs.swapPage`).
 *
 * Integrity (threat FLT-10c): the SHA-256 of every page is kept in TVMM memory at page-out and
 * checked at swap-in; a mismatch (or a device read error) halts the VM with SWAP_IO_ERROR instead
 * of returning a wrong or zeroed page (MEM-10). Slots are scrubbed with zeros when freed (ISO-02d).
 *
 * Confidentiality: the host owns the swap device (threat actor H), so by default pages are
 * encrypted with ChaCha20 under a per-engine key held in TVMM memory (from the seeded rng in
 * simulation, the platform CSPRNG with `realRandomness`), with a fresh nonce per write (a 64-bit
 * write counter). Cloaked pages are never host-swapped at all: their frames may hold plaintext.
 *
 * The store is pluggable: {@link MemorySwapStore} here (core, no Node imports); a real file,
 * `FileSwapStore`, lives in `src/memory/node.ts`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { checkInt, checkObject, PAGE_SIZE, TerraError, type Gppn, type Mpn, type SeededRng, type VmId } from '../sim/index.js';
import { checkFunction, platformRandomBytes } from '../sim/index.js';
import { FrameFlag } from './machine.js';
import type { MemoryManager } from './manager.js';
import { PageState } from './pmap.js';

/** A swap device: fixed-size 4 KiB slots. Implementations may throw on I/O errors. */
export interface SwapStore {
  readonly slots: number;
  /** Writes `pages.length / 4096` consecutive slots starting at `slot`. */
  write(slot: number, pages: Uint8Array): void;
  /** Reads one slot into `out` (4096 bytes). */
  read(slot: number, out: Uint8Array): void;
  /** Overwrites one slot with zeros (scrubbing on free). */
  scrub(slot: number): void;
}

/** An in-memory swap store (tests, experiments, browsers). Lazily allocated 4 MiB chunks. */
export class MemorySwapStore implements SwapStore {
  readonly slots: number;
  readonly #chunks: (Uint8Array | undefined)[];
  /** Fault injection: when set, called before every operation; throw to simulate a device error. */
  fault: ((op: 'read' | 'write' | 'scrub', slot: number) => void) | undefined;

  /** A store of `slots` slots (RangeError unless 1 ≤ slots ≤ 2^26). */
  constructor(slots: number) {
    this.slots = checkInt('slots', slots, 1, 2 ** 26);
    this.#chunks = new Array(Math.ceil(slots / 1024)).fill(undefined);
  }
  #at(slot: number): { c: Uint8Array; o: number } {
    checkInt('slot', slot, 0, this.slots - 1);
    const i = slot >>> 10;
    let c = this.#chunks[i];
    if (!c) this.#chunks[i] = c = new Uint8Array(1024 * PAGE_SIZE);
    return { c, o: (slot & 1023) * PAGE_SIZE };
  }
  /** Writes consecutive slots. */
  write(slot: number, pages: Uint8Array): void {
    this.fault?.('write', slot);
    for (let k = 0; k * PAGE_SIZE < pages.length; k++) {
      const { c, o } = this.#at(slot + k);
      c.set(pages.subarray(k * PAGE_SIZE, (k + 1) * PAGE_SIZE), o);
    }
  }
  /** Reads one slot. */
  read(slot: number, out: Uint8Array): void {
    this.fault?.('read', slot);
    const { c, o } = this.#at(slot);
    out.set(c.subarray(o, o + PAGE_SIZE));
  }
  /** Zeroes one slot. */
  scrub(slot: number): void {
    this.fault?.('scrub', slot);
    const { c, o } = this.#at(slot);
    c.fill(0, o, o + PAGE_SIZE);
  }
  /** God view (tests, leak scans): a copy of one slot's raw bytes as the host sees them. */
  peek(slot: number): Uint8Array {
    const { c, o } = this.#at(slot);
    return c.slice(o, o + PAGE_SIZE);
  }
  /** Host-side tampering (threat FLT-10c): flips one bit of a slot. */
  flipBit(slot: number, bit: number): void {
    checkInt('bit', bit, 0, PAGE_SIZE * 8 - 1);
    const { c, o } = this.#at(slot);
    c[o + (bit >>> 3)] ^= 1 << (bit & 7);
  }
}

/** Options of {@link HostSwap}. */
export interface HostSwapOptions {
  /** Pages per clustered write (default 16). */
  clusterPages?: number;
  /** Share before swap: called for each victim first; return true when the page was merged (its frame is gone). */
  shareFirst?: (vm: VmId, g: Gppn) => boolean;
  /** Called when a VM must halt (SWAP_IO_ERROR on an integrity or read failure). */
  onHalt?: (vm: VmId, reason: string) => void;
  /** Encrypt pages on the swap device (default true). */
  encrypt?: boolean;
}

/** Host-swap counters (plus what zswap/vmstat users expect). */
export interface SwapStats {
  slots: number;
  slotsUsed: number;
  pagesOut: number;
  pagesIn: number;
  clusters: number;
  sharedInsteadOfSwapped: number;
  writeErrors: number;
  readErrors: number;
  integrityFailures: number;
  scrubs: number;
}

/** The host swap daemon and swap-in path. */
export class HostSwap {
  readonly store: SwapStore;
  readonly #mm: MemoryManager;
  readonly #rng: SeededRng;
  readonly #cluster: number;
  readonly #shareFirst: ((vm: VmId, g: Gppn) => boolean) | undefined;
  readonly #onHalt: ((vm: VmId, reason: string) => void) | undefined;
  readonly #digest: Uint8Array;
  readonly #owner: Int32Array;
  readonly #free: Int32Array;
  #freeTop = 0;
  readonly #buf: Uint8Array;
  readonly #page = new Uint8Array(PAGE_SIZE);
  readonly #perVm = new Map<number, number>();
  readonly #key: Uint8Array | undefined;
  /** Per slot: the write counter used as its nonce. */
  readonly #nonceCtr: Float64Array;
  #writes = 0;
  readonly #nonce = new Uint8Array(12);
  #s = { pagesOut: 0, pagesIn: 0, clusters: 0, sharedInsteadOfSwapped: 0, writeErrors: 0, readErrors: 0, integrityFailures: 0, scrubs: 0 };

  /** Creates the swap engine over `store`; TypeError/RangeError on bad options. */
  constructor(mm: MemoryManager, store: SwapStore, rng: SeededRng, opts: HostSwapOptions = {}) {
    checkObject('options', opts);
    checkObject('store', store);
    checkInt('store.slots', store.slots, 1, 2 ** 26);
    for (const f of ['read', 'write', 'scrub'] as const) checkFunction(`store.${f}`, store[f]);
    this.#mm = mm;
    this.store = store;
    this.#rng = rng;
    this.#cluster = opts.clusterPages === undefined ? 16 : checkInt('clusterPages', opts.clusterPages, 1, 1024);
    this.#shareFirst = opts.shareFirst === undefined ? undefined : (checkFunction('shareFirst', opts.shareFirst) as (vm: VmId, g: Gppn) => boolean);
    this.#onHalt = opts.onHalt === undefined ? undefined : (checkFunction('onHalt', opts.onHalt) as (vm: VmId, reason: string) => void);
    this.#digest = new Uint8Array(store.slots * 32);
    this.#owner = new Int32Array(store.slots).fill(-1);
    this.#free = new Int32Array(store.slots);
    // Free slots stacked so that pops give ascending consecutive slots (clustering).
    for (let i = 0; i < store.slots; i++) this.#free[i] = store.slots - 1 - i;
    this.#freeTop = store.slots;
    this.#buf = new Uint8Array(this.#cluster * PAGE_SIZE);
    this.#nonceCtr = new Float64Array(store.slots);
    const enc = opts.encrypt === undefined ? true : opts.encrypt === true ? true : opts.encrypt === false ? false : (() => { throw new TypeError('encrypt must be a boolean'); })();
    if (enc) {
      const key = new Uint8Array(32);
      if (mm.ctx.realRandomness) platformRandomBytes(key);
      else rng.fork('swap-key').bytes(32, key);
      this.#key = key;
    }
  }

  /** Encrypts or decrypts one page in place with the nonce of write number `ctr`. */
  #crypt(page: Uint8Array, ctr: number): void {
    if (!this.#key) return;
    const n = this.#nonce;
    n.fill(0);
    let v = ctr;
    for (let i = 0; i < 8; i++) {
      n[i] = v % 256;
      v = Math.floor(v / 256);
    }
    chacha20(this.#key, n, page, page);
  }

  /** True when pages are encrypted on the device. */
  get encrypted(): boolean {
    return this.#key !== undefined;
  }

  /** Free swap slots. */
  get freeSlots(): number {
    return this.#freeTop;
  }

  /** Pages of `vm` currently in swap. */
  swapped(vm: VmId): number {
    return this.#perVm.get(vm) ?? 0;
  }

  /** True when (vm, g) may be paged out: present, private, not cloaked, not pinned, not a traced page table. */
  swappable(vm: VmId, g: number): boolean {
    const p = this.#mm.pmap(vm);
    const st = p.state[g];
    if (!(st & PageState.PRESENT) || st & (PageState.SHARED | PageState.PINNED | PageState.TRACED | PageState.CLOAKED)) return false;
    const f = p.mpn[g];
    const fl = this.#mm.machine.flags[f];
    return (fl & (FrameFlag.PINNED | FrameFlag.SHARED | FrameFlag.CLOAKED)) === 0 && this.#mm.machine.refcount[f] === 1;
  }

  /**
   * Reclaims up to `n` frames from `vm` by random replacement: each victim is first offered to
   * sharing, otherwise written to swap in clusters. Returns frames actually freed. On a device
   * write error the cluster's pages stay resident (nothing is lost) and the error is counted.
   */
  pageOut(vm: VmId, n: number): number {
    checkInt('n', n, 0);
    const p = this.#mm.pmap(vm);
    let freed = 0;
    let tries = 0;
    const maxTries = Math.max(64, 4 * n);
    const batch: number[] = [];
    while (freed + batch.length < n && tries < maxTries) {
      tries++;
      const g = this.#rng.int(p.pages);
      if (!this.swappable(vm, g) || batch.includes(g)) continue;
      if (this.#shareFirst?.(vm, g as Gppn)) {
        this.#s.sharedInsteadOfSwapped++;
        freed++;
        continue;
      }
      batch.push(g);
      if (batch.length === this.#cluster || this.#freeTop - batch.length <= 0) {
        freed += this.#writeCluster(vm, batch);
        batch.length = 0;
        if (this.#freeTop === 0) break;
      }
    }
    if (batch.length) freed += this.#writeCluster(vm, batch);
    return freed;
  }

  #writeCluster(vm: VmId, gs: number[]): number {
    const k = Math.min(gs.length, this.#freeTop);
    if (k === 0) return 0;
    const p = this.#mm.pmap(vm);
    const m = this.#mm.machine;
    // Consecutive slots when available (the free stack pops ascending runs).
    const slots: number[] = [];
    for (let i = 0; i < k; i++) slots.push(this.#free[--this.#freeTop]);
    let consecutive = true;
    for (let i = 1; i < k; i++) if (slots[i] !== slots[0] + i) consecutive = false;
    const digests: Uint8Array[] = [];
    const ctrs: number[] = [];
    for (let i = 0; i < k; i++) {
      const page = this.#buf.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
      page.set(m.bytes(p.mpn[gs[i]] as Mpn));
      digests.push(sha256(page));
      const ctr = ++this.#writes;
      ctrs.push(ctr);
      this.#crypt(page, ctr);
    }
    try {
      if (consecutive) this.store.write(slots[0], this.#buf.subarray(0, k * PAGE_SIZE));
      else for (let i = 0; i < k; i++) this.store.write(slots[i], this.#buf.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      for (let i = k - 1; i >= 0; i--) this.#free[this.#freeTop++] = slots[i];
      this.#s.writeErrors++;
      this.#mm.ctx.trace.security('swap.write-error', vm, { pages: k });
      return 0;
    }
    for (let i = 0; i < k; i++) {
      const g = gs[i] as Gppn;
      const s = slots[i];
      this.#digest.set(digests[i], s * 32);
      this.#nonceCtr[s] = ctrs[i];
      this.#owner[s] = vm;
      this.#mm.unmap(vm, g);
      p.state[g] |= PageState.SWAPPED;
      p.swapSlot[g] = s;
    }
    this.#buf.fill(0, 0, k * PAGE_SIZE);
    this.#s.pagesOut += k;
    this.#s.clusters++;
    this.#perVm.set(vm, (this.#perVm.get(vm) ?? 0) + k);
    this.#mm.ctx.trace.emit('memory', 'swap.out', vm, { pages: k });
    return k;
  }

  /**
   * The swap-in path (`hooks.swapIn`): reads the slot, checks its SHA-256, and maps a fresh frame.
   * On a read error or digest mismatch the VM is halted (SWAP_IO_ERROR) and TerraError('IO_ERROR')
   * is thrown; the page stays swapped (never a zero or wrong page).
   */
  swapIn(vm: VmId, g: Gppn): Mpn {
    const p = this.#mm.pmap(vm);
    const s = p.swapSlot[g];
    if (!(p.state[g] & PageState.SWAPPED) || s < 0 || this.#owner[s] !== vm) throw new TerraError('CORRUPT', 'swap slot bookkeeping lost', { vm, gppn: g });
    this.#mm.ctx.clock.advance(this.#mm.ctx.costs.swapPage);
    try {
      this.store.read(s, this.#page);
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      this.#s.readErrors++;
      return this.#fail(vm, g, 'read error');
    }
    this.#crypt(this.#page, this.#nonceCtr[s]);
    const d = sha256(this.#page);
    for (let i = 0; i < 32; i++)
      if (d[i] !== this.#digest[s * 32 + i]) {
        this.#s.integrityFailures++;
        return this.#fail(vm, g, 'digest mismatch');
      }
    this.#mm.hooks.beforeAlloc?.(vm);
    const m = this.#mm.machine.alloc(vm);
    this.#mm.machine.bytes(m).set(this.#page);
    this.#page.fill(0);
    p.state[g] &= ~PageState.SWAPPED;
    p.swapSlot[g] = -1;
    this.#mm.remap(vm, g, m, false);
    this.#release(s, vm);
    this.#s.pagesIn++;
    return m;
  }

  #fail(vm: VmId, g: Gppn, why: string): never {
    this.#page.fill(0);
    this.#mm.ctx.trace.security('swap.integrity', vm, { gppn: g, why });
    this.#onHalt?.(vm, 'SWAP_IO_ERROR');
    throw new TerraError('IO_ERROR', `SWAP_IO_ERROR: swap-in of vm ${vm} gppn ${g}: ${why}`, { vm, gppn: g, reason: 'SWAP_IO_ERROR' });
  }

  #release(s: number, vm: VmId): void {
    try {
      this.store.scrub(s);
      this.#s.scrubs++;
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      this.#s.writeErrors++;
    }
    this.#digest.fill(0, s * 32, s * 32 + 32);
    this.#owner[s] = -1;
    this.#free[this.#freeTop++] = s;
    this.#perVm.set(vm, (this.#perVm.get(vm) ?? 1) - 1);
  }

  /** hooks.swapRelease: frees (and scrubs) the slot of one swapped page being dropped. */
  releasePage(vm: VmId, g: Gppn): void {
    const p = this.#mm.pmap(vm);
    const s = p.swapSlot[g];
    if (p.state[g] & PageState.SWAPPED && s >= 0 && this.#owner[s] === vm) this.#release(s, vm);
  }

  /** Drops every slot of a VM (the VM is being removed): slots are scrubbed and freed. */
  releaseVm(vm: VmId): void {
    if (!this.#mm.hasVm(vm)) return;
    const p = this.#mm.pmap(vm);
    for (let g = 0; g < p.pages; g++) {
      if (p.state[g] & PageState.SWAPPED && p.swapSlot[g] >= 0) {
        this.#release(p.swapSlot[g], vm);
        p.swapSlot[g] = -1;
        p.state[g] &= ~PageState.SWAPPED;
      }
    }
    this.#perVm.delete(vm);
  }

  /** The slot holding (vm, g), or -1 (god view for tests). */
  slotOf(vm: VmId, g: Gppn): number {
    const p = this.#mm.pmap(vm);
    return p.state[g] & PageState.SWAPPED ? p.swapSlot[g] : -1;
  }

  /** Counters. */
  stats(): SwapStats {
    return { slots: this.store.slots, slotsUsed: this.store.slots - this.#freeTop, ...this.#s };
  }
}

