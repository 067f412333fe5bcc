import { describe, expect, it } from 'vitest';
import { Host, type ProgramFn } from '../../src/tvmm/index.js';
import { MiniKernel } from '../helpers/minikernel.js';

const BASE = 0x400000;

function boot(programs: Record<string, ProgramFn>, opts: ConstructorParameters<typeof MiniKernel>[1] = {}, kind: 'open-box' | 'closed-box' = 'open-box') {
  const host = new Host({ seed: 7, machineMiB: 64 });
  const tvmm = host.boot();
  const k = new MiniKernel(Object.keys(programs), opts);
  const id = tvmm.createVm({ name: 'a', kind, memoryMiB: 4, guest: k, programs });
  tvmm.power(id, 'on');
  return { host, tvmm, k, id };
}

describe('the mediated memory path', () => {
  it('runs a program whose loads and stores go through guest page tables to machine frames', () => {
    const prog: ProgramFn = function* (p) {
      for (let i = 0; i < 1024; i++) p.store32(BASE + i * 4, i * 3);
      let s = 0;
      for (let i = 0; i < 1024; i++) s += p.load32(BASE + i * 4);
      p.write(BASE + 8192, new TextEncoder().encode('hello'));
      yield* p.syscall(2, [BASE + 8192, 5]);
      yield* p.syscall(0, [s % 1000]);
      return 0;
    };
    const { tvmm, k } = boot({ prog });
    const r = tvmm.run({ untilNs: 1e9 });
    expect(r.reason).toBe('all-halted');
    expect(k.exited.get(1)).toBe((3 * 1023 * 1024 / 2) % 1000);
    expect(tvmm.consoleLines.map((l) => l.line)).toEqual(['hello']);
    expect(tvmm.mmu.stats.walks).toBeGreaterThan(0);
    expect(tvmm.mmu.stats.walks).toBeLessThan(20); // 2048 accesses to 2 pages: the TLB serves the rest
  });

  it('delivers page faults to the guest kernel, which maps on demand', () => {
    const prog: ProgramFn = function* (p) {
      p.store32(BASE + 5 * 4096, 42);
      yield* p.syscall(0, [p.load32(BASE + 5 * 4096)]);
    };
    const { tvmm, k } = boot({ prog }, { demandMap: true });
    tvmm.run({ untilNs: 1e9 });
    expect(k.faultsFixed).toBe(1);
    expect(k.exited.get(1)).toBe(42);
  });

  it('kills a thread whose fault the kernel cannot resolve', () => {
    const prog: ProgramFn = function* (p) {
      p.load32(0x10000000);
      yield* p.syscall(0, [1]);
    };
    const { tvmm, k } = boot({ prog });
    tvmm.run({ untilNs: 1e9 });
    expect(k.traps.at(-1)!.kind).toBe('fault');
  });

  it('drops a cached translation when the guest rewrites the page-table entry', () => {
    let g2 = 0;
    const { tvmm, k, host, id } = boot({
      prog: function* (p) {
        p.store32(BASE, 111);
        expect(p.load32(BASE)).toBe(111);
        yield* p.syscall(1);
        // the kernel remapped BASE to another page (zero-filled)
        yield* p.syscall(0, [p.load32(BASE)]);
      },
    });
    // Patch the kernel: on getpid, remap vpn 0x400 to a fresh page.
    const orig = k.run.bind(k);
    k.run = () => {
      const r = orig();
      const last = k.traps.at(-1);
      if (last?.kind === 'syscall' && last.regs.r0 === 1 && !g2) {
        g2 = k.allocPage();
        const pde = k.p.phys.load32(k.root * 4096 + 1 * 4);
        k.p.phys.store32((pde >>> 12) * 4096, ((g2 << 12) | 7) >>> 0);
      }
      return r;
    };
    tvmm.run({ untilNs: 1e9 });
    expect(k.exited.get(1)).toBe(0);
    expect(tvmm.mmu.stats.tracedWrites).toBeGreaterThan(0);
    void host;
    void id;
  });
});

describe('partition policy', () => {
  it('lets the management VM read an open-box VM and refuses a closed-box VM with an audit event', () => {
    const prog: ProgramFn = function* (p) {
      p.store32(BASE, 0xdeadbeef);
      yield* p.syscall(0, [77]);
    };
    const open = boot({ prog });
    open.tvmm.run({ untilNs: 1e9 });
    const gppn = open.k.nextFree; // not important: read the root page
    expect(open.tvmm.management.readMemory(open.id, open.k.root * 4096, 4).length).toBe(4);
    // The vCPU's register file holds the last trap frame: exit(77).
    expect(open.tvmm.management.readRegisters(open.id).r1).toBe(77);
    void gppn;
    const closed = boot({ prog }, {}, 'closed-box');
    closed.tvmm.run({ untilNs: 1e9 });
    expect(() => closed.tvmm.management.readMemory(closed.id, 0, 4)).toThrowError(expect.objectContaining({ code: 'ISOLATION_VIOLATION' }));
    expect(() => closed.tvmm.management.readRegisters(closed.id)).toThrowError(expect.objectContaining({ code: 'ISOLATION_VIOLATION' }));
    expect(closed.host.sim.trace.securityEvents().map((e) => e.kind)).toContain('mgmt.inspect.refused');
  });
});
