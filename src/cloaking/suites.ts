/**
 * Cloaking cipher suites (Overshadow, Chen et al. ASPLOS'08 §3.2; threats.md CLK-02…05, CLK-26).
 *
 * - `overshadow-2008`: the paper's construction. AES-128-CBC with a fresh random IV per encryption
 *   and SHA-256 over (binding ‖ ciphertext) as the page hash H, checked before any decryption.
 * - `aes-256-gcm` / `xchacha20-poly1305`: a modern AEAD whose associated data is the binding
 *   (vm, domain, resource, page, version), so a page moved, transplanted or replayed fails.
 *
 * Nonces are never reused across crashes, reloads or relaunches: every engine instance reserves an
 * epoch from a persistent monotonic counter before it encrypts anything, and every nonce starts
 * with (epoch, per-epoch counter); XChaCha nonces add 12 random bytes. Page ciphertext is exactly
 * 4096 bytes (in place); the IV/nonce and tag live in TVMM memory only.
 */
import type { CryptoProvider } from '../crypto/index.js';
import { checkOneOf, invariantError, PAGE_SIZE } from '../sim/index.js';

/** Names of the cloaking cipher suites. */
export type CloakSuiteName = 'overshadow-2008' | 'aes-256-gcm' | 'xchacha20-poly1305';
/** Every suite name. */
export const CLOAK_SUITES = ['overshadow-2008', 'aes-256-gcm', 'xchacha20-poly1305'] as const;

/** Size of the binding (associated data) in bytes: magic, vm, domain, resource, page, version. */
export const BINDING_BYTES = 24;
const MAGIC = 0x4b4c4354; // 'TCLK'

/** Fixed geometry of a suite. */
export interface SuiteGeometry {
  readonly name: CloakSuiteName;
  readonly keyBytes: number;
  readonly nonceBytes: number;
  readonly tagBytes: number;
}

/** Returns the geometry of `name` (RangeError for an unknown suite). */
export function suiteGeometry(name: CloakSuiteName): SuiteGeometry {
  const n = checkOneOf('suite', name, CLOAK_SUITES);
  if (n === 'overshadow-2008') return { name: n, keyBytes: 16, nonceBytes: 16, tagBytes: 32 };
  if (n === 'aes-256-gcm') return { name: n, keyBytes: 32, nonceBytes: 12, tagBytes: 16 };
  return { name: n, keyBytes: 32, nonceBytes: 24, tagBytes: 16 };
}

/**
 * Seals and opens 4 KiB pages in place. One instance per engine; scratch buffers are reused, so
 * there is no per-page allocation beyond what the provider itself returns.
 */
export class PageCipher {
  readonly geometry: SuiteGeometry;
  readonly binding = new Uint8Array(BINDING_BYTES);
  readonly #bv = new DataView(this.binding.buffer);
  readonly #sealed: Uint8Array;
  readonly #hashIn: Uint8Array;
  readonly #nonce: Uint8Array;

  constructor(readonly suite: CloakSuiteName, readonly crypto: CryptoProvider) {
    this.geometry = suiteGeometry(suite);
    this.#sealed = new Uint8Array(PAGE_SIZE + 16);
    this.#hashIn = new Uint8Array(BINDING_BYTES + PAGE_SIZE);
    this.#nonce = new Uint8Array(this.geometry.nonceBytes);
  }

  /** Writes the binding (vm, domain, resource, page, version) into {@link binding}. */
  bind(vm: number, domain: number, rid: number, page: number, version: number): void {
    const v = this.#bv;
    v.setUint32(0, MAGIC, true);
    v.setUint32(4, vm, true);
    v.setUint32(8, domain, true);
    v.setUint32(12, rid, true);
    v.setUint32(16, page, true);
    v.setUint32(20, version, true);
  }

  /**
   * Encrypts `frame` (4096 bytes) in place under `key`, with the nonce at `nonces[nOff…]` and the
   * current binding; writes the tag/hash at `tags[tOff…]`.
   */
  seal(key: Uint8Array, frame: Uint8Array, nonces: Uint8Array, nOff: number, tags: Uint8Array, tOff: number): void {
    const g = this.geometry;
    const nonce = this.#nonce;
    nonce.set(nonces.subarray(nOff, nOff + g.nonceBytes));
    if (g.name === 'overshadow-2008') {
      const ct = this.crypto.aesCbcEncrypt(key, nonce, frame);
      frame.set(ct);
      this.#hashIn.set(this.binding);
      this.#hashIn.set(ct, BINDING_BYTES);
      tags.set(this.crypto.sha256(this.#hashIn), tOff);
      return;
    }
    const sealed = this.crypto.aeadSeal(g.name, key, nonce, frame, this.binding);
    if (sealed.length !== PAGE_SIZE + 16) throw invariantError('AEAD output has the wrong length');
    frame.set(sealed.subarray(0, PAGE_SIZE));
    tags.set(sealed.subarray(PAGE_SIZE), tOff);
  }

  /**
   * Checks `frame` against the tag/hash and the current binding and, only if it verifies, decrypts
   * it in place. Returns false (frame untouched) when verification fails.
   */
  open(key: Uint8Array, frame: Uint8Array, nonces: Uint8Array, nOff: number, tags: Uint8Array, tOff: number): boolean {
    const g = this.geometry;
    const nonce = this.#nonce;
    nonce.set(nonces.subarray(nOff, nOff + g.nonceBytes));
    if (g.name === 'overshadow-2008') {
      const h = this.#hashIn;
      h.set(this.binding);
      h.set(frame, BINDING_BYTES);
      // The hash is checked before a single byte is decrypted (Overshadow transition 2/3).
      if (!this.crypto.equalBytes(this.crypto.sha256(h), tags.subarray(tOff, tOff + 32))) return false;
      frame.set(this.crypto.aesCbcDecrypt(key, nonce, frame));
      return true;
    }
    const s = this.#sealed;
    s.set(frame);
    s.set(tags.subarray(tOff, tOff + 16), PAGE_SIZE);
    const pt = this.crypto.aeadOpen(g.name, key, nonce, s, this.binding);
    if (pt === null) return false;
    frame.set(pt);
    return true;
  }
}
