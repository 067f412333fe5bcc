/**
 * The guest kernel's state as bytes in guest-physical memory (docs/guest-layout.md). A VM
 * introspection tool outside the VM (Garfinkel & Rosenblum, NDSS'03, "A Virtual Machine
 * Introspection Based Architecture for Intrusion Detection") rebuilds the process list, open files
 * and syscall table from these bytes alone (see introspect.ts). All fields are little-endian u32.
 */

/** Magic at the start of the kernel header page ('TCKN'). */
export const KHDR_MAGIC = 0x4e4b4354;
/** Layout version. */
export const KHDR_VERSION = 1;

/** Guest-physical page numbers of the fixed kernel regions. */
export const KLAYOUT = Object.freeze({
  /** Kernel header (offsets below in {@link KHDR}). */
  headerGppn: 0,
  /** Kernel text: deterministic bytes (the syscall handlers' "code"). */
  textGppn: 1,
  textPages: 8,
  /** Syscall table: `sysEntries` u32 entries, each the kernel virtual address of a handler (0 = none). */
  sysTableGppn: 9,
  sysEntries: 1024,
  /** Process table: `procSlots` entries of `procEntrySize` bytes. */
  procTableGppn: 10,
  procSlots: 64,
  procEntrySize: 128,
  /** Per-process fd tables, indexed by process slot: `fdsPerProc` u32 (open-file index + 1, 0 = closed). */
  fdTableGppn: 12,
  fdsPerProc: 32,
  /** Open-file table: `fileSlots` entries of `fileEntrySize` bytes. */
  fileTableGppn: 14,
  fileSlots: 256,
  fileEntrySize: 32,
  /** Pipe table: `pipeSlots` entries of `pipeEntrySize` bytes. */
  pipeTableGppn: 16,
  pipeSlots: 64,
  pipeEntrySize: 32,
  /** First page the page allocator manages. */
  firstFreeGppn: 17,
  /** Kernel virtual address of kernel text (handler addresses in the syscall table point here). */
  textVa: 0xc0100000,
  /** Bytes of text per syscall handler ("function size"). */
  handlerStride: 32,
});

/** Byte offsets of the kernel header fields. */
export const KHDR = Object.freeze({
  magic: 0, version: 4, textGppn: 8, textPages: 12, sysTableGppn: 16, sysEntries: 20,
  procTableGppn: 24, procSlots: 28, procEntrySize: 32, fdTableGppn: 36, fdsPerProc: 40,
  fileTableGppn: 44, fileSlots: 48, fileEntrySize: 52, pipeTableGppn: 56, pipeSlots: 60,
  nextPid: 64, memoryPages: 68, freePages: 72, fsSuperGppn: 76, textVa: 80, handlerStride: 84,
  /** GPPNs of the filesystem's inode-table pages (`fsInodePages` u32 entries). */
  fsInodePageCount: 88, fsInodePages: 92,
});

/** Process-table entry field offsets. */
export const PROC = Object.freeze({
  state: 0, pid: 4, ppid: 8, tid: 12, root: 16, brk: 20, exitStatus: 24, mmapNext: 28,
  sleepUntilLo: 32, sleepUntilHi: 36, pendingNr: 40, rssPages: 44, name: 48, nameMax: 48, swapPages: 96, argc: 100,
});

/** Process states as stored in the process table. */
export const PSTATE = Object.freeze({ free: 0, ready: 1, blocked: 2, zombie: 3 });
/** Names of {@link PSTATE} values. */
export const PSTATE_NAMES = Object.freeze(['free', 'ready', 'blocked', 'zombie'] as const);

/** Open-file entry field offsets. */
export const FILE = Object.freeze({ type: 0, refs: 4, flags: 8, ino: 12, offset: 16, pipe: 20 });
/** Open-file types. */
export const FTYPE = Object.freeze({ free: 0, file: 1, pipeRead: 2, pipeWrite: 3, console: 4 });
/** Names of {@link FTYPE} values. */
export const FTYPE_NAMES = Object.freeze(['free', 'file', 'pipe-read', 'pipe-write', 'console'] as const);

/** Pipe entry field offsets (the ring buffer is one guest page). */
export const PIPE = Object.freeze({ used: 0, bufGppn: 4, head: 8, count: 12, readers: 16, writers: 20 });

/** Page-table entry bits (the MMU's P/W/U plus two software bits in the "available" field). */
export const PTE = Object.freeze({
  P: 1, W: 2, U: 4,
  /** Software: copy-on-write (the page is shared read-only; a write fault copies). */
  COW: 0x200,
  /** Software, with P clear: the page is in guest swap; bits 12–31 hold the swap slot. */
  SWAP: 0x400,
});

/** A deterministic byte generator for kernel text (xorshift32; no randomness involved). */
export function kernelTextBytes(len: number, seed = 0x7e77ac1d): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The kernel virtual address the syscall table should hold for syscall `nr`. */
export function handlerAddress(nr: number): number {
  return (KLAYOUT.textVa + nr * KLAYOUT.handlerStride) >>> 0;
}
