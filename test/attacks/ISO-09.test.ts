import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { iso09World } from '../../src/attacks/platform.js';

describe('ISO-09 · co-residency detection through shared resources (R)', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('ISO-09')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('default configuration: the attacker-observable trace is identical with and without the victim', () => {
    const withVictim = iso09World(3, true);
    const without = iso09World(3, false);
    expect(withVictim.observed).toHaveLength(20);
    expect(withVictim.observed).toEqual(without.observed);
    expect(withVictim.sharing).toEqual(without.sharing);
    expect(withVictim.attacker).toEqual(without.attacker);
    // The scanner did run (more pages with the victim present): the channel was exercised.
    expect(withVictim.scanned).toBeGreaterThan(without.scanned);
  });
});
