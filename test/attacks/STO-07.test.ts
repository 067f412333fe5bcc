import { describe, expect, it } from 'vitest';
import { storageAttacks } from '../../src/attacks/storage.js';

describe('STO-07', () => {
  const s = storageAttacks.find((a) => a.id === 'STO-07')!;
  it('matches the catalogue: detected', async () => {
    for (const seed of [1, 2]) {
      const r = await s.run(seed);
      expect(r.outcome, r.detail).toBe('detected');
    }
  });
});
