import { describe, expect, it } from 'vitest';
import { findExperiment } from '../../src/experiments/index.js';

describe('esx-* experiments (quick mode, fixed seed)', () => {
  it('E8: transitions at 6/4/2/1 % with hysteresis, no flapping around 4 %', async () => {
    const r = await findExperiment('esx-thresholds')!.run({ seed: 1, quick: true });
    const o = r.ours as { down: { to: string; atFreePct: number }[]; up: { to: string; atFreePct: number }[]; oscillationTransitions: number };
    expect(o.down.map((d) => d.to)).toEqual(['soft', 'hard', 'low']);
    expect(o.down.map((d) => d.atFreePct)).toEqual([3.9, 1.9, 0.9]);
    expect(o.up.map((d) => d.atFreePct)).toEqual([2, 4, 6]);
    expect(o.oscillationTransitions).toBeLessThanOrEqual(1);
  });
  it('E6: τ = 0 splits the pool equally (≈ 179 MB each); τ = 0.75 moves memory to the active VM', async () => {
    const r = await findExperiment('esx-idle-tax')!.run({ seed: 1, quick: true });
    const o = r.ours as { tau0: Record<string, number>; tau75: Record<string, number>; vm2ThroughputGainPct: number };
    expect(Math.abs(o.tau0.vm1TargetMB - 179)).toBeLessThan(5);
    expect(Math.abs(o.tau0.vm2TargetMB - 179)).toBeLessThan(5);
    expect(o.tau75.vm2MB).toBeGreaterThan(o.tau0.vm2MB + 40);
    expect(o.tau75.vm1MB).toBeLessThan(o.tau0.vm1MB - 40);
    expect(o.vm2ThroughputGainPct).toBeGreaterThan(30);
  });
  it('E2: one VM reclaims ≈ 5 MB (≈ 55 % zero); reclaimed grows linearly with VMs', async () => {
    const r = await findExperiment('esx-sharing-vms')!.run({ seed: 1, quick: true });
    const o = r.ours as { rows: Record<string, number>[]; reclaimedMBPerAddedVm: number[] };
    expect(Math.abs(o.rows[0].reclaimedMB - 5)).toBeLessThan(1);
    expect(Math.abs(o.rows[0].zeroPctOfReclaimed - 55)).toBeLessThan(5);
    const s = o.reclaimedMBPerAddedVm;
    expect(Math.max(...s) - Math.min(...s)).toBeLessThan(1);
    expect(o.rows[9].sharedPct).toBeGreaterThan(60);
  });
  it('E2 with real guests (our guest kernel + memhog): reclaimed grows linearly with VMs', async () => {
    const r = await findExperiment('esx-sharing-vms')!.run({ seed: 2, quick: true });
    const rows = (r.ours as { realGuests: { rows: { reclaimedMB: number }[] } }).realGuests.rows;
    expect(rows[0].reclaimedMB).toBeGreaterThan(0.9);
    const d1 = rows[1].reclaimedMB - rows[0].reclaimedMB, d2 = rows[2].reclaimedMB - rows[1].reclaimedMB;
    expect(d1).toBeGreaterThan(1.9);
    expect(Math.abs(d1 - d2)).toBeLessThan(0.1);
  });
});

describe('esx-realloc (E7, Fig. 8: five Windows VMs + 160 MB overhead on 1 GB), quick mode, seed 1', () => {
  type E7 = Record<string, number> & { stateTimePct: Record<string, number> };
  let cached: Promise<E7> | undefined;
  const run = () => (cached ??= Promise.resolve(findExperiment('esx-realloc')!.run({ seed: 1, quick: true })).then((r) => r.ours as E7));

  it('spends almost all its time in high and soft; hard only in the boot dip', async () => {
    const o = await run();
    expect(o.stateTimePct.high + o.stateTimePct.soft).toBeGreaterThanOrEqual(95);
    expect(o.stateTimePct.hard + o.stateTimePct.low).toBeLessThanOrEqual(5);
    expect(o.swapOutTotalMB).toBeGreaterThan(0); // the balloon drivers start late: ESX has to page at boot
  });
  it('at boot share-before-swap reclaims mostly zero pages and little non-zero data goes to swap', async () => {
    const o = await run();
    expect(o.shareBeforeSwapZeroMB).toBeGreaterThanOrEqual(5 * o.shareBeforeSwapNonZeroMB);
    expect(o.peakSwappedMB).toBeLessThanOrEqual(o.shareBeforeSwapZeroMB / 4);
    expect(o.swappedAfterBootPeakMB).toBeLessThan(20); // paper: under 20 MB after boot
  });
  it('after boot, sharing and ballooning do the reclaiming; allocation exceeds machine memory thanks to sharing', async () => {
    const o = await run();
    expect(o.balloonMeanMB + o.sharingSavedMeanMB).toBeGreaterThanOrEqual(10 * Math.max(1, o.swappedAfterBootPeakMB));
    expect(o.sharingSavedMeanMB).toBeGreaterThan(100); // paper: ≈ 200 MB
    expect(o.sharingSavedMeanMB).toBeLessThan(400);
    expect(o.aggregateAllocationPeakAfterBootMB + o.overheadMB).toBeGreaterThan(o.machineMB);
  });
  it('the idle tax sets the idle SQL VM\'s target to its min; the query raises it and SQL\'s private memory grows', async () => {
    const o = await run();
    expect(Math.abs(o.sqlTargetBeforeQueryMB - o.sqlMinMB)).toBeLessThanOrEqual(0.05 * o.sqlMinMB);
    expect(o.sqlTargetQueryPeakMB).toBeGreaterThanOrEqual(1.1 * o.sqlMinMB);
    expect(o.sqlPrivateQueryPeakMB).toBeGreaterThanOrEqual(4 * o.sqlPrivateBeforeQueryMB);
  });
  // Before the target pool counted the pages sharing saves, that memory sat free, the host never left
  // high after the first reclamation and the idle SQL VM kept ≈ 197 MB: this test pinned that gap.
  it('the idle SQL VM\'s allocation falls to within 10 % of its min, and climbs with its query', async () => {
    const o = await run();
    expect(o.sqlIdleMB).toBeLessThanOrEqual(1.1 * o.sqlMinMB);
    expect(o.sqlQueryPeakMB).toBeGreaterThanOrEqual(o.sqlBeforeQueryMB + 0.1 * o.sqlMinMB);
  });
});
