import { describe, expect, it } from 'vitest';
import { ERRNO, PTE, SYS, TIMER_VECTOR, libc as c, type KernelAdversary } from '../../src/guest/index.js';
import { bootMain } from './helpers.js';

describe('the adversary hook set (a compromised guest kernel)', () => {
  it('onSyscall overrides results; onSyscallResult rewrites them; passThrough lets the call run', () => {
    const got: number[] = [];
    const seen: number[] = [];
    const g = bootMain(function* (p) {
      got.push(yield* c.getpid(p), yield* c.getpid(p), yield* c.getppid(p));
      return 0;
    });
    let n = 0;
    g.kernel.adversary = {
      onSyscall(ctx) {
        seen.push(ctx.nr);
        if (ctx.nr === SYS.getpid && n++ === 0) ctx.setResult(-ERRNO.EPERM);
        if (ctx.nr === SYS.getppid) {
          ctx.setResult(77);
          ctx.passThrough();
        }
      },
      onSyscallResult(ctx) {
        if (ctx.nr === SYS.getppid) ctx.setResult(ctx.result + 1000);
      },
    };
    g.tvmm.run({ untilNs: 1e9 });
    expect(got).toEqual([-ERRNO.EPERM, 1, 1000]);
    expect(seen.slice(0, 3)).toEqual([SYS.getpid, SYS.getpid, SYS.getppid]);
  });

  it('dropping timer interrupts leaves a sleeper asleep; delaying them wakes it late', () => {
    const woke: number[] = [];
    let now = () => 0;
    const mk = (adv: KernelAdversary) => {
      const g = bootMain(function* (p) {
        yield* c.sleep(p, 1e6);
        woke.push(now());
        return 0;
      }, { kernel: { adversary: adv } });
      return g;
    };
    const dropped = mk({ onInterrupt: (ctx) => ctx.drop() });
    const r = dropped.tvmm.run({ untilNs: 1e9 });
    expect(woke).toEqual([]);
    expect(r.reason).toBe('all-idle');
    expect(dropped.kernel.stats.droppedInterrupts).toBeGreaterThan(0);
    let delayed = false;
    const late = mk({
      onInterrupt(ctx) {
        if (ctx.vector === TIMER_VECTOR && !delayed && ctx.kernel.platform.now() >= 1e6) {
          delayed = true;
          ctx.delay(50e6);
        }
      },
    });
    now = () => late.tvmm.sim.clock.now;
    late.tvmm.run({ untilNs: 1e9 });
    expect(woke).toHaveLength(1);
    expect(woke[0]).toBeGreaterThanOrEqual(51e6);
  });

  it('beforeResume edits saved registers (the syscall result the program sees)', () => {
    const got: number[] = [];
    const g = bootMain(function* (p) {
      got.push(yield* c.getpid(p));
      return 0;
    });
    g.kernel.adversary = {
      beforeResume(ctx) {
        if (ctx.kernel.getRegister(ctx.tid, 'r0') === 1) ctx.kernel.setRegister(ctx.tid, 'r0', 31337);
      },
    };
    g.tvmm.run({ untilNs: 1e9 });
    expect(got).toEqual([31337]);
  });

  it('rewrites page-table entries: maps one process page onto another process page, and reads user memory via the kernel view', () => {
    const r: Record<string, unknown> = {};
    const g = bootMain(function* (p) {
      const a = yield* c.mmap(p, 4096);
      p.store32(a, 0x5ec2e7);
      const pid = yield* c.fork(p, function* (ch) {
        const b = yield* c.mmap(ch, 4096);
        ch.store32(b, 1);
        yield* c.getpid(ch); // the kernel attacks here
        r.childSees = ch.load32(b);
        return 0;
      });
      p.store32(a, 0x5ec2e8); // COW: the parent now has its own page
      yield* c.waitpid(p, pid);
      return 0;
    });
    g.kernel.adversary = {
      onSyscall(ctx) {
        if (ctx.nr !== SYS.getpid || ctx.pid !== 2) return;
        const k = ctx.kernel;
        const parentA = 0x40000000, childB = 0x40001000;
        const gppn = k.translate(1, parentA)!;
        r.readUser = new DataView(k.readUser(1, parentA, 4).buffer).getUint32(0, true);
        k.pageTables.setPte(2, childB, gppn, PTE.P | PTE.U | PTE.W);
        r.pte = k.getPte(2, childB) >>> 12 === gppn;
      },
    };
    g.tvmm.run({ untilNs: 1e9 });
    expect(r).toEqual({ readUser: 0x5ec2e8, pte: true, childSees: 0x5ec2e8 });
  });

  it('onPageFault can refuse a fault the honest kernel would fix, killing the process', () => {
    const r: unknown[] = [];
    const g = bootMain(function* (p) {
      const pid = yield* c.fork(p, function* (ch) {
        const a = yield* c.mmap(ch, 4096);
        ch.store32(a, 1);
        return 0;
      });
      r.push(yield* c.waitpid(p, pid));
      return 0;
    });
    g.kernel.adversary = { onPageFault: (ctx) => (ctx.pid === 2 && ctx.gva === 0x40000000 ? false : undefined) };
    g.tvmm.run({ untilNs: 1e9 });
    expect(r[0]).toMatchObject({ exited: false, signal: 11 });
  });

  it('onTrap sees every trap; onInterrupt can defer (reorder); a throwing hook crashes the kernel and the TVMM halts only that VM', () => {
    const kinds = new Set<string>();
    const g = bootMain(function* (p) {
      yield* p.compute(1000);
      yield* c.sleep(p, 1e5);
      return 0;
    });
    g.kernel.adversary = { onTrap: (ctx) => void kinds.add(ctx.trap.kind), onInterrupt: (ctx) => ctx.defer() };
    g.tvmm.run({ untilNs: 1e9 });
    expect([...kinds].sort()).toEqual(['exit', 'preempt', 'syscall']);
    const bad = bootMain(function* (p) {
      yield* c.getpid(p);
      return 0;
    });
    bad.kernel.adversary = {
      onSyscall() {
        throw new Error('rootkit bug');
      },
    };
    bad.tvmm.run({ untilNs: 1e9 });
    expect(bad.tvmm.vm(bad.vmId)).toMatchObject({ state: 'halted' });
    expect(bad.tvmm.vm(bad.vmId).haltReason).toMatch(/rootkit bug/);
  });
});
