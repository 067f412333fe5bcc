import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { iso06 } from '../../src/attacks/platform.js';

describe('ISO-06 · completion and interrupt mis-routing', () => {
  it('is blocked (catalogue outcome) with 10^4 interleaved IOs', async () => {
    const r = await findAttack('ISO-06')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('each completion reaches only its owner, exactly once, with its own data; vIC coalesced some interrupts', () => {
    const rows = iso06(4, 2000);
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.issued).toBe(2000);
      expect(r.completed).toBe(2000);
      expect(r.distinct).toBe(2000);
      expect(r.foreign).toBe(0);
      expect(r.wrongData).toBe(0);
      expect(r.outstanding).toBe(0);
      expect(r.interrupts).toBeLessThan(r.completed);
      expect(r.ctl.completed).toBe(2000);
    }
    expect(rows[0].ctl.coalesced + rows[1].ctl.coalesced).toBeGreaterThan(0);
  });
});
