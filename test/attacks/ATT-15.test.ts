// ATT-15 (threat catalogue §2): runs the scenario and asserts the catalogue's expected outcome.
import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/registry.js';
import { attestAttacks } from '../../src/attacks/attest.js';

const scenario = attestAttacks.find((a) => a.id === 'ATT-15')!;

describe('ATT-15', () => {
  it('is registered', () => {
    expect(findAttack('ATT-15')).toBe(scenario);
  });
  for (const seed of [1, 2024]) it(`is blocked with the expected typed codes (seed ${seed})`, async () => {
    const r = await scenario.run(seed);
    expect(r.outcome).toBe('blocked');
    const parts = r.detail.split(' ');
    for (const c of [
    'seal.beforePersist:OLD',
    'seal.afterPersist:OLD',
    'nv.beforeWrite:OLD',
    'nv.tornWrite:OLD',
    'nv.afterWrite:NEW',
    'seal.afterIncrement:NEW',
    'seal.afterAck:NEW',
    ]) expect(parts).toContain(c);
  });
});
