import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { val06 } from '../../src/attacks/platform.js';

describe('VAL-06 · disk IO parameters', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('VAL-06')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('every invalid lba/count/length is refused on every synchronous path; the controller completes malformed commands with ILLEGAL REQUEST', () => {
    const x = val06(2);
    for (const [k, v] of Object.entries(x.r)) {
      if (k.startsWith('controller')) expect(v, k).toBe('check-condition/ILLEGAL_REQUEST');
      else expect(v, k).toBe('RangeError');
    }
    expect(Object.keys(x.r).length).toBeGreaterThan(40);
  });
  it('overlapping writes to one LBA: the documented order is completion order (the last to complete is on disk)', () => {
    for (const seed of [1, 2, 3]) {
      const x = val06(seed);
      expect(x.writes).toHaveLength(6);
      expect(x.writes.every((w) => w.status === 'good')).toBe(true);
      expect(x.onDisk).toBe(x.lastCompletedData);
    }
    // The jitter really reorders them (otherwise the test would not distinguish the orders).
    expect([1, 2, 3].some((s) => val06(s).completionOrder.join() !== '0,1,2,3,4,5')).toBe(true);
  });
});
