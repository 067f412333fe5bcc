import { describe, expect, it } from 'vitest';
import { adjustedRatio, computeTargets, ReclaimStateMachine, PageState } from '../../src/memory/index.js';
import { TerraError, type Gppn, type VmId } from '../../src/sim/index.js';
import { makeEsx, pageOf, writePage } from './helpers.js';

const V1 = 1 as VmId, V2 = 2 as VmId, V3 = 3 as VmId;

describe('share-based allocation with the idle memory tax (ESX §5)', () => {
  it('ρ = S / (P·(f + k(1−f))) with k = 1/(1−τ)', () => {
    // P = 100, f = 0.25 (25 active pages), τ = 0.75 ⇒ k = 4 ⇒ denominator 100·(0.25 + 4·0.75) = 325.
    expect(adjustedRatio(650, 100, 25, 0.75)).toBeCloseTo(2, 10);
    expect(adjustedRatio(100, 100, 0, 0)).toBeCloseTo(1, 10);
  });

  it('τ = 0 splits equally between equal-share VMs; τ = 0.75 moves idle memory to the active VM', () => {
    const inputs = [
      { vm: V1, min: 0, max: 1000, shares: 1000, activePages: 20 },
      { vm: V2, min: 0, max: 1000, shares: 1000, activePages: 1000 },
    ];
    const t0 = computeTargets(inputs, 1400, 0, 1);
    expect(t0.get(V1)).toBe(700);
    expect(t0.get(V2)).toBe(700);
    const t75 = computeTargets(inputs, 1400, 0.75, 1);
    expect(t75.get(V2)!).toBeGreaterThan(1000 - 1);
    expect(t75.get(V1)! + t75.get(V2)!).toBe(1400);
    expect(t75.get(V1)!).toBeLessThan(700);
  });

  it('every VM gets at least its min and at most its max', () => {
    const t = computeTargets([
      { vm: V1, min: 300, max: 400, shares: 1, activePages: 0 },
      { vm: V2, min: 0, max: 200, shares: 1000, activePages: 200 },
    ], 1000, 0.75, 1);
    expect(t.get(V1)).toBe(400);
    expect(t.get(V2)).toBe(200);
  });
});

describe('admission control and configuration (ESX §5.4)', () => {
  it('refuses min + overhead beyond memory and max − min beyond swap, changing nothing', () => {
    const { esx, mm } = makeEsx(1000, { swapSlots: 500, overheadPages: 100 });
    esx.addVm(V1, 600, { min: 300 }); // mem 400, swap 300
    expect(() => esx.addVm(V2, 600, { min: 300 })).toThrow(TerraError); // swap 600 > 500
    expect(mm.hasVm(V2)).toBe(false);
    expect(() => esx.addVm(V2, 600, { min: 550 })).toThrow(/ADMISSION|reserved/); // mem 400+650 > 1000
    const before = esx.admission.stats();
    expect(before).toMatchObject({ reservedMemory: 400, reservedSwap: 300 });
    esx.addVm(V3, 300, { min: 200 });
    try {
      esx.setVmConfig(V3, { min: 0, max: 300, shares: 5 });
      expect.unreachable();
    } catch (e) {
      expect((e as TerraError).code).toBe('ADMISSION_DENIED');
    }
    expect(esx.vmStats(V3).config).toMatchObject({ min: 200, max: 300 });
    expect(() => esx.setVmConfig(V3, { min: 301, max: 300, shares: 1 })).toThrow(RangeError);
    expect(() => esx.setVmConfig(V3, { min: 1, max: 300, shares: 0 })).toThrow(RangeError);
    expect(() => esx.setVmConfig(V3, { min: 1, max: 300, shares: -1 })).toThrow(RangeError);
    expect(() => esx.setVmConfig(V3, { min: 1, max: 301, shares: 1 })).toThrow(RangeError);
    expect(esx.vmStats(V3).config).toMatchObject({ min: 200, max: 300 });
    esx.removeVm(V1);
    expect(esx.admission.stats().reservedSwap).toBe(100);
  });
});

