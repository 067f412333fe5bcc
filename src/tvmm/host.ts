/**
 * The simulated machine (Terra SOSP'03 §3: the hardware under the TVMM): machine memory, CPUs,
 * one simulation context (clock, rng, events, costs, trace), and a slot for the hardware root of
 * trust that attestation fills. `boot()` brings up the TVMM.
 */
import { checkBool, checkInt, checkObject, createSimContext, hardenIntrinsics, PAGE_SIZE, TerraError, type CostTable, type SimContext } from '../sim/index.js';
import { MachineMemory, MemoryManager } from '../memory/index.js';
import { nobleProvider, type CryptoProvider, type SigAlg } from '../crypto/index.js';
import { AttestationService, defaultBootImages, RootOfTrust, type BootImages, type TvmmIdentity } from '../attestation/index.js';
import { Tvmm } from './tvmm.js';

/** Options for a Host. */
export interface HostOptions {
  /** Seed for every random choice (default 1). */
  seed?: number;
  /** Machine memory in MiB (default 1024; at most 262144). */
  machineMiB?: number;
  /** Physical CPUs (informational; the scheduler time-slices one at a time). Default 2. */
  cpus?: number;
  costs?: Partial<CostTable>;
  /** Use the platform CSPRNG for keys and nonces instead of the seeded rng. */
  realRandomness?: boolean;
  /** How many trace events to retain in memory (the digest covers all). */
  traceKeep?: number;
  /** Crypto backend (default noble; `nodeProvider` from `terracloak/node` gives identical bytes). */
  crypto?: CryptoProvider;
  /** Device key algorithm of the root of trust (default Ed25519). */
  deviceKeyAlg?: SigAlg;
  /** Firmware, boot loader and TVMM images measured at boot (default: the built-in ones). */
  bootImages?: BootImages;
  /**
   * Freeze the realm's intrinsics before any guest runs (default true; see `hardenIntrinsics`).
   * Guests are JavaScript in the TVMM's realm: without this, a guest that replaces a built-in
   * method (TypedArray.prototype.subarray, Map.prototype.get, …) is handed the TVMM's objects the
   * next time the TVMM calls it — machine memory included. Only a host embedding the library in a
   * realm that must stay mutable, and running no untrusted guest code, should pass false.
   */
  hardenIntrinsics?: boolean;
}

/** A simulated machine. */
export class Host {
  readonly sim: SimContext;
  readonly machine: MachineMemory;
  readonly memory: MemoryManager;
  readonly cpus: number;
  #tvmm: Tvmm | undefined;
  readonly crypto: CryptoProvider;
  /** The hardware root of trust (Terra §4.1): device key, measurement registers, NV counters. */
  readonly rootOfTrust: RootOfTrust;
  readonly #bootImages: BootImages | undefined;
  /** The TVMM's identity from measured boot (set by {@link boot}). */
  tvmmIdentity: TvmmIdentity | undefined;

  constructor(opts: HostOptions = {}) {
    checkObject('options', opts);
    if (opts.hardenIntrinsics === undefined || checkBool('hardenIntrinsics', opts.hardenIntrinsics)) hardenIntrinsics();
    const mib = opts.machineMiB === undefined ? 1024 : checkInt('machineMiB', opts.machineMiB, 1, 262_144);
    this.cpus = opts.cpus === undefined ? 2 : checkInt('cpus', opts.cpus, 1, 256);
    this.sim = createSimContext({
      ...(opts.seed === undefined ? {} : { seed: opts.seed }),
      ...(opts.costs ? { costs: opts.costs } : {}),
      ...(opts.realRandomness === undefined ? {} : { realRandomness: opts.realRandomness }),
      ...(opts.traceKeep === undefined ? {} : { traceKeep: opts.traceKeep }),
    });
    this.machine = new MachineMemory((mib * 1024 * 1024) / PAGE_SIZE);
    this.memory = new MemoryManager(this.sim, this.machine);
    this.crypto = opts.crypto === undefined ? nobleProvider : (checkObject('crypto', opts.crypto) as unknown as CryptoProvider);
    this.rootOfTrust = new RootOfTrust(this.sim, this.crypto, opts.deviceKeyAlg === undefined ? {} : { alg: opts.deviceKeyAlg });
    this.#bootImages = opts.bootImages;
  }

  /**
   * Boots the TVMM (once): measured boot (firmware → boot loader → TVMM, each measured into the
   * root of trust before it runs, Terra §4.1), then the TVMM with its attestation service.
   */
  boot(): Tvmm {
    if (this.#tvmm) throw new TerraError('INVALID_STATE', 'the TVMM is already booted');
    this.tvmmIdentity = this.rootOfTrust.boot(this.#bootImages ?? defaultBootImages());
    const attestation = new AttestationService(this.sim, this.crypto, this.rootOfTrust, this.tvmmIdentity);
    this.#tvmm = new Tvmm(this.sim, this.machine, this.memory, attestation);
    return this.#tvmm;
  }

  /** The booted TVMM. */
  get tvmm(): Tvmm {
    if (!this.#tvmm) throw new TerraError('INVALID_STATE', 'the TVMM is not booted');
    return this.#tvmm;
  }
}
