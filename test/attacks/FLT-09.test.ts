import { describe, expect, it } from 'vitest';
import { storageAttacks } from '../../src/attacks/storage.js';

describe('FLT-09', () => {
  const s = storageAttacks.find((a) => a.id === 'FLT-09')!;
  it('matches the catalogue: blocked', async () => {
    for (const seed of [1, 2]) {
      const r = await s.run(seed);
      expect(r.outcome, r.detail).toBe('blocked');
    }
  });
});
