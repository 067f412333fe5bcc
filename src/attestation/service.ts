/**
 * The TVMM's attestation interface for VMs (Terra, Garfinkel et al., SOSP'03 §4.1):
 * `cert ← ENDORSE(cert-req)` and `hash ← GET-ID()`, plus quotes (EAT in COSE_Sign1) and sealed
 * storage. The TVMM owns one {@link AttestationService}; it identifies the calling VM by the
 * opaque vm id it passes in, never from arguments a guest controls (ATT-11). This module does not
 * import src/tvmm (layering: tvmm imports attestation).
 */
import { ValidationRangeError, TerraError, ValidationTypeError, checkBool, checkBytes, checkInt, checkObject, checkOneOf, type SimContext } from '../sim/index.js';
import { concatBytes, u32be, u64be, type CryptoProvider, type KeyPair, type SigAlg } from '../crypto/index.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { defaultBootImages, type RootOfTrust, type TvmmIdentity } from './root.js';
import { certValidity, issueCert, parseCert } from './x509.js';
import { IMAGE_MAGIC, parseImage, type VmImage } from './image.js';
import { DBGSTAT, encodeQuote, ueidFor } from './quote.js';
import { MemoryBlobStore, SealedStorage, type BlobStore, type SealIdentity, type SealPolicy, type UnsealExpectation } from './sealed.js';
import { fail, hex } from './util.js';

/** How a VM is registered with the attestation service (by the TVMM at VM creation). */
export interface VmRegistration {
  /** The primary image: a parsed image, or image file bytes (copied and measured here). */
  readonly image: VmImage | Uint8Array;
  readonly mode: 'closed' | 'open';
  readonly debug?: boolean;
  /** Secondary attestable disks (their identities are the secondary identities). */
  readonly secondary?: readonly (VmImage | Uint8Array)[];
  /** Instance number (distinguishes VMs booted from one image; default: the lowest not used by a registered VM of the same image, so 0 for the first). */
  readonly instance?: number;
  /** SHA-256 of the vendor key that signed the image (for signer-bound sealing). */
  readonly signer?: Uint8Array;
}

/** A VM's identities. */
export interface VmIdentity {
  readonly primary: Uint8Array;
  readonly secondary: readonly Uint8Array[];
  readonly mode: 'closed' | 'open';
  readonly debug: boolean;
  readonly instance: number;
}

/** A certificate request passed to ENDORSE. */
export interface CertRequest {
  readonly alg: SigAlg;
  readonly publicKey: Uint8Array;
  /** Application data to certify along with the key (≤ 1 KiB). */
  readonly appData?: Uint8Array;
}

/** What a guest sees of the attestation service (identity implied by the port). */
export interface GuestAttestationPort {
  getId(): VmIdentity;
  endorse(req: CertRequest): Uint8Array;
  quote(nonce: Uint8Array, opts?: { boundKey?: Uint8Array }): Uint8Array;
  seal(label: string, data: Uint8Array, policy?: SealPolicy): Uint8Array;
  unseal(label: string, policy?: SealPolicy): Uint8Array;
  /** Unseals a blob the VM presents; `expect` pins its label and/or policy (UNSEAL_ERROR otherwise). */
  unsealBlob(blob: Uint8Array, expect?: UnsealExpectation): Uint8Array;
}

interface VmEntry {
  identity: VmIdentity;
  image: VmImage;
  key: KeyPair;
  certDer: Uint8Array;
  signer?: Uint8Array;
  endorsements: number;
}

/** True when `pk` is a key a verifier could be fooled by: invalid, non-canonical, or of small order. */
export function isWeakPublicKey(alg: SigAlg, pk: Uint8Array): boolean {
  try {
    if (alg === 'ed25519') {
      if (pk.length !== 32) return true;
      const A = ed25519.Point.fromBytes(pk, false);
      return A.isSmallOrder() || !A.isTorsionFree();
    }
    if (pk.length !== 33 && pk.length !== 65) return true;
    p256.Point.fromBytes(pk).assertValidity();
    return false;
  } catch {
    return true;
  }
}

/** The attestation service the TVMM owns. */
export class AttestationService {
  readonly #vms = new Map<number, VmEntry>();
  readonly #tvmm: TvmmIdentity;
  /** End of the TVMM certificate's validity: certificates the TVMM issues never outlive it. */
  readonly #tvmmNotAfter: number;
  readonly sealed: SealedStorage;
  #stats = { quotes: 0, endorsements: 0, refused: 0 };

