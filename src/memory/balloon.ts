/**
 * Ballooning, the TVMM side (Waldspurger, OSDI'02 §3.2): the guest's balloon driver allocates
 * pinned pages inside the guest and reports their GPPNs over a private channel (hypercalls
 * BALLOON_TARGET / BALLOON_INFLATE / BALLOON_DEFLATE); the TVMM marks each reported GPPN BALLOONED
 * and frees its frame. A guest touch of a ballooned page "pops" the balloon: the fault is served by
 * a fresh zeroed frame (a first touch) and the next driver interaction first resets its state.
 *
 * Everything the guest reports is hostile input (Firecracker's FC-5 style: validate, skip, count):
 * out-of-range or non-integer GPPNs, duplicates, pages that are cloaked, pinned or page tables,
 * inflation past the target, and deflation of pages never inflated are skipped and counted, never
 * trusted. `actual` is the TVMM's own count of BALLOONED pages, never the guest's claim.
 * Deflated pages have no frame; the guest's next touch maps a zeroed frame (threat ISO-02b).
 *
 * Hypercall ABI (all integers; returns ≥ 0 or a negative HCERR):
 * - TARGET([claimedActual]): the target balloon size in pages (−EBUSY once after a pop: the driver must reset);
 * - INFLATE(g0 … g7): up to 8 GPPNs; returns the bit mask of accepted positions (bit i = gi);
 * - DEFLATE(g0 … g7): up to 8 GPPNs; returns the bit mask of released positions.
 * The masks let an honest driver keep exactly the pages the TVMM took, whatever was skipped.
 */
import { checkInt, type Gppn, type VmId } from '../sim/index.js';
import type { MemoryManager } from './manager.js';
import { PageState } from './pmap.js';
import { FrameFlag } from './machine.js';

/** Negative return codes (same numbers as the TVMM's HCERR). */
export const BALLOON_ERR = Object.freeze({ EINVAL: -22, EBUSY: -16 });

/** Per-VM balloon counters (virtio-balloon vocabulary). */
export interface BalloonStats {
  /** Host's requested balloon size, pages (virtio num_pages). */
  target: number;
  /** Pages currently ballooned, as counted by the TVMM (virtio actual). */
  actual: number;
  inflations: number;
  deflations: number;
  pops: number;
  /** Reports skipped because invalid: out of range, duplicate, ineligible, past target, never inflated. */
  rejectedInvalid: number;
  rejectedDuplicate: number;
  rejectedIneligible: number;
  rejectedPastTarget: number;
  rejectedNotInflated: number;
  /** Calls refused as malformed (wrong arg count). */
  malformedCalls: number;
}

function fresh(): BalloonStats {
  return { target: 0, actual: 0, inflations: 0, deflations: 0, pops: 0, rejectedInvalid: 0, rejectedDuplicate: 0, rejectedIneligible: 0, rejectedPastTarget: 0, rejectedNotInflated: 0, malformedCalls: 0 };
}

/** Number of set bits of a balloon hypercall result mask (how many pages were taken). */
export function balloonMaskCount(mask: number): number {
  let n = 0;
  for (let m = mask; m > 0; m >>>= 1) n += m & 1;
  return n;
}

/** The TVMM side of ballooning for every VM. */
export class BalloonService {
  readonly #mm: MemoryManager;
  readonly #vms = new Map<number, BalloonStats & { popped: boolean; lastContactNs: number }>();

  /** Creates the service over `mm` (it does not install hooks; the facade does). */
  constructor(mm: MemoryManager) {
    this.#mm = mm;
  }

