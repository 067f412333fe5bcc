/** The default crypto provider: @noble/hashes, @noble/ciphers, @noble/curves. */
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { gcm, cbc } from '@noble/ciphers/aes.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { checkBytes, checkInt, checkOneOf } from '../sim/index.js';
import type { AeadSuite, CryptoProvider, KeyPair, SigAlg } from './provider.js';

export const AEAD_SUITES = ['aes-256-gcm', 'xchacha20-poly1305', 'aes-128-gcm'] as const;
export const SIG_ALGS = ['ed25519', 'p256'] as const;

/** Validates AEAD key and nonce lengths for a suite. */
export function checkAead(suite: unknown, key: unknown, nonce: unknown): AeadSuite {
  const s = checkOneOf('suite', suite, AEAD_SUITES);
  checkBytes('key', key, s === 'aes-128-gcm' ? 16 : 32);
  checkBytes('nonce', nonce, s === 'xchacha20-poly1305' ? 24 : 12);
  return s;
}

/** Constant-time comparison of two byte arrays (length leaks, contents do not). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  checkBytes('a', a);
  checkBytes('b', b);
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function checkSig(alg: unknown): SigAlg {
  return checkOneOf('alg', alg, SIG_ALGS);
}

/** The noble provider (pure JS; works in browsers). */
export const nobleProvider: CryptoProvider = Object.freeze({
  name: 'noble' as const,
  sha256: (d: Uint8Array) => sha256(checkBytes('data', d)),
  sha512: (d: Uint8Array) => sha512(checkBytes('data', d)),
  hmacSha256: (k: Uint8Array, d: Uint8Array) => hmac(sha256, checkBytes('key', k), checkBytes('data', d)),
  hkdfSha256: (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) =>
    hkdf(sha256, checkBytes('ikm', ikm), checkBytes('salt', salt), checkBytes('info', info), checkInt('length', length, 1, 255 * 32)),
  aeadSeal(suite: AeadSuite, key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array) {
    const s = checkAead(suite, key, nonce);
    checkBytes('plaintext', pt);
    checkBytes('aad', aad);
    return s === 'xchacha20-poly1305' ? xchacha20poly1305(key, nonce, aad).encrypt(pt) : gcm(key, nonce, aad).encrypt(pt);
  },
  aeadOpen(suite: AeadSuite, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array) {
    const s = checkAead(suite, key, nonce);
    checkBytes('sealed', sealed);
    checkBytes('aad', aad);
    if (sealed.length < 16) return null;
    try {
      return s === 'xchacha20-poly1305' ? xchacha20poly1305(key, nonce, aad).decrypt(sealed) : gcm(key, nonce, aad).decrypt(sealed);
    } catch {
      return null;
    }
  },
  aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array) {
    checkCbc(key, iv, data);
    return cbc(key, iv, { disablePadding: true }).encrypt(data);
  },
  aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array) {
    checkCbc(key, iv, data);
    return cbc(key, iv, { disablePadding: true }).decrypt(data);
  },
  keyPairFromSeed(alg: SigAlg, seed: Uint8Array): KeyPair {
    const a = checkSig(alg);
    checkBytes('seed', seed, 32);
    if (a === 'ed25519') {
      const secretKey = seed.slice();
      return { alg: a, secretKey, publicKey: ed25519.getPublicKey(secretKey) };
    }
    // P-256: reduce the seed into [1, n-1] deterministically (hash-to-scalar by rejection over counters).
    for (let ctr = 0; ; ctr++) {
      const cand = ctr === 0 ? seed.slice() : sha256(concat2(seed, new Uint8Array([ctr])));
      if (p256.utils.isValidSecretKey(cand)) return { alg: a, secretKey: cand, publicKey: p256.getPublicKey(cand, true) };
    }
  },
  sign(alg: SigAlg, sk: Uint8Array, msg: Uint8Array) {
    const a = checkSig(alg);
    checkBytes('secretKey', sk, 32);
    checkBytes('msg', msg);
    return a === 'ed25519' ? ed25519.sign(msg, sk) : p256.sign(msg, sk, { prehash: true, lowS: true });
  },
  verify(alg: SigAlg, pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) {
    const a = checkSig(alg);
    checkBytes('publicKey', pk);
    checkBytes('msg', msg);
    checkBytes('sig', sig);
    if (sig.length !== 64) return false;
    try {
      return a === 'ed25519'
        ? pk.length === 32 && ed25519.verify(sig, msg, pk, { zip215: false })
        : (pk.length === 33 || pk.length === 65) && p256.verify(sig, msg, pk, { prehash: true, lowS: true });
    } catch {
      return false;
    }
  },
  equalBytes,
});

function checkCbc(key: unknown, iv: unknown, data: unknown): void {
  const k = checkBytes('key', key);
  if (k.length !== 16 && k.length !== 32) throw new RangeError(`key must be 16 or 32 bytes, got ${k.length}`);
  checkBytes('iv', iv, 16);
  const d = checkBytes('data', data);
  if (d.length % 16 !== 0) throw new RangeError(`data length must be a multiple of 16, got ${d.length}`);
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
}
