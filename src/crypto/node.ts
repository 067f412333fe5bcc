/**
 * The node:crypto backend of the {@link CryptoProvider} interface (OpenSSL underneath). It gives
 * byte-identical outputs to `nobleProvider` for every function:
 * - SHA-256/512, HMAC-SHA256, HKDF-SHA256 (`hkdfSync`; an HMAC-based RFC 5869 fallback when `info`
 *   exceeds node's 1024-byte limit), AES-GCM, AES-CBC without padding — direct node calls.
 * - XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03): the HChaCha20 subkey comes from noble's
 *   `hchacha` core, then node's IETF `chacha20-poly1305` runs with nonce = 4 zero bytes ‖ nonce[16..24].
 * - Ed25519: keys are wrapped in PKCS#8 / SPKI DER; verification is strict (RFC 8032 §5.1.7 with the
 *   encodings checked as noble's `zip215: false` does: A and R canonical, A not of small order),
 *   then OpenSSL verifies. Honest signatures never differ; torsion-component edge cases are refused
 *   by the pre-check.
 * - ECDSA P-256: signing uses noble (RFC 6979 deterministic k, low-S) because node signs with a
 *   random k; verification uses node (`dsaEncoding: 'ieee-p1363'`) after requiring low-S.
 *
 * Node-only: exported from `terracloak/node` (src/node.ts), never from the core entry.
 */
import * as nc from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { ValidationRangeError, checkBytes, checkInt, checkOneOf } from '../sim/index.js';
import { nobleProvider, checkAead, equalBytes, SIG_ALGS } from './noble.js';
import type { AeadSuite, CryptoProvider, KeyPair, SigAlg } from './provider.js';

const ED_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

function out(b: Buffer | ArrayBuffer): Uint8Array {
  // A fresh, plain Uint8Array (not a Buffer view into node's pool).
  return b instanceof ArrayBuffer ? new Uint8Array(b.slice(0)) : new Uint8Array(b);
}

function u32le(b: Uint8Array): Uint32Array {
  const r = new Uint32Array(b.length / 4);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < r.length; i++) r[i] = dv.getUint32(i * 4, true);
  return r;
}

/** HChaCha20(key, nonce[0..16]) → 32-byte subkey (draft-irtf-cfrg-xchacha §2.2). */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  checkBytes('key', key, 32);
  checkBytes('nonce', nonce16, 16);
  const o = new Uint32Array(8);
  hchacha(SIGMA, u32le(key), u32le(nonce16), o);
  const r = new Uint8Array(32);
  const dv = new DataView(r.buffer);
  for (let i = 0; i < 8; i++) dv.setUint32(i * 4, o[i], true);
  return r;
}

function xchachaParams(key: Uint8Array, nonce: Uint8Array): { k: Uint8Array; n: Uint8Array } {
  const k = hchacha20(key, nonce.subarray(0, 16));
  const n = new Uint8Array(12);
  n.set(nonce.subarray(16, 24), 4);
  return { k, n };
}

function gcmName(suite: AeadSuite): 'aes-256-gcm' | 'aes-128-gcm' {
  return suite === 'aes-128-gcm' ? 'aes-128-gcm' : 'aes-256-gcm';
}

function hkdfFallback(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const prk = nc.createHmac('sha256', salt.length ? salt : new Uint8Array(32)).update(ikm).digest();
  const r = new Uint8Array(length);
  let t: Buffer = Buffer.alloc(0);
  for (let i = 0, o = 0; o < length; i++) {
    t = nc.createHmac('sha256', prk).update(t).update(info).update(new Uint8Array([i + 1])).digest();
    r.set(t.subarray(0, Math.min(32, length - o)), o);
    o += 32;
  }
  return r;
}

function edStrictEncodingOk(pk: Uint8Array, sig: Uint8Array): boolean {
  try {
    const A = ed25519.Point.fromBytes(pk, false);
    if (A.isSmallOrder()) return false;
    ed25519.Point.fromBytes(sig.subarray(0, 32), false);
    return true;
  } catch {
    return false;
  }
}

function p256LowS(sig: Uint8Array): boolean {
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(sig[i]);
  return s >= 1n && s <= P256_N >> 1n;
}

