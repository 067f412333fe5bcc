// Attack (beyond ATT-07's identity key): forge Ed25519 signatures under every small-order key, not
// only the identity: for a key A of order 8 and S = 0, pick R among the torsion points so that
// R = −[k]A with k = H(R ‖ A ‖ M). The cofactorless check [S]B = R + [k]A then holds. Our provider
// (zip215: false) must reject all of them, ENDORSE must refuse the keys, and so must a policy vendor.
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, toHex, utf8 } from '../../src/crypto/index.js';
import { TerraError } from '../../src/sim/index.js';
import { isWeakPublicKey, parsePolicy } from '../../src/attestation/index.js';
import { P, setup } from './helpers.js';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const Point = ed25519.Point;

function le(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return x;
}

/** The eight torsion points (order dividing 8). */
function torsion(): InstanceType<typeof Point>[] {
  const t8 = Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', true);
  const pts = [Point.ZERO];
  for (let i = 1; i < 8; i++) pts.push(pts[i - 1].add(t8));
  return pts;
}

describe('small-order Ed25519 keys', () => {
  it('forgeries that satisfy the cofactorless equation are rejected by the strict provider', () => {
    const T = torsion();
    let forged = 0;
    for (const A of T.slice(1)) {
      const a = A.toBytes();
      expect(isWeakPublicKey('ed25519', a)).toBe(true);
      for (let m = 0; m < 32; m++) {
        const msg = utf8(`pay mallory ${m}`);
        for (const R of T) {
          const k = le(sha512(concatBytes(R.toBytes(), a, msg))) % L;
          if (!R.equals(A.multiplyUnsafe(k % 8n).negate())) continue; // A has order dividing 8
          const sig = concatBytes(R.toBytes(), new Uint8Array(32));
          expect(ed25519.verify(sig, msg, a, { zip215: true })).toBe(true); // the forgery is real
          expect(P.verify('ed25519', a, msg, sig)).toBe(false); // ... and refused
          forged++;
        }
      }
    }
    expect(forged).toBeGreaterThan(10);
  });

  it('ENDORSE and the policy refuse every small-order key', () => {
    const { host, policy } = setup();
    for (const A of torsion()) {
      const pk = A.toBytes();
      let err: unknown;
      try {
        host.service.endorse(1, { alg: 'ed25519', publicKey: pk });
      } catch (e) {
        err = e;
      }
      expect((err as TerraError).detail.check).toBe('WEAK_KEY');
      expect(() => parsePolicy({ ...policy, vendors: [{ name: 'V', alg: 'ed25519', publicKey: toHex(pk) }] })).toThrow(TerraError);
    }
  });
});
