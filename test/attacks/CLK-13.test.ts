import { describe, expect, it } from 'vitest';
import { cloakAttacks, cloakScenarioParts } from '../../src/attacks/cloak.js';

const scenario = cloakAttacks.find((a) => a.id === 'CLK-13')!;

describe('CLK-13: ' + scenario.attack, () => {
  it('outcome: blocked (' + scenario.expected + ')', async () => {
    for (const seed of [1, 2]) {
      const r = await scenario.run(seed);
      expect(r.outcome, r.detail).toBe('blocked');
    }
  }, 60_000);

  it('under the detect policy, a trap-frame edit is a ContextTamper violation', () => {
    const r = cloakScenarioParts.clk13(4, 'detect');
    expect(r.outcome, r.detail).toBe('detected');
  });
});
