import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { iso03 } from '../../src/attacks/platform.js';

describe('ISO-03 · foreign handles in hypercalls', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('ISO-03')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it("A passing B's ids: refused or interpreted in A's own space; B's state unchanged", () => {
    const x = iso03(2);
    for (const nr of [32, 33, 34, 35, 36]) expect(x.r[`cloak.${nr}(B ids)`]).toBe('OK:-1'); // EPERM: kernel context has no cloaking domain
    expect(x.r['balloon.target(B id)']).toBe('OK:-22');
    expect(x.r['balloon.inflate(B gppns)']).toBe('OK:0');
    expect(x.r['getId is the caller']).toBe('OK:self');
    expect(x.r['unsealBlob(B blob)']).toBe('UNSEAL_ERROR');
    expect(x.r['unseal(B label)']).toBe('NOT_FOUND');
    expect(x.r['disk(B disk)']).toBe('NOT_FOUND');
    expect(x.unchanged).toBe(true);
    expect(x.security).toContain('hypercall.refused');
  });
});
