/**
 * The machine-memory manager after ESX (Waldspurger, OSDI'02): one manager for every VM over the
 * shared {@link MachineMemory}. This file holds the substrate: VM registration, the per-page state
 * machine that the MMU calls on a miss (first touch → zeroed frame; write to a shared frame →
 * private copy), remapping with invalidation, and teardown. Reclamation mechanisms (sharing,
 * ballooning, host swap, share-based allocation) hook into the same state machine.
 */
import { checkInt, InvariantError, NO_MPN, TerraError, type Gppn, type Mpn, type SimContext, type VmId } from '../sim/index.js';
import { FrameFlag, MachineMemory } from './machine.js';
import { PageState, Pmap } from './pmap.js';

/** Called whenever a GPPN's mapping changes, so every cached translation of it is dropped. */
export type InvalidateFn = (vm: VmId, gppn: Gppn) => void;

/** Hooks for reclamation mechanisms on the resolve path. */
export interface ResolveHooks {
  /** Brings a swapped-out page back; must return a present frame (or throw a TerraError). */
  swapIn?(vm: VmId, gppn: Gppn): Mpn;
  /** The guest touched a ballooned page (a balloon "pop"). */
  balloonPop?(vm: VmId, gppn: Gppn): void;
  /** Called before a frame is allocated, so the allocator can reclaim under pressure. */
  beforeAlloc?(vm: VmId): void;
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

  constructor(readonly ctx: SimContext, readonly machine: MachineMemory) {}

  /** Sets the function that drops cached translations (the shadow MMU's). */
  setInvalidator(fn: InvalidateFn): void {
    this.#invalidate = fn;
  }

  /** Registers a VM with `pages` guest-physical pages. */
  addVm(vm: VmId, pages: number): Pmap {
    if (this.#pmaps.has(vm)) throw new InvariantError(`vm ${vm} already registered`);
    const p = new Pmap(vm, pages);
    this.#pmaps.set(vm, p);
    return p;
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
    this.#pmaps.delete(vm);
  }

  /**
   * The per-page state machine on a translation miss: returns the frame that backs `gppn` for an
   * access (write = true breaks copy-on-write first). Never hands out a shared frame for writing.
   */
  resolve(vm: VmId, gppn: Gppn, write: boolean): Mpn {
    const p = this.pmap(vm);
    let st = p.state[gppn];
    if (!(st & PageState.PRESENT)) {
      if (st & PageState.SWAPPED) {
        if (!this.hooks.swapIn) throw new InvariantError('swapped page without a swap hook');
        this.hooks.swapIn(vm, gppn);
        st = p.state[gppn];
        if (!(st & PageState.PRESENT)) throw new InvariantError('swap-in left the page absent');
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

  /** Gives `gppn` a private copy of its shared frame (copy-on-write break). */
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
    this.machine.copy(fresh, old);
    p.mpn[gppn] = fresh;
    p.state[gppn] &= ~PageState.SHARED;
    this.#invalidate(vm, gppn);
    this.machine.decRef(old);
    this.#stats.cowBreaks++;
    this.ctx.clock.advance(this.ctx.costs.pageCopy);
    this.onCowBreak?.(vm, gppn, old, fresh);
    return fresh;
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
    const old = p.mpn[gppn];
    if (old !== NO_MPN) {
      p.mpn[gppn] = NO_MPN;
      this.#invalidate(vm, gppn);
      this.machine.decRef(old as Mpn);
    }
    p.state[gppn] &= ~(PageState.PRESENT | PageState.SHARED);
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
