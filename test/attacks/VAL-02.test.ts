import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { hostileBytes, val02 } from '../../src/attacks/platform.js';
import { checkBytes } from '../../src/sim/index.js';

describe('VAL-02 · byte-array parameters', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('VAL-02')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('non-Uint8Array, detached and shared inputs are TypeErrors, wrong lengths RangeErrors; accepted inputs are copied', () => {
    const x = val02(2);
    expect(x.checked).toBeGreaterThan(140);
    expect(x.wrong).toEqual([]);
    expect(x.copies).toEqual({
      'MemoryDisk.write': true,
      'phys.write': true,
      'phys.read returns a copy': true,
      seal: true,
      'Buffer accepted (Uint8Array subclass, documented)': true,
    });
  });
  it('a detached buffer is recognised on Node 20 (no ArrayBuffer.prototype.detached): not mistaken for an empty array', () => {
    const detached = hostileBytes().find((h) => h.label === 'detached')!.value;
    expect(() => checkBytes('x', detached)).toThrowError(/detached/);
    expect(() => checkBytes('x', detached, { max: 64 })).toThrowError(TypeError);
    expect(checkBytes('x', new Uint8Array(0))).toHaveLength(0); // a genuinely empty array is still fine
    expect(checkBytes('x', new Uint8Array(new ArrayBuffer(0)))).toHaveLength(0);
  });
});
