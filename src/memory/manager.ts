/**
 * The machine-memory manager after ESX (Waldspurger, OSDI'02): one manager for every VM over the
 * shared {@link MachineMemory}. This file holds the substrate: VM registration, the per-page state
 * machine that the MMU calls on a miss (first touch → zeroed frame; write to a shared frame →
 * private copy), remapping with invalidation, and teardown. Reclamation mechanisms (sharing,
 * ballooning, host swap, share-based allocation) hook into the same state machine.
 */
import { checkInt, invariantError, NO_MPN, TerraError, type Gppn, type Mpn, type SimContext, type VmId } from '../sim/index.js';
import { FrameFlag, MachineMemory, OWNER_TVMM } from './machine.js';
import { PageState, Pmap } from './pmap.js';

/** Called whenever a GPPN's mapping changes, so every cached translation of it is dropped. */
export type InvalidateFn = (vm: VmId, gppn: Gppn) => void;

/** Hooks for reclamation mechanisms on the resolve path. */
export interface ResolveHooks {
  /** Brings a swapped-out page back; must return a present frame (or throw a TerraError). */
  swapIn?(vm: VmId, gppn: Gppn): Mpn;
  /** The guest touched a ballooned page (a balloon "pop"). */
  balloonPop?(vm: VmId, gppn: Gppn): void;
  /** Releases the swap slot of a swapped page that is being dropped (unmap, balloon). */
  swapRelease?(vm: VmId, gppn: Gppn): void;
  /** Called before a frame is allocated, so the allocator can reclaim under pressure. */
  beforeAlloc?(vm: VmId): void;
  /**
   * Called at the start of every resolve (every translation miss and every mediated physical
   * access): the working-set sampler counts re-touches of the pages whose translations it dropped.
   */
  onMiss?(vm: VmId, gppn: Gppn, write: boolean): void;
}

/** Named crash points of the COW break (threat FLT-01), for fault injection under model C1. */
export const COW_CRASH_POINTS = ['cow.afterAlloc', 'cow.afterCopy', 'cow.afterRemap', 'cow.afterDecRef'] as const;

/** Result of {@link MemoryManager.checkInvariants}: empty `violations` means the god view is consistent. */
export interface InvariantReport {
  /** Frames in use according to the machine. */
  framesUsed: number;
  /** Σ over frames of refcount. */
  refTotal: number;
  /** Σ over every pmap of present mappings. */
  mappings: number;
  violations: string[];
}

/** Counters. */
export interface ManagerStats {
  firstTouches: number;
  cowBreaks: number;
  remaps: number;
}

/** One memory manager for all VMs. */
export class MemoryManager {
  readonly #pmaps = new Map<number, Pmap>();
  #invalidate: InvalidateFn = () => {};
  hooks: ResolveHooks = {};
  #stats: ManagerStats = { firstTouches: 0, cowBreaks: 0, remaps: 0 };
  /** Listeners told when a VM's pmap is created or removed (the allocator binds admission to ids). */
  readonly #vmListeners: ((vm: VmId, event: 'add' | 'remove', pages: number) => void)[] = [];
  /** Fault injector for crash points (tests only); throw a SimulatedCrash from it to crash. */
  faultInjector: ((point: string) => void) | undefined;

  constructor(readonly ctx: SimContext, readonly machine: MachineMemory) {}

  /** Sets the function that drops cached translations (the shadow MMU's). */
  setInvalidator(fn: InvalidateFn): void {
    this.#invalidate = fn;
  }

