/**
 * A small, deliberately hostile-capable guest kernel for security tests of cloaking (threat model
 * actor K of threats.md §0.1; Overshadow ASPLOS'08 §2 threat model: the OS is untrusted). It does
 * what a real kernel does through the guest platform only — page tables in guest memory, demand
 * paging, files in a page cache written to a virtual disk by DMA, pipes, fork by copying pages,
 * signals — and exposes adversary hooks: override any syscall result, edit saved registers, refuse
 * faults, and act between traps (read, write, swap, copy and remap guest-physical pages).
 */
import { ERRNO, MAP, O, SEEK, SYS, USER_LAYOUT, decodeResult, errnoResult } from '../guest/abi.js';
import { PAGE_SIZE } from '../sim/index.js';
import type { GuestOs, GuestPlatform, TrapInfo } from '../tvmm/index.js';

/** Page-table entry bits of the guest page tables (present, writable, user). */
export const PTE_P = 1, PTE_W = 2, PTE_U = 4;

/** Context handed to the syscall hook. */
export interface SyscallCtx {
  readonly kernel: RogueKernel;
  readonly tid: number;
  readonly nr: number;
  readonly args: readonly number[];
  /** The result the honest kernel computed (undefined when it would block). */
  readonly result: number | undefined;
}

/** Adversary hooks (all optional). */
export interface KernelAdversary {
  /** Returns a replacement for the syscall result (a 32-bit register value), or undefined to keep it. */
  onSyscall?(ctx: SyscallCtx): number | undefined;
  /** Called after every trap with the frame the kernel sees, before the kernel handles it. */
  afterTrap?(trap: TrapInfo, k: RogueKernel): void;
  /** Called before resuming a thread (the kernel may edit saved registers here). */
  beforeResume?(tid: number, k: RogueKernel): void;
  /** Called on a user page fault; return false to refuse it, true to claim it fixed, undefined for the default. */
  onFault?(root: number, gva: number, write: boolean, k: RogueKernel): boolean | undefined;
}

interface KProc {
  tid: number;
  pid: number;
  root: number;
  parent: number;
  mmapNext: number;
  fds: Map<number, KFile>;
  exited?: number;
  waitingFor?: number;
  brk: number;
}

type KFile = { kind: 'file'; name: string; pos: number } | { kind: 'pipe-r' | 'pipe-w'; pipe: { buf: number[] } } | { kind: 'console' };

/** A file's directory entry. */
export interface Inode {
  size: number;
  /** Disk block of page i = base + i. */
  base: number;
}

const MAX_FILE_PAGES = 256;

/** The test kernel. Files persist across reboots on `disk0` (the directory lives in the kernel object: the "on-disk" superblock). */
export class RogueKernel implements GuestOs {
  p!: GuestPlatform;
  adversary: KernelAdversary = {};
  /** Every trap frame the kernel saw (for leak scans). */
  readonly traps: TrapInfo[] = [];
  /** Every byte string the kernel copied from or to user memory (for leak scans). */
  readonly copies: Uint8Array[] = [];
  readonly exited = new Map<number, number | string>();
  readonly procs = new Map<number, KProc>();
  /** The directory ("on disk": share it between kernels to model the same disk after a reboot or crash). */
  readonly fs: Map<string, Inode>;
  #nextInodeBase = 0;
  #runq: number[] = [];
  #nextFree = 1;
  #freeList: number[] = [];
  #nextPid = 100;
  /** Page cache: "file/page" → gppn. */
  readonly pageCache = new Map<string, number>();
  /** A fixed pid for every process (threat CLK-19), when set. */
  fixedPid: number | undefined;

  constructor(readonly programs: readonly string[], readonly opts: { diskName?: string; keepTraps?: boolean; fs?: Map<string, Inode> } = {}) {
    this.fs = opts.fs ?? new Map();
    for (const i of this.fs.values()) this.#nextInodeBase = Math.max(this.#nextInodeBase, i.base + MAX_FILE_PAGES);
  }

  // ------------------------------------------------------------ memory

