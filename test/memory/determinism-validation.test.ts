/** P19 (same seed ⇒ same state and trace) and P20 (bad input ⇒ validation error, state unchanged) for the ESX API. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isValidationError, TerraError, type VmId } from '../../src/sim/index.js';
import { BALLOON_HC } from '../../src/memory/index.js';
import { makeEsx, pageOf, writePage } from './helpers.js';

function scenario(seed: number) {
  const { mm, esx, ctx } = makeEsx(600, { swapSlots: 2000, autoBalloon: true, balloonTimeoutNs: 0 }, seed);
  esx.addVm(1 as VmId, 400);
  esx.addVm(2 as VmId, 400);
  const rng = ctx.rng.fork('workload');
  for (let i = 0; i < 1200; i++) writePage(mm, 1 + rng.int(2), rng.int(400), rng.int(4) === 0 ? 0 : pageOf(rng.int(50)));
  for (let t = 0; t < 5; t++) {
    ctx.clock.advance(1e9);
    esx.tick();
  }
  return { stats: esx.stats(), vm1: esx.vmStats(1 as VmId), digest: ctx.trace.digest(), mpn: Array.from(mm.pmap(1 as VmId).mpn) };
}

describe('determinism (P19)', () => {
  it('one seed gives one state and one trace, a different seed a different one', () => {
    const a = scenario(5), b = scenario(5), c = scenario(6);
    expect(b).toEqual(a);
    expect(c.digest === a.digest && JSON.stringify(c.mpn) === JSON.stringify(a.mpn)).toBe(false);
  });
});

describe('validation totality (P20)', () => {
  it('arbitrary input to the public ESX calls throws only validation or typed errors and changes nothing', () => {
    const { mm, esx } = makeEsx(600, { swapSlots: 2000 });
    esx.addVm(1 as VmId, 100, { min: 10 });
    writePage(mm, 1, 3, pageOf(1));
    // Refusal counters are audit counters, not state: everything else must be unchanged.
    const snap = () => JSON.stringify({ s: { ...esx.stats(), admission: { ...esx.admission.stats(), refusals: 0 } }, v: esx.vmStats(1 as VmId), t: esx.tau, b: esx.balloon.stats(1 as VmId), vms: mm.vms() });
    const calls: ((x: unknown, y: unknown) => unknown)[] = [
      (x) => esx.setVmConfig(1 as VmId, x as never),
      (x, y) => esx.setVmConfig(x as never, y as never),
      (x) => esx.setTau(x as never),
      (x, y) => esx.setSharingDomain(x as never, y as never),
      (x, y) => esx.setBalloonTarget(x as never, y as never),
      (x, y) => esx.addVm(x as never, y as never),
      (x) => esx.admit(x as never),
      (x) => esx.vmStats(x as never),
      (x) => esx.sharing.scan(x as never),
      (x, y) => esx.swap.pageOut(x as never, y as never),
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: calls.length - 1 }), fc.anything(), fc.anything(), (k, x, y) => {
        const before = snap();
        try {
          calls[k](x, y);
          return; // accepted: a valid call (state may change)
        } catch (e) {
          expect(isValidationError(e) || e instanceof TypeError || e instanceof RangeError || e instanceof TerraError, String(e)).toBe(true);
        }
        expect(snap()).toBe(before);
      }),
      { seed: 99, numRuns: 400 },
    );
  });
  it('the guest cannot crash the balloon hypercalls with any integers', () => {
    const { esx, mm } = makeEsx(600, { swapSlots: 2000 });
    esx.addVm(1 as VmId, 64);
    esx.setBalloonTarget(1 as VmId, 8);
    fc.assert(
      fc.property(fc.constantFrom(BALLOON_HC.TARGET, BALLOON_HC.INFLATE, BALLOON_HC.DEFLATE), fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), { maxLength: 10 }), (nr, args) => {
        const r = esx.hypercall(nr, { vm: 1 as VmId, mode: 'kernel' }, args);
        expect(Number.isInteger(r)).toBe(true);
        expect(esx.balloon.actual(1 as VmId)).toBeLessThanOrEqual(8);
        expect(mm.checkInvariants().violations).toEqual([]);
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});
