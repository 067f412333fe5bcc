/**
 * The simulated hardware root of trust and measured boot (Terra, Garfinkel et al., SOSP'03 §4.1
 * and §4.4: a tamper-resistant device with an embedded private key certified by the manufacturer,
 * attestation of the booted software, sealed storage and a secure counter; TPM 1.1b-class).
 *
 * - {@link Manufacturer}: the vendor CA; its key comes from `ctx.rng.fork('manufacturer')`.
 * - {@link RootOfTrust}: device key pair (certified by the manufacturer), eight SHA-256 measurement
 *   registers (extend-only, zeroed only by {@link RootOfTrust.platformReset}), a non-volatile store
 *   of monotonic counters with crash-atomic two-slot writes, seal/unseal bound to register values,
 *   and measured boot firmware → boot loader → TVMM, each stage measured before it runs and its key
 *   certified by the stage below (Terra's ENDORSE chain). Stage keys and the TVMM's sealing root are
 *   derived DICE-style from a unique device secret and the measurements, so a different (or older)
 *   TVMM can never derive another TVMM's keys.
 */
import { ValidationRangeError, TerraError, checkBytes, checkInt, checkObject, checkOneOf, checkString, type SeededRng, type SimContext } from '../sim/index.js';
import { concatBytes, u32be, type CryptoProvider, type KeyPair, type SigAlg } from '../crypto/index.js';
import { certValidity, issueCert, type CertRole } from './x509.js';
import { FaultInjector, cborDecode, cborEncode, checkInput, fail, hex, te } from './util.js';

/** Number of measurement registers. */
export const PCR_COUNT = 8;
/** Registers used by measured boot: firmware, boot loader, TVMM. */
export const BOOT_PCRS = { firmware: 0, bootloader: 1, tvmm: 2 } as const;
const ZERO32 = new Uint8Array(32);

/** The boot stages of a simulated host (deterministic bytes; the TVMM stage carries its version). */
export function defaultBootImages(tvmmSvn = 1): BootImages {
  checkInt('tvmmSvn', tvmmSvn, 0, 1000);
  const stage = (name: string, size: number) => {
    const b = new Uint8Array(size);
    const label = te(`terracloak ${name} image v${name === 'tvmm' ? tvmmSvn : 1}\n`);
    for (let i = 0; i < size; i++) b[i] = label[i % label.length] ^ (i & 0xff);
    return b;
  };
  return { firmware: stage('firmware', 64 * 1024), bootloader: stage('bootloader', 32 * 1024), tvmm: stage('tvmm', 256 * 1024), tvmmSvn };
}

/** The manufacturer CA: a self-signed root certificate and the key that certifies devices. */
export class Manufacturer {
  readonly #key: KeyPair;
  /** The CA certificate (DER, self-signed) — the trust anchor verifiers pin. */
  readonly certDer: Uint8Array;
  /** The CA's subject common name. */
  readonly cn: string;
  /** Creates the manufacturer CA from `ctx.rng.fork('manufacturer')`; `alg` defaults to Ed25519. */
  constructor(ctx: SimContext, readonly provider: CryptoProvider, readonly alg: SigAlg = 'ed25519') {
    checkOneOf('alg', alg, ['ed25519', 'p256']);
    const rng = ctx.rng.fork('manufacturer');
    this.#key = provider.keyPairFromSeed(alg, rng.bytes(32));
    this.cn = `terracloak manufacturer CA ${hex(provider.sha256(this.#key.publicKey)).slice(0, 12)}`;
    this.certDer = issueCert(provider, this.#key, {
      subjectCN: this.cn,
      issuerCN: this.cn,
      subjectKey: this.#key,
      ca: true,
      ext: { role: 'manufacturer', measurement: ZERO32, svn: 0, mode: 'none', debug: false, appData: new Uint8Array() },
    });
  }
  /** The CA public key. */
  get publicKey(): Uint8Array {
    return this.#key.publicKey.slice();
  }
  /** Certifies a device key (manufacturing step). Returns the device certificate DER. */
  certifyDevice(deviceCN: string, deviceKey: { alg: SigAlg; publicKey: Uint8Array }): Uint8Array {
    return issueCert(this.provider, this.#key, {
      subjectCN: deviceCN,
      issuerCN: this.cn,
      subjectKey: deviceKey,
      ca: true,
      ext: { role: 'device', measurement: ZERO32, svn: 0, mode: 'none', debug: false, appData: new Uint8Array() },
    });
  }
}

