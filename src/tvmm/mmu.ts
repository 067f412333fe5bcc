/**
 * The shadow MMU with multi-shadowing (DESIGN.md §2; Overshadow ASPLOS'08 §3; Adams & Agesen
 * ASPLOS'06 §3 on shadow paging and traced page-table writes).
 *
 * Every guest memory access goes through a {@link MmuContext}: (vm, guest page-table root, domain,
 * privilege). A context caches translations in a direct-mapped software TLB on typed arrays. A miss
 * walks the guest's 2-level page tables (bytes in guest memory, 4-byte entries: bit 0 present,
 * bit 1 writable, bit 2 user, bits 12–31 the GPPN), maps the GPPN through the pmap (first touch,
 * copy-on-write, swap-in, balloon pop), lets the cloak hook make a cloaked frame match the
 * context's domain, and installs the entry. An entry is dropped whenever the page-table entry, the
 * pmap entry or the cloak state it came from changes: page-table pages are write-traced (never
 * writable in the TLB), and the memory manager calls {@link ShadowMmu.invalidateGppn} on every
 * remap.
 */
import { invariantError, NO_MPN, PAGE_SHIFT, PAGE_SIZE, TerraError, type Gppn, type Mpn, type SimContext, type VmId } from '../sim/index.js';
import { MachineMemory, PageState, type MemoryManager } from '../memory/index.js';

export const PTE_P = 1;
export const PTE_W = 2;
export const PTE_U = 4;

/** TLB entries per context (direct-mapped). */
export const TLB_SIZE = 1024;
const TLB_MASK = TLB_SIZE - 1;
const PERM_R = 1;
const PERM_W = 2;

/** Domain 0 is the kernel/system view; cloaked apps get domains ≥ 1. */
export type DomainId = number;
export const KERNEL_DOMAIN: DomainId = 0;

/** Why a translation failed (delivered to the guest kernel as a page fault, or fatal). */
export type FaultKind = 'not-present' | 'protection' | 'bad-gppn' | 'halted';

/** Raised out of a memory access when the guest's fault handler could not resolve a fault. */
export class GuestFault extends Error {
  override readonly name = 'GuestFault';
  constructor(readonly gva: number, readonly write: boolean, readonly kind: FaultKind) {
    super(`guest fault at 0x${gva.toString(16)} (${write ? 'write' : 'read'}, ${kind})`);
  }
}

/**
 * Handles a page fault: returns true when the mapping was fixed and the access should be retried.
 * Installed by the guest interface (the guest kernel's handler runs inside it).
 */
export type FaultHandler = (gva: number, write: boolean, kind: FaultKind) => boolean;

/** The cloaking engine's hook on the access path (Overshadow's multi-shadowing). */
export interface CloakHook {
  /**
   * Makes the frame of cloaked `gppn` match `domain`'s view (decrypt+verify for its owner,
   * encrypt for anyone else). Throws a TerraError on a violation. Called for every access of a
   * CLOAKED page and, with the virtual address `gva`, for every TLB fill of a cloaked (non-kernel)
   * domain's context, so the engine can check which cloaked identity the address names. Returning
   * `true` installs the entry read-only (Overshadow's PT_RO state: a write faults back here).
   */
  prepare(vm: VmId, gppn: Gppn, domain: DomainId, write: boolean, gva?: number): boolean | void;
  /**
   * Virtual DMA (disk write) from a page holding cloaked plaintext: returns an encrypted copy for
   * the device (the page itself stays plaintext for its owner), or undefined to read the page
   * through the kernel view.
   */
  dmaSource?(vm: VmId, gppn: Gppn): Uint8Array | undefined;
}

/** Counters. */
export interface MmuStats {
  misses: number;
  walks: number;
  faults: number;
  invalidations: number;
  flushes: number;
  tracedWrites: number;
}