  /**
   * `tvmm` is what measured boot returned for this TVMM (default: run measured boot of
   * `defaultBootImages()` on `rot` now); `blobStore` is the host's storage for sealed blobs.
   */
  constructor(readonly ctx: SimContext, readonly provider: CryptoProvider, readonly rot: RootOfTrust, tvmm?: TvmmIdentity, blobStore: BlobStore = new MemoryBlobStore()) {
    if (tvmm !== undefined) checkObject('tvmm', tvmm);
    this.#tvmm = tvmm ?? rot.boot(defaultBootImages());
    this.#tvmmNotAfter = parseCert(this.#tvmm.chain[0]).notAfter;
    this.sealed = new SealedStorage(ctx, provider, rot, this.#tvmm.sealRoot, blobStore);
  }

  /** The booted TVMM's measurements and security version (copies). */
  tvmmInfo(): { svn: number; measurements: { firmware: Uint8Array; bootloader: Uint8Array; tvmm: Uint8Array } } {
    const m = this.#tvmm.measurements;
    return { svn: this.#tvmm.svn, measurements: { firmware: m.firmware.slice(), bootloader: m.bootloader.slice(), tvmm: m.tvmm.slice() } };
  }

  /** The TVMM's chain (DER, TVMM first, device last). */
  tvmmChain(): Uint8Array[] {
    return this.#tvmm.chain.map((c) => c.slice());
  }

  #entry(vmId: number): VmEntry {
    checkInt('vmId', vmId, 0, 2 ** 31);
    const e = this.#vms.get(vmId);
    if (!e) throw new TerraError('NOT_FOUND', `vm ${vmId} is not registered with the attestation service`, { vm: vmId });
    return e;
  }

  /** Registers a VM at creation: copies and measures its images (ATT-08), creates its attestation key certified by the TVMM. */
  registerVm(vmId: number, reg: VmRegistration): VmIdentity {
    checkInt('vmId', vmId, 0, 2 ** 31);
    checkObject('registration', reg);
    checkOneOf('mode', reg.mode, ['closed', 'open']);
    const debug = reg.debug === undefined ? false : checkBool('debug', reg.debug);
    const explicitInstance = reg.instance === undefined ? undefined : checkInt('instance', reg.instance, 0, 2 ** 31);
    const signer = reg.signer === undefined ? undefined : checkBytes('signer', reg.signer, 32).slice();
    if (this.#vms.has(vmId)) throw new TerraError('INVALID_STATE', `vm ${vmId} is already registered`, { vm: vmId });
    const load = (x: VmImage | Uint8Array): VmImage => {
      if (x instanceof Uint8Array) return parseImage(this.provider, x);
      const o = checkObject('image', x);
      checkBytes('image.blockData', o.blockData);
      checkBytes('image.descriptorBytes', o.descriptorBytes);
      if (!Array.isArray(o.blockHashes)) throw new ValidationTypeError('image.blockHashes must be an array');
      return parseImage(this.provider, rebuild(x));
    };
    const image = load(reg.image);
    const secondary = (reg.secondary ?? []).map((s) => load(s).identity);
    if (secondary.length > 16) throw new ValidationRangeError('at most 16 secondary identities');
    // Instances of one image are told apart by their instance number (the `instance` sealing policy,
    // ATT-12 d), so two live VMs of one image never share one: without an explicit number a VM gets
    // the lowest one free (0 for the first, 1 for a clone started next to it, …; CREATE-VM passes
    // none), and an explicit number already live is refused.
    const live = new Set([...this.#vms.values()].filter((v) => this.provider.equalBytes(v.identity.primary, image.identity)).map((v) => v.identity.instance));
    let instance = explicitInstance ?? 0;
    if (explicitInstance === undefined) while (live.has(instance)) instance++;
    else if (live.has(instance)) throw new TerraError('INVALID_STATE', `instance ${instance} of this image is already registered`, { vm: vmId, instance });
    // Open-box VMs are inspectable, so they are recorded as debug.
    const identity: VmIdentity = { primary: image.identity, secondary, mode: reg.mode, debug: debug || reg.mode === 'open', instance };
    const key = this.provider.keyPairFromSeed(this.rot.alg, this.ctx.rng.fork(`attest/vm-key/${vmId}/${hex(image.identity)}/${instance}`).bytes(32));
    const certDer = issueCert(this.provider, this.#tvmm.key, {
      subjectCN: `terracloak vm ${hex(image.identity).slice(0, 16)} id${vmId}`,
      issuerCN: this.#tvmm.cn,
      subjectKey: key,
      ca: false,
      ext: { role: 'vm', measurement: image.identity, svn: this.#tvmm.svn, mode: reg.mode, debug: identity.debug, appData: new Uint8Array(0) },
      validity: certValidity('vm', this.ctx.clock.now, this.#tvmmNotAfter),
    });
    this.#vms.set(vmId, { identity, image, key, certDer, signer, endorsements: 0 });
    this.ctx.trace.emit('attest', 'vm.register', vmId, { identity: hex(image.identity).slice(0, 16), mode: reg.mode });
    return copyIdentity(identity);
  }

  /** Forgets a VM (at destruction). */
  unregisterVm(vmId: number): void {
    this.#entry(vmId);
    this.#vms.delete(vmId);
  }

  /** The VM's measured image (a copy): what the TVMM loads and runs — never the caller's buffer. */
  measuredImage(vmId: number): VmImage {
    const im = this.#entry(vmId).image;
    return { ...im, blockHashes: im.blockHashes.map((h) => h.slice()), blockData: im.blockData.slice(), identity: im.identity.slice(), descriptorBytes: im.descriptorBytes.slice() };
  }

  /** GET-ID(): the calling VM's own identity (a VM image cannot contain its own hash). */
  getId(vmId: number): VmIdentity {
    return copyIdentity(this.#entry(vmId).identity);
  }

  /**
   * ENDORSE(certReq): certifies the caller's key and application data with the TVMM key; the
   * certificate carries the calling VM's identity (from the vm id, not the request). Refuses weak
   * keys (small-order, non-canonical, invalid): ATTESTATION_ERROR check WEAK_KEY (ATT-07).
   */
  endorse(vmId: number, req: CertRequest): Uint8Array {
    const e = this.#entry(vmId);
    checkObject('certReq', req);
    const alg = checkOneOf('certReq.alg', req.alg, ['ed25519', 'p256']);
    const pk = checkBytes('certReq.publicKey', req.publicKey, { max: 65 }).slice();
    const appData = req.appData === undefined ? new Uint8Array(0) : checkBytes('certReq.appData', req.appData, { max: 1024 }).slice();
    if (isWeakPublicKey(alg, pk) || (alg === 'p256' && pk.length !== 33)) {
      this.#stats.refused++;
      fail(this.ctx, 'ATTESTATION_ERROR', 'ENDORSE refused a weak or invalid public key', { check: 'WEAK_KEY' }, vmId);
    }
    e.endorsements++;
    this.#stats.endorsements++;
    return issueCert(this.provider, this.#tvmm.key, {
      subjectCN: `terracloak app ${hex(this.provider.sha256(pk)).slice(0, 16)} id${vmId}`,
      issuerCN: this.#tvmm.cn,
      subjectKey: { alg, publicKey: pk },
      ca: false,
      ext: { role: 'app', measurement: e.identity.primary, svn: this.#tvmm.svn, mode: e.identity.mode, debug: e.identity.debug, appData },
      validity: certValidity('app', this.ctx.clock.now, this.#tvmmNotAfter),
    });
  }

  /** The chain for the VM's quotes (DER, leaf first): [vm, tvmm, bootloader, firmware, device]. */
  chain(vmId: number): Uint8Array[] {
    return [this.#entry(vmId).certDer.slice(), ...this.tvmmChain()];
  }

  /**
   * A quote for the calling VM over the verifier's nonce (8–64 bytes), optionally binding a
   * VM-generated X25519 public key (ATT-02). Signed by the VM's attestation key; the chain rides
   * in x5chain.
   */
  quote(vmId: number, nonce: Uint8Array, opts: { boundKey?: Uint8Array } = {}): Uint8Array {
    const e = this.#entry(vmId);
    const n = checkBytes('nonce', nonce, { min: 8, max: 64 }).slice();
    checkObject('opts', opts);
    const boundKey = opts.boundKey === undefined ? null : checkBytes('boundKey', opts.boundKey, 32).slice();
    const t = this.#tvmm;
    const q = encodeQuote(this.provider, e.key, this.chain(vmId), {
      nonce: n,
      ueid: ueidFor(this.provider, this.rot.devicePublicKey),
      dbgstat: e.identity.debug ? DBGSTAT.enabled : DBGSTAT.disabledPermanently,
      measurements: {
        vm: e.identity.primary,
        secondary: e.identity.secondary,
        tvmm: t.measurements.tvmm,
        bootloader: t.measurements.bootloader,
        firmware: t.measurements.firmware,
        pcrs: [this.rot.readPcr(0), this.rot.readPcr(1), this.rot.readPcr(2)],
      },
      mode: e.identity.mode,
      tvmmSvn: t.svn,
      instance: e.identity.instance,
      iat: Math.floor(this.ctx.clock.now / 1e9),
      boundKey,
    });
    this.#stats.quotes++;
    this.ctx.trace.emit('attest', 'quote', vmId, { bytes: q.length });
    return q;
  }

  #sealId(e: VmEntry): SealIdentity {
    return { measurement: e.identity.primary, mode: e.identity.mode, debug: e.identity.debug, instance: e.identity.instance, signer: e.signer };
  }

  /** Seals data for the calling VM (bound per `policy`), rollback-protected; returns the blob (also kept in the host blob store). */
  seal(vmId: number, label: string, data: Uint8Array, policy: SealPolicy = 'measurement'): Uint8Array {
    return this.sealed.seal(this.#sealId(this.#entry(vmId)), label, data, policy, vmId);
  }

  /** Unseals the calling VM's committed blob for `label`. */
  unseal(vmId: number, label: string, policy: SealPolicy = 'measurement'): Uint8Array {
    return this.sealed.unseal(this.#sealId(this.#entry(vmId)), label, policy, vmId);
  }

  /** Unseals a blob the calling VM presents (UNSEAL_ERROR / ROLLBACK_DETECTED / MALFORMED); `expect` pins its label and/or policy. */
  unsealBlob(vmId: number, blob: Uint8Array, expect: UnsealExpectation = {}): Uint8Array {
    return this.sealed.unsealBlob(this.#sealId(this.#entry(vmId)), blob, vmId, expect).data;
  }

  /**
   * The guest-facing interface of one VM: the TVMM hands this to the VM's hypercall handler. No
   * method takes a VM identity; an options object that tries to name one (vm, vmId, identity,
   * measurement, domain) is refused with ISOLATION_VIOLATION (ATT-02 variant, ATT-11).
   */
  portFor(vmId: number): GuestAttestationPort {
    this.#entry(vmId);
    const guard = (opts: unknown, allowed: readonly string[]): Record<string, unknown> => {
      const o = checkObject('opts', opts);
      for (const k of Object.keys(o))
        if (!allowed.includes(k)) {
          this.#stats.refused++;
          fail(this.ctx, 'ISOLATION_VIOLATION', `a guest cannot choose ${JSON.stringify(k)}: the caller's identity comes from the TVMM`, { field: k }, vmId);
        }
      return o;
    };
    return Object.freeze({
      getId: () => this.getId(vmId),
      endorse: (req: CertRequest) => this.endorse(vmId, guard(req, ['alg', 'publicKey', 'appData']) as unknown as CertRequest),
      quote: (nonce: Uint8Array, opts: { boundKey?: Uint8Array } = {}) => this.quote(vmId, nonce, guard(opts, ['boundKey']) as { boundKey?: Uint8Array }),
      seal: (label: string, data: Uint8Array, policy: SealPolicy = 'measurement') => this.seal(vmId, label, data, policy),
      unseal: (label: string, policy: SealPolicy = 'measurement') => this.unseal(vmId, label, policy),
      unsealBlob: (blob: Uint8Array, expect: UnsealExpectation = {}) => this.unsealBlob(vmId, blob, guard(expect, ['label', 'policy']) as UnsealExpectation),
    });
  }

  /** Counters. */
  stats(): { vms: number; quotes: number; endorsements: number; refused: number } {
    return { vms: this.#vms.size, ...this.#stats };
  }
}

function copyIdentity(i: VmIdentity): VmIdentity {
  return { primary: i.primary.slice(), secondary: i.secondary.map((s) => s.slice()), mode: i.mode, debug: i.debug, instance: i.instance };
}

// Re-serialise a parsed image so registration always measures its own private copy.
function rebuild(im: VmImage): Uint8Array {
  const d = im.descriptor;
  const head = concatBytes(IMAGE_MAGIC, u32be(d.blockSize), u32be(d.blocks), u64be(d.length), u32be(im.descriptorBytes.length), im.descriptorBytes, ...im.blockHashes);
  const pad = (d.blockSize - (head.length % d.blockSize)) % d.blockSize;
  return concatBytes(head, new Uint8Array(pad), im.blockData);
}