  /** Allocates a zeroed guest-physical page. */
  allocPage(): number {
    const g = this.#freeList.pop() ?? this.#nextFree++;
    if (g >= this.p.memoryPages) throw new RangeError('guest out of memory');
    this.p.phys.zeroPage(g);
    return g;
  }
  /** Returns a page to the allocator (the kernel zeroes it on reuse). */
  freePage(g: number): void {
    this.#freeList.push(g);
  }
  /** The PTE for `gva` in address space `root` (0 when absent). */
  pte(root: number, gva: number): number {
    const pde = this.p.phys.load32(root * PAGE_SIZE + (gva >>> 22) * 4);
    if (!(pde & PTE_P)) return 0;
    return this.p.phys.load32((pde >>> 12) * PAGE_SIZE + ((gva >>> 12) & 1023) * 4);
  }
  /** Sets the PTE for `gva` (creating the page-table page). */
  setPte(root: number, gva: number, pte: number): void {
    const pdeAddr = root * PAGE_SIZE + (gva >>> 22) * 4;
    let pde = this.p.phys.load32(pdeAddr);
    if (!(pde & PTE_P)) {
      const pt = this.allocPage();
      pde = (pt << 12) | PTE_P | PTE_W | PTE_U;
      this.p.phys.store32(pdeAddr, pde >>> 0);
    }
    this.p.phys.store32((pde >>> 12) * PAGE_SIZE + ((gva >>> 12) & 1023) * 4, pte >>> 0);
  }
  /** The GPPN mapped at `gva` (−1 when unmapped). */
  gppnOf(root: number, gva: number): number {
    const pte = this.pte(root, gva);
    return pte & PTE_P ? pte >>> 12 : -1;
  }
  /** Maps `gva` to a fresh page (or `gppn`). Returns the GPPN. */
  map(root: number, gva: number, gppn?: number): number {
    const g = gppn ?? this.allocPage();
    this.setPte(root, gva, (g << 12) | PTE_P | PTE_W | PTE_U);
    return g;
  }
  /** The process record of a thread. */
  proc(tid: number): KProc {
    const p = this.procs.get(tid);
    if (!p) throw new RangeError(`no process for thread ${tid}`);
    return p;
  }
  /** Reads a guest-physical page through the kernel view. */
  readPage(g: number): Uint8Array {
    return this.p.phys.read(g * PAGE_SIZE, PAGE_SIZE);
  }
  /** Writes a guest-physical page through the kernel view. */
  writePage(g: number, data: Uint8Array): void {
    this.p.phys.write(g * PAGE_SIZE, data);
  }
  /** Guest swap-out of the page at `gva`: reads the (cipher)text, frees the GPPN, clears the PTE. Returns the bytes. */
  swapOut(tid: number, gva: number): Uint8Array {
    const root = this.proc(tid).root;
    const g = this.gppnOf(root, gva);
    if (g < 0) throw new RangeError('not mapped');
    const data = this.readPage(g);
    this.setPte(root, gva, 0);
    this.p.phys.zeroPage(g);
    this.freePage(g);
    return data;
  }
  /** Guest swap-in at a different GPPN. Returns the new GPPN. */
  swapIn(tid: number, gva: number, data: Uint8Array): number {
    const g = this.allocPage();
    this.writePage(g, data);
    this.map(this.proc(tid).root, gva, g);
    return g;
  }

  // ------------------------------------------------------------ boot and scheduling

  boot(p: GuestPlatform): void {
    this.p = p;
    this.#nextFree = 1;
    this.#freeList = [];
    this.procs.clear();
    this.pageCache.clear();
    this.#runq = [];
    p.onPageFault((root, gva, write, kind) => {
      const h = this.adversary.onFault?.(root, gva, write, this);
      if (h !== undefined) return h;
      if (kind !== 'not-present' || gva >= USER_LAYOUT.kernelBase || gva < PAGE_SIZE) return false; // user pages are demand-mapped, also on copy_to_user
      this.map(root, (gva & ~(PAGE_SIZE - 1)) >>> 0);
      return true;
    });
    for (const prog of this.programs) this.spawn(prog);
  }

