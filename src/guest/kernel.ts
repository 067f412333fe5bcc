/**
 * The untrusted guest kernel (DESIGN.md §1, §4): a Unix-like OS modelled on classic V6/xv6
 * structure (Cox, Kaashoek & Morris, "xv6: a simple, Unix-like teaching operating system") —
 * a physical page allocator, processes with 2-level page tables in guest memory, a program loader,
 * demand paging with copy-on-write fork, guest swap, a timer, a round-robin scheduler, pipes,
 * signals, an in-guest filesystem, periodic drivers (the balloon of Waldspurger OSDI'02 §3.2), and
 * an adversary hook set (adversary.ts). Its state is mirrored as bytes in guest memory in the
 * layout of layout.ts / docs/guest-layout.md, and dispatch goes through the syscall table in guest
 * memory. It reaches the VMM only through the GuestPlatform.
 *
 * Deviation from real fork: a program passes the child's body as the continuation of its fork
 * syscall (the TVMM runs it in the child); the parent gets the child's pid, the child starts that
 * body with a copy-on-write copy of the parent's address space.
 *
 * Disk IO is synchronous DMA (GuestDisk.read/write), except on a root disk the TVMM fronted with an
 * asynchronous controller (GuestDisk.submit/complete, e.g. a virtual SCSI controller with vIC,
 * ATC'11): read(2) queues the missing pages and fsync(2) the dirty ones, the caller sleeps on the
 * 'disk' channel and its call is re-executed when the controller's completion interrupt
 * (GuestDisk.vector) has polled the ring (reads into the page cache). Metadata, swap, mmap faults
 * and the loader keep the synchronous path.
 */
import { ERRNO, LIBC_SCRATCH, MAP, O, PROT, SEEK, SIG, SYS, USER_LAYOUT, WAIT, waitStatusExited } from './abi.js';
import type { KernelDriver, KernelServices } from './driver.js';
import type {
  FaultContext, InterruptContext, KernelAccess, KernelAdversary, ProcessInfo, SyscallContext, SyscallResultContext,
} from './adversary.js';
import { GuestFs, MAX_FILE_PAGES } from './fs.js';
import {
  FILE, FTYPE, handlerAddress, KHDR, KHDR_MAGIC, KHDR_VERSION, KLAYOUT, kernelTextBytes, PIPE, PROC, PSTATE, PTE,
} from './layout.js';
import { GuestFault, type GuestDisk, type GuestOs, type GuestPlatform, type RegisterName, type TrapInfo } from '../tvmm/index.js';
import { InvariantError, TerraError } from '../sim/index.js';

/** Whether an error out of a kernel-view access is the user's bad pointer (→ EFAULT). */
function userFault(e: unknown): boolean {
  return e instanceof GuestFault || e instanceof RangeError || e instanceof TypeError || e instanceof TerraError;
}

const PAGE = 4096;
const BLOCK: unique symbol = Symbol('block');
type SysResult = number | typeof BLOCK;

/** The timer interrupt vector. */
export const TIMER_VECTOR = 32;
/** Largest byte count one read/write moves (Linux's MAX_RW_COUNT analogue, smaller). */
export const MAX_RW = 1 << 20;
/** User text pages the loader maps per program. */
export const TEXT_PAGES = 2;
/** Highest user heap address (the libc scratch area starts there). */
const HEAP_LIMIT = LIBC_SCRATCH.base;
const STACK_BASE = USER_LAYOUT.stackTop - USER_LAYOUT.stackPages * PAGE;
const MMAP_LIMIT = STACK_BASE - 16 * PAGE;

/** Page types of the allocator. */
const PT_FREE = 0, PT_KERNEL = 1, PT_PTABLE = 2, PT_USER = 3, PT_CACHE = 4, PT_DRIVER = 5;

/** Options of {@link GuestKernel}. */
export interface GuestKernelOptions {
  /** The first program (default 'init'). */
  readonly init?: string;
  /** Its argv (for the built-in init: the command lines it spawns). */
  readonly initArgv?: readonly string[];
  /** Drivers ticked at their period. */
  readonly drivers?: readonly KernelDriver[];
  /** Pages kept free for the kernel: user allocations below this trigger reclaim (default 32). */
  readonly reservePages?: number;
  /** Scheduling quantum in virtual ns (default 200 µs). */
  readonly quantumNs?: number;
  /** Adversary hooks (a compromised kernel); may also be set later via `kernel.adversary`. */
  readonly adversary?: KernelAdversary;
  /** Disk holding the filesystem (default 'root' when attached; otherwise RAM-only). */
  readonly rootDisk?: string;
  /** Disk used for guest swap (default 'swap' when attached). */
  readonly swapDisk?: string;
  /** Halt the VM when no process is left (default true). */
  readonly haltWhenDone?: boolean;
}

interface Vma {
  start: number;
  end: number;
  prot: number;
  kind: 'text' | 'heap' | 'stack' | 'anon' | 'file' | 'scratch';
  shared: boolean;
  ino: number;
  pgoff: number;
}

interface Process {
  pid: number;
  ppid: number;
  slot: number;
  tid: number;
  root: number;
  name: string;
  argv: readonly string[];
  state: 'ready' | 'blocked' | 'zombie';
  vmas: Vma[];
  brk: number;
  mmapNext: number;
  fds: Int32Array;
  handlers: Map<number, number>;
  ignored: Set<number>;
  exitStatus: number;
  pending: { nr: number; args: number[] } | undefined;
  chan: string | undefined;
  deadline: number;
  yielded: boolean;
}

interface OpenFile {
  type: number;
  refs: number;
  flags: number;
  ino: number;
  offset: number;
  pipe: number;
}

interface Pipe {
  g: number;
  head: number;
  count: number;
  readers: number;
  writers: number;
}

/** Kernel counters. */
export interface KernelStats {
  syscalls: number;
  faults: number;
  cowCopies: number;
  demandPages: number;
  swapOuts: number;
  swapIns: number;
  interrupts: number;
  droppedInterrupts: number;
  contextSwitches: number;
  forks: number;
  execs: number;
  exits: number;
  kernelErrors: number;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The guest kernel. Construct with options, pass as `guest` to Tvmm.createVm. */
export class GuestKernel implements GuestOs {
  /** The adversary hooks (a compromised kernel); undefined for an honest kernel. */
  adversary: KernelAdversary | undefined;
  readonly stats: KernelStats = {
    syscalls: 0, faults: 0, cowCopies: 0, demandPages: 0, swapOuts: 0, swapIns: 0, interrupts: 0, droppedInterrupts: 0,
    contextSwitches: 0, forks: 0, execs: 0, exits: 0, kernelErrors: 0,
  };
  readonly #opts: Required<Omit<GuestKernelOptions, 'adversary' | 'drivers' | 'rootDisk' | 'swapDisk'>> & { rootDisk?: string; swapDisk?: string };
  #p!: GuestPlatform;
  #booted = false;
  #halted = false;
  // allocator
  #type!: Uint8Array;
  #refs!: Uint32Array;
  #touched!: Uint8Array;
  #rmapPid!: Int32Array;
  #rmapVpn!: Int32Array;
  #free!: Int32Array;
  #freeTop = 0;
  #clockHand = 0;
  #reclaiming = false;
  // processes
  readonly #procs = new Map<number, Process>();
  readonly #byRoot = new Map<number, Process>();
  readonly #byTid = new Map<number, Process>();
  readonly #slots: (Process | undefined)[] = new Array(KLAYOUT.procSlots).fill(undefined);
  #nextPid = 1;
  readonly #ready: number[] = [];
  #runningPid = 0;
  #sliceStart = 0;
  // files
  readonly #files: (OpenFile | undefined)[] = new Array(KLAYOUT.fileSlots).fill(undefined);
  readonly #pipes: (Pipe | undefined)[] = new Array(KLAYOUT.pipeSlots).fill(undefined);
  #fs!: GuestFs;
  #swap: GuestDisk | undefined;
  /** References per swap slot (PTEs holding it; fork shares slots like Linux's swap_map). */
  #swapUsed: Uint16Array = new Uint16Array(0);
  #swapHint = 0;
  // time, interrupts, drivers
  readonly #irqs: number[] = [];
  #armed: number[] = [];
  readonly #drivers: { d: KernelDriver; next: number }[] = [];
  readonly #vectorHandlers = new Map<number, () => void>();
  /** Set by a syscall that returns BLOCK to choose its wait channel (e.g. 'disk'); read right after dispatch. */
  #blockChan: string | undefined;
  readonly #handlers = new Map<number, { nr: number; fn: (p: Process, a: number[]) => SysResult }>();
  #access: KernelAccess | undefined;
  #services: KernelServices | undefined;
  #crash: string | undefined;

  constructor(opts: GuestKernelOptions = {}) {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
    const int = (n: string, v: unknown, d: number, min: number, max: number): number => {
      if (v === undefined) return d;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new RangeError(`${n} must be an integer in [${min}, ${max}], got ${String(v)}`);
      return v;
    };
    if (opts.init !== undefined && (typeof opts.init !== 'string' || opts.init.length === 0)) throw new TypeError('init must be a non-empty string');
    if (opts.initArgv !== undefined && (!Array.isArray(opts.initArgv) || !opts.initArgv.every((a) => typeof a === 'string'))) throw new TypeError('initArgv must be an array of strings');
    this.#opts = {
      init: opts.init ?? 'init',
      initArgv: [...(opts.initArgv ?? [])],
      reservePages: int('reservePages', opts.reservePages, 32, 0, 1 << 20),
      quantumNs: int('quantumNs', opts.quantumNs, 200_000, 1, 1e12),
      haltWhenDone: opts.haltWhenDone ?? true,
      ...(opts.rootDisk !== undefined ? { rootDisk: String(opts.rootDisk) } : {}),
      ...(opts.swapDisk !== undefined ? { swapDisk: String(opts.swapDisk) } : {}),
    };
    this.adversary = opts.adversary;
    for (const d of opts.drivers ?? []) this.addDriver(d);
  }

  // =============================================================== boot

