import { describe, expect, it } from 'vitest';
import { cloakAttacks } from '../../src/attacks/cloak.js';

const scenario = cloakAttacks.find((a) => a.id === 'CLK-05')!;

describe('CLK-05: ' + scenario.attack, () => {
  it('outcome: detected (' + scenario.expected + ')', async () => {
    for (const seed of [1, 2]) {
      const r = await scenario.run(seed);
      expect(r.outcome, r.detail).toBe('detected');
    }
  }, 60_000);
});
