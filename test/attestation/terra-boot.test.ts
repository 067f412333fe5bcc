// The terra-boot experiment reproduces the paper's shape (Terra SOSP'03 §5.2).
import { expect, it } from 'vitest';
import { findExperiment } from '../../src/experiments/registry.js';

it('terra-boot: none < optimistic < optimistic+encryption << ahead-of-time, near the paper', async () => {
  const r = await findExperiment('terra-boot')!.run({ seed: 1, quick: true });
  const o = r.ours as Record<string, number>;
  expect(o.none).toBeCloseTo(26.6, 5);
  expect(o.none).toBeLessThan(o.optimistic);
  expect(o.optimistic).toBeLessThan(o.optimisticEncrypted);
  expect(o.optimisticEncrypted).toBeLessThan(o.aheadOfTime);
  expect(Math.abs(o.aheadOfTime - 57.1) / 57.1).toBeLessThan(0.1);
  expect(Math.abs(o.optimistic - 27.3)).toBeLessThan(0.5);
  expect(o.aheadOfTimePinned).toBeLessThan(o.aheadOfTime);
  const again = await findExperiment('terra-boot')!.run({ seed: 1, quick: true });
  expect(again).toEqual(r);
});