  #st(vm: VmId) {
    let s = this.#vms.get(vm);
    if (!s) this.#vms.set(vm, (s = { ...fresh(), popped: false, lastContactNs: -1 }));
    return s;
  }

  /** Sets `vm`'s target balloon size (clamped to [0, pages]); RangeError on a non-integer. */
  setTarget(vm: VmId, pages: number): void {
    checkInt('pages', pages, 0);
    const p = this.#mm.pmap(vm);
    this.#st(vm).target = Math.min(pages, p.pages);
  }

  /** The current target of `vm`. */
  target(vm: VmId): number {
    return this.#vms.get(vm)?.target ?? 0;
  }

  /** Pages currently ballooned in `vm` (TVMM count). */
  actual(vm: VmId): number {
    return this.#vms.get(vm)?.actual ?? 0;
  }

  /** Virtual time of the driver's last hypercall, or −1 when it never called (for the non-cooperation fallback). */
  lastContact(vm: VmId): number {
    return this.#vms.get(vm)?.lastContactNs ?? -1;
  }

  /** hooks.balloonPop: the guest touched a ballooned page. */
  pop(vm: VmId, _g: Gppn): void {
    const s = this.#st(vm);
    s.pops++;
    s.actual = Math.max(0, s.actual - 1);
    s.popped = true;
    this.#mm.ctx.trace.emit('memory', 'balloon.pop', vm);
  }

  #reset(vm: VmId): void {
    // The driver's state is reset: every ballooned page is released (they have no frame).
    const p = this.#mm.pmap(vm);
    for (let g = 0; g < p.pages; g++) if (p.state[g] & PageState.BALLOONED) p.state[g] &= ~PageState.BALLOONED;
    const s = this.#st(vm);
    s.actual = 0;
    s.popped = false;
  }

  /** BALLOON_TARGET handler for the calling VM. */
  hcTarget(vm: VmId, args: readonly number[]): number {
    const s = this.#st(vm);
    s.lastContactNs = this.#mm.ctx.clock.now;
    // Optional argument: the driver's claimed balloon size. It is informational only (`actual` is the
    // TVMM's own count); a value outside [0, pages] is malformed and refused (no underflow, MEM-08h).
    if (args.length > 1 || (args.length === 1 && !(Number.isInteger(args[0]) && args[0] >= 0 && args[0] <= this.#mm.pmap(vm).pages))) {
      s.malformedCalls++;
      return BALLOON_ERR.EINVAL;
    }
    if (s.popped) {
      this.#reset(vm);
      return BALLOON_ERR.EBUSY;
    }
    return s.target;
  }

  /** Common checks of INFLATE/DEFLATE: records the contact; a malformed batch or a pending pop is refused (with the error to return). */
  #precheck(vm: VmId, s: BalloonStats & { popped: boolean; lastContactNs: number }, args: readonly number[]): number | undefined {
    s.lastContactNs = this.#mm.ctx.clock.now;
    if (args.length < 1 || args.length > 8) {
      s.malformedCalls++;
      return BALLOON_ERR.EINVAL;
    }
    if (s.popped) {
      this.#reset(vm);
      return BALLOON_ERR.EBUSY;
    }
    return undefined;
  }

  /** BALLOON_INFLATE handler: validates, skips and counts bad GPPNs; frees the frames of good ones. */
  hcInflate(vm: VmId, args: readonly number[]): number {
    const s = this.#st(vm);
    const refused = this.#precheck(vm, s, args);
    if (refused !== undefined) return refused;
    const p = this.#mm.pmap(vm);
    let ok = 0;
    let mask = 0;
    for (let i = 0; i < args.length; i++) {
      const g = args[i];
      if (!Number.isInteger(g) || g < 0 || g >= p.pages) {
        s.rejectedInvalid++;
        continue;
      }
      const st = p.state[g];
      if (st & PageState.BALLOONED) {
        s.rejectedDuplicate++;
        continue;
      }
      const f = p.mpn[g];
      // A page-table page may be ballooned (unmap invalidates every translation through it);
      // cloaked and pinned pages may not.
      if (st & (PageState.CLOAKED | PageState.PINNED) || (st & PageState.PRESENT && this.#mm.machine.flags[f] & (FrameFlag.CLOAKED | FrameFlag.PINNED))) {
        s.rejectedIneligible++;
        continue;
      }
      if (s.actual >= s.target) {
        s.rejectedPastTarget++;
        continue;
      }
      // One page is one atomic step (unmap, mark, count): a crash between pages (FLT-08) leaves the
      // accounting equal to the pages actually unmapped, and re-sending the batch is idempotent.
      this.#balloon(vm, g as Gppn);
      s.actual++;
      s.inflations++;
      ok++;
      mask |= 1 << i;
      this.#mm.faultInjector?.('balloon.afterPage');
    }
    if (ok) this.#mm.ctx.trace.emit('memory', 'balloon.inflate', vm, { pages: ok });
    return mask;
  }

  #balloon(vm: VmId, g: Gppn): void {
    const p = this.#mm.pmap(vm);
    this.#mm.unmap(vm, g);
    p.state[g] |= PageState.BALLOONED;
  }

  /** BALLOON_DEFLATE handler: releases GPPNs this VM inflated; others are skipped and counted. */
  hcDeflate(vm: VmId, args: readonly number[]): number {
    const s = this.#st(vm);
    const refused = this.#precheck(vm, s, args);
    if (refused !== undefined) return refused;
    const p = this.#mm.pmap(vm);
    let ok = 0;
    let mask = 0;
    for (let i = 0; i < args.length; i++) {
      const g = args[i];
      if (!Number.isInteger(g) || g < 0 || g >= p.pages) {
        s.rejectedInvalid++;
        continue;
      }
      if (!(p.state[g] & PageState.BALLOONED)) {
        s.rejectedNotInflated++;
        continue;
      }
      // No frame: the guest's next touch maps a zeroed frame.
      p.state[g] &= ~PageState.BALLOONED;
      s.actual--;
      s.deflations++;
      ok++;
      mask |= 1 << i;
    }
    if (ok) this.#mm.ctx.trace.emit('memory', 'balloon.deflate', vm, { pages: ok });
    return mask;
  }

  /** Forgets a VM. */
  removeVm(vm: VmId): void {
    this.#vms.delete(vm);
  }

  /** Per-VM counters (a copy). */
  stats(vm: VmId): BalloonStats {
    const s = this.#vms.get(vm);
    if (!s) return fresh();
    const { popped: _p, lastContactNs: _l, ...rest } = s;
    return { ...rest };
  }
}
