import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LIBC_SCRATCH, SYS, USER_LAYOUT, libc as c } from '../../src/guest/index.js';
import { bootMain } from './helpers.js';

const NRS = [...Object.values(SYS), 0, 999, 1023, 1024, 0xffff];
const ARGS = [0, 1, 2, 3, 7, 31, 32, 4095, 4096, 4097, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffff000, USER_LAYOUT.heapBase,
  USER_LAYOUT.mmapBase, USER_LAYOUT.mmapBase + 3, LIBC_SCRATCH.base, LIBC_SCRATCH.base + 8, USER_LAYOUT.kernelBase, USER_LAYOUT.kernelBase - 4,
  USER_LAYOUT.stackTop - 8, 0x20000000, 1 << 30];

const arbCall = fc.record({
  nr: fc.constantFrom(...NRS),
  args: fc.array(fc.oneof(fc.constantFrom(...ARGS), fc.integer({ min: 0, max: 0xffffffff })), { minLength: 0, maxLength: 5 }),
});

describe('bad input from programs never crashes the kernel or the TVMM', () => {
  it('random system calls with absurd, unaligned and hostile arguments get results or errnos', () => {
    fc.assert(
      fc.property(fc.array(arbCall, { minLength: 1, maxLength: 40 }), (calls) => {
        const results: number[] = [];
        const g = bootMain(function* (p) {
          // some real state for the calls to trip over
          yield* c.open(p, 'f', 0x42);
          yield* c.pipe(p);
          yield* c.mmap(p, 8192);
          for (const k of calls) {
            if (k.nr === SYS.exit) continue;
            results.push(yield* c.syscall(p, k.nr, k.args));
          }
          return 0;
        });
        g.tvmm.run({ untilNs: 2e9 });
        const info = g.tvmm.vm(g.vmId);
        expect(info.haltReason).toBeUndefined();
        expect(g.kernel.panic).toBeUndefined();
        expect(g.kernel.stats.kernelErrors).toBe(0);
        for (const r of results) expect(r).toBeGreaterThanOrEqual(-4095);
      }),
      { seed: 20261125, numRuns: 150 },
    );
  });

  it('garbage arguments to fork, signal and kill are refused; an absurd nanosleep is capped, not an internal error', () => {
    const r: number[] = [];
    const g = bootMain(function* (p) {
      r.push(yield* c.syscall(p, SYS.fork, [0xffffffff, 5]));
      r.push(yield* c.syscall(p, SYS.signal, [10, 0xdeadbeef]));
      r.push(yield* c.syscall(p, SYS.signal, [0, 0]));
      r.push(yield* c.syscall(p, SYS.signal, [65, 1]));
      r.push(yield* c.syscall(p, SYS.kill, [0, 0]));
      r.push(yield* c.syscall(p, SYS.kill, [1, 0]));
      // a sleep of 2^32 seconds is accepted (and capped), not an internal error
      const pid = yield* c.fork(p, function* (ch) {
        ch.store32(LIBC_SCRATCH.base + 4096, 0xffffffff);
        ch.store32(LIBC_SCRATCH.base + 4100, 999_999_999);
        return yield* c.syscall(ch, SYS.nanosleep, [LIBC_SCRATCH.base + 4096, 0]);
      });
      yield* c.yieldCpu(p);
      r.push(yield* c.kill(p, pid, 9));
      return 0;
    });
    g.tvmm.run({ untilNs: 1e9 });
    expect(r).toEqual([-22, -22, -22, -22, -3, 0, 0]);
    expect(g.kernel.stats.kernelErrors).toBe(0);
  });
});
