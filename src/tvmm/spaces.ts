/**
 * A per-VM budget of shadowed address spaces. Every guest page-table root the TVMM translates
 * through gets MMU contexts (a 1024-entry software TLB each, ~25 KB) held in TVMM memory; a guest
 * kernel that asks for a kernel view of every one of its pages, or creates threads on thousands of
 * roots, would make the TVMM allocate without bound (host memory exhaustion, and a linear scan per
 * lookup: denial of service to every co-tenant). Real shadow-paging VMMs cap their shadow
 * page-table pool and recycle it; so does this budget: when a VM is at its cap, the least recently
 * admitted roots that no live thread runs on are recycled (their contexts dropped — a later access
 * simply refills them), and when every root is in use by a live thread the request is refused with
 * TerraError('OUT_OF_MEMORY').
 */
import { TerraError } from '../sim/index.js';

/** Smallest and largest per-VM cap on shadowed address spaces (the cap scales with guest memory: pages / 16). */
export const MIN_ADDRESS_SPACES = 256;
export const MAX_ADDRESS_SPACES = 4096;
/** Most threads a VM may hold at once (live or exited but not destroyed). */
export const MAX_THREADS_PER_VM = 65536;

/** The address-space cap of a VM with `pages` guest pages. */
export function addressSpaceCap(pages: number): number {
  return Math.min(MAX_ADDRESS_SPACES, Math.max(MIN_ADDRESS_SPACES, pages >>> 4));
}

/** LRU set of admitted roots with recycling of roots no live thread uses. */
export class AddressSpaceBudget {
  readonly #roots = new Map<number, true>();
  constructor(
    readonly cap: number,
    /** Roots some live thread runs on (never recycled). */
    readonly liveRoots: () => ReadonlySet<number>,
    /** Drops every context of a recycled root. */
    readonly drop: (root: number) => void,
    /** Called when a root is recycled or a request refused (tracing). */
    readonly onEvent: (what: 'recycle' | 'refuse', root: number) => void = () => {},
  ) {}

  /** Admitted roots now. */
  get size(): number {
    return this.#roots.size;
  }

  /** True when `root` is admitted (no allocation needed to use it). */
  has(root: number): boolean {
    return this.#roots.has(root);
  }

  /** Admits `root` (recycling others if needed); TerraError('OUT_OF_MEMORY') when every admitted root is live. */
  admit(root: number): void {
    if (this.#roots.has(root)) {
      this.#roots.delete(root);
      this.#roots.set(root, true);
      return;
    }
    if (this.#roots.size >= this.cap) {
      const live = this.liveRoots();
      for (const r of this.#roots.keys()) {
        if (this.#roots.size < this.cap) break;
        if (live.has(r)) continue;
        this.#roots.delete(r);
        this.drop(r);
        this.onEvent('recycle', r);
      }
      if (this.#roots.size >= this.cap) {
        this.onEvent('refuse', root);
        throw new TerraError('OUT_OF_MEMORY', `the VM uses ${this.cap} address spaces, the most the TVMM shadows for it`);
      }
    }
    this.#roots.set(root, true);
  }

  /** Forgets `root` (the guest released it). */
  release(root: number): void {
    this.#roots.delete(root);
  }
}
