/**
 * One cryptography interface for the whole simulator. Two implementations: `noble` (default, pure
 * JS, runs in browsers) and `node` (node:crypto, optional). Both give byte-identical outputs for
 * the same inputs; the only exception is ECDSA P-256 signing, which node:crypto does with a random
 * k, so the node backend signs P-256 with noble's RFC 6979 deterministic k and verifies with node.
 *
 * Every function validates its arguments (TypeError/RangeError) and returns fresh arrays.
 * AEAD open returns `null` on any authentication failure: one uniform failure, no oracle.
 */

/** AEAD suites. */
export type AeadSuite = 'aes-256-gcm' | 'xchacha20-poly1305' | 'aes-128-gcm';
/** Signature algorithms. */
export type SigAlg = 'ed25519' | 'p256';

/** A signing key pair. `secretKey` is 32 bytes for both algorithms. */
export interface KeyPair {
  readonly alg: SigAlg;
  readonly secretKey: Uint8Array;
  /** Ed25519: 32 bytes; P-256: 33-byte compressed SEC1 point. */
  readonly publicKey: Uint8Array;
}

/** The cryptography provider. */
export interface CryptoProvider {
  readonly name: 'noble' | 'node';
  sha256(data: Uint8Array): Uint8Array;
  sha512(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** HKDF-SHA256 (RFC 5869). */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** Returns ciphertext ‖ 16-byte tag. Nonce: 12 bytes (GCM) or 24 bytes (XChaCha20). */
  aeadSeal(suite: AeadSuite, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Returns the plaintext, or null when authentication fails. */
  aeadOpen(suite: AeadSuite, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;
  /** AES-CBC without padding (data length a multiple of 16). Key 16 or 32 bytes, IV 16 bytes. */
  aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array;
  aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array;
  /** Derives a key pair deterministically from a 32-byte seed. */
  keyPairFromSeed(alg: SigAlg, seed: Uint8Array): KeyPair;
  /** Ed25519: 64-byte signature (RFC 8032). P-256: 64-byte r‖s over SHA-256(msg), low-S, RFC 6979 k. */
  sign(alg: SigAlg, secretKey: Uint8Array, msg: Uint8Array): Uint8Array;
  /** Strict verification: Ed25519 with ZIP-215 off (RFC 8032 §5.1.7 strict), P-256 requires low-S. */
  verify(alg: SigAlg, publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean;
  /** Constant-time byte comparison. */
  equalBytes(a: Uint8Array, b: Uint8Array): boolean;
}
