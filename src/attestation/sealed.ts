/**
 * Sealed storage after Terra (Garfinkel et al., SOSP'03 §4.4: data sealed under the hash of the
 * software that may unseal it), with a monotonic counter against rollback (ROTE, Memoir) and a
 * crash-safe two-phase protocol.
 *
 * Blob: "TCSB" ‖ u8 version(1) ‖ u8 policy ‖ u8 labelLen ‖ label ‖ 32-byte counter id ‖ u64
 * sequence ‖ 24-byte nonce ‖ XChaCha20-Poly1305(data) ‖ tag. Everything before the ciphertext is
 * the AAD, so the policy, label and sequence cannot be changed. The key is
 * HKDF(TVMM seal root, salt = binding digest, info = "terracloak/seal/v1"), where the binding digest
 * covers the policy and, per policy: `measurement` → VM identity, mode, debug; `instance` → also
 * the instance id; `signer` → the signer key hash, mode, debug. The TVMM seal root itself derives
 * from every boot measurement and the TVMM security version, so another TVMM cannot unseal.
 *
 * Protocol (crash points in brackets): read committed counter c; build blob with sequence c+1
 * [seal.beforePersist]; persist it in slot (c+1) mod 2 of the host blob store, leaving slot c mod 2
 * (the committed blob) intact [seal.afterPersist]; increment the NV counter (crash-atomic two-slot
 * write: nv.beforeWrite, nv.tornWrite, nv.afterWrite) [seal.afterIncrement]; drop the old slot
 * [seal.afterAck]. The NV write stores SHA-256 of the committed blob with the counter. A blob unseals
 * only when its sequence equals the counter and its digest equals the stored one: older →
 * ROLLBACK_DETECTED; never committed (including a blob orphaned by a crash that reuses a later
 * sequence number) → UNSEAL_ERROR. After a crash at any point exactly one of old/new unseals.
 */
import { ValidationRangeError, TerraError, checkBytes, checkInt, checkObject, checkOneOf, checkString, type SeededRng, type SimContext } from '../sim/index.js';
import { concatBytes, u64be, type CryptoProvider } from '../crypto/index.js';
import type { RootOfTrust } from './root.js';
import { cborDecode, cborEncode, checkInput, fail, hex, te } from './util.js';

/** What a sealed blob is bound to. */
export type SealPolicy = 'measurement' | 'instance' | 'signer';
const POLICY_CODE: Record<SealPolicy, number> = { measurement: 1, instance: 2, signer: 3 };

/** The identity of the software sealing or unsealing (supplied by the TVMM, never by the guest). */
export interface SealIdentity {
  readonly measurement: Uint8Array;
  readonly mode: 'closed' | 'open';
  readonly debug: boolean;
  readonly instance: number;
  /** SHA-256 of the vendor key that signed the image, for the `signer` policy. */
  readonly signer?: Uint8Array;
}

/** Untrusted host storage for sealed blobs (survives crashes; the host may read, replace or delete entries). */
export interface BlobStore {
  get(key: string): Uint8Array | undefined;
  put(key: string, value: Uint8Array): void;
  delete(key: string): void;
  keys(): string[];
}