/** A translation context with its software TLB. Obtain through {@link ShadowMmu.context}. */
export class MmuContext {
  /** TLB tag: the virtual page number, −1 when empty. */
  readonly tag = new Int32Array(TLB_SIZE).fill(-1);
  readonly tmpn = new Uint32Array(TLB_SIZE);
  readonly perm = new Uint8Array(TLB_SIZE);
  readonly tgppn = new Uint32Array(TLB_SIZE);
  readonly tpt = new Uint32Array(TLB_SIZE);
  /** Per-entry cached views for page-granular copies. */
  readonly views: (Uint8Array | undefined)[] = new Array(TLB_SIZE).fill(undefined);
  faultHandler: FaultHandler | undefined;
  hits = 0;
  /** Slot in the VM's context table (bit position in the cached-in masks). */
  slot = 0;
  /** Set when torn down; every access then faults. */
  dead = false;
  /** The machine's slab views (a stable array; slabs fill in lazily). */
  readonly #s8: (Uint8Array | undefined)[];
  readonly #s32: (Uint32Array | undefined)[];

  constructor(
    private readonly mmu: ShadowMmu,
    readonly vm: VmId,
    readonly root: Gppn,
    readonly domain: DomainId,
    readonly user: boolean,
  ) {
    this.#s8 = mmu.machine.slabs;
    this.#s32 = mmu.machine.slabs32;
  }

  /**
   * A one-entry micro-TLB in front of the direct-mapped TLB (like a CPU's L0 DTLB): the last
   * translated page for reads and for writes. Reset on every flush or invalidation of this context.
   */
  lastR = -1;
  lastW = -1;
  lastR32: Uint32Array | undefined;
  lastW32: Uint32Array | undefined;
  lastRBase = 0;
  lastWBase = 0;

  /** Forgets the micro-TLB (called whenever any entry of this context is invalidated). */
  resetMicro(): void {
    this.lastR = -1;
    this.lastW = -1;
    this.lastR32 = undefined;
    this.lastW32 = undefined;
  }

  /** Drops every cached translation. */
  flush(): void {
    this.resetMicro();
    this.tag.fill(-1);
    this.views.fill(undefined);
    this.mmu.stats.flushes++;
  }

  /** Translates for an access; returns the machine frame (faults go to the fault handler). */
  translate(gva: number, write: boolean): number {
    const vpn = gva >>> PAGE_SHIFT;
    const i = vpn & TLB_MASK;
    if (this.tag[i] === vpn && this.perm[i] & (write ? PERM_W : PERM_R)) {
      this.hits++;
      return this.tmpn[i];
    }
    return this.mmu.fill(this, gva, write);
  }

  /** Mediated aligned or unaligned 32-bit little-endian load. */
  load32(gva: number): number {
    const vpn = gva >>> PAGE_SHIFT;
    if (vpn === this.lastR && (gva & 3) === 0) return this.lastR32![this.lastRBase | ((gva & 4095) >>> 2)];
    const i = vpn & TLB_MASK;
    if ((gva & 3) === 0 && this.tag[i] === vpn) {
      const m = this.tmpn[i];
      const s = this.#s32[m >>> 12]!;
      this.lastR = vpn;
      this.lastR32 = s;
      this.lastRBase = (m & 4095) << 10;
      return s[((m & 4095) << 10) | ((gva & 4095) >>> 2)];
    }
    return this.mmu.slowLoad(this, gva, 4);
  }

  /** Mediated 32-bit little-endian store. */
  store32(gva: number, v: number): void {
    const vpn = gva >>> PAGE_SHIFT;
    if (vpn === this.lastW && (gva & 3) === 0) {
      this.lastW32![this.lastWBase | ((gva & 4095) >>> 2)] = v;
      return;
    }
    const i = vpn & TLB_MASK;
    if ((gva & 3) === 0 && this.tag[i] === vpn && this.perm[i] & PERM_W) {
      const m = this.tmpn[i];
      const s = this.#s32[m >>> 12]!;
      this.lastW = vpn;
      this.lastW32 = s;
      this.lastWBase = (m & 4095) << 10;
      s[((m & 4095) << 10) | ((gva & 4095) >>> 2)] = v;
      return;
    }
    this.mmu.slowStore(this, gva, v >>> 0, 4);
  }

