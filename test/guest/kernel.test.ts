import { describe, expect, it } from 'vitest';
import { Host } from '../../src/tvmm/index.js';
import { BUILTIN_PROGRAMS, GuestKernel, SIG, SYS, bootGuest, libc as c } from '../../src/guest/index.js';
import { consoleOf } from './helpers.js';

describe('kernel lifecycle', () => {
  it('boots again after a power cycle with a fresh process table', () => {
    const g = bootGuest({ run: ['idle 1000'] });
    g.tvmm.run({ untilNs: 5e6 });
    expect(g.kernel.ps().map((p) => p.name)).toEqual(['init', 'idle']);
    g.tvmm.power(g.vmId, 'off');
    g.tvmm.power(g.vmId, 'on');
    g.tvmm.run({ untilNs: 10e6 });
    const ps = g.kernel.ps();
    expect(ps.map((p) => [p.pid, p.name])).toEqual([[1, 'init'], [2, 'idle']]);
    expect(consoleOf(g).filter((l) => l.startsWith('kernel:'))).toHaveLength(2);
  });

  it('a missing init program is a kernel panic that shuts the VM down, not a TVMM crash', () => {
    const host = new Host({ seed: 1, machineMiB: 64 });
    const tvmm = host.boot();
    const k = new GuestKernel({ init: 'nope' });
    const id = tvmm.createVm({ name: 'v', kind: 'open-box', memoryMiB: 4, guest: k, programs: BUILTIN_PROGRAMS });
    tvmm.power(id, 'on');
    const r = tvmm.run({ untilNs: 1e9 });
    expect(r.reason).toBe('all-halted');
    expect(k.panic).toMatch(/no init program/);
    expect(tvmm.vm(id).state).toBe('off');
  });

  it('with haltWhenDone false the VM idles after its last process exits', () => {
    const g = bootGuest({ run: ['syscall-heavy 3'], kernel: { haltWhenDone: false } });
    const r = g.tvmm.run({ untilNs: 1e9 });
    expect(r.reason).toBe('all-idle');
    expect(g.tvmm.vm(g.vmId).state).toBe('running');
    expect(g.kernel.ps()).toEqual([]);
  });

  it('two VMs run their own kernels side by side without sharing state', () => {
    const host = new Host({ seed: 3, machineMiB: 128 });
    host.boot();
    const a = bootGuest({ host, name: 'a', run: ['file-io x 4'] });
    const b = bootGuest({ host, name: 'b', run: ['memhog 1 dup'] });
    host.tvmm.run({ untilNs: 1e9 });
    expect(consoleOf(a)).toContain('file-io: x 4096 bytes ok');
    expect(consoleOf(b)).toContain('memhog: 1 MiB dup ok');
    expect(a.kernel.files()).toEqual(['x']);
    expect(b.kernel.files()).toEqual([]);
  });

  it('a program that throws (bad arguments to its own Proc, a plain bug) dies with SIGILL; the kernel and the VM go on', () => {
    const seen: unknown[] = [];
    const g = bootGuest({
      run: ['checker'],
      programs: {
        *bad(p) {
          yield* c.getpid(p);
          if (p.argv[0] === 'nan') yield* p.syscall(SYS.getpid, [Number.NaN]);
          if (p.argv[0] === 'addr') p.load32(-5);
          throw new Error('program bug');
        },
        *checker(p) {
          for (const arg of ['nan', 'addr', 'plain']) {
            const pid = yield* c.fork(p, function* (ch) {
              yield* c.exec(ch, 'bad', [arg]);
              return 1;
            });
            seen.push(yield* c.waitpid(p, pid));
          }
          return 0;
        },
      },
    });
    g.tvmm.run({ untilNs: 1e9 });
    expect(seen).toEqual([1, 2, 3].map(() => expect.objectContaining({ exited: false, signal: SIG.SIGILL })));
    expect(g.tvmm.vm(g.vmId).haltReason).toBeUndefined();
    expect(g.tvmm.vm(g.vmId).state).toBe('off');
  });

  it('public methods reject bad input with TypeError/RangeError or a typed error, and change nothing', () => {
    const k = new GuestKernel();
    expect(() => k.services).toThrow(/not booted/);
    expect(() => k.access).toThrow(/not booted/);
    expect(() => new GuestKernel(null as never)).toThrow(TypeError);
    expect(() => new GuestKernel({ reservePages: 1.5 })).toThrow(RangeError);
    expect(() => new GuestKernel({ initArgv: [1] as never })).toThrow(TypeError);
    const g = bootGuest({ run: ['idle 100'] });
    g.tvmm.run({ untilNs: 1e6 });
    const a = g.kernel.access;
    const before = JSON.stringify([g.kernel.ps(), g.kernel.freePageCount()]);
    expect(() => a.translate(2, -1)).toThrow(RangeError);
    expect(() => a.translate(2, 2 ** 32)).toThrow(RangeError);
    expect(() => a.getPte(2, Number.NaN)).toThrow(RangeError);
    expect(() => a.setPte(2, 0x1000, 2 ** 20, 7)).toThrow(RangeError);
    expect(() => a.setPte(2, 0x1000, 5, 0x1000)).toThrow(RangeError);
    expect(() => a.setPte(999, 0x1000, 5, 7)).toThrow(RangeError);
    expect(() => a.readUser(999, 0x1000, 4)).toThrow(RangeError);
    expect(a.signal(999, 9)).toBe(-3);
    expect(a.signal(2, 65)).toBe(-22);
    expect(() => g.kernel.reclaim(-1)).toThrow(RangeError);
    expect(() => g.kernel.onInterrupt(32, () => {})).toThrow(RangeError);
    expect(() => g.kernel.onInterrupt(33, 'x' as never)).toThrow(TypeError);
    expect(JSON.stringify([g.kernel.ps(), g.kernel.freePageCount()])).toBe(before);
  });
});
