import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';

describe('MEM-04', () => {
  it('meets the catalogue expectation: blocked, for several seeds', async () => {
    const a = findAttack('MEM-04')!;
    expect(a.area).toBe('MEM-04'.slice(0, 3));
    for (const seed of [1, 2, 3]) {
      const r = await a.run(seed);
      expect(r.outcome, r.detail).toBe('blocked');
    }
  });
});