  /** Registers a VM with `pages` guest-physical pages. */
  addVm(vm: VmId, pages: number): Pmap {
    if (this.#pmaps.has(vm)) throw invariantError(`vm ${vm} already registered`);
    const p = new Pmap(vm, pages);
    this.#pmaps.set(vm, p);
    for (const l of this.#vmListeners) l(vm, 'add', pages);
    return p;
  }

  /** Subscribes to pmap creation/removal (TypeError unless `fn` is a function). */
  onVm(fn: (vm: VmId, event: 'add' | 'remove', pages: number) => void): void {
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    this.#vmListeners.push(fn);
  }

  /** True when `vm` has a pmap. */
  hasVm(vm: VmId): boolean {
    return this.#pmaps.has(vm);
  }

  /** The pmap of a VM (TVMM-internal). */
  pmap(vm: VmId): Pmap {
    const p = this.#pmaps.get(vm);
    if (!p) throw new TerraError('NOT_FOUND', `no such vm ${vm}`);
    return p;
  }

  /** VM ids with a pmap. */
  vms(): VmId[] {
    return [...this.#pmaps.keys()] as VmId[];
  }

  /** Frees every frame of a VM and forgets it. */
  removeVm(vm: VmId): void {
    const p = this.pmap(vm);
    for (let g = 0; g < p.pages; g++) this.unmap(vm, g as Gppn);
    for (const l of this.#vmListeners) l(vm, 'remove', p.pages);
    this.#pmaps.delete(vm);
  }

  /**
   * The per-page state machine on a translation miss: returns the frame that backs `gppn` for an
   * access (write = true breaks copy-on-write first). Never hands out a shared frame for writing.
   */
  resolve(vm: VmId, gppn: Gppn, write: boolean): Mpn {
    const p = this.pmap(vm);
    this.hooks.onMiss?.(vm, gppn, write);
    let st = p.state[gppn];
    if (!(st & PageState.PRESENT)) {
      if (st & PageState.SWAPPED) {
        if (!this.hooks.swapIn) throw invariantError('swapped page without a swap hook');
        this.hooks.swapIn(vm, gppn);
        st = p.state[gppn];
        if (!(st & PageState.PRESENT)) throw invariantError('swap-in left the page absent');
      } else {
        if (st & PageState.BALLOONED) {
          this.hooks.balloonPop?.(vm, gppn);
          p.state[gppn] &= ~PageState.BALLOONED;
        }
        this.hooks.beforeAlloc?.(vm);
        const m = this.machine.alloc(vm);
        p.mpn[gppn] = m;
        p.state[gppn] = (p.state[gppn] | PageState.PRESENT) & ~PageState.SHARED;
        this.#stats.firstTouches++;
        this.ctx.clock.advance(this.ctx.costs.pageZero);
        return m;
      }
    }
    if (write && st & PageState.SHARED) return this.breakCow(vm, gppn);
    return p.mpn[gppn] as Mpn;
  }

  /**
   * Gives `gppn` a private copy of its shared frame (copy-on-write break). Error-atomic: a crash at
   * any of {@link COW_CRASH_POINTS} (threat FLT-01, model C1) leaves refcounts equal to mappings and
   * the page mapped to a frame holding its pre-write content.
   */
  breakCow(vm: VmId, gppn: Gppn): Mpn {
    const p = this.pmap(vm);
    const old = p.mpn[gppn] as Mpn;
    if (!(p.state[gppn] & PageState.SHARED)) return old;
    if (this.machine.refcount[old] === 1) {
      // Last sharer: take the frame back privately.
      this.machine.flags[old] &= ~FrameFlag.SHARED;
      this.machine.owner[old] = vm;
      p.state[gppn] &= ~PageState.SHARED;
      this.#invalidate(vm, gppn);
      this.#stats.cowBreaks++;
      this.onCowBreak?.(vm, gppn, old, old);
      return old;
    }
    this.hooks.beforeAlloc?.(vm);
    const fresh = this.machine.alloc(vm);
    let stage = 0;
    try {
      this.#crash('cow.afterAlloc');
      this.machine.copy(fresh, old);
      this.#crash('cow.afterCopy');
      p.mpn[gppn] = fresh;
      p.state[gppn] &= ~PageState.SHARED;
      this.#invalidate(vm, gppn);
      stage = 1;
      this.#crash('cow.afterRemap');
      this.machine.decRef(old);
      stage = 2;
      this.#crash('cow.afterDecRef');
    } catch (e) {
      if (stage === 0) this.machine.decRef(fresh);
      else if (stage === 1) {
        // Roll back: the page keeps its shared (pre-write) frame.
        p.mpn[gppn] = old;
        p.state[gppn] |= PageState.SHARED;
        this.#invalidate(vm, gppn);
        this.machine.decRef(fresh);
      }
      // stage 2: the break is complete (the write itself has not happened): roll forward.
      if (stage !== 2) throw e;
      this.#stats.cowBreaks++;
      this.onCowBreak?.(vm, gppn, old, fresh);
      throw e;
    }
    this.#stats.cowBreaks++;
    this.ctx.clock.advance(this.ctx.costs.pageCopy);
    this.onCowBreak?.(vm, gppn, old, fresh);
    return fresh;
  }

  #crash(point: string): void {
    this.faultInjector?.(point);
  }

  /**
   * God view (tests, attacks, recovery): checks refcount(f) = number of pmap mappings of f for every
   * frame, frames in use ≤ machine frames, shared frames flagged SHARED, ballooned/swapped pages
   * unmapped, and private frames mapped once. Never throws; returns the violations found.
   */
  checkInvariants(): InvariantReport {
    const m = this.machine;
    const counts = new Uint32Array(m.frames);
    const violations: string[] = [];
    let mappings = 0;
    for (const p of this.#pmaps.values()) {
      for (let g = 0; g < p.pages; g++) {
        const st = p.state[g], f = p.mpn[g];
        if (st & PageState.PRESENT) {
          if (f === NO_MPN) { violations.push(`vm ${p.vm} gppn ${g}: present without a frame`); continue; }
          counts[f]++;
          mappings++;
          if (!(m.flags[f] & FrameFlag.USED)) violations.push(`vm ${p.vm} gppn ${g}: maps free frame ${f}`);
          if (st & (PageState.BALLOONED | PageState.SWAPPED)) violations.push(`vm ${p.vm} gppn ${g}: present and ballooned/swapped`);
        } else if (f !== NO_MPN) violations.push(`vm ${p.vm} gppn ${g}: absent page holds frame ${f}`);
      }
    }
    let refTotal = 0;
    let used = 0;
    for (let f = 0; f < m.frames; f++) {
      refTotal += m.refcount[f];
      if (m.flags[f] & FrameFlag.USED) used++;
      if (m.owner[f] === OWNER_TVMM) continue;
      if (m.refcount[f] !== counts[f]) violations.push(`frame ${f}: refcount ${m.refcount[f]} != mappings ${counts[f]}`);
      if (counts[f] > 1 && !(m.flags[f] & FrameFlag.SHARED)) violations.push(`frame ${f}: ${counts[f]} mappings but not shared`);
    }
    for (const p of this.#pmaps.values())
      for (let g = 0; g < p.pages; g++) {
        const f = p.mpn[g];
        if (f !== NO_MPN && p.state[g] & PageState.PRESENT && counts[f] > 1 && !(p.state[g] & PageState.SHARED))
          violations.push(`vm ${p.vm} gppn ${g}: writable mapping of multiply-mapped frame ${f}`);
      }
    if (used !== m.used || used > m.frames) violations.push(`frames used ${used} != machine count ${m.used}`);
    return { framesUsed: used, refTotal, mappings, violations };
  }

  /** Optional observer of COW breaks (the sharing engine keeps its table consistent with it). */
  onCowBreak?: (vm: VmId, gppn: Gppn, oldMpn: Mpn, newMpn: Mpn) => void;

  /**
   * Points `gppn` at frame `m` (taking the caller's reference), dropping the old frame's
   * reference. `shared` marks the mapping copy-on-write.
   */
  remap(vm: VmId, gppn: Gppn, m: Mpn, shared: boolean): void {
    const p = this.pmap(vm);
    const old = p.mpn[gppn];
    p.mpn[gppn] = m;
    p.state[gppn] = (p.state[gppn] | PageState.PRESENT) & ~(PageState.SWAPPED | PageState.BALLOONED);
    if (shared) p.state[gppn] |= PageState.SHARED;
    else p.state[gppn] &= ~PageState.SHARED;
    this.#invalidate(vm, gppn);
    if (old !== NO_MPN && old !== m) this.machine.decRef(old as Mpn);
    this.#stats.remaps++;
  }

  /** Drops `gppn`'s frame (if any); the page reads as zero at its next touch. */
  unmap(vm: VmId, gppn: Gppn): void {
    const p = this.pmap(vm);
    if (p.state[gppn] & PageState.SWAPPED) {
      this.hooks.swapRelease?.(vm, gppn);
      p.state[gppn] &= ~PageState.SWAPPED;
      p.swapSlot[gppn] = -1;
    }
    const old = p.mpn[gppn];
    if (old !== NO_MPN) {
      p.mpn[gppn] = NO_MPN;
      this.#invalidate(vm, gppn);
      this.machine.decRef(old as Mpn);
    }
    p.state[gppn] &= ~(PageState.PRESENT | PageState.SHARED);
  }

  /**
   * Returns a private, writable frame for `gppn` before an in-place write by any path other than a
   * guest store (cloak encryption in place, an emulated device's status page, DMA): breaks sharing
   * first, so no side path ever writes a shared frame (threat MEM-05). Same as resolve(write=true).
   */
  makePrivate(vm: VmId, gppn: Gppn): Mpn {
    return this.resolve(vm, this.checkGppn(vm, gppn), true);
  }

  /** Drops cached translations of `gppn` (for mechanisms that change a page's view in place). */
  invalidate(vm: VmId, gppn: Gppn): void {
    this.#invalidate(vm, gppn);
  }

  /** Validates a GPPN for `vm` (RangeError when out of range). */
  checkGppn(vm: VmId, g: unknown): Gppn {
    return checkInt('gppn', g, 0, this.pmap(vm).pages - 1) as Gppn;
  }

  /** Counters. */
  stats(): ManagerStats {
    return { ...this.#stats };
  }
}
