// ATT-08 (threat catalogue §2): runs the scenario and asserts the catalogue's expected outcome.
import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/registry.js';
import { attestAttacks } from '../../src/attacks/attest.js';

const scenario = attestAttacks.find((a) => a.id === 'ATT-08')!;

describe('ATT-08', () => {
  it('is registered', () => {
    expect(findAttack('ATT-08')).toBe(scenario);
  });
  for (const seed of [1, 2024]) it(`is blocked with the expected typed codes (seed ${seed})`, async () => {
    const r = await scenario.run(seed);
    expect(r.outcome).toBe('blocked');
    const parts = r.detail.split(' ');
    for (const c of [
    'executed:MEASURED_BYTES',
    'quote:ACCURATE',
    ]) expect(parts).toContain(c);
  });
});
