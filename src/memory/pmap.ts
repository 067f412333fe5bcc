/**
 * The per-VM physical map (pmap) after ESX (Waldspurger, OSDI'02 §2): GPPN → MPN plus per-page
 * state bits, on typed arrays. Held by the TVMM only; the guest never sees it.
 */
import { checkInt, NO_MPN, type VmId } from '../sim/index.js';

/** Per-GPPN state bits. */
export const PageState = {
  /** Mapped to a machine frame (`mpn[gppn]` valid). */
  PRESENT: 1,
  /** Mapped to a shared copy-on-write frame: a write must first break sharing. */
  SHARED: 2,
  /** Contents are in host swap (`swapSlot[gppn]`). */
  SWAPPED: 4,
  /** Reclaimed by the balloon: no frame until the guest touches it (a "pop"). */
  BALLOONED: 8,
  /** Cloaked: the cloak engine decides the frame's view (Overshadow). */
  CLOAKED: 16,
  /** A guest page-table page read by the MMU walker: writes to it are traced. */
  TRACED: 32,
  /** Pinned: not eligible for swap or sharing (e.g. DMA in flight). */
  PINNED: 64,
} as const;

/** GPPN → MPN map and state for one VM. */
export class Pmap {
  readonly pages: number;
  /** Machine frame per GPPN, {@link NO_MPN} when none. */
  readonly mpn: Uint32Array;
  /** {@link PageState} bits per GPPN. */
  readonly state: Uint8Array;
  /** Host swap slot per GPPN (valid when SWAPPED). */
  readonly swapSlot: Int32Array;

  constructor(readonly vm: VmId, pages: number) {
    this.pages = checkInt('pages', pages, 1, 2 ** 24);
    this.mpn = new Uint32Array(pages).fill(NO_MPN);
    this.state = new Uint8Array(pages);
    this.swapSlot = new Int32Array(pages).fill(-1);
  }

  /** Number of GPPNs with a frame. */
  resident(): number {
    let n = 0;
    for (let i = 0; i < this.pages; i++) if (this.state[i] & PageState.PRESENT) n++;
    return n;
  }
}