  /** Mediated byte load. */
  load8(gva: number): number {
    const vpn = gva >>> PAGE_SHIFT;
    const i = vpn & TLB_MASK;
    if (this.tag[i] === vpn) {
      const m = this.tmpn[i];
      return this.#s8[m >>> 12]![((m & 4095) << 12) | (gva & 4095)];
    }
    return this.mmu.slowLoad(this, gva, 1);
  }

  /** Mediated byte store. */
  store8(gva: number, v: number): void {
    const vpn = gva >>> PAGE_SHIFT;
    const i = vpn & TLB_MASK;
    if (this.tag[i] === vpn && this.perm[i] & PERM_W) {
      const m = this.tmpn[i];
      this.#s8[m >>> 12]![((m & 4095) << 12) | (gva & 4095)] = v;
      return;
    }
    this.mmu.slowStore(this, gva, v & 0xff, 1);
  }

  /** Reads `len` bytes at `gva` into `out` (or a new array), page by page through the MMU. */
  read(gva: number, len: number, out?: Uint8Array): Uint8Array {
    const dst = out ?? new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = gva + done;
      const off = a & (PAGE_SIZE - 1);
      const n = Math.min(len - done, PAGE_SIZE - off);
      const view = this.pageView(a, false);
      if (n === PAGE_SIZE) dst.set(view, done);
      else dst.set(view.subarray(off, off + n), done);
      done += n;
    }
    return dst;
  }

  /** Writes `data` at `gva`, page by page through the MMU. */
  write(gva: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const a = gva + done;
      const off = a & (PAGE_SIZE - 1);
      const n = Math.min(data.length - done, PAGE_SIZE - off);
      const view = this.pageView(a, true);
      view.set(n === data.length && done === 0 ? data : data.subarray(done, done + n), off);
      done += n;
      this.mmu.afterStore(this, a);
    }
  }

  /** The 4 KiB machine view backing `gva`'s page, after translation for the access. */
  pageView(gva: number, write: boolean): Uint8Array {
    const vpn = gva >>> PAGE_SHIFT;
    const i = vpn & TLB_MASK;
    if (this.tag[i] === vpn && this.perm[i] & (write ? PERM_W : PERM_R)) {
      const v = this.views[i];
      if (v !== undefined) return v;
    }
    const m = this.mmu.fill(this, gva, write);
    if (this.tag[i] === vpn) {
      const v = this.mmu.machine.bytes(m as Mpn);
      this.views[i] = v;
      return v;
    }
    return this.mmu.machine.bytes(m as Mpn);
  }
}

interface VmEntry {
  contexts: MmuContext[];
  /** Bit mask per GPPN of context slots that may cache a translation through that GPPN (bit 31 = "any"). */
  cachedIn: Uint32Array;
  halted: boolean;
}

/** The shadow MMU for all VMs of a host. */
export class ShadowMmu {
  readonly stats: MmuStats = { misses: 0, walks: 0, faults: 0, invalidations: 0, flushes: 0, tracedWrites: 0 };
  readonly #vms = new Map<number, VmEntry>();
  cloak: CloakHook | undefined;

  constructor(readonly ctx: SimContext, readonly machine: MachineMemory, readonly mm: MemoryManager) {
    mm.setInvalidator((vm, g) => this.invalidateGppn(vm, g));
  }

  /** Registers a VM (after the memory manager has its pmap). */
  addVm(vm: VmId): void {
    this.#vms.set(vm, { contexts: [], cachedIn: new Uint32Array(this.mm.pmap(vm).pages), halted: false });
  }

  /** Forgets a VM and kills its contexts. */
  removeVm(vm: VmId): void {
    const e = this.#vms.get(vm);
    if (!e) return;
    for (const c of e.contexts) {
      c.dead = true;
      c.flush();
    }
    this.#vms.delete(vm);
  }

