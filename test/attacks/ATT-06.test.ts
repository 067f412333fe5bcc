// ATT-06 (threat catalogue §2): runs the scenario and asserts the catalogue's expected outcome.
import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/registry.js';
import { attestAttacks } from '../../src/attacks/attest.js';

const scenario = attestAttacks.find((a) => a.id === 'ATT-06')!;

describe('ATT-06', () => {
  it('is registered', () => {
    expect(findAttack('ATT-06')).toBe(scenario);
  });
  for (const seed of [1, 2024]) it(`is detected with the expected typed codes (seed ${seed})`, async () => {
    const r = await scenario.run(seed);
    expect(r.outcome).toBe('detected');
    const parts = r.detail.split(' ');
    for (const c of [
    'permuted:CHAIN_INVALID',
    'missing:CHAIN_INVALID',
    'padded:CHAIN_INVALID',
    'cyclic:CHAIN_INVALID',
    'duplicated:CHAIN_INVALID',
    'wrongIssuer:CHAIN_INVALID',
    'appAsIssuer:CHAIN_INVALID',
    'revoked:CHAIN_INVALID',
    ]) expect(parts).toContain(c);
  });
});
