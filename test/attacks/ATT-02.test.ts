// ATT-02 (threat catalogue §2): runs the scenario and asserts the catalogue's expected outcome.
import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/registry.js';
import { attestAttacks } from '../../src/attacks/attest.js';

const scenario = attestAttacks.find((a) => a.id === 'ATT-02')!;

describe('ATT-02', () => {
  it('is registered', () => {
    expect(findAttack('ATT-02')).toBe(scenario);
  });
  for (const seed of [1, 2024]) it(`is detected with the expected typed codes (seed ${seed})`, async () => {
    const r = await scenario.run(seed);
    expect(r.outcome).toBe('detected');
    const parts = r.detail.split(' ');
    for (const c of [
    'quote:OK',
    'exchange:CHANNEL_BINDING',
    'genuine:OK',
    'variant:ISOLATION_VIOLATION',
    ]) expect(parts).toContain(c);
  });
});