/** An in-memory BlobStore. */
export class MemoryBlobStore implements BlobStore {
  readonly #m = new Map<string, Uint8Array>();
  /** A copy of the entry, if any. */
  get(key: string): Uint8Array | undefined {
    return this.#m.get(key)?.slice();
  }
  /** Stores a copy. */
  put(key: string, value: Uint8Array): void {
    this.#m.set(checkString('key', key), checkBytes('value', value).slice());
  }
  /** Removes an entry. */
  delete(key: string): void {
    this.#m.delete(key);
  }
  /** Every key. */
  keys(): string[] {
    return [...this.#m.keys()].sort();
  }
  /** Deterministic CBOR image of every entry (what the host's disk holds). */
  save(): Uint8Array {
    return cborEncode(this.keys().map((k) => [k, this.#m.get(k)!]));
  }
  /** A store holding a saved image; MALFORMED on a bad image. */
  static restore(image: Uint8Array): MemoryBlobStore {
    const v = cborDecode(checkBytes('image', image, { max: 1 << 28 }), 'blob store image');
    const s = new MemoryBlobStore();
    if (!Array.isArray(v)) throw new TerraError('MALFORMED', 'blob store image: not an array', { what: 'blob-store' });
    for (const e of v) {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || !(e[1] instanceof Uint8Array))
        throw new TerraError('MALFORMED', 'blob store image: bad entry', { what: 'blob-store' });
      s.put(e[0], e[1]);
    }
    return s;
  }
}

const MAX_DATA = 1 << 20;

/** What the caller expects a presented blob to be: a blob with another label or policy is refused (UNSEAL_ERROR). */
export interface UnsealExpectation {
  readonly label?: string;
  readonly policy?: SealPolicy;
}

/** Parsed header of a sealed blob. */
export interface SealedBlobHeader {
  readonly policy: SealPolicy;
  readonly label: string;
  readonly counterId: Uint8Array;
  readonly sequence: number;
  readonly nonce: Uint8Array;
  readonly headerLength: number;
}

/** Parses a sealed blob's header strictly; MALFORMED otherwise. */
export function parseSealedBlob(blob: Uint8Array): SealedBlobHeader {
  const b = checkInput('sealed blob', blob, MAX_DATA + 512);
  const bad = (m: string): never => {
    throw new TerraError('MALFORMED', `sealed blob: ${m}`, { what: 'sealed-blob' });
  };
  if (b.length < 7 || b[0] !== 0x54 || b[1] !== 0x43 || b[2] !== 0x53 || b[3] !== 0x42) bad('bad magic');
  if (b[4] !== 1) bad('unsupported version');
  const policy = (Object.keys(POLICY_CODE) as SealPolicy[]).find((p) => POLICY_CODE[p] === b[5]) ?? bad('unknown policy');
  const ll = b[6];
  if (ll < 1 || ll > 128) bad('bad label length');
  const hl = 7 + ll + 32 + 8 + 24;
  if (b.length < hl + 16) bad('truncated');
  let label: string;
  try {
    label = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(7, 7 + ll));
  } catch {
    return bad('label is not UTF-8');
  }
  const dv = new DataView(b.buffer, b.byteOffset + 7 + ll + 32, 8);
  const sequence = dv.getUint32(0) * 2 ** 32 + dv.getUint32(4);
  if (!Number.isSafeInteger(sequence) || sequence < 1) bad('bad sequence');
  return { policy, label, counterId: b.slice(7 + ll, 7 + ll + 32), sequence, nonce: b.slice(7 + ll + 40, hl), headerLength: hl };
}

/** Sealed storage for one TVMM (owned by the AttestationService). */
export class SealedStorage {
  readonly #root: Uint8Array;
  readonly #nonces: SeededRng;
  #stats = { seals: 0, unseals: 0, refused: 0 };

  constructor(readonly ctx: SimContext, readonly provider: CryptoProvider, readonly rot: RootOfTrust, sealRoot: Uint8Array, readonly store: BlobStore = new MemoryBlobStore()) {
    this.#root = checkBytes('sealRoot', sealRoot, 32).slice();
    this.#nonces = ctx.rng.fork(`sealed-storage/${hex(provider.sha256(sealRoot)).slice(0, 16)}`);
  }

  #binding(id: SealIdentity, policy: SealPolicy): Uint8Array {
    checkObject('identity', id);
    checkBytes('identity.measurement', id.measurement, 32);
    checkInt('identity.instance', id.instance, 0);
    const base = [te('terracloak/seal-binding/v1'), new Uint8Array([POLICY_CODE[policy], id.mode === 'closed' ? 1 : 2, id.debug ? 1 : 0])];
    if (policy === 'signer') {
      if (!id.signer) throw new TerraError('UNSEAL_ERROR', 'signer policy needs a signer identity', { reason: 'no-signer' });
      base.push(checkBytes('identity.signer', id.signer, 32));
    } else base.push(id.measurement);
    if (policy === 'instance') base.push(u64be(id.instance));
    return this.provider.sha256(concatBytes(...base));
  }

  #counterName(binding: Uint8Array, label: string): { id: Uint8Array; name: string } {
    const id = this.provider.sha256(concatBytes(binding, te(label)));
    return { id, name: `seal/${hex(id)}` };
  }

