// ATT-12 (threat catalogue §2): runs the scenario and asserts the catalogue's expected outcome.
import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/registry.js';
import { attestAttacks } from '../../src/attacks/attest.js';

const scenario = attestAttacks.find((a) => a.id === 'ATT-12')!;

describe('ATT-12', () => {
  it('is registered', () => {
    expect(findAttack('ATT-12')).toBe(scenario);
  });
  for (const seed of [1, 2024]) it(`is blocked with the expected typed codes (seed ${seed})`, async () => {
    const r = await scenario.run(seed);
    expect(r.outcome).toBe('blocked');
    const parts = r.detail.split(' ');
    for (const c of [
    'a:UNSEAL_ERROR',
    'b:UNSEAL_ERROR',
    'c:UNSEAL_ERROR',
    'dInstance:UNSEAL_ERROR',
    'dMeasurement:OK',
    'leak:NONE',
    ]) expect(parts).toContain(c);
  });
});
