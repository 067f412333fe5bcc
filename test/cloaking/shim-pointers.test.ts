import { describe, expect, it } from 'vitest';
import { bootGuest, libc } from '../../src/guest/index.js';
import { attachCloaking } from '../../src/cloaking/index.js';
import { NS_PER_MS } from '../../src/sim/index.js';
import type { ProgramFn } from '../../src/tvmm/index.js';

// System calls with pointer arguments must be marshalled by the shim: the kernel reads a cloaked
// page only as ciphertext. Regression for nanosleep (a cloaked sleeper never woke up) and getrandom.
describe('the shim marshals pointer arguments', () => {
  it('nanosleep: a cloaked sleeper wakes after the time it asked for, like an uncloaked one', () => {
    const ends: number[] = [];
    for (const cloaked of [false, true]) {
      const { tvmm } = bootGuest({ seed: 2, memoryMiB: 16, run: ['idle 30 2'] });
      if (cloaked) attachCloaking(tvmm, { cloakPrograms: ['idle'] });
      const r = tvmm.run({ untilNs: 2000 * NS_PER_MS });
      expect(r.reason).toBe('all-halted');
      ends.push(r.endNs);
    }
    for (const t of ends) expect(t).toBeGreaterThanOrEqual(60 * NS_PER_MS);
    expect(Math.abs(ends[1] - ends[0])).toBeLessThan(5 * NS_PER_MS);
  });

  it('getrandom: random bytes reach the cloaked program, and the kernel never had them in cloaked memory', () => {
    const prog: ProgramFn = function* (p) {
      const r = yield* libc.getrandom(p, 64);
      if (typeof r === 'number') return 1;
      yield* libc.puts(p, `random ${r.some((b) => b !== 0) ? 'nonzero' : 'zero'} ${r.length}`);
      return 0;
    };
    const { tvmm } = bootGuest({ seed: 2, memoryMiB: 16, programs: { prog }, run: ['prog'] });
    attachCloaking(tvmm, { cloakPrograms: ['prog'] });
    tvmm.run({ untilNs: 200 * NS_PER_MS });
    expect(tvmm.consoleLines.map((l) => l.line)).toContain('random nonzero 64');
  });
});
