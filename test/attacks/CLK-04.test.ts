import { describe, expect, it } from 'vitest';
import { cloakAttacks, cloakScenarioParts } from '../../src/attacks/cloak.js';

const scenario = cloakAttacks.find((a) => a.id === 'CLK-04')!;

describe('CLK-04: ' + scenario.attack, () => {
  it('outcome: detected (' + scenario.expected + ')', async () => {
    for (const seed of [1, 2]) {
      const r = await scenario.run(seed);
      expect(r.outcome, r.detail).toBe('detected');
    }
  }, 60_000);

  it('detects both variants (PTE swap and content copy)', () => {
    expect(cloakScenarioParts.clk04(5, 'pte').outcome).toBe('detected');
    expect(cloakScenarioParts.clk04(5, 'copy').outcome).toBe('detected');
  });
});
