// Attack on the attestation-bound key exchange: a quote that binds a low-order X25519 key (zero,
// one, the order-8 points, non-canonical encodings of them). With such a key the shared secret is
// all zeros whatever the verifier's secret, so anyone could compute the session key.
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/crypto/index.js';
import { deriveSessionKey, x25519KeyPair } from '../../src/attestation/index.js';
import { TerraError } from '../../src/sim/index.js';
import { P, setup } from './helpers.js';

const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p − 1
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (≡ 0)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (≡ 1)
];

describe('key exchange bound to the quote', () => {
  it('a quote binding a low-order X25519 key verifies, but no session key is derived from it (CHANNEL_BINDING)', () => {
    const { host, verifier } = setup();
    const mine = x25519KeyPair(host.ctx.rng.fork('verifier-x25519'));
    for (const h of LOW_ORDER) {
      const n = verifier.issueNonce();
      const q = host.service.quote(1, n, { boundKey: fromHex(h) });
      const r = verifier.verify(q, n);
      expect(r.ok).toBe(true); // the quote itself is genuine: the TVMM signs whatever key the VM binds
      let err: unknown;
      try {
        deriveSessionKey(P, mine.secretKey, r.boundKey!, n, q);
      } catch (e) {
        err = e;
      }
      expect(err, h).toBeInstanceOf(TerraError);
      expect((err as TerraError).detail.check).toBe('CHANNEL_BINDING');
    }
  });
});
