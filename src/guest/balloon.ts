/**
 * The guest balloon driver after VMware ESX (Waldspurger, OSDI'02 §3.2): a kernel driver that polls
 * the VMM for its target once per virtual second, inflates by allocating *pinned* pages through the
 * guest kernel's own allocator (so under pressure the guest decides what to page out to its own
 * swap) and reports their GPPNs by hypercall, and deflates by telling the VMM and freeing the pages
 * back to the kernel. Its allocation rate adapts (doubling while allocations succeed easily,
 * halving when they fail or the guest runs short of free pages) so it does not stress the guest.
 * After a balloon "pop" (the VMM answers −EBUSY) it resets: it forgets its pages and frees them.
 */
import { checkInt, checkObject, NS_PER_S } from '../sim/index.js';
import { HC, HCERR } from '../tvmm/index.js';
import type { KernelDriver, KernelServices } from './driver.js';

/** Options of {@link BalloonDriver}. */
export interface BalloonDriverOptions {
  /** Poll period (default 1 virtual second, ESX §3.2). */
  periodNs?: number;
  /** Initial pages per tick (default 256). */
  initialRate?: number;
  /** Bounds of the adaptive rate (default 16 … 8192 pages per tick). */
  minRate?: number;
  maxRate?: number;
  /** Below this fraction of free guest pages the rate halves (default 0.05). */
  lowFreeFraction?: number;
}

/** The guest's balloon driver (one per VM). */
export class BalloonDriver implements KernelDriver {
  readonly name = 'balloon';
  readonly periodNs: number;
  #rate: number;
  readonly #min: number;
  readonly #max: number;
  readonly #lowFree: number;
  readonly #pages: number[] = [];
  #s = { target: 0, inflations: 0, deflations: 0, pops: 0, allocFailures: 0, hypercallErrors: 0, refused: 0, polls: 0 };

  /** RangeError/TypeError on bad options. */
  constructor(opts: BalloonDriverOptions = {}) {
    checkObject('options', opts);
    this.periodNs = opts.periodNs === undefined ? NS_PER_S : checkInt('periodNs', opts.periodNs, 1);
    this.#min = opts.minRate === undefined ? 16 : checkInt('minRate', opts.minRate, 1);
    this.#max = opts.maxRate === undefined ? 8192 : checkInt('maxRate', opts.maxRate, this.#min);
    this.#rate = opts.initialRate === undefined ? 256 : checkInt('initialRate', opts.initialRate, this.#min, this.#max);
    this.#lowFree = opts.lowFreeFraction === undefined ? 0.05 : (opts.lowFreeFraction >= 0 && opts.lowFreeFraction < 1 ? opts.lowFreeFraction : (() => { throw new RangeError('lowFreeFraction must be in [0, 1)'); })());
  }

  /** Pages currently held by the balloon (as the driver believes). */
  get held(): number {
    return this.#pages.length;
  }

  #reset(k: KernelServices): void {
    this.#s.pops++;
    while (this.#pages.length) k.freePage(this.#pages.pop()!);
  }

  /** One poll: read the target, then inflate or deflate toward it. */
  tick(k: KernelServices): void {
    this.#s.polls++;
    const t = k.platform.hypercall(HC.BALLOON_TARGET, []);
    if (t === HCERR.EBUSY) return this.#reset(k);
    if (t < 0) {
      this.#s.hypercallErrors++;
      return;
    }
    const target = Math.min(t, k.totalPages());
    this.#s.target = target;
    if (this.#pages.length < target) this.#inflate(k, Math.min(target - this.#pages.length, this.#rate));
    else if (this.#pages.length > target) this.#deflate(k, this.#pages.length - target);
  }

  #inflate(k: KernelServices, want: number): void {
    const batch: number[] = [];
    let failed = false;
    for (let i = 0; i < want; i++) {
      const g = k.allocPage({ pinned: true });
      if (g === undefined) {
        failed = true;
        this.#s.allocFailures++;
        break;
      }
      batch.push(g);
    }
    for (let i = 0; i < batch.length; i += 8) {
      const chunk = batch.slice(i, i + 8);
      const r = k.platform.hypercall(HC.BALLOON_INFLATE, chunk);
      if (r === HCERR.EBUSY) {
        for (const g of batch.slice(i)) k.freePage(g);
        return this.#reset(k);
      }
      if (r < 0) this.#s.hypercallErrors++;
      // The VMM answers with the bit mask of the pages it took: keep those, give the rest back.
      for (let j = 0; j < chunk.length; j++) {
        if (r > 0 && r & (1 << j)) {
          this.#pages.push(chunk[j]);
          this.#s.inflations++;
        } else {
          k.freePage(chunk[j]);
          if (r >= 0) this.#s.refused++;
        }
      }
    }
    const lowFree = k.freePages() < this.#lowFree * k.totalPages();
    this.#rate = failed || lowFree ? Math.max(this.#min, this.#rate >>> 1) : Math.min(this.#max, this.#rate * 2);
  }

  #deflate(k: KernelServices, n: number): void {
    while (n > 0 && this.#pages.length) {
      const chunk = this.#pages.splice(Math.max(0, this.#pages.length - Math.min(8, n)));
      const r = k.platform.hypercall(HC.BALLOON_DEFLATE, chunk);
      if (r === HCERR.EBUSY) {
        for (const g of chunk) k.freePage(g);
        return this.#reset(k);
      }
      if (r < 0) this.#s.hypercallErrors++;
      for (const g of chunk) k.freePage(g);
      this.#s.deflations += chunk.length;
      n -= chunk.length;
    }
  }

  /** virtio-balloon style counters: target, actual, inflations, deflations, pops, and the adaptive rate. */
  stats(): Record<string, number> {
    return { ...this.#s, actual: this.#pages.length, rate: this.#rate };
  }
}
