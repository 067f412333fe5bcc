import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { val10 } from '../../src/attacks/platform.js';

describe('VAL-10 · uniform, secret-free errors', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('VAL-10')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('every sealed-blob MAC/AEAD failure (tag byte 0 vs 15, ciphertext, wrong key, wrong AAD, truncation) is one class and message', () => {
    const { out } = val10(2);
    const sealed = ['tag byte 0', 'tag byte 15', 'ciphertext byte', 'wrong key (other VM)', 'wrong AAD (nonce byte)', 'truncated'].map((k) => out[k]);
    for (const e of sealed) expect({ cls: e.cls, code: e.code, message: e.message }).toEqual({ cls: sealed[0].cls, code: 'UNSEAL_ERROR', message: sealed[0].message });
    for (const cls of ['encrypted', 'integrity']) {
      expect(out[`${cls} disk byte 0`]).toEqual(out[`${cls} disk byte 15`]);
      expect(out[`${cls} disk byte 0`].code).toBe('INTEGRITY_VIOLATION');
      expect(out[`${cls} disk wrong key`].code).toBe('INTEGRITY_VIOLATION');
    }
    expect(out['encrypted disk wrong key'].message).toBe(out['integrity disk wrong key'].message);
  });
  it('no secret or key bytes in any message, stack, cause, JSON or the trace', () => {
    const x = val10(3);
    for (const [k, v] of Object.entries(x.out)) expect(v.leaks, k).toBe(false);
    expect(x.traceLeaks).toBe(false);
  });
});