  /** Starts a program in a new address space; returns the thread id. */
  spawn(program: string, argv: readonly string[] = []): number {
    const root = this.allocPage();
    const tid = this.p.createThread({ root, program, argv, sp: USER_LAYOUT.stackTop, pc: USER_LAYOUT.textBase });
    this.procs.set(tid, { tid, pid: this.#nextPid++, root, parent: 0, mmapNext: USER_LAYOUT.mmapBase, fds: new Map([[1, { kind: 'console' }], [2, { kind: 'console' }]]), brk: USER_LAYOUT.heapBase });
    this.#runq.push(tid);
    return tid;
  }

  /** Wakes the kernel (new work was queued from outside, e.g. by a test). */
  interrupt(): void {}

  run(): 'runnable' | 'idle' | 'halted' {
    const tid = this.#runq.shift();
    if (tid === undefined) return 'idle';
    const pr = this.procs.get(tid);
    if (!pr) return this.#runq.length ? 'runnable' : 'idle';
    if (pr.waitingFor !== undefined) {
      const child = [...this.procs.values()].find((c) => c.pid === pr.waitingFor || (pr.waitingFor === 0xffffffff && c.parent === pr.pid));
      if (child && child.exited === undefined) {
        this.#runq.push(tid);
        return 'runnable';
      }
      this.p.setRegister(tid, 'r0', child ? child.pid : errnoResult(ERRNO.ECHILD));
      pr.waitingFor = undefined;
    }
    this.adversary.beforeResume?.(tid, this);
    const t = this.p.resume(tid);
    if (this.opts.keepTraps !== false) this.traps.push(t);
    this.adversary.afterTrap?.(t, this);
    if (t.kind === 'syscall') this.#syscall(tid, t);
    else if (t.kind === 'preempt') this.#runq.push(tid);
    else {
      this.exited.set(tid, t.kind === 'exit' ? (t.status ?? 0) : `${t.kind}:${t.reason ?? t.fault?.reason ?? ''}`);
      pr.exited = t.status ?? 255;
    }
    return this.#runq.length ? 'runnable' : 'idle';
  }

  #syscall(tid: number, t: TrapInfo): void {
    const r = t.regs;
    const nr = r.r0;
    const args = [r.r1, r.r2, r.r3, r.r4, r.r5];
    let result: number | undefined;
    try {
      result = this.#handle(tid, nr, args);
    } catch (e) {
      if (!(e instanceof RangeError) && !(e instanceof TypeError)) throw e;
      result = errnoResult(ERRNO.EFAULT);
    }
    if (nr === SYS.exit) return;
    const o = this.adversary.onSyscall?.({ kernel: this, tid, nr, args, result });
    if (o !== undefined) result = o;
    if (result !== undefined) this.p.setRegister(tid, 'r0', result >>> 0);
    if (this.procs.has(tid) && this.procs.get(tid)!.exited === undefined) this.#runq.push(tid);
  }

  #copyIn(tid: number, gva: number, len: number): Uint8Array {
    const b = this.p.kernelSpace(this.proc(tid).root).read(gva, len);
    this.copies.push(b);
    return b;
  }
  #copyOut(tid: number, gva: number, data: Uint8Array): void {
    this.copies.push(data.slice());
    this.p.kernelSpace(this.proc(tid).root).write(gva, data);
  }
  #cstr(tid: number, gva: number): string {
    const ks = this.p.kernelSpace(this.proc(tid).root);
    const out: number[] = [];
    for (let i = 0; i < 4096; i++) {
      const b = ks.load8(gva + i);
      if (b === 0) break;
      out.push(b);
    }
    return new TextDecoder().decode(new Uint8Array(out));
  }

  #handle(tid: number, nr: number, a: number[]): number | undefined {
    const pr = this.proc(tid);
    switch (nr) {
      case SYS.exit:
        this.exited.set(tid, a[0]);
        pr.exited = a[0];
        this.p.destroyThread(tid);
        return undefined;
      case SYS.getpid:
        return this.fixedPid ?? pr.pid;
      case SYS.sched_yield:
      case SYS.nanosleep:
        return 0;
      case SYS.write: {
        const f = pr.fds.get(a[0]);
        if (!f) return errnoResult(ERRNO.EBADF);
        const data = this.#copyIn(tid, a[1], a[2]);
        if (f.kind === 'console') {
          this.p.console(new TextDecoder().decode(data));
          return data.length;
        }
        if (f.kind === 'pipe-w') {
          f.pipe.buf.push(...data);
          return data.length;
        }
        if (f.kind !== 'file') return errnoResult(ERRNO.EBADF);
        this.#fileWrite(f.name, f.pos, data);
        f.pos += data.length;
        return data.length;
      }
      case SYS.read: {
        const f = pr.fds.get(a[0]);
        if (!f) return errnoResult(ERRNO.EBADF);
        if (f.kind === 'pipe-r') {
          const n = Math.min(a[2], f.pipe.buf.length);
          this.#copyOut(tid, a[1], new Uint8Array(f.pipe.buf.splice(0, n)));
          return n;
        }
        if (f.kind !== 'file') return errnoResult(ERRNO.EBADF);
        const data = this.#fileRead(f.name, f.pos, a[2]);
        this.#copyOut(tid, a[1], data);
        f.pos += data.length;
        return data.length;
      }
      case SYS.open: {
        const name = this.#cstr(tid, a[0]);
        if (!this.fs.has(name)) {
          if (!(a[1] & O.CREAT)) return errnoResult(ERRNO.ENOENT);
          this.fs.set(name, { size: 0, base: this.#nextInodeBase });
          this.#nextInodeBase += MAX_FILE_PAGES;
        }
        if (a[1] & O.TRUNC) this.fs.get(name)!.size = 0;
        let fd = 3;
        while (pr.fds.has(fd)) fd++;
        pr.fds.set(fd, { kind: 'file', name, pos: 0 });
        return fd;
      }
      case SYS.close:
        return pr.fds.delete(a[0]) ? 0 : errnoResult(ERRNO.EBADF);
      case SYS.unlink:
        return this.fs.delete(this.#cstr(tid, a[0])) ? 0 : errnoResult(ERRNO.ENOENT);
      case SYS.lseek: {
        const f = pr.fds.get(a[0]);
        if (!f || f.kind !== 'file') return errnoResult(ERRNO.ESPIPE);
        const off = a[1] | 0;
        const p = (a[2] === SEEK.SET ? 0 : a[2] === SEEK.CUR ? f.pos : this.fs.get(f.name)!.size) + off;
        if (p < 0) return errnoResult(ERRNO.EINVAL);
        f.pos = p;
        return p;
      }
      case SYS.fsync:
        return pr.fds.has(a[0]) ? 0 : errnoResult(ERRNO.EBADF);
      case SYS.mmap: {
        if (!(a[3] & MAP.ANONYMOUS)) return errnoResult(ERRNO.ENOSYS);
        const len = Math.ceil(a[1] / PAGE_SIZE) * PAGE_SIZE;
        const at = a[3] & MAP.FIXED ? a[0] : pr.mmapNext;
        if (!(a[3] & MAP.FIXED)) pr.mmapNext += len;
        return at; // pages are mapped on demand
      }
      case SYS.munmap: {
        for (let v = a[0]; v < a[0] + a[1]; v += PAGE_SIZE) {
          const g = this.gppnOf(pr.root, v);
          if (g >= 0) {
            this.setPte(pr.root, v, 0);
            this.freePage(g);
          }
        }
        return 0;
      }
      case SYS.brk:
        if (a[0] >= USER_LAYOUT.heapBase && a[0] < USER_LAYOUT.mmapBase) pr.brk = a[0];
        return pr.brk;
      case SYS.pipe: {
        const pipe = { buf: [] as number[] };
        let fd = 3;
        while (pr.fds.has(fd)) fd++;
        pr.fds.set(fd, { kind: 'pipe-r', pipe });
        let fd2 = fd + 1;
        while (pr.fds.has(fd2)) fd2++;
        pr.fds.set(fd2, { kind: 'pipe-w', pipe });
        const b = new Uint8Array(8);
        new DataView(b.buffer).setUint32(0, fd, true);
        new DataView(b.buffer).setUint32(4, fd2, true);
        this.#copyOut(tid, a[0], b);
        return 0;
      }
      case SYS.fork: {
        const root = this.allocPage();
        // Copy the address space page by page through the kernel view (cloaked pages: ciphertext).
        for (let pdi = 0; pdi < 768; pdi++) {
          const pde = this.p.phys.load32(pr.root * PAGE_SIZE + pdi * 4);
          if (!(pde & PTE_P)) continue;
          for (let pti = 0; pti < 1024; pti++) {
            const pte = this.p.phys.load32((pde >>> 12) * PAGE_SIZE + pti * 4);
            if (!(pte & PTE_P)) continue;
            const g = this.allocPage();
            this.writePage(g, this.readPage(pte >>> 12));
            this.setPte(root, ((pdi << 10) | pti) << 12, (g << 12) | (pte & 7));
          }
        }
        const child = this.p.forkThread(tid, root);
        const cp: KProc = { tid: child, pid: this.#nextPid++, root, parent: pr.pid, mmapNext: pr.mmapNext, fds: new Map(pr.fds), brk: pr.brk };
        this.procs.set(child, cp);
        this.#runq.push(child);
        return cp.pid;
      }
      case SYS.execve: {
        const program = this.#cstr(tid, a[0]);
        if (!this.p.programs().includes(program)) return errnoResult(ERRNO.ENOENT);
        const old = pr.root;
        pr.root = this.allocPage();
        this.p.execThread(tid, { root: pr.root, program });
        this.p.releaseAddressSpace(old);
        pr.mmapNext = USER_LAYOUT.mmapBase;
        return 0;
      }
      case SYS.waitpid:
        pr.waitingFor = a[0];
        return undefined;
      case SYS.signal:
        return this.p.registerSignalHandler(tid);
      case SYS.kill: {
        const target = [...this.procs.values()].find((x) => x.pid === a[0]);
        if (!target) return errnoResult(ERRNO.ESRCH);
        return 0;
      }
      default:
        return errnoResult(ERRNO.ENOSYS);
    }
  }

  // ------------------------------------------------------------ files: page cache + DMA to disk0

  #disk() {
    const name = this.opts.diskName ?? 'disk0';
    return this.p.disks().includes(name) ? this.p.disk(name) : undefined;
  }
  #cachePage(name: string, page: number): number {
    const key = `${name}/${page}`;
    let g = this.pageCache.get(key);
    if (g === undefined) {
      g = this.allocPage();
      const ino = this.fs.get(name)!;
      const d = this.#disk();
      if (d && page * PAGE_SIZE < ino.size) d.read(ino.base + page, 1, g * PAGE_SIZE);
      this.pageCache.set(key, g);
    }
    return g;
  }
  #fileWrite(name: string, pos: number, data: Uint8Array): void {
    const ino = this.fs.get(name)!;
    for (let done = 0; done < data.length; ) {
      const page = Math.floor((pos + done) / PAGE_SIZE), off = (pos + done) % PAGE_SIZE;
      if (page >= MAX_FILE_PAGES) throw new RangeError('file too large');
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      const g = this.#cachePage(name, page);
      this.p.phys.write(g * PAGE_SIZE + off, data.subarray(done, done + n));
      ino.size = Math.max(ino.size, pos + done + n);
      this.#disk()?.write(ino.base + page, 1, g * PAGE_SIZE);
      done += n;
    }
  }
  #fileRead(name: string, pos: number, len: number): Uint8Array {
    const ino = this.fs.get(name)!;
    const n = Math.max(0, Math.min(len, ino.size - pos));
    const out = new Uint8Array(n);
    for (let done = 0; done < n; ) {
      const page = Math.floor((pos + done) / PAGE_SIZE), off = (pos + done) % PAGE_SIZE;
      const k = Math.min(PAGE_SIZE - off, n - done);
      const g = this.#cachePage(name, page);
      out.set(this.p.phys.read(g * PAGE_SIZE + off, k), done);
      done += k;
    }
    return out;
  }

  /** Counters: traps seen, syscalls handled, processes, files, pages allocated. */
  stats(): { traps: number; syscalls: number; processes: number; files: number; pagesAllocated: number } {
    return {
      traps: this.traps.length,
      syscalls: this.traps.filter((t) => t.kind === 'syscall').length,
      processes: this.procs.size,
      files: this.fs.size,
      pagesAllocated: this.#nextFree - 1 - this.#freeList.length,
    };
  }

  /** Decodes a register result (negative errno as a negative number). */
  static decode(r: number): number {
    return decodeResult(r);
  }
}
