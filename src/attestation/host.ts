/**
 * Convenience wiring for a simulated attested host (Terra, Garfinkel et al., SOSP'03 Fig. 1):
 * root of trust → measured boot → attestation service. The TVMM (src/tvmm) does the same wiring
 * for itself; this helper serves the CLI, examples, experiments and tests.
 */
import { checkObject, createSimContext, type SimContext } from '../sim/index.js';
import { nobleProvider, type CryptoProvider, type SigAlg } from '../crypto/index.js';
import { RootOfTrust, defaultBootImages, type BootImages, type Manufacturer, type TvmmIdentity } from './root.js';
import { AttestationService } from './service.js';
import { MemoryBlobStore, type BlobStore } from './sealed.js';
import { hex } from './util.js';
import type { Policy } from './policy.js';

/** An attested host: simulation context, root of trust, booted TVMM identity and attestation service. */
export interface AttestedHost {
  readonly ctx: SimContext;
  readonly provider: CryptoProvider;
  readonly rot: RootOfTrust;
  readonly tvmm: TvmmIdentity;
  readonly service: AttestationService;
  readonly blobs: BlobStore;
}

/** Options for {@link createAttestedHost}. */
export interface AttestedHostOptions {
  readonly seed?: number;
  readonly ctx?: SimContext;
  readonly provider?: CryptoProvider;
  readonly alg?: SigAlg;
  readonly tvmmSvn?: number;
  readonly boot?: BootImages;
  readonly manufacturer?: Manufacturer;
  readonly deviceLabel?: string;
  readonly blobs?: BlobStore;
  /** Reuse an existing root of trust (e.g. after a platform reset). */
  readonly rot?: RootOfTrust;
}

/** Creates (or re-boots) a host: measured boot then an attestation service over the given blob store. */
export function createAttestedHost(opts: AttestedHostOptions = {}): AttestedHost {
  checkObject('options', opts);
  const ctx = opts.ctx ?? opts.rot?.ctx ?? createSimContext({ seed: opts.seed ?? 1 });
  const provider = opts.provider ?? opts.rot?.provider ?? nobleProvider;
  const rot = opts.rot ?? new RootOfTrust(ctx, provider, { alg: opts.alg, manufacturer: opts.manufacturer, deviceLabel: opts.deviceLabel });
  const tvmm = rot.boot(opts.boot ?? defaultBootImages(opts.tvmmSvn ?? 1));
  const blobs = opts.blobs ?? new MemoryBlobStore();
  return { ctx, provider, rot, tvmm, service: new AttestationService(ctx, provider, rot, tvmm, blobs), blobs };
}

/** A policy allowing exactly this host's boot chain and the given VM identities (hex). */
export function policyFor(host: { tvmm: TvmmIdentity }, vmIdentities: readonly Uint8Array[], extra: Partial<Policy> = {}): Policy {
  const m = host.tvmm.measurements;
  return {
    version: 1,
    allow: { firmware: [hex(m.firmware)], bootloader: [hex(m.bootloader)], tvmm: [hex(m.tvmm)], vm: vmIdentities.map((v) => hex(v)) },
    minTvmmSvn: host.tvmm.svn,
    requireClosedBox: true,
    allowDebug: false,
    vendors: [],
    revokedKeys: [],
    nonceTtlSeconds: 300,
    algs: ['ed25519', 'p256'],
    ...extra,
  };
}