interface Slot {
  seq: number;
  value: number;
  tag: string;
  check: number;
}

/**
 * The non-volatile counter store (survives platform reset and power loss, threat model C2). Each
 * counter has two slots; a write goes to the slot holding the older sequence number and carries a
 * checksum, so a write torn by a crash leaves the other slot intact and a read returns either the
 * old or the new value, never garbage. Crash points: `nv.beforeWrite`, `nv.tornWrite`, `nv.afterWrite`.
 */
export class NvStore {
  readonly #slots = new Map<string, [Slot | null, Slot | null]>();
  #writes = 0;
  constructor(private readonly faults: FaultInjector) {}
  static #check(name: string, seq: number, value: number, tag: string): number {
    let h = 2166136261;
    for (const c of `${name}|${seq}|${value}|${tag}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    return h;
  }
  /** Current value of counter `name` (0 when never written). */
  read(name: string): number {
    checkString('name', name, { nonEmpty: true, max: 512 });
    const s = this.#valid(name);
    return s ? s.value : 0;
  }
  /** The 32-byte tag stored with the counter's current value (hex; '' when none). */
  readTag(name: string): string {
    checkString('name', name, { nonEmpty: true, max: 512 });
    return this.#valid(name)?.tag ?? '';
  }
  #valid(name: string): Slot | null {
    const pair = this.#slots.get(name);
    if (!pair) return null;
    let best: Slot | null = null;
    for (const s of pair) if (s && s.check === NvStore.#check(name, s.seq, s.value, s.tag) && (!best || s.seq > best.seq)) best = s;
    return best;
  }
  /** Increments counter `name` by one, crash-atomically, storing `tag` (e.g. a digest) with the new value; returns the new value. */
  increment(name: string, tag: Uint8Array = new Uint8Array(0)): number {
    checkString('name', name, { nonEmpty: true, max: 512 });
    const t = hex(checkBytes('tag', tag, { max: 64 }));
    const cur = this.#valid(name);
    const seq = (cur?.seq ?? 0) + 1;
    const value = (cur?.value ?? 0) + 1;
    const pair = this.#slots.get(name) ?? [null, null];
    const idx = pair[0] === cur ? 1 : 0;
    this.faults.hit('nv.beforeWrite');
    // A torn write: the slot gets the new sequence but a checksum that cannot match.
    pair[idx] = { seq, value, tag: t, check: (0xdeadbeef ^ NvStore.#check(name, seq, value, t)) >>> 0 };
    this.#slots.set(name, pair);
    this.faults.hit('nv.tornWrite');
    pair[idx] = { seq, value, tag: t, check: NvStore.#check(name, seq, value, t) };
    this.#writes++;
    this.faults.hit('nv.afterWrite');
    return value;
  }
  /** Counters: number of completed writes. */
  stats(): { counters: number; writes: number } {
    return { counters: this.#slots.size, writes: this.#writes };
  }

  /** The persistent image of the store (deterministic CBOR; both slots of every counter, torn ones included). */
  save(): Uint8Array {
    const names = [...this.#slots.keys()].sort();
    return cborEncode(names.map((n) => [n, this.#slots.get(n)!.map((sl) => (sl ? [sl.seq, sl.value, sl.tag, sl.check] : null))]));
  }

  /** Replaces the store's contents with a saved image (power-on from NV); MALFORMED on a bad image, state unchanged then. */
  restore(image: Uint8Array): void {
    const v = cborDecode(checkBytes('image', image, { max: 1 << 24 }), 'nv image');
    const bad = (): never => {
      throw new TerraError('MALFORMED', 'nv image: bad structure', { what: 'nv-image' });
    };
    if (!Array.isArray(v)) bad();
    const next = new Map<string, [Slot | null, Slot | null]>();
    for (const e of v as unknown[][]) {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || !Array.isArray(e[1]) || e[1].length !== 2 || next.has(e[0])) bad();
      const slots = (e[1] as unknown[]).map((sl) => {
        if (sl === null) return null;
        if (!Array.isArray(sl) || sl.length !== 4 || !sl.every((x, i) => (i === 2 ? typeof x === 'string' : Number.isSafeInteger(x) && (x as number) >= 0))) bad();
        const [seq, value, tag, check] = sl as [number, number, string, number];
        return { seq, value, tag, check };
      }) as [Slot | null, Slot | null];
      next.set(e[0] as string, slots);
    }
    this.#slots.clear();
    for (const [k, val] of next) this.#slots.set(k, val);
  }
}

/** Inputs to measured boot (copied at measurement). */
export interface BootImages {
  readonly firmware: Uint8Array;
  readonly bootloader: Uint8Array;
  readonly tvmm: Uint8Array;
  /** TVMM security version (default 1). */
  readonly tvmmSvn?: number;
}

/** What measured boot hands the TVMM: its key, certificate chain and sealing root. */
export interface TvmmIdentity {
  readonly key: KeyPair;
  /** DER chain, TVMM first: [tvmm, bootloader, firmware, device]. */
  readonly chain: readonly Uint8Array[];
  readonly cn: string;
  readonly svn: number;
  readonly measurements: { readonly firmware: Uint8Array; readonly bootloader: Uint8Array; readonly tvmm: Uint8Array };
  /** Secret from which the TVMM derives sealing keys (bound to every boot measurement and the svn). */
  readonly sealRoot: Uint8Array;
}

/** Options for {@link RootOfTrust}. */
export interface RootOfTrustOptions {
  readonly alg?: SigAlg;
  /** Share one manufacturer among several devices (default: a new one from the seed). */
  readonly manufacturer?: Manufacturer;
  /** Distinguishes several devices in one simulation (default 'device-0'). */
  readonly deviceLabel?: string;
}

/** The simulated hardware root of trust. */
export class RootOfTrust {
  /** Fault injection at named crash points. */
  readonly faults = new FaultInjector();
  /** Non-volatile monotonic counters (survive platform reset). */
  readonly nv: NvStore;
  readonly manufacturer: Manufacturer;
  readonly alg: SigAlg;
  /** Device certificate (DER) issued by the manufacturer. */
  readonly deviceCertDer: Uint8Array;
  readonly deviceCN: string;
  readonly #deviceKey: KeyPair;
  readonly #uds: Uint8Array;
  readonly #sealKey: Uint8Array;
  readonly #nonceRng: SeededRng;
  #pcrs: Uint8Array[] = [];
  #booted = false;
  #extends = 0;

  /** Creates a device: keys from `ctx.rng.fork(deviceLabel)`, certified by the manufacturer. */
  constructor(readonly ctx: SimContext, readonly provider: CryptoProvider, opts: RootOfTrustOptions = {}) {
    checkObject('options', opts);
    this.alg = opts.alg === undefined ? 'ed25519' : checkOneOf('alg', opts.alg, ['ed25519', 'p256']);
    this.manufacturer = opts.manufacturer ?? new Manufacturer(ctx, provider, this.alg);
    const label = opts.deviceLabel === undefined ? 'device-0' : checkString('deviceLabel', opts.deviceLabel, { nonEmpty: true, max: 64 });
    const rng = ctx.rng.fork(`rot/${label}`);
    this.#deviceKey = provider.keyPairFromSeed(this.alg, rng.bytes(32));
    this.#uds = rng.bytes(32);
    this.#sealKey = rng.bytes(32);
    this.#nonceRng = rng.fork('seal-nonces');
    this.deviceCN = `terracloak device ${hex(provider.sha256(this.#deviceKey.publicKey)).slice(0, 16)}`;
    this.deviceCertDer = this.manufacturer.certifyDevice(this.deviceCN, this.#deviceKey);
    this.nv = new NvStore(this.faults);
    this.platformReset();
  }

  /** The device public key (what a revocation list names). */
  get devicePublicKey(): Uint8Array {
    return this.#deviceKey.publicKey.slice();
  }

  /** Power cycle: registers return to zero and boot may run again; the NV store is kept. */
  platformReset(): void {
    this.#pcrs = Array.from({ length: PCR_COUNT }, () => new Uint8Array(32));
    this.#booted = false;
    this.ctx.trace.emit('attest', 'platform.reset');
  }

  /** Extends register `index` with a 32-byte digest: pcr ← SHA-256(pcr ‖ digest). */
  extend(index: number, digest: Uint8Array): void {
    checkInt('index', index, 0, PCR_COUNT - 1);
    checkBytes('digest', digest, 32);
    this.#pcrs[index] = this.provider.sha256(concatBytes(this.#pcrs[index], digest));
    this.#extends++;
    this.ctx.trace.emit('attest', 'pcr.extend', undefined, { index });
  }

  /** The value of register `index` (a copy). */
  readPcr(index: number): Uint8Array {
    checkInt('index', index, 0, PCR_COUNT - 1);
    return this.#pcrs[index].slice();
  }

  #composite(pcrs: readonly number[]): Uint8Array {
    const parts: Uint8Array[] = [te('terracloak/pcr-composite/v1')];
    for (const i of pcrs) parts.push(u32be(i), this.#pcrs[i]);
    return this.provider.sha256(concatBytes(...parts));
  }

  #checkSelection(pcrs: unknown): number[] {
    if (!Array.isArray(pcrs) || pcrs.length === 0 || pcrs.length > PCR_COUNT) throw new ValidationRangeError('pcrs must be a non-empty array of register indices');
    const sel = pcrs.map((p, i) => checkInt(`pcrs[${i}]`, p, 0, PCR_COUNT - 1));
    for (let i = 1; i < sel.length; i++) if (sel[i] <= sel[i - 1]) throw new ValidationRangeError('pcrs must be strictly increasing');
    return sel;
  }

  /**
   * Seals `data` to the current values of the registers in `pcrs` (TPM-style). Blob:
   * "TCHS" ‖ u8 version ‖ u8 mask ‖ 24-byte nonce ‖ XChaCha20-Poly1305(ciphertext ‖ tag); the header
   * is the AAD. Unseal under other register values fails with UNSEAL_ERROR.
   */
  seal(data: Uint8Array, pcrs: readonly number[] = [0, 1, 2]): Uint8Array {
    const pt = checkBytes('data', data, { max: 1 << 20 }).slice();
    const sel = this.#checkSelection(pcrs);
    let mask = 0;
    for (const i of sel) mask |= 1 << i;
    // Synthetic nonce: unique per (registers, data) even if the seeded stream repeats.
    const n = this.provider.hmacSha256(this.#sealKey, concatBytes(te('terracloak/rot-seal-nonce/v1'), this.#composite(sel), this.provider.sha256(pt), this.#nonceRng.bytes(16))).slice(0, 24);
    const header = concatBytes(te('TCHS'), new Uint8Array([1, mask]), n);
    const key = this.provider.hkdfSha256(this.#sealKey, this.#composite(sel), te('terracloak/rot-seal/v1'), 32);
    return concatBytes(header, this.provider.aeadSeal('xchacha20-poly1305', key, n, pt, header));
  }

  /** Unseals a blob from {@link seal}; UNSEAL_ERROR when the registers differ or the blob was altered, MALFORMED when it is not a blob. */
  unseal(blob: Uint8Array): Uint8Array {
    const b = checkInput('rot-sealed-blob', blob, (1 << 20) + 64).slice();
    if (b.length < 30 + 16 || !sameStr(b.subarray(0, 4), 'TCHS') || b[4] !== 1 || b[5] === 0)
      fail(this.ctx, 'MALFORMED', 'not a root-of-trust sealed blob', { what: 'rot-sealed-blob' });
    const sel: number[] = [];
    for (let i = 0; i < PCR_COUNT; i++) if (b[5] & (1 << i)) sel.push(i);
    const header = b.subarray(0, 30);
    const key = this.provider.hkdfSha256(this.#sealKey, this.#composite(sel), te('terracloak/rot-seal/v1'), 32);
    const pt = this.provider.aeadOpen('xchacha20-poly1305', key, header.subarray(6, 30), b.subarray(30), header);
    if (pt === null) fail(this.ctx, 'UNSEAL_ERROR', 'sealed blob does not open under the current register values', { reason: 'pcr-mismatch-or-tamper' });
    return pt;
  }

  /**
   * Measured boot: measures each stage (a copy) into its register before it "runs", derives the
   * stage's key from the chained device secret and measurement, and has the stage below certify it.
   * Once per platform reset (INVALID_STATE otherwise).
   */
  boot(images: BootImages): TvmmIdentity {
    checkObject('images', images);
    const fw = checkBytes('firmware', images.firmware, { min: 1 }).slice();
    const bl = checkBytes('bootloader', images.bootloader, { min: 1 }).slice();
    const tv = checkBytes('tvmm', images.tvmm, { min: 1 }).slice();
    const svn = images.tvmmSvn === undefined ? 1 : checkInt('tvmmSvn', images.tvmmSvn, 0, 0x7fffffff);
    if (this.#booted) throw new TerraError('INVALID_STATE', 'boot already ran since the last platform reset');
    this.#booted = true;
    const p = this.provider;
    let cdi = this.#uds;
    let issuer: KeyPair = this.#deviceKey;
    let issuerCN = this.deviceCN;
    const chain: Uint8Array[] = [this.deviceCertDer.slice()];
    const measurements: Record<string, Uint8Array> = {};
    const stages: [CertRole & keyof typeof BOOT_PCRS, Uint8Array, number][] = [
      ['firmware', fw, 0],
      ['bootloader', bl, 0],
      ['tvmm', tv, svn],
    ];
    let key: KeyPair = issuer;
    let cn = issuerCN;
    // Each stage's certificate ends no later than the one above it (device → firmware → … → tvmm).
    let issuerNotAfter = certValidity('device').notAfter;
    for (const [role, bytes, stageSvn] of stages) {
      const m = p.sha256(bytes);
      measurements[role] = m;
      this.extend(BOOT_PCRS[role], m);
      cdi = p.hkdfSha256(cdi, m, concatBytes(te(`terracloak/dice/${role}/`), u32be(stageSvn)), 32);
      key = p.keyPairFromSeed(this.alg, p.hkdfSha256(cdi, new Uint8Array(0), te('terracloak/dice/key'), 32));
      cn = `terracloak ${role} ${hex(m).slice(0, 16)} ${hex(p.sha256(key.publicKey)).slice(0, 8)}`;
      const validity = certValidity(role, this.ctx.clock.now, issuerNotAfter);
      issuerNotAfter = validity.notAfter;
      chain.unshift(
        issueCert(p, issuer, {
          subjectCN: cn,
          issuerCN,
          subjectKey: key,
          ca: true,
          ext: { role, measurement: m, svn: stageSvn, mode: 'none', debug: false, appData: new Uint8Array() },
          validity,
        }),
      );
      this.ctx.trace.emit('attest', 'boot.stage', undefined, { role, measurement: hex(m).slice(0, 16) });
      issuer = key;
      issuerCN = cn;
    }
    return {
      key,
      chain,
      cn,
      svn,
      measurements: { firmware: measurements.firmware, bootloader: measurements.bootloader, tvmm: measurements.tvmm },
      sealRoot: p.hkdfSha256(cdi, new Uint8Array(0), te('terracloak/dice/seal-root'), 32),
    };
  }

  /** Counters for stats. */
  stats(): { extends: number; nv: { counters: number; writes: number } } {
    return { extends: this.#extends, nv: this.nv.stats() };
  }
}

function sameStr(b: Uint8Array, s: string): boolean {
  if (b.length !== s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[i] !== s.charCodeAt(i)) return false;
  return true;
}