  #key(binding: Uint8Array): Uint8Array {
    return this.provider.hkdfSha256(this.#root, binding, te('terracloak/seal/v1'), 32);
  }

  #slot(label: string, binding: Uint8Array, seq: number): string {
    return `${hex(binding).slice(0, 32)}/${label}#${seq % 2}`;
  }

  /** Builds a blob for sequence `sequence` without persisting or committing it (building block of {@link seal}). */
  sealBlob(id: SealIdentity, label: string, data: Uint8Array, policy: SealPolicy, sequence: number): Uint8Array {
    checkString('label', label, { nonEmpty: true, max: 64 });
    const pt = checkBytes('data', data, { max: MAX_DATA }).slice();
    checkOneOf('policy', policy, ['measurement', 'instance', 'signer']);
    checkInt('sequence', sequence, 1);
    const binding = this.#binding(id, policy);
    const lb = te(label);
    if (lb.length > 128) throw new ValidationRangeError('label too long');
    const { id: cid } = this.#counterName(binding, label);
    // Synthetic nonce (SIV-style): unique for distinct (binding, label, sequence, data) even if the
    // seeded stream repeats after a reboot; equal only when the whole sealed content is equal.
    const nonce = this.provider.hmacSha256(this.#root, concatBytes(te('terracloak/seal-nonce/v1'), binding, lb, u64be(sequence), this.provider.sha256(pt), this.#nonces.bytes(16))).slice(0, 24);
    const header = concatBytes(te('TCSB'), new Uint8Array([1, POLICY_CODE[policy], lb.length]), lb, cid, u64be(sequence), nonce);
    this.ctx.clock.advance(pt.length * this.ctx.costs.cryptoPerByte);
    return concatBytes(header, this.provider.aeadSeal('xchacha20-poly1305', this.#key(binding), nonce, pt, header));
  }

  /** Seals `data` under `label` for `id` with the crash-safe protocol; returns the new blob (also persisted in the blob store). */
  seal(id: SealIdentity, label: string, data: Uint8Array, policy: SealPolicy = 'measurement', vm?: number): Uint8Array {
    checkString('label', label, { nonEmpty: true, max: 64 });
    checkOneOf('policy', policy, ['measurement', 'instance', 'signer']);
    const binding = this.#binding(id, policy);
    const { name } = this.#counterName(binding, label);
    const c = this.rot.nv.read(name);
    const blob = this.sealBlob(id, label, data, policy, c + 1);
    const f = this.rot.faults;
    f.hit('seal.beforePersist');
    // The store is the host's: it gets its own copy, and the digest committed with the counter is
    // taken before the host sees any buffer, so a store that rewrites what it is handed changes
    // neither the blob returned to the VM nor what the counter commits to.
    const digest = this.provider.sha256(blob);
    this.store.put(this.#slot(label, binding, c + 1), blob.slice());
    f.hit('seal.afterPersist');
    this.rot.nv.increment(name, digest);
    f.hit('seal.afterIncrement');
    this.store.delete(this.#slot(label, binding, c));
    f.hit('seal.afterAck');
    this.#stats.seals++;
    this.ctx.trace.emit('attest', 'seal', vm, { label, policy, sequence: c + 1 });
    return blob;
  }

  /** Unseals the committed blob for `label` from the blob store (NOT_FOUND when none). */
  unseal(id: SealIdentity, label: string, policy: SealPolicy = 'measurement', vm?: number): Uint8Array {
    checkString('label', label, { nonEmpty: true, max: 64 });
    checkOneOf('policy', policy, ['measurement', 'instance', 'signer']);
    const binding = this.#binding(id, policy);
    const { name } = this.#counterName(binding, label);
    const c = this.rot.nv.read(name);
    const blob = c === 0 ? undefined : this.store.get(this.#slot(label, binding, c));
    if (!blob) throw new TerraError('NOT_FOUND', `no sealed blob for label ${JSON.stringify(label)}`, { label });
    // The host chooses what sits in the slot: the blob must be this label's and this policy's, or a
    // committed blob of another label (or another instance's measurement-bound blob) would be served.
    return this.unsealBlob(id, blob, vm, { label, policy }).data;
  }

  /**
   * Unseals a blob for `id`: MALFORMED (not a blob), UNSEAL_ERROR (other measurement, mode, debug,
   * instance, policy or TVMM; any tampering; never committed; not the `expect`ed label or policy),
   * ROLLBACK_DETECTED (older than the counter). No plaintext appears in any error.
   */
  unsealBlob(id: SealIdentity, blob: Uint8Array, vm?: number, expect: UnsealExpectation = {}): { label: string; data: Uint8Array } {
    const b = checkInput('sealed blob', blob, MAX_DATA + 512).slice();
    checkObject('expect', expect);
    if (expect.label !== undefined) checkString('expect.label', expect.label, { nonEmpty: true, max: 64 });
    if (expect.policy !== undefined) checkOneOf('expect.policy', expect.policy, ['measurement', 'instance', 'signer']);
    let h: SealedBlobHeader;
    try {
      h = parseSealedBlob(b);
    } catch (e) {
      this.#stats.refused++;
      if (e instanceof TerraError) this.ctx.trace.security('attest.malformed', vm, { what: 'sealed-blob' });
      throw e;
    }
    if ((expect.label !== undefined && h.label !== expect.label) || (expect.policy !== undefined && h.policy !== expect.policy)) {
      this.#stats.refused++;
      fail(this.ctx, 'UNSEAL_ERROR', 'sealed blob is not the one requested (another label or sealing policy)', { reason: 'substituted' }, vm);
    }
    const binding = this.#binding(id, h.policy);
    const { id: cid, name } = this.#counterName(binding, h.label);
    const header = b.subarray(0, h.headerLength);
    const pt = this.provider.aeadOpen('xchacha20-poly1305', this.#key(binding), h.nonce, b.subarray(h.headerLength), header);
    if (pt === null || !this.provider.equalBytes(cid, h.counterId)) {
      this.#stats.refused++;
      fail(this.ctx, 'UNSEAL_ERROR', 'sealed blob does not open for this identity (different measurement, mode, policy or TVMM, or tampered)', { label: h.label }, vm);
    }
    this.ctx.clock.advance(pt.length * this.ctx.costs.cryptoPerByte);
    const c = this.rot.nv.read(name);
    if (h.sequence < c) {
      this.#stats.refused++;
      fail(this.ctx, 'ROLLBACK_DETECTED', `sealed blob sequence ${h.sequence} is older than the counter ${c}`, { label: h.label, sequence: h.sequence, counter: c }, vm);
    }
    if (h.sequence > c || hex(this.provider.sha256(b)) !== this.rot.nv.readTag(name)) {
      this.#stats.refused++;
      fail(this.ctx, 'UNSEAL_ERROR', `sealed blob (sequence ${h.sequence}) is not the committed one (counter ${c})`, { label: h.label, reason: 'uncommitted' }, vm);
    }
    this.#stats.unseals++;
    return { label: h.label, data: pt };
  }

  /** Counters. */
  stats(): { seals: number; unseals: number; refused: number } {
    return { ...this.#stats };
  }
}
