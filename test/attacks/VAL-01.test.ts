import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { val01 } from '../../src/attacks/platform.js';

describe('VAL-01 · numeric parameters', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('VAL-01')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('every table entry: TypeError for non-numbers, RangeError for bad numbers, valueOf never invoked, no VM created', () => {
    const x = val01(2);
    expect(x.checked).toBeGreaterThan(400);
    expect(x.wrong).toEqual([]);
    expect(x.valueOfCalls).toBe(0);
  });
});
