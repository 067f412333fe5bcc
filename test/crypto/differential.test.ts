// Differential property test: nobleProvider and nodeProvider give identical bytes on random inputs.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nobleProvider as A } from '../../src/crypto/index.js';
import { nodeProvider as B } from '../../src/node.js';

const bytes = (max = 300) => fc.uint8Array({ minLength: 0, maxLength: max });
const cfg = { seed: 20260511, numRuns: 120 };

describe('noble vs node differential', () => {
  it('hashes and HMAC', () => {
    fc.assert(fc.property(bytes(), bytes(100), (d, k) => {
      expect(B.sha256(d)).toEqual(A.sha256(d));
      expect(B.sha512(d)).toEqual(A.sha512(d));
      expect(B.hmacSha256(k, d)).toEqual(A.hmacSha256(k, d));
    }), cfg);
  });
  it('HKDF (including info above node\'s 1024-byte hkdfSync limit)', () => {
    fc.assert(fc.property(bytes(80), bytes(80), bytes(1500), fc.integer({ min: 1, max: 255 * 32 }), (ikm, salt, info, len) => {
      expect(B.hkdfSha256(ikm, salt, info, len)).toEqual(A.hkdfSha256(ikm, salt, info, len));
    }), { ...cfg, numRuns: 60 });
  });
  it('AEAD seal/open for every suite', () => {
    const suites = ['aes-256-gcm', 'aes-128-gcm', 'xchacha20-poly1305'] as const;
    fc.assert(fc.property(fc.constantFrom(...suites), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 24, maxLength: 24 }), bytes(), bytes(64), (s, k32, n24, pt, aad) => {
      const key = s === 'aes-128-gcm' ? k32.subarray(0, 16) : k32;
      const nonce = s === 'xchacha20-poly1305' ? n24 : n24.subarray(0, 12);
      const sa = A.aeadSeal(s, key, nonce, pt, aad);
      expect(B.aeadSeal(s, key, nonce, pt, aad)).toEqual(sa);
      expect(B.aeadOpen(s, key, nonce, sa, aad)).toEqual(pt);
      const t = sa.slice();
      t[t.length - 1] ^= 0x80;
      expect(B.aeadOpen(s, key, nonce, t, aad)).toBeNull();
      expect(A.aeadOpen(s, key, nonce, t, aad)).toBeNull();
    }), cfg);
  });
  it('AES-CBC without padding', () => {
    fc.assert(fc.property(fc.boolean(), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 20 }), bytes(320), (short, k, iv, blocks, raw) => {
      const key = short ? k.subarray(0, 16) : k;
      const data = new Uint8Array(blocks * 16);
      data.set(raw.subarray(0, data.length));
      const ca = A.aesCbcEncrypt(key, iv, data);
      expect(B.aesCbcEncrypt(key, iv, data)).toEqual(ca);
      expect(B.aesCbcDecrypt(key, iv, ca)).toEqual(data);
    }), cfg);
  });
  it('signatures: keys, sign, verify (valid and corrupted)', () => {
    fc.assert(fc.property(fc.constantFrom('ed25519' as const, 'p256' as const), fc.uint8Array({ minLength: 32, maxLength: 32 }), bytes(200), fc.integer({ min: 0, max: 63 }), (alg, seed, msg, flip) => {
      const ka = A.keyPairFromSeed(alg, seed);
      const kb = B.keyPairFromSeed(alg, seed);
      expect(kb).toEqual(ka);
      const sig = A.sign(alg, ka.secretKey, msg);
      expect(B.sign(alg, kb.secretKey, msg)).toEqual(sig);
      expect(B.verify(alg, ka.publicKey, msg, sig)).toBe(true);
      const bad = sig.slice();
      bad[flip] ^= 1;
      expect(B.verify(alg, ka.publicKey, msg, bad)).toBe(A.verify(alg, ka.publicKey, msg, bad));
      expect(B.verify(alg, ka.publicKey, msg, bad)).toBe(false);
    }), { ...cfg, numRuns: 60 });
  });
  it('verify agrees on random garbage keys and signatures', () => {
    fc.assert(fc.property(fc.constantFrom('ed25519' as const, 'p256' as const), fc.uint8Array({ minLength: 32, maxLength: 33 }), bytes(40), fc.uint8Array({ minLength: 64, maxLength: 64 }), (alg, pk, msg, sig) => {
      expect(B.verify(alg, pk, msg, sig)).toBe(A.verify(alg, pk, msg, sig));
    }), cfg);
  });
  it('P-256 high-S signature is rejected by both', () => {
    const kp = A.keyPairFromSeed('p256', new Uint8Array(32).fill(3));
    const msg = new Uint8Array([1, 2, 3]);
    const sig = A.sign('p256', kp.secretKey, msg);
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    let s = 0n;
    for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(sig[i]);
    let hs = n - s;
    const high = sig.slice();
    for (let i = 63; i >= 32; i--) { high[i] = Number(hs & 0xffn); hs >>= 8n; }
    expect(A.verify('p256', kp.publicKey, msg, high)).toBe(false);
    expect(B.verify('p256', kp.publicKey, msg, high)).toBe(false);
    expect(B.verify('p256', kp.publicKey, msg, sig)).toBe(true);
  });
});