  /** Stops all translation for a halted VM. */
  haltVm(vm: VmId): void {
    const e = this.#entry(vm);
    e.halted = true;
    for (const c of e.contexts) {
      c.dead = true;
      c.flush();
    }
  }

  #entry(vm: VmId): VmEntry {
    const e = this.#vms.get(vm);
    if (!e) throw new TerraError('NOT_FOUND', `no such vm ${vm}`);
    return e;
  }

  /** The context for (vm, root, domain, privilege), created on first use. */
  context(vm: VmId, root: Gppn, domain: DomainId, user: boolean): MmuContext {
    const e = this.#entry(vm);
    for (const c of e.contexts) if (c.root === root && c.domain === domain && c.user === user && !c.dead) return c;
    const c = new MmuContext(this, vm, root, domain, user);
    c.slot = e.contexts.length < 31 ? e.contexts.length : 31;
    e.contexts.push(c);
    return c;
  }

  /** Drops every context of `vm` rooted at `root` (the guest destroyed that address space). */
  dropRoot(vm: VmId, root: Gppn): void {
    const e = this.#entry(vm);
    const keep: MmuContext[] = [];
    for (const c of e.contexts) {
      if (c.root === root) {
        c.dead = true;
        c.flush();
      } else keep.push(c);
    }
    e.contexts = keep;
    keep.forEach((c, i) => (c.slot = i < 31 ? i : 31));
    e.cachedIn.fill(0xffffffff);
  }

  /** Every live context of a VM (for the cloak engine and tests). */
  contexts(vm: VmId): readonly MmuContext[] {
    return this.#entry(vm).contexts;
  }

  /** Drops every cached translation that went through `gppn` (as data page, page table or root). */
  invalidateGppn(vm: VmId, g: Gppn): void {
    const e = this.#vms.get(vm);
    if (!e) return;
    const mask = e.cachedIn[g];
    if (mask === 0) return;
    this.stats.invalidations++;
    for (const c of e.contexts) {
      const bit = 1 << c.slot;
      if (!(mask & bit) && !(mask & 0x80000000)) continue;
      if (c.root === g) {
        c.flush();
        continue;
      }
      c.resetMicro();
      const tag = c.tag, tg = c.tgppn, tp = c.tpt;
      for (let i = 0; i < TLB_SIZE; i++) {
        if (tag[i] !== -1 && (tg[i] === g || tp[i] === g)) {
          tag[i] = -1;
          c.views[i] = undefined;
        }
      }
    }
    e.cachedIn[g] = 0;
  }

  /** Reads a 32-bit word of guest-physical memory for the page walker (kernel view). */
  #walkRead(vm: VmId, e: VmEntry, g: number, index: number, c: MmuContext): number {
    const p = this.mm.pmap(vm);
    if (!(p.state[g] & PageState.TRACED)) {
      p.state[g] |= PageState.TRACED;
      // A page becoming a page table must lose any writable cached mapping.
      this.invalidateGppn(vm, g as Gppn);
    }
    if (p.state[g] & PageState.CLOAKED) this.cloak?.prepare(vm, g as Gppn, KERNEL_DOMAIN, false);
    const m = this.mm.resolve(vm, g as Gppn, false);
    e.cachedIn[g] |= c.slot === 31 ? 0x80000000 : 1 << c.slot;
    const s = this.machine.slabs32[m >>> 12]!;
    return s[((m & 4095) << 10) | index];
  }

  /** Fills a TLB entry for `gva` (or delivers a fault); returns the machine frame. */
  fill(c: MmuContext, gva: number, write: boolean): number {
    for (let attempt = 0; attempt < 4; attempt++) {
      const r = this.#walk(c, gva, write);
      if (typeof r === 'number') return r;
      this.stats.faults++;
      if (r === 'halted' || !c.faultHandler || !c.faultHandler(gva, write, r)) throw new GuestFault(gva, write, r);
    }
    throw new GuestFault(gva, write, 'not-present');
  }

  #walk(c: MmuContext, gva: number, write: boolean): number | FaultKind {
    const e = this.#vms.get(c.vm);
    if (!e || e.halted || c.dead) return 'halted';
    this.stats.misses++;
    this.stats.walks++;
    this.ctx.clock.advance(this.ctx.costs.shadowFault);
    const pages = this.mm.pmap(c.vm).pages;
    const pde = this.#walkRead(c.vm, e, c.root, gva >>> 22, c);
    if (!(pde & PTE_P)) return 'not-present';
    if (c.user && !(pde & PTE_U)) return 'protection';
    if (write && !(pde & PTE_W)) return 'protection';
    const pt = pde >>> PAGE_SHIFT;
    if (pt >= pages) return 'bad-gppn';
    const pte = this.#walkRead(c.vm, e, pt, (gva >>> PAGE_SHIFT) & 1023, c);
    if (!(pte & PTE_P)) return 'not-present';
    if (c.user && !(pte & PTE_U)) return 'protection';
    if (write && !(pte & PTE_W)) return 'protection';
    const g = pte >>> PAGE_SHIFT;
    if (g >= pages) return 'bad-gppn';
    const pm = this.mm.pmap(c.vm);
    const ro = (c.domain !== KERNEL_DOMAIN || pm.state[g] & PageState.CLOAKED) && this.cloak?.prepare(c.vm, g as Gppn, c.domain, write, gva) === true;
    const m = this.mm.resolve(c.vm, g as Gppn, write);
    const st = pm.state[g];
    const vpn = gva >>> PAGE_SHIFT;
    const i = vpn & TLB_MASK;
    c.tag[i] = vpn;
    c.tmpn[i] = m;
    c.tgppn[i] = g;
    c.tpt[i] = pt;
    c.views[i] = undefined;
    // Writable only if the guest allows it, the frame is private, and the page is not a traced page table.
    c.perm[i] = PERM_R | (pte & PTE_W && pde & PTE_W && !(st & (PageState.SHARED | PageState.TRACED)) ? PERM_W : 0);
    if (!write && !(c.perm[i] & PERM_W) && pte & PTE_W && st & PageState.SHARED) c.perm[i] = PERM_R;
    if (ro) c.perm[i] = PERM_R;
    e.cachedIn[g] |= c.slot === 31 ? 0x80000000 : 1 << c.slot;
    if (m === NO_MPN) throw invariantError('resolve returned no frame');
    return m;
  }

  /** Slow-path load (miss, unaligned, or crossing a page). */
  slowLoad(c: MmuContext, gva: number, size: number): number {
    let v = 0;
    for (let k = 0; k < size; k++) {
      const a = gva + k;
      const m = c.translate(a, false);
      v |= this.machine.slabs[m >>> 12]![((m & 4095) << 12) | (a & 4095)] << (8 * k);
    }
    return v >>> 0;
  }

  /** Slow-path store (miss, read-only entry, traced page table, unaligned). */
  slowStore(c: MmuContext, gva: number, v: number, size: number): void {
    for (let k = 0; k < size; k++) {
      const a = gva + k;
      const m = c.translate(a, true);
      this.machine.slabs[m >>> 12]![((m & 4095) << 12) | (a & 4095)] = (v >>> (8 * k)) & 0xff;
      this.afterStore(c, a);
    }
  }

  /** After a store through a non-fast path: a write to a traced page-table page invalidates. */
  afterStore(c: MmuContext, gva: number): void {
    const i = (gva >>> PAGE_SHIFT) & TLB_MASK;
    if (c.tag[i] !== gva >>> PAGE_SHIFT) return;
    const g = c.tgppn[i] as Gppn;
    if (this.mm.pmap(c.vm).state[g] & PageState.TRACED) {
      this.stats.tracedWrites++;
      this.ctx.clock.advance(this.ctx.costs.tracedPteWrite);
      this.invalidateGppn(c.vm, g);
    }
  }
}