describe('reclamation states (ESX §6.3)', () => {
  it('transitions at 6/4/2/1 % free with hysteresis', () => {
    const r = new ReclaimStateMachine();
    const seq = [0.1, 0.05, 0.039, 0.05, 0.059, 0.061, 0.03, 0.019, 0.009, 0.015, 0.021, 0.03, 0.041, 0.07];
    const states = seq.map((f) => r.update(f));
    expect(states).toEqual(['high', 'high', 'soft', 'soft', 'soft', 'high', 'soft', 'hard', 'low', 'low', 'hard', 'hard', 'soft', 'high']);
    expect(() => new ReclaimStateMachine({ high: 0.01, soft: 0.02, hard: 0.03, low: 0.04 })).toThrow(RangeError);
  });

  it('under pressure the daemon balloons in soft, swaps in hard, shares before swapping, and keeps accounting exact', () => {
    const { mm, esx, machine } = makeEsx(1000, { autoBalloon: true, balloonTimeoutNs: 0, sharingEnabled: false, swapSlots: 4000 });
    esx.addVm(V1, 600);
    esx.addVm(V2, 600);
    for (let i = 0; i < 480; i++) writePage(mm, V1, i, pageOf(i));
    for (let i = 0; i < 300; i++) writePage(mm, V2, i, i < 100 ? 0 : pageOf(5000 + i));
    for (let i = 300; i < 490; i++) writePage(mm, V2, i, pageOf(9000 + i));
    expect(machine.free / machine.frames).toBeLessThan(0.04);
    esx.tick();
    const st = esx.stats();
    expect(['soft', 'hard', 'low']).toContain(esx.reclaim.transitions[0]?.to);
    // With no balloon driver the balloon times out immediately (timeout 0) and host swap takes over.
    expect(st.swap.pagesOut + st.swap.sharedInsteadOfSwapped).toBeGreaterThan(0);
    esx.tick();
    esx.tick();
    expect(machine.free / machine.frames).toBeGreaterThanOrEqual(0.04);
    expect(mm.checkInvariants().violations).toEqual([]);
    for (const vm of [V1, V2]) {
      const s = esx.vmStats(vm);
      const p = mm.pmap(vm);
      let untouched = 0;
      for (let g = 0; g < p.pages; g++) if (!(p.state[g] & (PageState.PRESENT | PageState.SWAPPED | PageState.BALLOONED))) untouched++;
      expect(s.resident + s.swapped + s.ballooned + untouched).toBe(600);
    }
    void (0 as Gppn);
  });
});

describe('working-set sampling (ESX §5.3)', () => {
  it('estimates the touched fraction; rises fast, decays slowly', () => {
    const { mm, esx, ctx } = makeEsx(4096, { samplePeriodNs: 1000, tickNs: 1000, sharingEnabled: false });
    esx.addVm(V1, 1000);
    const touch = (n: number) => {
      for (let g = 0; g < n; g++) mm.resolve(V1, g as Gppn, false);
    };
    const est: number[] = [];
    for (let period = 0; period < 12; period++) {
      touch(period < 6 ? 200 : 800);
      ctx.clock.advance(1000);
      esx.tick();
      est.push(esx.vmStats(V1).activeFraction);
    }
    for (let period = 0; period < 4; period++) {
      touch(100);
      ctx.clock.advance(1000);
      esx.tick();
      est.push(esx.vmStats(V1).activeFraction);
    }
    expect(est[5]).toBeLessThan(0.6);
    expect(est[8]).toBeGreaterThan(0.6);
    // decays slowly: after 4 periods at 10 % the estimate is still well above 0.3
    expect(est[15]).toBeGreaterThan(0.3);
    expect(esx.stats().samplerTouches).toBeGreaterThan(0);
  });
});

describe('the low state blocks VMs above target', () => {
  it('a VM above its target that allocates in the low state is stalled until one of its pages is paged out', () => {
    const { mm, esx, machine, ctx } = makeEsx(1000, { sharingEnabled: false, swapSlots: 4000 });
    esx.addVm(V1, 1000, { min: 0, max: 1000, shares: 10 });
    esx.addVm(V2, 1000, { min: 0, max: 1000, shares: 1000 });
    for (let i = 0; i < 600; i++) writePage(mm, V1, i, pageOf(i));
    for (let i = 0; i < 392; i++) writePage(mm, V2, i, pageOf(7000 + i));
    // Enter the low state and compute targets without running the daemon's reclamation.
    esx.recomputeTargets();
    expect(esx.reclaim.update(machine.free / machine.frames)).toBe('low');
    expect(esx.blocked(V1)).toBe(true);
    expect(esx.blocked(V2)).toBe(false);
    const swappedBefore = esx.vmStats(V1).swapped;
    const t0 = ctx.clock.now;
    writePage(mm, V1, 900, pageOf(1));
    expect(esx.vmStats(V1).swapped).toBeGreaterThan(swappedBefore);
    expect(ctx.clock.now - t0).toBeGreaterThanOrEqual(ctx.costs.swapPage);
    expect(esx.stats().syncReclaims).toBeGreaterThan(0);
    expect(esx.vmStats(V1).stallNs).toBeGreaterThanOrEqual(ctx.costs.swapPage);
    expect(esx.vmStats(V1).syncReclaimedPages).toBeGreaterThan(0);
    expect(esx.vmStats(V2).stallNs).toBe(0);
    expect(machine.used).toBeLessThanOrEqual(machine.frames);
    expect(esx.reclaim.stats().transitions).toBeGreaterThan(0);
  });
});
