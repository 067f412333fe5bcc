import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { val05 } from '../../src/attacks/platform.js';

describe('VAL-05 · decoding certificates, quotes, sealed blobs, images, policies, scenarios', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('VAL-05')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('typed errors for every hostile encoding; Object.prototype unchanged', () => {
    const x = val05(2);
    expect(x.polluted).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(x.wrong).toEqual([]);
    for (const d of ['quote', 'certificate', 'image', 'nvImage']) {
      for (const c of ['truncated', 'trailing', 'hugeLength', 'duplicateKeys', 'empty']) expect(x.r[`${d}/${c}`], `${d}/${c}`).toBe('MALFORMED');
    }
    expect(x.r['unsealBlob/truncated']).toBe('UNSEAL_ERROR');
    expect(x.r['unsealBlob/trailing']).toBe('UNSEAL_ERROR');
    expect(x.r['quote/unknownAlg']).toBe('MALFORMED');
    expect(x.r['verify/unknownAlg']).toBe('ATTESTATION_ERROR');
    for (const k of ['proto', 'constructor', 'nested', 'unknownVersion', 'noneAlg']) {
      expect(x.r[`policy/${k}`]).toBe('MALFORMED');
      expect(x.r[`scenario/${k}`]).toBe('MALFORMED');
    }
  });
});
