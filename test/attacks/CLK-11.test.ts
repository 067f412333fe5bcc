import { describe, expect, it } from 'vitest';
import { cloakAttacks } from '../../src/attacks/cloak.js';

const scenario = cloakAttacks.find((a) => a.id === 'CLK-11')!;

describe('CLK-11: ' + scenario.attack, () => {
  it('outcome: blocked (' + scenario.expected + ')', async () => {
    for (const seed of [1, 2]) {
      const r = await scenario.run(seed);
      expect(r.outcome, r.detail).toBe('blocked');
    }
  }, 60_000);
});
