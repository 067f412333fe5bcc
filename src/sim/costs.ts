/**
 * The cost model: virtual-time charges (ns) per operation. Each default names its source; where a
 * paper gives cycles we convert at the paper's clock rate. Results are reported in this virtual
 * time, which is what makes them comparable to the papers.
 */
import { checkNumber, checkObject } from './validate.js';

/** Virtual-time costs in nanoseconds (per operation unless the name says per byte / per KiB). */
export interface CostTable {
  /** Plain guest memory access that hits the TLB. Order of a cached load on a ~3 GHz CPU. */
  memAccess: number;
  /** VM exit + entry round trip. Adams & Agesen ASPLOS'06 Table 1: 1931 + 2409 cycles at 3.8 GHz ≈ 1142 ns (P4). */
  exit: number;
  /** A hidden (shadow) page fault handled by the VMM's software MMU. Adams & Agesen Fig. 4: 3927 cycles (BT) at 3.8 GHz ≈ 1033 ns. */
  shadowFault: number;
  /** A true guest page fault delivered to the guest kernel. Adams & Agesen Fig. 4: 1093 cycles native ≈ 288 ns. */
  guestFault: number;
  /** A traced page-table write. Adams & Agesen Fig. 4: 391 cycles (BT) ≈ 103 ns. */
  tracedPteWrite: number;
  /** A hypercall round trip: one exit (same source as `exit`). */
  hypercall: number;
  /** A system call round trip in the guest, native: ~ 100 ns class (syscall/sysret, Adams & Agesen §5.4 baseline). */
  syscall: number;
  /** Copying a 4 KiB page (memcpy at ~8 GB/s). Our estimate for a 2008-era server. */
  pageCopy: number;
  /** Zeroing a 4 KiB page (~10 GB/s). Our estimate. */
  pageZero: number;
  /** Encrypting or decrypting one byte with AES (≈ 1 GB/s for AES-NI-less 2008 CPUs; Overshadow used AES-128 in software). Our estimate. */
  cryptoPerByte: number;
  /** Hashing one byte with SHA-256 / SHA-1 (Terra §4.2: SHA-1 of 1 GB took > 8 s on a 2.4 GHz P4 ⇒ ≈ 8 ns/byte). */
  hashPerByte: number;
  /** Hashing one 4 KiB page with a 64-bit non-cryptographic hash for page sharing (~4 GB/s). Our estimate. */
  sharingHash: number;
  /** Overshadow cloak transition fixed part (metadata lookup, shadow flush), beyond the crypto. Our estimate. */
  cloakTransition: number;
  /** Saving/scrubbing/restoring a cloaked thread context on a trap (Overshadow's secure control transfer). Our estimate: two extra world switches ≈ 2 × exit. */
  secureControlTransfer: number;
  /** Disk IO fixed latency (seek + rotation of a 2003-era 7200 rpm disk ≈ 8 ms). Terra-era disk. */
  diskIo: number;
  /** Disk transfer per byte (≈ 50 MB/s sequential ⇒ 20 ns/byte). */
  diskPerByte: number;
  /** Delivering a virtual interrupt into the guest (an exit + injection + guest handler ≈ 2 µs). vIC paper motivates interrupt cost; our estimate. */
  interrupt: number;
  /** Inter-processor interrupt send (vIC's 100 µs gate concerns IPI rates; an IPI costs ≈ 2 µs). Our estimate. */
  ipi: number;
  /** A guest context switch (kernel scheduler + CR3 load ≈ 1 µs). Our estimate. */
  contextSwitch: number;
  /** Host swap IO per page (a 4 KiB random write/read on a 2002-era disk ≈ 5 ms amortised by clustering). ESX §3.3 notes swap is slow; our estimate. */
  swapPage: number;
}

/** The default cost table; see each field's source. */
export const DEFAULT_COSTS: Readonly<CostTable> = Object.freeze({
  memAccess: 1,
  exit: 1142,
  shadowFault: 1033,
  guestFault: 288,
  tracedPteWrite: 103,
  hypercall: 1142,
  syscall: 100,
  pageCopy: 500,
  pageZero: 400,
  cryptoPerByte: 1,
  hashPerByte: 8,
  sharingHash: 1000,
  cloakTransition: 300,
  secureControlTransfer: 2284,
  diskIo: 8_000_000,
  diskPerByte: 20,
  interrupt: 2000,
  ipi: 2000,
  contextSwitch: 1000,
  swapPage: 5_000_000,
});

/** Builds a cost table from the defaults and overrides; every override must be a finite number ≥ 0. */
export function makeCosts(overrides: Partial<CostTable> = {}): CostTable {
  checkObject('costs', overrides);
  const out: CostTable = { ...DEFAULT_COSTS };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in DEFAULT_COSTS)) throw new RangeError(`costs: unknown operation ${JSON.stringify(k)}`);
    (out as unknown as Record<string, number>)[k] = checkNumber(`costs.${k}`, v, 0);
  }
  return out;
}
