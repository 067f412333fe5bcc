import { describe, expect, it } from 'vitest';
import { cloakAttacks, clk02Flip } from '../../src/attacks/cloak.js';
import fc from 'fast-check';
import type { CloakSuiteName } from '../../src/cloaking/index.js';

const scenario = cloakAttacks.find((a) => a.id === 'CLK-02')!;

describe('CLK-02: ' + scenario.attack, () => {
  it('outcome: detected (' + scenario.expected + ')', async () => {
    for (const seed of [1, 2]) {
      const r = await scenario.run(seed);
      expect(r.outcome, r.detail).toBe('detected');
    }
  }, 60_000);

  it('detects a flipped bit anywhere in the page, for every suite (property, 200 cases)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 32767 }), fc.constantFrom<CloakSuiteName>('xchacha20-poly1305', 'aes-256-gcm', 'overshadow-2008'), (bit, suite) => {
        const r = clk02Flip(3, bit, suite);
        expect(r.outcome, r.detail).toBe('detected');
      }),
      { numRuns: 200, seed: 2 },
    );
  }, 120_000);
});
