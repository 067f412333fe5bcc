import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';

describe('FLT-10', () => {
  it('meets the catalogue expectation: detected (VM halted with a typed reason), for several seeds', async () => {
    const a = findAttack('FLT-10')!;
    for (const seed of [1, 2, 3]) {
      const r = await a.run(seed);
      expect(r.outcome, r.detail).toBe('detected');
      expect(r.detail).toMatch(/SWAP_IO_ERROR/);
    }
  });
});