  /** GuestOs.boot: lays out kernel memory, mounts the filesystem, starts init. */
  boot(platform: GuestPlatform): void {
    if (this.#booted) this.#reset(); // a power cycle: fresh memory, fresh kernel
    this.#booted = true;
    this.#p = platform;
    const n = platform.memoryPages;
    this.#type = new Uint8Array(n);
    this.#refs = new Uint32Array(n);
    this.#touched = new Uint8Array(n);
    this.#rmapPid = new Int32Array(n).fill(-1);
    this.#rmapVpn = new Int32Array(n);
    this.#free = new Int32Array(n);
    for (let g = n - 1; g >= KLAYOUT.firstFreeGppn; g--) this.#free[this.#freeTop++] = g;
    for (let g = 0; g < KLAYOUT.firstFreeGppn; g++) {
      this.#type[g] = PT_KERNEL;
      this.#refs[g] = 1;
    }
    try {
      this.#layoutKernel();
      this.#installSyscalls();
      platform.onPageFault((root, gva, write, kind, user) => this.#pageFault(root, gva, write, kind, user));
      const rootName = this.#opts.rootDisk ?? (platform.disks().includes('root') ? 'root' : undefined);
      const fsDisk = rootName !== undefined ? platform.disk(rootName) : undefined;
      this.#fs = new GuestFs({
        phys: platform.phys,
        alloc: (kind) => this.#alloc(kind === 'meta' ? PT_KERNEL : PT_CACHE, kind === 'meta'),
        put: (g) => this.#put(g),
        refs: (g) => this.#refs[g],
      }, fsDisk);
      const how = this.#fs.mount();
      // Interrupt-driven root disk (the TVMM attached a controller): the completion interrupt polls
      // the ring, fills the page cache and wakes every process sleeping on 'disk'.
      if (this.#fs.asyncIo && fsDisk!.vector !== undefined && fsDisk!.vector !== TIMER_VECTOR) {
        this.#vectorHandlers.set(fsDisk!.vector, () => {
          if (this.#fs.completeIo() > 0) this.#wake('disk');
        });
      }
      platform.phys.store32(KHDR.fsSuperGppn, this.#fs.superGppn);
      const ip = this.#fs.inodeTablePages();
      platform.phys.store32(KHDR.fsInodePageCount, ip.length);
      ip.forEach((g, i) => platform.phys.store32(KHDR.fsInodePages + 4 * i, g));
      const swapName = this.#opts.swapDisk ?? (platform.disks().includes('swap') ? 'swap' : undefined);
      if (swapName !== undefined) {
        this.#swap = platform.disk(swapName);
        this.#swapUsed = new Uint16Array(Math.min(this.#swap.blocks, 1 << 20));
        this.#swapUsed[0] = 1; // slot 0 is never used (a zero slot is "no slot")
      }
      platform.console(`kernel: ${n} pages, fs ${how}${this.#swap ? `, swap ${this.#swapUsed.length - 1} slots` : ''}`);
      const now = platform.now();
      // The first timer tick (also wakes a VM the scheduler still marks idle from before a power cycle).
      this.#armFor(now + 1);
      for (const d of this.#drivers) {
        d.next = now + d.d.periodNs;
        this.#armFor(d.next);
      }
      if (!platform.programs().includes(this.#opts.init)) {
        this.#crash = `no init program ${JSON.stringify(this.#opts.init)}`;
        platform.console(`kernel: panic: ${this.#crash}`);
        return;
      }
      const init = this.#spawn(0, this.#opts.init, this.#opts.initArgv);
      if (typeof init === 'number') {
        this.#crash = `cannot start init (errno ${-init})`;
        platform.console(`kernel: panic: ${this.#crash}`);
      }
    } catch (e) {
      this.#crash = e instanceof Error ? e.message : String(e);
    }
  }

  #reset(): void {
    this.#procs.clear();
    this.#byRoot.clear();
    this.#byTid.clear();
    this.#slots.fill(undefined);
    this.#nextPid = 1;
    this.#ready.length = 0;
    this.#runningPid = 0;
    this.#files.fill(undefined);
    this.#pipes.fill(undefined);
    this.#swap = undefined;
    this.#swapUsed = new Uint16Array(0);
    this.#swapHint = 0;
    this.#freeTop = 0;
    this.#clockHand = 0;
    this.#irqs.length = 0;
    this.#armed = [];
    this.#handlers.clear();
    this.#access = undefined;
    this.#services = undefined;
    this.#crash = undefined;
    this.#halted = false;
  }

  #layoutKernel(): void {
    const ph = this.#p.phys;
    const h = KLAYOUT.headerGppn * PAGE;
    const fields: [number, number][] = [
      [KHDR.magic, KHDR_MAGIC], [KHDR.version, KHDR_VERSION], [KHDR.textGppn, KLAYOUT.textGppn], [KHDR.textPages, KLAYOUT.textPages],
      [KHDR.sysTableGppn, KLAYOUT.sysTableGppn], [KHDR.sysEntries, KLAYOUT.sysEntries], [KHDR.procTableGppn, KLAYOUT.procTableGppn],
      [KHDR.procSlots, KLAYOUT.procSlots], [KHDR.procEntrySize, KLAYOUT.procEntrySize], [KHDR.fdTableGppn, KLAYOUT.fdTableGppn],
      [KHDR.fdsPerProc, KLAYOUT.fdsPerProc], [KHDR.fileTableGppn, KLAYOUT.fileTableGppn], [KHDR.fileSlots, KLAYOUT.fileSlots],
      [KHDR.fileEntrySize, KLAYOUT.fileEntrySize], [KHDR.pipeTableGppn, KLAYOUT.pipeTableGppn], [KHDR.pipeSlots, KLAYOUT.pipeSlots],
      [KHDR.nextPid, 1], [KHDR.memoryPages, this.#p.memoryPages], [KHDR.textVa, KLAYOUT.textVa], [KHDR.handlerStride, KLAYOUT.handlerStride],
    ];
    for (const [off, v] of fields) ph.store32(h + off, v >>> 0);
    ph.write(KLAYOUT.textGppn * PAGE, kernelTextBytes(KLAYOUT.textPages * PAGE));
  }

  #installSyscalls(): void {
    const t = (nr: number, fn: (p: Process, a: number[]) => SysResult) => {
      this.#handlers.set(handlerAddress(nr), { nr, fn });
      this.#p.phys.store32(KLAYOUT.sysTableGppn * PAGE + nr * 4, handlerAddress(nr));
    };
    t(SYS.exit, (p, a) => this.#sysExit(p, a));
    t(SYS.fork, (p) => this.#sysFork(p));
    t(SYS.read, (p, a) => this.#sysRead(p, a));
    t(SYS.write, (p, a) => this.#sysWrite(p, a));
    t(SYS.open, (p, a) => this.#sysOpen(p, a));
    t(SYS.close, (p, a) => this.#sysClose(p, a[0]));
    t(SYS.waitpid, (p, a) => this.#sysWaitpid(p, a));
    t(SYS.unlink, (p, a) => this.#sysUnlink(p, a));
    t(SYS.execve, (p, a) => this.#sysExecve(p, a));
    t(SYS.lseek, (p, a) => this.#sysLseek(p, a));
    t(SYS.getpid, (p) => p.pid);
    t(SYS.getppid, (p) => p.ppid);
    t(SYS.kill, (p, a) => this.#sysKill(p, a));
    t(SYS.pipe, (p, a) => this.#sysPipe(p, a));
    t(SYS.brk, (p, a) => this.#sysBrk(p, a));
    t(SYS.signal, (p, a) => this.#sysSignal(p, a));
    t(SYS.munmap, (p, a) => this.#sysMunmap(p, a));
    t(SYS.fsync, (p, a) => this.#sysFsync(p, a));
    t(SYS.sched_yield, (p) => {
      p.yielded = true;
      return 0;
    });
    t(SYS.nanosleep, (p, a) => this.#sysNanosleep(p, a));
    t(SYS.mmap, (p, a) => this.#sysMmap(p, a[0], a[1], a[2], a[3], a[4], 0));
    t(SYS.old_mmap, (p, a) => {
      const b = this.#copyin(p, a[0], 24);
      if (!b) return -ERRNO.EFAULT;
      const v = new DataView(b.buffer, b.byteOffset);
      const w = (i: number) => v.getUint32(i * 4, true);
      return this.#sysMmap(p, w(0), w(1), w(2), w(3), w(4), w(5));
    });
    t(SYS.getrandom, (p, a) => {
      const n = Math.min(a[1], 4096);
      if (!this.#userRange(a[0], n)) return -ERRNO.EFAULT;
      const bytes = this.#p.entropy(n);
      return this.#copyout(p, a[0], bytes) ? n : -ERRNO.EFAULT;
    });
  }

  // =============================================================== page allocator

  #alloc(type: number, mayUseReserve: boolean): number | undefined {
    if (this.#freeTop <= this.#opts.reservePages && !this.#reclaiming) this.reclaim(16);
    if (this.#freeTop === 0 || (!mayUseReserve && this.#freeTop <= this.#opts.reservePages)) return undefined;
    const g = this.#free[--this.#freeTop];
    if (this.#touched[g]) this.#p.phys.zeroPage(g);
    this.#touched[g] = 1;
    this.#type[g] = type;
    this.#refs[g] = 1;
    this.#rmapPid[g] = -1;
    return g;
  }

  #get(g: number): void {
    this.#refs[g]++;
    this.#rmapPid[g] = -1;
  }

  #put(g: number): void {
    if (this.#refs[g] === 0) return;
    if (--this.#refs[g] > 0) {
      this.#rmapPid[g] = -1;
      return;
    }
    this.#type[g] = PT_FREE;
    this.#rmapPid[g] = -1;
    this.#free[this.#freeTop++] = g;
  }

  /** Frees memory under pressure: drops clean page-cache pages, then pages user pages out to guest swap. Returns pages freed. */
  reclaim(n: number): number {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${String(n)}`);
    if (this.#reclaiming || !this.#booted) return 0;
    this.#reclaiming = true;
    try {
      let freed = this.#fs ? this.#fs.evictClean(n) : 0;
      if (freed < n && this.#swap) freed += this.#swapOut(n - freed);
      return freed;
    } finally {
      this.#reclaiming = false;
    }
  }

  #swapOut(n: number): number {
    const pages = this.#p.memoryPages;
    let out = 0;
    for (let k = 0; k < pages && out < n; k++) {
      const g = (this.#clockHand = (this.#clockHand + 1) % pages);
      if (this.#type[g] !== PT_USER || this.#refs[g] !== 1 || this.#rmapPid[g] < 0) continue;
      const p = this.#procs.get(this.#rmapPid[g]);
      const vpn = this.#rmapVpn[g];
      if (!p || p.state === 'zombie') continue;
      const pte = this.#readPte(p.root, vpn);
      if (!(pte & PTE.P) || pte >>> 12 !== g) continue;
      const slot = this.#allocSlot();
      if (slot === 0) break;
      if (this.#swap!.write(slot, 1, g * PAGE) < 0) {
        this.#swapUsed[slot] = 0;
        break;
      }
      this.#writePte(p.root, vpn, ((slot << 12) | PTE.SWAP) >>> 0);
      this.#put(g);
      this.stats.swapOuts++;
      out++;
    }
    return out;
  }

  #allocSlot(): number {
    const len = this.#swapUsed.length;
    for (let k = 0; k < len; k++) {
      const s = (this.#swapHint + k) % len;
      if (!this.#swapUsed[s]) {
        this.#swapUsed[s] = 1;
        this.#swapHint = s + 1;
        return s;
      }
    }
    return 0;
  }

  #swapIn(p: Process, vpn: number, pte: number, vma: Vma): boolean {
    const slot = pte >>> 12;
    if (!this.#swap || slot === 0 || slot >= this.#swapUsed.length || !this.#swapUsed[slot]) return false;
    const g = this.#alloc(PT_USER, false);
    if (g === undefined) return false;
    if (this.#swap.read(slot, 1, g * PAGE) < 0) {
      this.#put(g);
      return false;
    }
    this.#swapUsed[slot]--;
    this.#mapUser(p, vpn, g, PTE.P | PTE.U | (vma.prot & PROT.WRITE ? PTE.W : 0));
    this.stats.swapIns++;
    return true;
  }

  // =============================================================== page tables

  #readPte(root: number, vpn: number): number {
    const pde = this.#p.phys.load32(root * PAGE + (vpn >>> 10) * 4);
    if (!(pde & PTE.P)) return 0;
    const pt = pde >>> 12;
    if (pt >= this.#p.memoryPages) return 0;
    return this.#p.phys.load32(pt * PAGE + (vpn & 1023) * 4);
  }

  /** Writes a PTE, creating the page table; false when no page could be had for it. */
  #writePte(root: number, vpn: number, pte: number): boolean {
    const pdeAddr = root * PAGE + (vpn >>> 10) * 4;
    let pde = this.#p.phys.load32(pdeAddr);
    if (!(pde & PTE.P)) {
      const pt = this.#alloc(PT_PTABLE, true);
      if (pt === undefined) return false;
      pde = ((pt << 12) | PTE.P | PTE.W | PTE.U) >>> 0;
      this.#p.phys.store32(pdeAddr, pde);
    }
    this.#p.phys.store32((pde >>> 12) * PAGE + (vpn & 1023) * 4, pte >>> 0);
    return true;
  }

  #mapUser(p: Process, vpn: number, g: number, flags: number): boolean {
    if (!this.#writePte(p.root, vpn, ((g << 12) | flags) >>> 0)) {
      this.#put(g);
      return false;
    }
    if (this.#refs[g] === 1 && this.#type[g] === PT_USER) {
      this.#rmapPid[g] = p.pid;
      this.#rmapVpn[g] = vpn;
    }
    return true;
  }

  /** Frees the user pages mapped in [startVpn, endVpn) of an address space (PTEs cleared). */
  #unmapRange(root: number, startVpn: number, endVpn: number): void {
    const ph = this.#p.phys;
    for (let pdi = startVpn >>> 10; pdi <= (endVpn - 1) >>> 10 && pdi < 1024; pdi++) {
      const pde = ph.load32(root * PAGE + pdi * 4);
      if (!(pde & PTE.P)) continue;
      const pt = pde >>> 12;
      if (pt >= this.#p.memoryPages) continue;
      const lo = Math.max(startVpn, pdi << 10), hi = Math.min(endVpn, (pdi + 1) << 10);
      const entries = ph.read(pt * PAGE, PAGE);
      const v = new DataView(entries.buffer);
      for (let vpn = lo; vpn < hi; vpn++) {
        const pte = v.getUint32((vpn & 1023) * 4, true);
        if (pte === 0) continue;
        this.#dropPte(pte);
        ph.store32(pt * PAGE + (vpn & 1023) * 4, 0);
      }
    }
  }

  #dropPte(pte: number): void {
    if (pte & PTE.P) {
      const g = pte >>> 12;
      if (g < this.#p.memoryPages && (this.#type[g] === PT_USER || this.#type[g] === PT_CACHE)) this.#put(g);
    } else if (pte & PTE.SWAP) {
      const s = pte >>> 12;
      if (s < this.#swapUsed.length && this.#swapUsed[s] > 0) this.#swapUsed[s]--;
    }
  }

  #freeSpace(root: number): void {
    const ph = this.#p.phys;
    const userPdes = USER_LAYOUT.kernelBase >>> 22;
    const dir = new DataView(ph.read(root * PAGE, PAGE).buffer);
    for (let pdi = 0; pdi < userPdes; pdi++) {
      const pde = dir.getUint32(pdi * 4, true);
      if (!(pde & PTE.P)) continue;
      const pt = pde >>> 12;
      if (pt >= this.#p.memoryPages || this.#type[pt] !== PT_PTABLE) continue;
      const v = new DataView(ph.read(pt * PAGE, PAGE).buffer);
      for (let i = 0; i < 1024; i++) {
        const pte = v.getUint32(i * 4, true);
        if (pte) this.#dropPte(pte);
      }
      this.#put(pt);
    }
    this.#put(root);
  }

  // =============================================================== page faults

  #findVma(p: Process, gva: number): Vma | undefined {
    for (const v of p.vmas) if (gva >= v.start && gva < v.end) return v;
    return undefined;
  }

  #pageFault(root: number, gva: number, write: boolean, kind: string, user: boolean): boolean {
    this.stats.faults++;
    const p = this.#byRoot.get(root);
    if (!p) return false;
    const adv = this.adversary?.onPageFault;
    if (adv) {
      const ctx: FaultContext = { pid: p.pid, root, gva, write, kind, user, kernel: this.access };
      const r = adv(ctx);
      if (r !== undefined) return r;
    }
    if (gva >= USER_LAYOUT.kernelBase) return false;
    const vma = this.#findVma(p, gva);
    if (!vma) return false;
    if (write && !(vma.prot & PROT.WRITE)) return false;
    if (!write && !(vma.prot & (PROT.READ | PROT.EXEC))) return false;
    const vpn = gva >>> 12;
    const pte = this.#readPte(root, vpn);
    if (kind === 'not-present') {
      if (pte & PTE.P) return true;
      if (pte & PTE.SWAP) return this.#swapIn(p, vpn, pte, vma);
      return this.#mapNew(p, vpn, vma, write);
    }
    if (kind === 'protection' && write && pte & PTE.P) {
      const g = pte >>> 12;
      if (pte & PTE.COW) return this.#cow(p, vpn, g);
      if (vma.shared) {
        if (vma.kind === 'file') this.#fs.markDirty(vma.ino, vma.pgoff + vpn - (vma.start >>> 12));
        return this.#writePte(root, vpn, (pte | PTE.W) >>> 0);
      }
    }
    return false;
  }

  #cow(p: Process, vpn: number, g: number): boolean {
    if (this.#refs[g] === 1 && this.#type[g] === PT_USER) {
      this.#mapUser(p, vpn, g, PTE.P | PTE.U | PTE.W);
      return true;
    }
    this.#get(g);
    const n = this.#alloc(PT_USER, false);
    if (n === undefined) {
      this.#put(g);
      return false;
    }
    this.#p.phys.write(n * PAGE, this.#p.phys.read(g * PAGE, PAGE));
    this.#put(g); // our temporary reference
    this.#put(g); // the mapping's reference
    this.stats.cowCopies++;
    return this.#mapUser(p, vpn, n, PTE.P | PTE.U | PTE.W);
  }

  #mapNew(p: Process, vpn: number, vma: Vma, write: boolean): boolean {
    this.stats.demandPages++;
    const w = vma.prot & PROT.WRITE ? PTE.W : 0;
    if (vma.kind === 'file') {
      const idx = vma.pgoff + vpn - (vma.start >>> 12);
      const g = this.#fs.page(vma.ino, idx);
      if (g < 0) return false;
      this.#get(g);
      if (vma.shared) {
        if (write) this.#fs.markDirty(vma.ino, idx);
        return this.#mapUser(p, vpn, g, PTE.P | PTE.U | (write ? w : 0));
      }
      if (write) {
        const n = this.#alloc(PT_USER, false);
        if (n === undefined) {
          this.#put(g);
          return false;
        }
        this.#p.phys.write(n * PAGE, this.#p.phys.read(g * PAGE, PAGE));
        this.#put(g);
        return this.#mapUser(p, vpn, n, PTE.P | PTE.U | PTE.W);
      }
      return this.#mapUser(p, vpn, g, PTE.P | PTE.U | (w ? PTE.COW : 0));
    }
    const g = this.#alloc(PT_USER, false);
    if (g === undefined) return false;
    if (vma.kind === 'text') {
      const page = vpn - (vma.start >>> 12);
      this.#p.phys.write(g * PAGE, kernelTextBytes(PAGE, (fnv1a(p.name) ^ Math.imul(page + 1, 0x9e3779b1)) >>> 0));
    }
    return this.#mapUser(p, vpn, g, PTE.P | PTE.U | w);
  }

  // =============================================================== processes

  #newProcess(ppid: number, name: string, argv: readonly string[]): Process | number {
    const slot = this.#slots.indexOf(undefined);
    if (slot < 0) return -ERRNO.EAGAIN;
    const root = this.#alloc(PT_PTABLE, true);
    if (root === undefined) return -ERRNO.ENOMEM;
    const p: Process = {
      pid: this.#nextPid++, ppid, slot, tid: 0, root, name, argv: [...argv], state: 'ready', vmas: [], brk: USER_LAYOUT.heapBase,
      mmapNext: USER_LAYOUT.mmapBase, fds: new Int32Array(KLAYOUT.fdsPerProc).fill(-1), handlers: new Map(), ignored: new Set(),
      exitStatus: 0, pending: undefined, chan: undefined, deadline: 0, yielded: false,
    };
    this.#slots[slot] = p;
    this.#procs.set(p.pid, p);
    this.#byRoot.set(root, p);
    this.#p.phys.store32(KLAYOUT.headerGppn * PAGE + KHDR.nextPid, this.#nextPid);
    return p;
  }

  #standardVmas(): Vma[] {
    const v = (start: number, end: number, prot: number, kind: Vma['kind']): Vma => ({ start, end, prot, kind, shared: false, ino: 0, pgoff: 0 });
    return [
      v(USER_LAYOUT.textBase, USER_LAYOUT.textBase + TEXT_PAGES * PAGE, PROT.READ | PROT.EXEC, 'text'),
      v(USER_LAYOUT.heapBase, USER_LAYOUT.heapBase, PROT.READ | PROT.WRITE, 'heap'),
      v(LIBC_SCRATCH.base, LIBC_SCRATCH.base + LIBC_SCRATCH.pages * PAGE, PROT.READ | PROT.WRITE, 'scratch'),
      v(STACK_BASE, USER_LAYOUT.stackTop, PROT.READ | PROT.WRITE, 'stack'),
    ];
  }

  #spawn(ppid: number, program: string, argv: readonly string[]): Process | number {
    const p = this.#newProcess(ppid, program, argv);
    if (typeof p === 'number') return p;
    p.vmas = this.#standardVmas();
    p.tid = this.#p.createThread({ root: p.root, program, argv, sp: USER_LAYOUT.stackTop, pc: USER_LAYOUT.textBase });
    this.#byTid.set(p.tid, p);
    const con = this.#allocFile({ type: FTYPE.console, refs: 0, flags: O.RDWR, ino: 0, offset: 0, pipe: 0 });
    if (con >= 0) for (let fd = 0; fd < 3; fd++) this.#setFd(p, fd, con);
    this.#makeReady(p);
    return p;
  }

  #syncProc(p: Process): void {
    const ph = this.#p.phys;
    const b = new Uint8Array(KLAYOUT.procEntrySize);
    const v = new DataView(b.buffer);
    const st = p.state === 'ready' ? PSTATE.ready : p.state === 'blocked' ? PSTATE.blocked : PSTATE.zombie;
    v.setUint32(PROC.state, st, true);
    v.setUint32(PROC.pid, p.pid, true);
    v.setUint32(PROC.ppid, p.ppid, true);
    v.setUint32(PROC.tid, p.tid, true);
    v.setUint32(PROC.root, p.root, true);
    v.setUint32(PROC.brk, p.brk, true);
    v.setUint32(PROC.exitStatus, p.exitStatus, true);
    v.setUint32(PROC.mmapNext, p.mmapNext, true);
    v.setUint32(PROC.sleepUntilLo, p.deadline % 2 ** 32, true);
    v.setUint32(PROC.sleepUntilHi, Math.floor(p.deadline / 2 ** 32), true);
    v.setUint32(PROC.pendingNr, p.pending?.nr ?? 0, true);
    v.setUint32(PROC.argc, p.argv.length, true);
    b.set(enc.encode(p.name).subarray(0, PROC.nameMax - 1), PROC.name);
    ph.write(KLAYOUT.procTableGppn * PAGE + p.slot * KLAYOUT.procEntrySize, b);
  }

  #clearSlot(slot: number): void {
    this.#p.phys.write(KLAYOUT.procTableGppn * PAGE + slot * KLAYOUT.procEntrySize, new Uint8Array(KLAYOUT.procEntrySize));
    this.#p.phys.write(KLAYOUT.fdTableGppn * PAGE + slot * KLAYOUT.fdsPerProc * 4, new Uint8Array(KLAYOUT.fdsPerProc * 4));
  }

  #makeReady(p: Process): void {
    if (p.state === 'zombie') return;
    p.state = 'ready';
    p.chan = undefined;
    if (!this.#ready.includes(p.pid)) this.#ready.push(p.pid);
    this.#syncProc(p);
  }

  #block(p: Process, chan: string, nr: number, args: number[]): void {
    p.state = 'blocked';
    p.chan = chan;
    p.pending = { nr, args };
    const i = this.#ready.indexOf(p.pid);
    if (i >= 0) this.#ready.splice(i, 1);
    this.#syncProc(p);
  }

  #wake(chan: string): void {
    for (const p of [...this.#procs.values()].sort((a, b) => a.pid - b.pid)) if (p.state === 'blocked' && p.chan === chan) this.#makeReady(p);
  }

  #exit(p: Process, status: number): void {
    if (p.state === 'zombie') return;
    this.stats.exits++;
    for (let fd = 0; fd < p.fds.length; fd++) if (p.fds[fd] >= 0) this.#sysClose(p, fd);
    this.#releaseFileVmas(p);
    this.#freeSpace(p.root);
    this.#byRoot.delete(p.root);
    this.#p.releaseAddressSpace(p.root);
    try {
      this.#p.destroyThread(p.tid);
    } catch {
      /* already gone (the TVMM ended it) */
    }
    this.#byTid.delete(p.tid);
    const i = this.#ready.indexOf(p.pid);
    if (i >= 0) this.#ready.splice(i, 1);
    p.state = 'zombie';
    p.exitStatus = status;
    p.pending = undefined;
    p.chan = undefined;
    p.vmas = [];
    const init = this.#procs.get(1);
    for (const c of [...this.#procs.values()]) {
      if (c.ppid !== p.pid) continue;
      if (init && init !== p && init.state !== 'zombie') c.ppid = 1;
      else c.ppid = 0;
      if (c.state === 'zombie' && c.ppid === 0) this.#reap(c);
      else this.#syncProc(c);
    }
    if (init && init !== p && init.state !== 'zombie') this.#wake('wait:1');
    const parent = this.#procs.get(p.ppid);
    if (!parent || parent.state === 'zombie') {
      p.ppid = 0;
      this.#reap(p);
      return;
    }
    this.#syncProc(p);
    this.#wake(`wait:${parent.pid}`);
    const h = parent.handlers.get(SIG.SIGCHLD);
    if (h !== undefined) this.#deliver(parent, SIG.SIGCHLD);
  }

  #releaseFileVmas(p: Process): void {
    for (const v of p.vmas) if (v.kind === 'file') this.#fs.release(v.ino);
    p.vmas = p.vmas.filter((v) => v.kind !== 'file');
  }

  #reap(p: Process): void {
    this.#procs.delete(p.pid);
    this.#slots[p.slot] = undefined;
    this.#clearSlot(p.slot);
  }

  #deliver(p: Process, signo: number): void {
    const h = p.handlers.get(signo);
    if (h === undefined) return;
    try {
      this.#p.deliverSignal(p.tid, h, signo);
    } catch {
      return;
    }
    if (p.state === 'blocked') {
      p.pending = undefined;
      this.#p.setRegister(p.tid, 'r0', (-ERRNO.EINTR) >>> 0);
      this.#makeReady(p);
    }
  }

  /** Sends `signo` to `p` (kill semantics); 0 or a negative errno. */
  #signal(p: Process, signo: number): number {
    if (p.state === 'zombie') return -ERRNO.ESRCH;
    if (signo === 0) return 0;
    if (signo === SIG.SIGKILL) {
      this.#exit(p, SIG.SIGKILL);
      return 0;
    }
    if (p.handlers.has(signo)) {
      this.#deliver(p, signo);
      return 0;
    }
    if (p.ignored.has(signo) || signo === SIG.SIGCHLD) return 0;
    this.#exit(p, signo);
    return 0;
  }

  // =============================================================== files

  #allocFile(f: OpenFile): number {
    const i = this.#files.indexOf(undefined);
    if (i < 0) return -ERRNO.ENFILE;
    this.#files[i] = f;
    this.#syncFile(i);
    return i;
  }

  #syncFile(i: number): void {
    const f = this.#files[i];
    const b = new Uint8Array(KLAYOUT.fileEntrySize);
    if (f) {
      const v = new DataView(b.buffer);
      v.setUint32(FILE.type, f.type, true);
      v.setUint32(FILE.refs, f.refs, true);
      v.setUint32(FILE.flags, f.flags, true);
      v.setUint32(FILE.ino, f.ino, true);
      v.setUint32(FILE.offset, f.offset >>> 0, true);
      v.setUint32(FILE.pipe, f.pipe, true);
    }
    this.#p.phys.write(KLAYOUT.fileTableGppn * PAGE + i * KLAYOUT.fileEntrySize, b);
  }

  #syncPipe(i: number): void {
    const q = this.#pipes[i];
    const b = new Uint8Array(KLAYOUT.pipeEntrySize);
    if (q) {
      const v = new DataView(b.buffer);
      v.setUint32(PIPE.used, 1, true);
      v.setUint32(PIPE.bufGppn, q.g, true);
      v.setUint32(PIPE.head, q.head, true);
      v.setUint32(PIPE.count, q.count, true);
      v.setUint32(PIPE.readers, q.readers, true);
      v.setUint32(PIPE.writers, q.writers, true);
    }
    this.#p.phys.write(KLAYOUT.pipeTableGppn * PAGE + i * KLAYOUT.pipeEntrySize, b);
  }

  #setFd(p: Process, fd: number, file: number): void {
    p.fds[fd] = file;
    if (file >= 0) {
      this.#files[file]!.refs++;
      this.#syncFile(file);
    }
    this.#p.phys.store32(KLAYOUT.fdTableGppn * PAGE + (p.slot * KLAYOUT.fdsPerProc + fd) * 4, file + 1);
  }

  #freeFd(p: Process): number {
    for (let fd = 0; fd < p.fds.length; fd++) if (p.fds[fd] === -1) return fd;
    return -ERRNO.EMFILE;
  }

  #file(p: Process, fd: number): OpenFile | undefined {
    if (!Number.isInteger(fd) || fd < 0 || fd >= p.fds.length || p.fds[fd] < 0) return undefined;
    return this.#files[p.fds[fd]];
  }

  // =============================================================== user memory

  #userRange(ptr: number, len: number): boolean {
    return Number.isInteger(ptr) && Number.isInteger(len) && len >= 0 && ptr >= PAGE && ptr + len <= USER_LAYOUT.kernelBase;
  }

  #copyin(p: Process, ptr: number, len: number): Uint8Array | undefined {
    if (!this.#userRange(ptr, len)) return undefined;
    try {
      return this.#p.kernelSpace(p.root).read(ptr, len);
    } catch (e) {
      if (userFault(e)) return undefined;
      throw e;
    }
  }

  #copyout(p: Process, ptr: number, data: Uint8Array): boolean {
    if (!this.#userRange(ptr, data.length)) return false;
    try {
      this.#p.kernelSpace(p.root).write(ptr, data);
      return true;
    } catch (e) {
      if (userFault(e)) return false;
      throw e;
    }
  }

  #readString(p: Process, ptr: number, max = 4096): string | undefined {
    if (!this.#userRange(ptr, 1)) return undefined;
    const parts: Uint8Array[] = [];
    let total = 0;
    let a = ptr;
    while (total < max) {
      const n = Math.min(PAGE - (a % PAGE), max - total, USER_LAYOUT.kernelBase - a);
      if (n <= 0) return undefined;
      const b = this.#copyin(p, a, n);
      if (!b) return undefined;
      const z = b.indexOf(0);
      if (z >= 0) {
        parts.push(b.subarray(0, z));
        const all = new Uint8Array(total + z);
        let o = 0;
        for (const x of parts) {
          all.set(x, o);
          o += x.length;
        }
        return dec.decode(all);
      }
      parts.push(b);
      total += n;
      a += n;
    }
    return undefined;
  }

  // =============================================================== system calls

  #sysExit(p: Process, a: number[]): SysResult {
    this.#exit(p, waitStatusExited(a[0]));
    return 0;
  }

  #copyAddressSpace(parent: Process, child: Process): boolean {
    const ph = this.#p.phys;
    // Shared anonymous mappings are populated first so parent and child share the same pages.
    for (const v of parent.vmas) {
      if (!v.shared || v.kind === 'file') continue;
      for (let a = v.start; a < v.end; a += PAGE) {
        const pte = this.#readPte(parent.root, a >>> 12);
        if (!(pte & PTE.P) && !this.#pageFault(parent.root, a, false, 'not-present', false)) return false;
      }
    }
    const userPdes = USER_LAYOUT.kernelBase >>> 22;
    for (let pdi = 0; pdi < userPdes; pdi++) {
      const pde = ph.load32(parent.root * PAGE + pdi * 4);
      if (!(pde & PTE.P)) continue;
      const pt = pde >>> 12;
      for (let i = 0; i < 1024; i++) {
        const vpn = (pdi << 10) | i;
        let pte = ph.load32(pt * PAGE + i * 4);
        if (!pte) continue;
        const vma = this.#findVma(parent, vpn * PAGE);
        if (!vma) continue;
        if (!(pte & PTE.P) && pte & PTE.SWAP) {
          // The child shares the swap slot; whoever faults it in first gets a private copy.
          const slot = pte >>> 12;
          if (vma.shared || slot >= this.#swapUsed.length || this.#swapUsed[slot] === 0 || this.#swapUsed[slot] === 0xffff) {
            if (!this.#swapIn(parent, vpn, pte, vma)) return false;
            pte = this.#readPte(parent.root, vpn);
          } else {
            if (!this.#writePte(child.root, vpn, pte)) return false;
            this.#swapUsed[slot]++;
            continue;
          }
        }
        if (!(pte & PTE.P)) continue;
        const g = pte >>> 12;
        let cpte = pte;
        if (!vma.shared && (pte & PTE.W || pte & PTE.COW)) {
          cpte = ((pte & ~PTE.W) | PTE.COW) >>> 0;
          if (cpte !== pte) ph.store32(pt * PAGE + i * 4, cpte);
        }
        this.#get(g);
        if (!this.#writePte(child.root, vpn, cpte)) {
          this.#put(g);
          return false;
        }
      }
    }
    return true;
  }

  #sysFork(p: Process): SysResult {
    const c = this.#newProcess(p.pid, p.name, p.argv);
    if (typeof c === 'number') return c;
    c.vmas = p.vmas.map((v) => ({ ...v }));
    for (const v of c.vmas) if (v.kind === 'file') this.#fs.open(v.ino);
    c.brk = p.brk;
    c.mmapNext = p.mmapNext;
    const fail = (errno: number): number => {
      this.#releaseFileVmas(c);
      this.#freeSpace(c.root);
      this.#byRoot.delete(c.root);
      this.#procs.delete(c.pid);
      this.#slots[c.slot] = undefined;
      this.#clearSlot(c.slot);
      return -errno;
    };
    if (!this.#copyAddressSpace(p, c)) return fail(ERRNO.ENOMEM);
    try {
      c.tid = this.#p.forkThread(p.tid, c.root);
    } catch {
      return fail(ERRNO.EINVAL);
    }
    this.#byTid.set(c.tid, c);
    for (let fd = 0; fd < p.fds.length; fd++) {
      const f = p.fds[fd];
      if (f < 0) continue;
      const of = this.#files[f]!;
      if (of.type === FTYPE.file) this.#fs.open(of.ino);
      if (of.type === FTYPE.pipeRead || of.type === FTYPE.pipeWrite) this.#pipeRefs(of, +1);
      this.#setFd(c, fd, f);
    }
    for (const [s, h] of p.handlers) c.handlers.set(s, h);
    for (const s of p.ignored) c.ignored.add(s);
    this.stats.forks++;
    this.#makeReady(c);
    return c.pid;
  }

  #sysRead(p: Process, a: number[]): SysResult {
    const [fd, buf] = a;
    const f = this.#file(p, fd);
    if (!f) return -ERRNO.EBADF;
    if (!this.#userRange(buf, a[2])) return -ERRNO.EFAULT;
    const count = Math.min(a[2], MAX_RW);
    if (f.type === FTYPE.console) return 0;
    if (f.type === FTYPE.pipeWrite) return -ERRNO.EBADF;
    if (f.type === FTYPE.pipeRead) {
      const q = this.#pipes[f.pipe];
      if (!q) return -ERRNO.EBADF;
      if (count === 0) return 0;
      if (q.count === 0) return q.writers === 0 ? 0 : BLOCK;
      const n = Math.min(count, q.count);
      const out = new Uint8Array(n);
      const first = Math.min(n, PAGE - q.head);
      out.set(this.#p.phys.read(q.g * PAGE + q.head, first));
      if (n > first) out.set(this.#p.phys.read(q.g * PAGE, n - first), first);
      if (!this.#copyout(p, buf, out)) return -ERRNO.EFAULT;
      q.head = (q.head + n) % PAGE;
      q.count -= n;
      this.#syncPipe(f.pipe);
      this.#wake(`pipe:${f.pipe}`);
      return n;
    }
    if ((f.flags & 3) === O.WRONLY) return -ERRNO.EBADF;
    const size = this.#fs.size(f.ino);
    if (this.#fs.asyncIo && count > 0 && f.offset < size) {
      // Interrupt-driven IO: queue the range's missing pages, sleep on 'disk' until the completion
      // interrupt has put them in the cache (the call is then re-executed from the start; nothing
      // above has changed state), then copy out synchronously.
      const w = this.#fs.prefetch(f.ino, Math.floor(f.offset / PAGE), Math.floor((Math.min(size, f.offset + count) - 1) / PAGE));
      if (w < 0) return w;
      if (w > 0) {
        this.#blockChan = 'disk';
        return BLOCK;
      }
    }
    let done = 0;
    while (done < count && f.offset + done < size) {
      const off = f.offset + done;
      const n = Math.min(count - done, PAGE - (off % PAGE), size - off);
      const g = this.#fs.page(f.ino, Math.floor(off / PAGE));
      if (g < 0) return done > 0 ? done : g;
      if (!this.#copyout(p, buf + done, this.#p.phys.read(g * PAGE + (off % PAGE), n))) return done > 0 ? done : -ERRNO.EFAULT;
      done += n;
    }
    f.offset += done;
    this.#syncFile(p.fds[fd]);
    return done;
  }

  #sysWrite(p: Process, a: number[]): SysResult {
    const [fd, buf] = a;
    const f = this.#file(p, fd);
    if (!f) return -ERRNO.EBADF;
    if (!this.#userRange(buf, a[2])) return -ERRNO.EFAULT;
    const count = Math.min(a[2], MAX_RW);
    if (f.type === FTYPE.console) {
      const n = Math.min(count, 65536);
      const b = this.#copyin(p, buf, n);
      if (!b) return -ERRNO.EFAULT;
      const text = dec.decode(b).replace(/\n$/, '');
      for (const line of text.split('\n')) for (let i = 0; i < Math.max(1, line.length); i += 4096) this.#p.console(line.slice(i, i + 4096));
      return n;
    }
    if (f.type === FTYPE.pipeRead) return -ERRNO.EBADF;
    if (f.type === FTYPE.pipeWrite) {
      const q = this.#pipes[f.pipe];
      if (!q) return -ERRNO.EBADF;
      if (q.readers === 0) return -ERRNO.EPIPE;
      if (count === 0) return 0;
      const room = PAGE - q.count;
      if (room === 0) return BLOCK;
      const n = Math.min(room, count);
      const b = this.#copyin(p, buf, n);
      if (!b) return -ERRNO.EFAULT;
      const tail = (q.head + q.count) % PAGE;
      const first = Math.min(n, PAGE - tail);
      this.#p.phys.write(q.g * PAGE + tail, b.subarray(0, first));
      if (n > first) this.#p.phys.write(q.g * PAGE, b.subarray(first));
      q.count += n;
      this.#syncPipe(f.pipe);
      this.#wake(`pipe:${f.pipe}`);
      return n;
    }
    if ((f.flags & 3) === O.RDONLY) return -ERRNO.EBADF;
    if (f.flags & O.APPEND) f.offset = this.#fs.size(f.ino);
    let done = 0;
    while (done < count) {
      const off = f.offset + done;
      const n = Math.min(count - done, PAGE - (off % PAGE));
      const idx = Math.floor(off / PAGE);
      if (idx >= MAX_FILE_PAGES) return done > 0 ? done : -ERRNO.EFBIG;
      const b = this.#copyin(p, buf + done, n);
      if (!b) return done > 0 ? done : -ERRNO.EFAULT;
      const g = this.#fs.page(f.ino, idx);
      if (g < 0) return done > 0 ? done : g;
      this.#p.phys.write(g * PAGE + (off % PAGE), b);
      this.#fs.markDirty(f.ino, idx);
      done += n;
      if (off + n > this.#fs.size(f.ino)) this.#fs.setSize(f.ino, off + n);
    }
    f.offset += done;
    this.#syncFile(p.fds[fd]);
    return done;
  }

  #path(p: Process, ptr: number): string | number {
    const s = this.#readString(p, ptr, 256);
    if (s === undefined) return -ERRNO.EFAULT;
    const name = s.replace(/^\/+/, '');
    if (name.length === 0) return -ERRNO.ENOENT;
    return name;
  }

  #sysOpen(p: Process, a: number[]): SysResult {
    const name = this.#path(p, a[0]);
    if (typeof name === 'number') return name;
    const flags = a[1];
    if ((flags & 3) === 3) return -ERRNO.EINVAL;
    const fd = this.#freeFd(p);
    if (fd < 0) return fd;
    let ino = this.#fs.lookup(name);
    if (ino < 0) {
      if (!(flags & O.CREAT)) return -ERRNO.ENOENT;
      ino = this.#fs.create(name);
      if (ino < 0) return ino;
    } else if (flags & O.TRUNC && (flags & 3) !== O.RDONLY) this.#fs.truncate(ino);
    const fi = this.#allocFile({ type: FTYPE.file, refs: 0, flags, ino, offset: 0, pipe: 0 });
    if (fi < 0) return fi;
    this.#fs.open(ino);
    this.#setFd(p, fd, fi);
    return fd;
  }

  #sysClose(p: Process, fd: number): SysResult {
    const f = this.#file(p, fd);
    if (!f) return -ERRNO.EBADF;
    const fi = p.fds[fd];
    p.fds[fd] = -1;
    this.#p.phys.store32(KLAYOUT.fdTableGppn * PAGE + (p.slot * KLAYOUT.fdsPerProc + fd) * 4, 0);
    if (f.type === FTYPE.file) this.#fs.release(f.ino);
    if (--f.refs > 0) {
      if (f.type === FTYPE.pipeRead || f.type === FTYPE.pipeWrite) this.#pipeRefs(f, -1);
      this.#syncFile(fi);
      return 0;
    }
    if (f.type === FTYPE.pipeRead || f.type === FTYPE.pipeWrite) this.#pipeRefs(f, -1);
    this.#files[fi] = undefined;
    this.#syncFile(fi);
    return 0;
  }

  /** Pipe ends count per descriptor (so a fork's copies keep the pipe open). */
  #pipeRefs(f: OpenFile, d: number): void {
    const q = this.#pipes[f.pipe];
    if (!q) return;
    if (f.type === FTYPE.pipeRead) q.readers += d;
    else q.writers += d;
    this.#wake(`pipe:${f.pipe}`);
    if (q.readers <= 0 && q.writers <= 0) {
      this.#put(q.g);
      this.#pipes[f.pipe] = undefined;
    }
    this.#syncPipe(f.pipe);
  }

  #sysWaitpid(p: Process, a: number[]): SysResult {
    const want = a[0] | 0, statusPtr = a[1], options = a[2];
    const kids = [...this.#procs.values()].filter((c) => c.ppid === p.pid && (want === -1 || c.pid === want)).sort((x, y) => x.pid - y.pid);
    if (kids.length === 0) return -ERRNO.ECHILD;
    if (statusPtr !== 0 && !this.#userRange(statusPtr, 4)) return -ERRNO.EFAULT;
    const z = kids.find((c) => c.state === 'zombie');
    if (z) {
      if (statusPtr !== 0) {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setUint32(0, z.exitStatus, true);
        if (!this.#copyout(p, statusPtr, b)) return -ERRNO.EFAULT;
      }
      this.#reap(z);
      return z.pid;
    }
    if (options & WAIT.NOHANG) return 0;
    return BLOCK;
  }

  #sysUnlink(p: Process, a: number[]): SysResult {
    const name = this.#path(p, a[0]);
    if (typeof name === 'number') return name;
    return this.#fs.unlink(name);
  }

  #sysExecve(p: Process, a: number[]): SysResult {
    const path = this.#path(p, a[0]);
    if (typeof path === 'number') return path;
    const program = path.replace(/^bin\//, '');
    if (!this.#p.programs().includes(program)) return -ERRNO.ENOENT;
    const argv: string[] = [];
    if (a[1] !== 0) {
      for (let i = 0; ; i++) {
        if (i >= 64) return -ERRNO.EINVAL;
        const w = this.#copyin(p, a[1] + i * 4, 4);
        if (!w) return -ERRNO.EFAULT;
        const ptr = new DataView(w.buffer).getUint32(0, true);
        if (ptr === 0) break;
        const s = this.#readString(p, ptr, 4096);
        if (s === undefined) return -ERRNO.EFAULT;
        argv.push(s);
      }
    }
    const root = this.#alloc(PT_PTABLE, true);
    if (root === undefined) return -ERRNO.ENOMEM;
    try {
      this.#p.execThread(p.tid, { root, program, argv, sp: USER_LAYOUT.stackTop, pc: USER_LAYOUT.textBase });
    } catch {
      this.#put(root);
      return -ERRNO.EINVAL;
    }
    const old = p.root;
    this.#releaseFileVmas(p);
    this.#freeSpace(old);
    this.#byRoot.delete(old);
    this.#p.releaseAddressSpace(old);
    p.root = root;
    this.#byRoot.set(root, p);
    p.name = program;
    p.argv = argv;
    p.vmas = this.#standardVmas();
    p.brk = USER_LAYOUT.heapBase;
    p.mmapNext = USER_LAYOUT.mmapBase;
    p.handlers.clear();
    this.stats.execs++;
    this.#syncProc(p);
    return 0;
  }

  #sysLseek(p: Process, a: number[]): SysResult {
    const f = this.#file(p, a[0]);
    if (!f) return -ERRNO.EBADF;
    if (f.type !== FTYPE.file) return -ERRNO.ESPIPE;
    const off = a[1] | 0;
    let base: number;
    if (a[2] === SEEK.SET) base = 0;
    else if (a[2] === SEEK.CUR) base = f.offset;
    else if (a[2] === SEEK.END) base = this.#fs.size(f.ino);
    else return -ERRNO.EINVAL;
    const n = base + off;
    if (n < 0 || n > MAX_FILE_PAGES * PAGE) return -ERRNO.EINVAL;
    f.offset = n;
    this.#syncFile(p.fds[a[0]]);
    return n;
  }

  #sysKill(p: Process, a: number[]): SysResult {
    const pid = a[0] | 0, sig = a[1];
    if (sig > 64) return -ERRNO.EINVAL;
    const t = this.#procs.get(pid);
    if (!t || t.state === 'zombie' || pid <= 0) return -ERRNO.ESRCH;
    void p;
    return this.#signal(t, sig);
  }

  #sysPipe(p: Process, a: number[]): SysResult {
    if (!this.#userRange(a[0], 8)) return -ERRNO.EFAULT;
    const slot = this.#pipes.indexOf(undefined);
    if (slot < 0) return -ERRNO.ENFILE;
    const rfd = this.#freeFd(p);
    if (rfd < 0) return rfd;
    p.fds[rfd] = -2; // reserve while finding the second
    const wfd = this.#freeFd(p);
    p.fds[rfd] = -1;
    if (wfd < 0) return wfd;
    const out = new Uint8Array(8);
    new DataView(out.buffer).setUint32(0, rfd, true);
    new DataView(out.buffer).setUint32(4, wfd, true);
    // Validate the destination before creating anything (a refused call changes nothing).
    const probe = this.#copyin(p, a[0], 8);
    if (!probe || !this.#copyout(p, a[0], probe)) return -ERRNO.EFAULT;
    const g = this.#alloc(PT_KERNEL, true);
    if (g === undefined) return -ERRNO.ENOMEM;
    this.#pipes[slot] = { g, head: 0, count: 0, readers: 1, writers: 1 };
    const r = this.#allocFile({ type: FTYPE.pipeRead, refs: 0, flags: O.RDONLY, ino: 0, offset: 0, pipe: slot });
    const w = r < 0 ? r : this.#allocFile({ type: FTYPE.pipeWrite, refs: 0, flags: O.WRONLY, ino: 0, offset: 0, pipe: slot });
    if (r < 0 || w < 0) {
      if (r >= 0) {
        this.#files[r] = undefined;
        this.#syncFile(r);
      }
      this.#put(g);
      this.#pipes[slot] = undefined;
      return -ERRNO.ENFILE;
    }
    this.#setFd(p, rfd, r);
    this.#setFd(p, wfd, w);
    this.#syncPipe(slot);
    this.#copyout(p, a[0], out);
    return 0;
  }

  #sysBrk(p: Process, a: number[]): SysResult {
    const want = a[0];
    const heap = p.vmas.find((v) => v.kind === 'heap');
    if (!heap) return p.brk;
    if (want === 0 || want < USER_LAYOUT.heapBase || want > HEAP_LIMIT) return p.brk;
    const newEnd = Math.ceil(want / PAGE) * PAGE;
    if (newEnd < heap.end) this.#unmapRange(p.root, newEnd >>> 12, heap.end >>> 12);
    heap.end = newEnd;
    p.brk = want;
    this.#syncProc(p);
    return p.brk;
  }

  #sysSignal(p: Process, a: number[]): SysResult {
    const signo = a[0];
    if (signo < 1 || signo > 64 || signo === SIG.SIGKILL) return -ERRNO.EINVAL;
    let hid: number | undefined;
    try {
      hid = this.#p.registerSignalHandler(p.tid);
    } catch {
      hid = undefined;
    }
    if (hid !== undefined) {
      p.handlers.set(signo, hid);
      p.ignored.delete(signo);
    } else if (a[1] === 1) {
      p.handlers.delete(signo);
      p.ignored.add(signo);
    } else if (a[1] === 0) {
      p.handlers.delete(signo);
      p.ignored.delete(signo);
    } else return -ERRNO.EINVAL;
    return 0;
  }

  #removeRange(p: Process, start: number, end: number): void {
    const out: Vma[] = [];
    for (const v of p.vmas) {
      if (v.kind !== 'anon' && v.kind !== 'file') {
        out.push(v);
        continue;
      }
      if (v.end <= start || v.start >= end) {
        out.push(v);
        continue;
      }
      let pieces = 0;
      if (v.start < start) {
        out.push({ ...v, end: start });
        pieces++;
      }
      if (v.end > end) {
        out.push({ ...v, start: end, pgoff: v.pgoff + ((end - v.start) >>> 12) });
        pieces++;
      }
      // Each file mapping holds one open reference on its inode.
      if (v.kind === 'file') {
        if (pieces === 0) this.#fs.release(v.ino);
        else if (pieces === 2) this.#fs.open(v.ino);
      }
    }
    p.vmas = out;
    this.#unmapRange(p.root, start >>> 12, end >>> 12);
  }

  #sysMmap(p: Process, addr: number, len: number, prot: number, flags: number, fd: number, offset: number): SysResult {
    if (len === 0 || len > 1 << 30) return len === 0 ? -ERRNO.EINVAL : -ERRNO.ENOMEM;
    if (prot & ~(PROT.READ | PROT.WRITE | PROT.EXEC)) return -ERRNO.EINVAL;
    const shared = (flags & MAP.SHARED) !== 0;
    if (shared === ((flags & MAP.PRIVATE) !== 0)) return -ERRNO.EINVAL;
    if (offset % PAGE !== 0) return -ERRNO.EINVAL;
    const size = Math.ceil(len / PAGE) * PAGE;
    let ino = 0;
    const anon = (flags & MAP.ANONYMOUS) !== 0;
    if (!anon) {
      const f = this.#file(p, fd);
      if (!f) return -ERRNO.EBADF;
      if (f.type !== FTYPE.file) return -ERRNO.EACCES;
      if ((f.flags & 3) === O.WRONLY) return -ERRNO.EACCES;
      if (shared && prot & PROT.WRITE && (f.flags & 3) !== O.RDWR) return -ERRNO.EACCES;
      if (offset / PAGE + size / PAGE > MAX_FILE_PAGES) return -ERRNO.EFBIG;
      ino = f.ino;
    }
    let start: number;
    if (flags & MAP.FIXED) {
      if (addr % PAGE !== 0 || addr < USER_LAYOUT.mmapBase || addr + size > MMAP_LIMIT) return -ERRNO.EINVAL;
      start = addr;
      this.#removeRange(p, start, start + size);
    } else {
      start = -1;
      let cand: number = USER_LAYOUT.mmapBase;
      const sorted = p.vmas.filter((v) => v.end > USER_LAYOUT.mmapBase && v.start < MMAP_LIMIT).sort((x, y) => x.start - y.start);
      for (const v of sorted) {
        if (cand + size <= v.start) break;
        cand = Math.max(cand, v.end);
      }
      if (cand + size <= MMAP_LIMIT) start = cand;
      if (start < 0) return -ERRNO.ENOMEM;
    }
    p.vmas.push({ start, end: start + size, prot, kind: anon ? 'anon' : 'file', shared, ino, pgoff: offset / PAGE });
    if (!anon) this.#fs.open(ino);
    p.mmapNext = Math.max(p.mmapNext, start + size);
    this.#syncProc(p);
    return start;
  }

  #sysMunmap(p: Process, a: number[]): SysResult {
    const [addr, len] = a;
    if (addr % PAGE !== 0 || len === 0 || addr < PAGE || addr + len > USER_LAYOUT.kernelBase) return -ERRNO.EINVAL;
    const end = addr + Math.ceil(len / PAGE) * PAGE;
    this.#removeRange(p, addr, end);
    return 0;
  }

  #sysFsync(p: Process, a: number[]): SysResult {
    const f = this.#file(p, a[0]);
    if (!f) return -ERRNO.EBADF;
    if (f.type !== FTYPE.file) return -ERRNO.EINVAL;
    // Interrupt-driven disk: queue the dirty pages and sleep on 'disk' until their writes have
    // completed (re-executed on each completion interrupt), then flush the metadata synchronously.
    const w = this.#fs.writeback(f.ino);
    if (w < 0) return w;
    if (w > 0) {
      this.#blockChan = 'disk';
      return BLOCK;
    }
    return this.#fs.fsync(f.ino);
  }

  #sysNanosleep(p: Process, a: number[]): SysResult {
    if (p.pending === undefined) {
      const b = this.#copyin(p, a[0], 8);
      if (!b) return -ERRNO.EFAULT;
      const v = new DataView(b.buffer);
      const sec = v.getUint32(0, true), nsec = v.getUint32(4, true);
      if (nsec >= 1e9) return -ERRNO.EINVAL;
      const ns = Math.min(sec * 1e9 + nsec, 2 ** 50); // ~13 days of virtual time: "forever" for a simulation
      if (ns === 0) return 0;
      p.deadline = this.#p.now() + ns;
      this.#armFor(p.deadline);
      return BLOCK;
    }
    return this.#p.now() >= p.deadline ? 0 : BLOCK;
  }

  // =============================================================== dispatch

  #dispatch(p: Process, nr: number, args: number[]): SysResult {
    let entry = 0;
    if (nr < KLAYOUT.sysEntries) entry = this.#p.phys.load32(KLAYOUT.sysTableGppn * PAGE + nr * 4);
    const h = this.#handlers.get(entry);
    if (!h) return -ERRNO.ENOSYS;
    try {
      return h.fn(p, args);
    } catch (e) {
      if (e instanceof TypeError || e instanceof RangeError || e instanceof TerraError) {
        this.stats.kernelErrors++;
        return -ERRNO.EINVAL;
      }
      throw e;
    }
  }

  #finish(p: Process, nr: number, args: number[], result: number): void {
    let r = result;
    const adv = this.adversary?.onSyscallResult;
    if (adv) {
      const ctx: SyscallResultContext = {
        pid: p.pid, tid: p.tid, nr, args: Object.freeze([...args]), result: r, kernel: this.access,
        setResult: (v: number) => {
          r = v;
        },
      };
      adv(ctx);
    }
    p.pending = undefined;
    if (p.state === 'zombie' || !this.#byTid.has(p.tid)) return;
    if (nr === SYS.execve && r === 0) return;
    this.#p.setRegister(p.tid, 'r0', (r | 0) >>> 0);
  }

  #handleSyscall(p: Process, trap: TrapInfo): void {
    this.stats.syscalls++;
    const nr = trap.regs.r0;
    const args = [trap.regs.r1, trap.regs.r2, trap.regs.r3, trap.regs.r4, trap.regs.r5];
    const adv = this.adversary?.onSyscall;
    if (adv) {
      let override: number | undefined;
      const ctx: SyscallContext = {
        pid: p.pid, tid: p.tid, nr, args: Object.freeze([...args]), regs: trap.regs, kernel: this.access,
        setResult: (v: number) => {
          override = v;
        },
        passThrough: () => {
          override = undefined;
        },
      };
      adv(ctx);
      if (override !== undefined) {
        if (p.state !== 'zombie' && this.#byTid.has(p.tid)) this.#p.setRegister(p.tid, 'r0', (override | 0) >>> 0);
        return;
      }
    }
    this.#blockChan = undefined;
    const r = this.#dispatch(p, nr, args);
    if (r === BLOCK) {
      const chan = this.#blockChan ?? (nr === SYS.nanosleep ? 'timer' : nr === SYS.waitpid ? `wait:${p.pid}` : `pipe:${this.#files[p.fds[args[0]]]?.pipe ?? -1}`);
      this.#block(p, chan, nr, args);
      return;
    }
    this.#finish(p, nr, args, r);
  }

  /** Runs one scheduling step of `p`: retry a blocked syscall, or resume the thread until it traps. */
  #step(p: Process): void {
    if (p.pending) {
      const { nr, args } = p.pending;
      this.#blockChan = undefined;
      const r = this.#dispatch(p, nr, args);
      if (r === BLOCK) {
        this.#block(p, this.#blockChan ?? p.chan ?? (nr === SYS.nanosleep ? 'timer' : nr === SYS.waitpid ? `wait:${p.pid}` : `pipe:${this.#files[p.fds[args[0]]]?.pipe ?? -1}`), nr, args);
        return;
      }
      this.#finish(p, nr, args, r);
      if (p.state !== 'ready') return;
    }
    this.adversary?.beforeResume?.({ pid: p.pid, tid: p.tid, kernel: this.access });
    if (p.state !== 'ready') return;
    let trap: TrapInfo;
    try {
      trap = this.#p.resume(p.tid);
    } catch (e) {
      // The program itself threw (a bug in user code: the model's illegal instruction). The thread is
      // dead; the process dies with SIGILL. TVMM errors (halted VM, broken invariants) propagate.
      if (e instanceof TerraError || e instanceof InvariantError || !(e instanceof Error)) throw e;
      this.#p.console(`kernel: pid ${p.pid} (${p.name}): illegal instruction (${e.name})`);
      this.#exit(p, SIG.SIGILL);
      return;
    }
    this.adversary?.onTrap?.({ pid: p.pid, tid: p.tid, trap, kernel: this.access });
    if ((p.state as Process['state']) === 'zombie') return;
    switch (trap.kind) {
      case 'syscall':
        this.#handleSyscall(p, trap);
        break;
      case 'preempt':
        break;
      case 'exit':
        this.#exit(p, waitStatusExited(trap.status ?? 0));
        break;
      case 'fault':
        this.#p.console(`kernel: pid ${p.pid} (${p.name}): segmentation fault at 0x${(trap.fault?.gva ?? 0).toString(16)}`);
        this.#exit(p, SIG.SIGSEGV);
        break;
      case 'killed':
        if (trap.reason?.startsWith('exception:')) {
          // The program itself threw (the model's illegal instruction): SIGILL.
          this.#p.console(`kernel: pid ${p.pid} (${p.name}): illegal instruction`);
          this.#exit(p, SIG.SIGILL);
        } else this.#exit(p, SIG.SIGKILL);
        break;
    }
  }

  // =============================================================== time, interrupts, scheduler

  #armFor(deadline: number): void {
    const now = this.#p.now();
    this.#armed = this.#armed.filter((t) => t > now);
    if (this.#armed.some((t) => t <= deadline)) return;
    const delay = Math.max(1, Math.ceil(deadline - now));
    this.#p.setTimer(delay, TIMER_VECTOR);
    this.#armed.push(now + delay);
  }

  #timer(): void {
    const now = this.#p.now();
    this.#armed = this.#armed.filter((t) => t > now);
    for (const p of [...this.#procs.values()].sort((a, b) => a.pid - b.pid)) {
      if (p.state === 'blocked' && p.chan === 'timer') {
        if (p.deadline <= now) this.#makeReady(p);
        else this.#armFor(p.deadline);
      }
    }
    for (const d of this.#drivers) {
      if (d.next <= now) {
        d.d.tick(this.services);
        d.next = now + d.d.periodNs;
      }
      this.#armFor(d.next);
    }
  }

  /** GuestOs.interrupt: queues a virtual interrupt (handled at the start of the next run). */
  interrupt(vector: number): void {
    this.#irqs.push(vector);
  }

  /** Registers a handler for a device interrupt vector (drivers). */
  onInterrupt(vector: number, fn: () => void): void {
    if (!Number.isInteger(vector) || vector < 0 || vector > 255 || vector === TIMER_VECTOR) throw new RangeError(`vector must be an integer in [0, 255] other than ${TIMER_VECTOR}`);
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    this.#vectorHandlers.set(vector, fn);
  }

  #drainInterrupts(): void {
    let budget = this.#irqs.length * 2 + 4;
    while (this.#irqs.length && budget-- > 0) {
      const vector = this.#irqs.shift()!;
      const adv = this.adversary?.onInterrupt;
      if (adv) {
        const st: { action: 'run' | 'drop' | 'delay' | 'defer'; delayNs: number } = { action: 'run', delayNs: 0 };
        const ctx: InterruptContext = {
          vector, pending: Object.freeze([...this.#irqs]), kernel: this.access,
          drop: () => void (st.action = 'drop'),
          delay: (ns: number) => {
            if (typeof ns !== 'number' || !Number.isFinite(ns) || ns < 0) throw new RangeError('delay must be a non-negative number of ns');
            st.action = 'delay';
            st.delayNs = ns;
          },
          defer: () => void (st.action = 'defer'),
        };
        adv(ctx);
        if (st.action === 'drop') {
          this.stats.droppedInterrupts++;
          continue;
        }
        if (st.action === 'delay') {
          this.#p.setTimer(Math.max(1, Math.min(Math.floor(st.delayNs), 2 ** 50)), vector);
          continue;
        }
        if (st.action === 'defer' && this.#irqs.length > 0) {
          this.#irqs.push(vector);
          continue;
        }
      }
      this.stats.interrupts++;
      if (vector === TIMER_VECTOR) this.#timer();
      else this.#vectorHandlers.get(vector)?.();
    }
  }

  #live(): number {
    let n = 0;
    for (const p of this.#procs.values()) if (p.state !== 'zombie') n++;
    return n;
  }

  /** GuestOs.run: drains interrupts, then round-robins ready threads for up to `budgetNs`. */
  run(budgetNs: number): 'runnable' | 'idle' | 'halted' {
    if (this.#halted || this.#crash !== undefined || !this.#booted) return 'halted';
    this.#drainInterrupts();
    const end = this.#p.now() + budgetNs;
    let steps = 0;
    while (this.#p.now() < end && steps++ < 10_000) {
      if (this.#live() === 0) break;
      const pid = this.#ready[0];
      if (pid === undefined) break;
      const p = this.#procs.get(pid)!;
      if (this.#runningPid !== pid) {
        this.#runningPid = pid;
        this.#sliceStart = this.#p.now();
        this.stats.contextSwitches++;
      }
      p.yielded = false;
      this.#step(p);
      if (this.#ready[0] === pid && (p.yielded || this.#p.now() - this.#sliceStart >= this.#opts.quantumNs)) {
        this.#ready.push(this.#ready.shift()!);
        this.#runningPid = 0;
      }
    }
    this.#p.phys.store32(KLAYOUT.headerGppn * PAGE + KHDR.freePages, this.#freeTop);
    if (this.#live() === 0 && this.#opts.haltWhenDone) {
      if (this.#fs.ioInFlight > 0) return 'idle'; // shut down only once queued disk IO has landed
      this.#fs.sync();
      this.#halted = true;
      return 'halted';
    }
    return this.#ready.length ? 'runnable' : 'idle';
  }

  // =============================================================== public views

  /** Adds a periodic driver (ticked from the timer interrupt at its period). */
  addDriver(d: KernelDriver): void {
    if (typeof d !== 'object' || d === null || typeof d.tick !== 'function' || typeof d.name !== 'string') throw new TypeError('driver must have a name and a tick function');
    if (!Number.isInteger(d.periodNs) || d.periodNs < 1) throw new RangeError('driver.periodNs must be a positive integer');
    const rec = { d, next: 0 };
    this.#drivers.push(rec);
    if (this.#booted) {
      rec.next = this.#p.now() + d.periodNs;
      this.#armFor(rec.next);
    }
  }

  /** Driver stats by driver name. */
  driverStats(): Record<string, Record<string, number>> {
    return Object.fromEntries(this.#drivers.map((r) => [r.d.name, r.d.stats?.() ?? {}]));
  }

  /** The services drivers get (KernelServices). */
  get services(): KernelServices {
    if (!this.#booted) throw new TerraError('INVALID_STATE', 'the kernel is not booted');
    if (!this.#services) {
      const svc: KernelServices = {
        platform: this.#p,
        allocPage: (opts) => {
          if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw new TypeError('opts must be an object');
          return this.#alloc(PT_DRIVER, false);
        },
        freePage: (g) => {
          if (!Number.isInteger(g) || g < 0 || g >= this.#p.memoryPages || this.#type[g] !== PT_DRIVER) throw new RangeError(`page ${String(g)} was not allocated to a driver`);
          this.#put(g);
        },
        freePages: () => this.#freeTop,
        totalPages: () => this.#p.memoryPages - KLAYOUT.firstFreeGppn,
        now: () => this.#p.now(),
      };
      this.#services = Object.freeze(svc);
    }
    return this.#services;
  }

  /** Why the kernel panicked, if it did. */
  get panic(): string | undefined {
    return this.#crash;
  }

  /** The process list as the kernel sees it (sorted by pid). */
  ps(): ProcessInfo[] {
    return [...this.#procs.values()].sort((a, b) => a.pid - b.pid).map((p) => Object.freeze({
      pid: p.pid, ppid: p.ppid, tid: p.tid, name: p.name, state: p.state, root: p.root, brk: p.brk, exitStatus: p.exitStatus,
    }));
  }

  /** Files in the filesystem. */
  files(): string[] {
    return this.#fs.list();
  }

  /** Free pages in the allocator. */
  freePageCount(): number {
    return this.#freeTop;
  }

  /** Filesystem statistics. */
  fsStats(): Readonly<Record<string, number | boolean>> {
    return { ...this.#fs.stats, persistent: this.#fs.persistent };
  }

  /** Writes every dirty page-cache page and the metadata to disk (0 or a negative errno). */
  sync(): number {
    return this.#fs.sync();
  }

  /** Kernel-level access (what a compromised kernel's code may use; also the adversary hooks' `ctx.kernel`). */
  get access(): KernelAccess {
    if (!this.#booted) throw new TerraError('INVALID_STATE', 'the kernel is not booted');
    if (this.#access) return this.#access;
    const gva = (v: unknown): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`gva must be a 32-bit unsigned integer, got ${String(v)}`);
      return v;
    };
    const proc = (pid: number): Process => {
      const p = this.#procs.get(pid);
      if (!p || p.state === 'zombie') throw new RangeError(`no live process ${String(pid)}`);
      return p;
    };
    const a: Omit<KernelAccess, 'pageTables'> = {
      platform: this.#p,
      phys: this.#p.phys,
      processes: () => this.ps().filter((p) => p.state !== 'zombie'),
      readUser: (pid, va, len) => this.#p.kernelSpace(proc(pid).root).read(va, len),
      writeUser: (pid, va, data) => this.#p.kernelSpace(proc(pid).root).write(va, data),
      translate: (pid, va) => {
        const pte = this.#readPte(proc(pid).root, gva(va) >>> 12);
        return pte & PTE.P ? pte >>> 12 : undefined;
      },
      getPte: (pid, va) => this.#readPte(proc(pid).root, gva(va) >>> 12),
      setPte: (pid, va, gppn, flags) => {
        gva(va);
        if (!Number.isInteger(gppn) || gppn < 0 || gppn >= 1 << 20) throw new RangeError('gppn out of range');
        if (!Number.isInteger(flags) || flags < 0 || flags > 0xfff) throw new RangeError('flags must be 12 bits');
        if (!this.#writePte(proc(pid).root, va >>> 12, ((gppn << 12) | flags) >>> 0)) throw new TerraError('OUT_OF_MEMORY', 'no page for the page table');
      },
      getRegister: (tid, reg: RegisterName) => this.#p.getRegister(tid, reg),
      setRegister: (tid, reg: RegisterName, v) => this.#p.setRegister(tid, reg, v),
      allocPage: () => this.#alloc(PT_DRIVER, true),
      signal: (pid, signo) => {
        const p = this.#procs.get(pid);
        if (!p) return -ERRNO.ESRCH;
        if (!Number.isInteger(signo) || signo < 0 || signo > 64) return -ERRNO.EINVAL;
        return this.#signal(p, signo);
      },
    };
    this.#access = Object.freeze({ ...a, pageTables: Object.freeze({ translate: a.translate, getPte: a.getPte, setPte: a.setPte }) });
    return this.#access;
  }
}
