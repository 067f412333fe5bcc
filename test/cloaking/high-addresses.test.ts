import { describe, expect, it } from 'vitest';
import { bootGuest, USER_LAYOUT, libc } from '../../src/guest/index.js';
import { attachCloaking } from '../../src/cloaking/index.js';
import type { ProgramFn } from '../../src/tvmm/index.js';

// Regression: the page-aligned fault address shown to the kernel for a cloaked thread was computed
// with a signed 32-bit mask, so faults above 2 GiB (the stack) reached the kernel as negative
// addresses and the cloaked program died with SIGSEGV on its first untouched stack page.
describe('cloaked programs above 2 GiB', () => {
  it('grow their stack on demand like uncloaked ones', () => {
    const prog: ProgramFn = function* (p) {
      const top = USER_LAYOUT.stackTop;
      for (const k of [1, 2, 8, USER_LAYOUT.stackPages]) p.store32(top - k * 4096, k);
      let s = 0;
      for (const k of [1, 2, 8, USER_LAYOUT.stackPages]) s += p.load32(top - k * 4096);
      yield* libc.puts(p, `sum ${s}`);
      return 0;
    };
    for (const cloaked of [false, true]) {
      const { tvmm } = bootGuest({ seed: 3, memoryMiB: 16, programs: { prog }, run: ['prog'] });
      if (cloaked) attachCloaking(tvmm, { cloakPrograms: ['prog'] });
      tvmm.run({ untilNs: 50_000_000 });
      expect(tvmm.consoleLines.map((l) => l.line)).toContain(`sum ${1 + 2 + 8 + USER_LAYOUT.stackPages}`);
    }
  });
});
