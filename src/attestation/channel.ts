/**
 * Key exchange bound to attestation (Terra, Garfinkel et al., SOSP'03 §4.1: "the key exchange must
 * be bound to the attestation", else a relay/TOCTOU attack works; ATT-02). The VM generates an
 * X25519 key pair inside the attested domain and has its public key bound in the quote's cnf
 * claim; the verifier derives the session key from that key, so only the attested VM can use it.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { checkBytes, type SeededRng } from '../sim/index.js';
import { concatBytes, type CryptoProvider } from '../crypto/index.js';
import { attestationError, te } from './util.js';

/** An X25519 key pair. */
export interface X25519KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Generates an X25519 key pair from a seeded stream (inside the VM). */
export function x25519KeyPair(rng: SeededRng): X25519KeyPair {
  const secretKey = rng.bytes(32);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** Derives the session key: HKDF(X25519(sk, peer), salt = nonce, info = label ‖ SHA-256(quote)). */
export function deriveSessionKey(provider: CryptoProvider, secretKey: Uint8Array, peerPublic: Uint8Array, nonce: Uint8Array, quote: Uint8Array): Uint8Array {
  checkBytes('secretKey', secretKey, 32);
  checkBytes('peerPublic', peerPublic, 32);
  checkBytes('nonce', nonce, { min: 8, max: 64 });
  checkBytes('quote', quote);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secretKey, peerPublic);
  } catch {
    throw attestationError('CHANNEL_BINDING', 'peer key is invalid for X25519');
  }
  return provider.hkdfSha256(shared, nonce, concatBytes(te('terracloak/session/v1'), provider.sha256(quote)), 32);
}

/** Key confirmation tag a party sends to prove it holds the session key. */
export function keyConfirmation(provider: CryptoProvider, sessionKey: Uint8Array, role: 'vm' | 'verifier'): Uint8Array {
  return provider.hmacSha256(checkBytes('sessionKey', sessionKey, 32), te(`terracloak/confirm/${role}`));
}

/** Checks the peer's key confirmation; ATTESTATION_ERROR check CHANNEL_BINDING when it does not hold the key bound in the quote. */
export function checkKeyConfirmation(provider: CryptoProvider, sessionKey: Uint8Array, role: 'vm' | 'verifier', tag: Uint8Array): void {
  checkBytes('tag', tag);
  if (!provider.equalBytes(keyConfirmation(provider, sessionKey, role), tag))
    throw attestationError('CHANNEL_BINDING', 'the peer does not hold the key bound in the quote');
}
