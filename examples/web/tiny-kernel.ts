/**
 * A tiny guest kernel for the browser demo: builds two-level page tables in guest memory, runs
 * one user thread, and handles three system calls (0 exit, 1 checkpoint, 2 console). At every
 * checkpoint it hands its powers to a "rootkit" callback, which can do what a compromised kernel
 * can: resolve a user address through the page tables it wrote and read or write that
 * guest-physical page through the kernel view (`platform.phys`). It never touches machine frames.
 */
import type { GuestOs, GuestPlatform, TrapInfo } from '../../src/tvmm/index.js';

/** Page-table entry flags (x86 style). */
export const PTE = Object.freeze({ P: 1, W: 2, U: 4 });
/** System-call numbers of the tiny kernel. */
export const TINY_SYS = Object.freeze({ exit: 0, checkpoint: 1, console: 2 });

/** What the rootkit callback may use at a checkpoint. */
export interface RootkitAccess {
  /** The guest-physical page number `gva` maps to in the app's page tables, or undefined. */
  translate(gva: number): number | undefined;
  /** Reads guest-physical memory through the kernel view. */
  readPhys(gpa: number, len: number): Uint8Array;
  /** Writes guest-physical memory through the kernel view. */
  writePhys(gpa: number, data: Uint8Array): void;
}

/** A one-process kernel with a rootkit hook. */
export class TinyKernel implements GuestOs {
  #p!: GuestPlatform;
  #next = 1; // gppn 0 is reserved
  #root = 0;
  #tid = 0;
  /** The app's exit status (or the kill reason) once it has ended. */
  ended: { status?: number; reason?: string } | undefined;
  /** The last trap the kernel saw. */
  lastTrap: TrapInfo | undefined;

  /**
   * @param program the program to run
   * @param userPages pages mapped at 0x400000 before the program starts
   * @param rootkit called at every checkpoint with the step number
   */
  constructor(
    readonly program: string,
    readonly userPages: number,
    readonly rootkit: (step: number, k: RootkitAccess) => void,
  ) {}

  #alloc(): number {
    const g = this.#next++;
    this.#p.phys.zeroPage(g);
    return g;
  }

  #map(vpn: number): void {
    const pdi = vpn >>> 10;
    const pti = vpn & 1023;
    let pde = this.#p.phys.load32(this.#root * 4096 + pdi * 4);
    if (!(pde & PTE.P)) {
      pde = ((this.#alloc() << 12) | PTE.P | PTE.W | PTE.U) >>> 0;
      this.#p.phys.store32(this.#root * 4096 + pdi * 4, pde);
    }
    this.#p.phys.store32((pde >>> 12) * 4096 + pti * 4, ((this.#alloc() << 12) | PTE.P | PTE.W | PTE.U) >>> 0);
  }

  #translate(gva: number): number | undefined {
    const pde = this.#p.phys.load32(this.#root * 4096 + (gva >>> 22) * 4);
    if (!(pde & PTE.P)) return undefined;
    const pte = this.#p.phys.load32((pde >>> 12) * 4096 + ((gva >>> 12) & 1023) * 4);
    return pte & PTE.P ? pte >>> 12 : undefined;
  }

  /** Boots: page directory, the user pages, the thread. */
  boot(p: GuestPlatform): void {
    this.#p = p;
    this.#root = this.#alloc();
    for (let v = 0; v < this.userPages; v++) this.#map(0x400 + v);
    this.#tid = p.createThread({ root: this.#root, program: this.program });
  }

  /** No devices: interrupts are ignored. */
  interrupt(): void {}

  /** Runs the thread to its next trap and handles it. */
  run(): 'runnable' | 'idle' | 'halted' {
    if (this.ended) return 'halted';
    const t = this.#p.resume(this.#tid);
    this.lastTrap = t;
    if (t.kind === 'syscall') {
      const nr = t.regs.r0;
      if (nr === TINY_SYS.exit) {
        this.ended = { status: t.regs.r1 };
        this.#p.destroyThread(this.#tid);
        return 'halted';
      }
      if (nr === TINY_SYS.checkpoint) {
        const p = this.#p;
        this.rootkit(t.regs.r1, {
          translate: (gva) => this.#translate(gva),
          readPhys: (gpa, len) => p.phys.read(gpa, len),
          writePhys: (gpa, data) => p.phys.write(gpa, data),
        });
        p.setRegister(this.#tid, 'r0', 0);
      } else if (nr === TINY_SYS.console) {
        const bytes = this.#p.kernelSpace(this.#root).read(t.regs.r1, Math.min(t.regs.r2, 256));
        this.#p.console(new TextDecoder().decode(bytes));
        this.#p.setRegister(this.#tid, 'r0', t.regs.r2);
      } else this.#p.setRegister(this.#tid, 'r0', 0xffffffda); // -ENOSYS
      return 'runnable';
    }
    if (t.kind === 'preempt') return 'runnable';
    this.ended = { ...(t.status !== undefined ? { status: t.status } : {}), reason: t.reason ?? t.fault?.reason ?? t.kind };
    return 'halted';
  }
}