/** The node:crypto provider; byte-identical to `nobleProvider`. Node.js only. */
export const nodeProvider: CryptoProvider = Object.freeze({
  name: 'node' as const,
  sha256: (d: Uint8Array) => out(nc.createHash('sha256').update(checkBytes('data', d)).digest()),
  sha512: (d: Uint8Array) => out(nc.createHash('sha512').update(checkBytes('data', d)).digest()),
  hmacSha256: (k: Uint8Array, d: Uint8Array) => out(nc.createHmac('sha256', checkBytes('key', k)).update(checkBytes('data', d)).digest()),
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) {
    checkBytes('ikm', ikm);
    checkBytes('salt', salt);
    checkBytes('info', info);
    checkInt('length', length, 1, 255 * 32);
    if (info.length > 1024) return hkdfFallback(ikm, salt, info, length);
    return out(nc.hkdfSync('sha256', ikm, salt, info, length));
  },
  aeadSeal(suite: AeadSuite, key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array) {
    const s = checkAead(suite, key, nonce);
    checkBytes('plaintext', pt);
    checkBytes('aad', aad);
    let c: nc.CipherGCM | nc.CipherChaCha20Poly1305;
    if (s === 'xchacha20-poly1305') {
      const { k, n } = xchachaParams(key, nonce);
      c = nc.createCipheriv('chacha20-poly1305', k, n, { authTagLength: 16 });
      c.setAAD(aad, { plaintextLength: pt.length });
    } else {
      const g = nc.createCipheriv(gcmName(s), key, nonce);
      g.setAAD(aad, { plaintextLength: pt.length });
      c = g;
    }
    const body = Buffer.concat([c.update(pt), c.final()]);
    const r = new Uint8Array(body.length + 16);
    r.set(body);
    r.set(c.getAuthTag(), body.length);
    return r;
  },
  aeadOpen(suite: AeadSuite, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array) {
    const s = checkAead(suite, key, nonce);
    checkBytes('sealed', sealed);
    checkBytes('aad', aad);
    if (sealed.length < 16) return null;
    const ct = sealed.subarray(0, sealed.length - 16);
    const tag = sealed.subarray(sealed.length - 16);
    try {
      let d: nc.DecipherGCM | nc.DecipherChaCha20Poly1305;
      if (s === 'xchacha20-poly1305') {
        const { k, n } = xchachaParams(key, nonce);
        d = nc.createDecipheriv('chacha20-poly1305', k, n, { authTagLength: 16 });
        d.setAAD(aad, { plaintextLength: ct.length });
      } else {
        const g = nc.createDecipheriv(gcmName(s), key, nonce, { authTagLength: 16 });
        g.setAAD(aad, { plaintextLength: ct.length });
        d = g;
      }
      d.setAuthTag(tag);
      return out(Buffer.concat([d.update(ct), d.final()]));
    } catch {
      return null;
    }
  },
  aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array) {
    checkCbc(key, iv, data);
    const c = nc.createCipheriv(key.length === 16 ? 'aes-128-cbc' : 'aes-256-cbc', key, iv).setAutoPadding(false);
    return out(Buffer.concat([c.update(data), c.final()]));
  },
  aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array) {
    checkCbc(key, iv, data);
    const d = nc.createDecipheriv(key.length === 16 ? 'aes-128-cbc' : 'aes-256-cbc', key, iv).setAutoPadding(false);
    return out(Buffer.concat([d.update(data), d.final()]));
  },
  keyPairFromSeed(alg: SigAlg, seed: Uint8Array): KeyPair {
    const a = checkOneOf('alg', alg, SIG_ALGS);
    checkBytes('seed', seed, 32);
    if (a === 'ed25519') {
      const priv = nc.createPrivateKey({ key: Buffer.concat([ED_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
      const spki = nc.createPublicKey(priv).export({ format: 'der', type: 'spki' });
      return { alg: a, secretKey: seed.slice(), publicKey: out(spki.subarray(spki.length - 32)) };
    }
    // P-256 scalar derivation is shared with noble (the same rejection loop), so keys agree.
    return nobleProvider.keyPairFromSeed('p256', seed);
  },
  sign(alg: SigAlg, sk: Uint8Array, msg: Uint8Array) {
    const a = checkOneOf('alg', alg, SIG_ALGS);
    checkBytes('secretKey', sk, 32);
    checkBytes('msg', msg);
    if (a === 'p256') return nobleProvider.sign('p256', sk, msg); // RFC 6979 k; node's k is random
    const priv = nc.createPrivateKey({ key: Buffer.concat([ED_PKCS8_PREFIX, sk]), format: 'der', type: 'pkcs8' });
    return out(nc.sign(null, msg, priv));
  },
  verify(alg: SigAlg, pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) {
    const a = checkOneOf('alg', alg, SIG_ALGS);
    checkBytes('publicKey', pk);
    checkBytes('msg', msg);
    checkBytes('sig', sig);
    if (sig.length !== 64) return false;
    try {
      if (a === 'ed25519') {
        if (pk.length !== 32 || !edStrictEncodingOk(pk, sig)) return false;
        const key = nc.createPublicKey({ key: Buffer.concat([ED_SPKI_PREFIX, pk]), format: 'der', type: 'spki' });
        return nc.verify(null, msg, key, sig);
      }
      if (pk.length !== 33 && pk.length !== 65) return false;
      if (!p256LowS(sig)) return false;
      const full = p256.Point.fromBytes(pk).toBytes(false);
      const key = nc.createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, full]), format: 'der', type: 'spki' });
      return nc.verify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, sig);
    } catch {
      return false;
    }
  },
  equalBytes,
});

function checkCbc(key: unknown, iv: unknown, data: unknown): void {
  const k = checkBytes('key', key);
  if (k.length !== 16 && k.length !== 32) throw new ValidationRangeError(`key must be 16 or 32 bytes, got ${k.length}`);
  checkBytes('iv', iv, 16);
  const d = checkBytes('data', data);
  if (d.length % 16 !== 0) throw new ValidationRangeError(`data length must be a multiple of 16, got ${d.length}`);
}
