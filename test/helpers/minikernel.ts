/**
 * A minimal test-only guest kernel: identity-free page tables built in guest memory, one user
 * thread per program, syscalls 0 = exit, 1 = getpid, 2 = write(console) — enough to exercise the
 * TVMM's mediated path without the full guest OS.
 */
import type { GuestOs, GuestPlatform, TrapInfo } from '../../src/tvmm/index.js';

export const PTE_P = 1, PTE_W = 2, PTE_U = 4;

export class MiniKernel implements GuestOs {
  p!: GuestPlatform;
  nextFree = 1; // gppn 0 reserved
  root = 0;
  tids: number[] = [];
  traps: TrapInfo[] = [];
  exited = new Map<number, number>();
  faultsFixed = 0;
  constructor(readonly programs: string[], readonly opts: { demandMap?: boolean; userPages?: number } = {}) {}

  allocPage(): number {
    const g = this.nextFree++;
    this.p.phys.zeroPage(g);
    return g;
  }

  /** Maps user page `vpn` → new gppn in the root. */
  map(vpn: number, writable = true): number {
    const pdi = vpn >>> 10, pti = vpn & 1023;
    let pde = this.p.phys.load32(this.root * 4096 + pdi * 4);
    if (!(pde & PTE_P)) {
      const pt = this.allocPage();
      pde = (pt << 12) | PTE_P | PTE_W | PTE_U;
      this.p.phys.store32(this.root * 4096 + pdi * 4, pde >>> 0);
    }
    const pt = pde >>> 12;
    const g = this.allocPage();
    this.p.phys.store32(pt * 4096 + pti * 4, ((g << 12) | PTE_P | PTE_U | (writable ? PTE_W : 0)) >>> 0);
    return g;
  }

  boot(p: GuestPlatform): void {
    this.p = p;
    this.root = this.allocPage();
    if (!this.opts.demandMap) for (let v = 0; v < (this.opts.userPages ?? 16); v++) this.map(0x400 + v);
    p.onPageFault((root, gva, write, kind) => {
      if (!this.opts.demandMap || kind !== 'not-present') return false;
      this.map(gva >>> 12);
      this.faultsFixed++;
      return true;
    });
    for (const prog of this.programs) this.tids.push(p.createThread({ root: this.root, program: prog }));
  }
  interrupt(): void {}
  run(): 'runnable' | 'idle' | 'halted' {
    if (this.tids.length === 0) return 'halted';
    const tid = this.tids.shift()!;
    const t = this.p.resume(tid);
    this.traps.push(t);
    if (t.kind === 'syscall') {
      if (t.regs.r0 === 0) {
        this.exited.set(tid, t.regs.r1);
        this.p.destroyThread(tid);
        return this.tids.length ? 'runnable' : 'halted';
      }
      if (t.regs.r0 === 1) this.p.setRegister(tid, 'r0', tid);
      else if (t.regs.r0 === 2) {
        const bytes = this.p.kernelSpace(this.root).read(t.regs.r1, t.regs.r2);
        this.p.console(new TextDecoder().decode(bytes));
        this.p.setRegister(tid, 'r0', t.regs.r2);
      } else this.p.setRegister(tid, 'r0', 0xffffffda);
      this.tids.push(tid);
    } else if (t.kind === 'preempt') this.tids.push(tid);
    else this.exited.set(tid, t.status ?? -1);
    return this.tids.length ? 'runnable' : 'halted';
  }
}
