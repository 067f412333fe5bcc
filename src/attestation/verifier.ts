/**
 * The remote verifier (Terra, Garfinkel et al., SOSP'03 §4.1 "remote verification"; RATS RFC 9334
 * appraisal). Pinned trust anchors only — a root carried inside evidence is never trusted; policy
 * of allowed measurements per layer; vendor statements for VM hashes (the paper's second chain);
 * certificate validity at a verification time (virtual clock from SIM_EPOCH_MS, or given); nonce
 * freshness with expiry on the verifier's virtual clock; revocation of keys; strict Ed25519;
 * fail-closed. Every verification returns a report of each check and its result.
 */
import { ValidationRangeError, ValidationTypeError, TerraError, checkBytes, checkObject, platformRandomBytes, type SimContext } from '../sim/index.js';
import { concatBytes, toHex, type CryptoProvider, type KeyPair, type SigAlg } from '../crypto/index.js';
import { SIM_EPOCH_MS, isoTime, parseCert, type CertRole, type ParsedCert } from './x509.js';
import { COSE_ALG, DBGSTAT, decodeQuote, sigStructure, ueidFor, type DecodedQuote, type QuoteClaims } from './quote.js';
import { parsePolicy, type Policy } from './policy.js';
import { attestationError, cborDecode, cborEncode, hex, mapGet, onlyKeys, raise } from './util.js';

const ZERO32 = new Uint8Array(32);

/** Names of the checks, in order. */
export const CHECKS = ['decode', 'chain', 'root', 'key', 'signature', 'claims', 'nonce', 'tcb', 'measurements', 'vm', 'mode'] as const;
/** A check name. */
export type CheckName = (typeof CHECKS)[number];

/** One check's outcome: ok true/false, or null when skipped after an earlier failure. */
export interface CheckResult {
  readonly name: CheckName;
  readonly ok: boolean | null;
  /** Failure code (ATTESTATION_ERROR detail.check), e.g. NONCE_EXPIRED. */
  readonly code?: string;
  readonly detail: string;
}

/** The verification report. */
export interface VerificationReport {
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
  readonly failed?: { readonly name: CheckName; readonly code: string; readonly detail: string };
  readonly claims?: QuoteClaims;
  /** The X25519 key bound in the quote (use it for the session), when verified. */
  readonly boundKey?: Uint8Array;
  /** Signature verifications performed. */
  readonly signatureVerifications: number;
  /** The time certificate validity was checked at (ISO 8601, UTC). */
  readonly at: string;
}

/** Options of a {@link Verifier}. */
export interface VerifierOptions {
  /**
   * The verification time for certificate validity, in ms since the Unix epoch (UTC). Default:
   * `SIM_EPOCH_MS + ctx.clock.now` (the verifier's virtual clock read as calendar time from
   * 2026-01-01T00:00:00Z), so one seed gives one result. Outside a simulation pass `() => Date.now()`.
   */
  readonly now?: () => number;
}

/** Options of one {@link Verifier.verify} call. */
export interface VerifyOptions {
  readonly vendorStatements?: readonly Uint8Array[];
  /** Check certificate validity at this time instead of the verifier's clock ("as of", e.g. an audit). */
  readonly at?: Date | number;
}

const MAX_NONCES = 65_536;
/** Vendor statements accepted with one quote (one per primary or secondary identity is enough). */
const MAX_VENDOR_STATEMENTS = 17;

/** Why `c` may not issue a path with `below` CA certificates under it, or null when it may. */
function caUsageProblem(c: ParsedCert, below: number): string | null {
  if (!c.ca) return 'is not a CA certificate';
  if (!c.keyUsage.keyCertSign) return 'lacks keyUsage keyCertSign';
  if (c.pathLen !== null && below > c.pathLen) return `allows ${c.pathLen} CA certificates below it (pathLenConstraint), the path has ${below}`;
  return null;
}

function timeOf(name: string, v: unknown): number {
  const t = v instanceof Date ? v.getTime() : v;
  if (typeof t !== 'number' || !Number.isFinite(t) || Math.abs(t) > 8.64e15) throw new ValidationRangeError(`${name} must be a valid Date or a finite number of ms since the Unix epoch`);
  return t;
}

const ROLE_ORDER: readonly CertRole[] = ['vm', 'tvmm', 'bootloader', 'firmware', 'device'];

/** Signs a vendor statement "hash X is version V of product P" (the paper's second chain): COSE_Sign1 over CBOR. */
export function signVendorStatement(provider: CryptoProvider, vendorKey: KeyPair, s: { measurement: Uint8Array; product: string; version: string }): Uint8Array {
  checkBytes('measurement', s.measurement, 32);
  const prot = cborEncode(new Map<number, unknown>([[1, COSE_ALG[vendorKey.alg]], [4, provider.sha256(vendorKey.publicKey)]]));
  const payload = cborEncode(new Map<string, unknown>([['measurement', s.measurement.slice()], ['product', s.product], ['version', s.version]]));
  const sig = provider.sign(vendorKey.alg, vendorKey.secretKey, sigStructure(prot, payload));
  return cborEncode([prot, new Map(), payload, sig]);
}

interface NonceState {
  expires: number;
  consumed: boolean;
}

/** The remote verifier. */
export class Verifier {
  readonly #anchors: ParsedCert[];
  readonly #policy: Policy;
  readonly #nonces = new Map<string, NonceState>();
  readonly #revoked: Set<string>;
  readonly #rng;
  readonly #now: () => number;
  #stats = { verified: 0, refused: 0 };

  /** `anchors`: pinned trust-anchor certificates (DER); `policy`: a validated policy or its JSON; `opts.now`: the verification time (see {@link VerifierOptions}). */
  constructor(readonly ctx: SimContext, readonly provider: CryptoProvider, anchors: readonly Uint8Array[], policy: Policy | string | object, opts: VerifierOptions = {}) {
    if (!Array.isArray(anchors) || anchors.length === 0) throw new ValidationRangeError('at least one pinned trust anchor is required');
    checkObject('opts', opts);
    if (opts.now !== undefined && typeof opts.now !== 'function') throw new ValidationTypeError('opts.now must be a function returning ms since the Unix epoch');
    this.#now = opts.now ?? (() => SIM_EPOCH_MS + Math.floor(ctx.clock.now / 1e6));
    this.#anchors = anchors.map((a) => parseCert(a));
    // A pinned anchor must be a CA: pinning an end-entity certificate (say an ENDORSEd app key, whose
    // private key a VM holds) would let that key's holder mint whole chains.
    this.#anchors.forEach((a, i) => {
      if (!a.ca || !a.keyUsage.keyCertSign) throw attestationError('UNTRUSTED_ROOT', `trust anchor ${i} is not a CA certificate (basicConstraints cA and keyUsage keyCertSign)`);
    });
    this.#policy = parsePolicy(policy);
    this.#revoked = new Set(this.#policy.revokedKeys);
    this.#rng = ctx.rng.fork('verifier-nonces');
  }

  /** A fresh 32-byte nonce, valid for policy.nonceTtlSeconds of virtual time (platform CSPRNG when ctx.realRandomness). */
  issueNonce(): Uint8Array {
    const n = this.ctx.realRandomness ? platformRandomBytes(new Uint8Array(32)) : this.#rng.bytes(32);
    this.#remember(n);
    return n.slice();
  }

  /**
   * Records a nonce as issued now. The table is bounded: entries are kept in issue order, which is
   * also expiry order (one TTL, a monotonic clock), so expired ones leave from the front, and at
   * {@link MAX_NONCES} the oldest outstanding nonce is forgotten (its quote then fails closed with
   * NONCE_UNKNOWN). Consumed nonces stay until they expire, so a replay reads NONCE_CONSUMED.
   */
  #remember(n: Uint8Array): void {
    const now = this.ctx.clock.now;
    for (const [k, v] of this.#nonces) {
      if (v.expires >= now && this.#nonces.size < MAX_NONCES) break;
      this.#nonces.delete(k);
    }
    this.#nonces.set(toHex(n), { expires: now + this.#policy.nonceTtlSeconds * 1e9, consumed: false });
  }

  /**
   * Accepts an externally chosen nonce (e.g. one given on the command line) as issued now. A nonce
   * this verifier still remembers (issued, registered or consumed) is refused with
   * ATTESTATION_ERROR (check NONCE_CONSUMED, or NONCE_REUSED while outstanding): re-registering
   * must neither re-arm a consumed nonce for a replayed quote nor extend a live one's life.
   */
  registerNonce(nonce: Uint8Array): void {
    const n = checkBytes('nonce', nonce, { min: 8, max: 64 });
    const st = this.#nonces.get(toHex(n));
    if (st && st.expires >= this.ctx.clock.now)
      raise(this.ctx, attestationError(st.consumed ? 'NONCE_CONSUMED' : 'NONCE_REUSED', st.consumed ? 'the nonce was already used' : 'the nonce is already outstanding'));
    this.#nonces.delete(toHex(n));
    this.#remember(n);
  }

  /** Verifies a quote against `nonce` and the policy; never throws for bad evidence, returns the report. */
  verify(quote: Uint8Array, nonce: Uint8Array, opts: VerifyOptions = {}): VerificationReport {
    checkBytes('quote', quote);
    const expected = checkBytes('nonce', nonce, { min: 8, max: 64 }).slice();
    checkObject('opts', opts);
    const at = opts.at === undefined ? timeOf('opts.now()', this.#now()) : timeOf('opts.at', opts.at);
    if (opts.vendorStatements !== undefined && !Array.isArray(opts.vendorStatements)) throw new ValidationTypeError('opts.vendorStatements must be an array of byte strings');
    const statements = (opts.vendorStatements ?? []).map((s, i) => checkBytes(`vendorStatements[${i}]`, s, { max: 64 * 1024 }).slice());
    const checks: CheckResult[] = [];
    let sigs = 0;
    const p = this.provider;
    const pol = this.#policy;
    let q: DecodedQuote | undefined;
    let certs: ParsedCert[] = [];
    // RFC 5280 §6.1.3 (a)(2): once the path is authenticated up to `anchor`, every certificate of
    // it, and the anchor, must be valid at the verification time (part of the `root` check).
    const validAt = (anchor: ParsedCert): [string, string] | null => {
      const path: [string, ParsedCert][] = certs.map((c, i) => [`certificate ${i} (${c.ext.role})`, c]);
      path.push(['the trust anchor', anchor]);
      for (const [what, c] of path) {
        if (at < c.notBefore) return ['CERT_NOT_YET_VALID', `${what} is not valid before ${isoTime(c.notBefore)} (verification time ${isoTime(at)})`];
        if (at > c.notAfter) return ['CERT_EXPIRED', `${what} expired at ${isoTime(c.notAfter)} (verification time ${isoTime(at)})`];
      }
      return null;
    };
    const verifySig = (alg: SigAlg, pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean => {
      sigs++;
      return p.verify(alg, pk, msg, sig);
    };
    const steps: [CheckName, () => [string, string] | null][] = [
      ['decode', () => {
        // Vendor statements come with the evidence; each one naming a VM measurement under a pinned
        // vendor's kid costs a signature check, so their number is bounded like the chain's.
        if (statements.length > MAX_VENDOR_STATEMENTS) return ['MALFORMED', `too many vendor statements (${statements.length} > ${MAX_VENDOR_STATEMENTS})`];
        try {
          q = decodeQuote(quote);
          certs = q.chain.map((c) => this.#parse(c));
          return null;
        } catch (e) {
          if (e instanceof TerraError) return ['MALFORMED', e.message];
          throw e;
        }
      }],
      ['chain', () => {
        const seen = new Set<string>();
        for (let i = 0; i < certs.length; i++) {
          const c = certs[i];
          if (!pol.algs.includes(c.alg) || !pol.algs.includes(c.sigAlg)) return ['CHAIN_INVALID', `certificate ${i} uses a disallowed algorithm`];
          if (c.ext.role !== ROLE_ORDER[i]) return ['CHAIN_INVALID', `certificate ${i} has role ${c.ext.role}, expected ${ROLE_ORDER[i] ?? 'none'}`];
          if (c.ca !== (i > 0)) return ['CHAIN_INVALID', `certificate ${i} has the wrong CA flag`];
          // RFC 5280 §4.2.1.3/§4.2.1.9: an issuer must be allowed to sign certificates, and an end
          // entity must not be; a CA may have at most pathLen CA certificates below it (here i - 1).
          const usage = caUsageProblem(c, i - 1);
          if (i > 0 && usage) return ['CHAIN_INVALID', `certificate ${i} (${c.ext.role}) ${usage}`];
          if (i === 0 && (c.keyUsage.keyCertSign || !c.keyUsage.digitalSignature)) return ['CHAIN_INVALID', 'certificate 0 (the quote key) must have keyUsage digitalSignature and not keyCertSign'];
          const k = hex(p.sha256(c.publicKey));
          if (seen.has(k)) return ['CHAIN_INVALID', `certificate ${i} repeats a key`];
          seen.add(k);
          if (this.#revoked.has(k)) return ['CHAIN_INVALID', `certificate ${i} (${c.ext.role}) carries a revoked key`];
          if (i + 1 < certs.length) {
            const parent = certs[i + 1];
            if (c.issuerCN !== parent.subjectCN) return ['CHAIN_INVALID', `certificate ${i} is not issued by certificate ${i + 1}`];
            if (!verifySig(parent.alg, parent.publicKey, c.tbs, c.signature) || c.sigAlg !== parent.alg)
              return ['CHAIN_INVALID', `certificate ${i} signature does not verify under certificate ${i + 1}`];
          }
        }
        return null;
      }],
      ['root', () => {
        const top = certs[certs.length - 1];
        if (top.ext.role !== 'device') return ['UNTRUSTED_ROOT', `chain ends at a ${top.ext.role} certificate, not a device certificate`];
        for (const a of this.#anchors) {
          if (a.subjectCN !== top.issuerCN || top.sigAlg !== a.alg) continue;
          if (this.#revoked.has(hex(p.sha256(a.publicKey)))) return ['CHAIN_INVALID', 'the trust anchor key is revoked'];
          if (verifySig(a.alg, a.publicKey, top.tbs, top.signature)) {
            const usage = caUsageProblem(a, certs.length - 1);
            return usage ? ['CHAIN_INVALID', `the trust anchor ${usage}`] : validAt(a);
          }
        }
        return ['UNTRUSTED_ROOT', 'the device certificate is not issued by a pinned trust anchor'];
      }],
      ['key', () => {
        const leaf = certs[0];
        if (q!.alg !== leaf.alg) return ['KEY_MISMATCH', 'quote algorithm differs from the leaf key'];
        if (!p.equalBytes(q!.kid, p.sha256(leaf.publicKey))) return ['KEY_MISMATCH', 'quote is signed by a key other than the one the VM certificate names'];
        return null;
      }],
      ['signature', () =>
        verifySig(certs[0].alg, certs[0].publicKey, sigStructure(q!.protectedBytes, q!.payload), q!.signature) ? null : ['BAD_SIGNATURE', 'COSE_Sign1 signature does not verify']],
      ['claims', () => {
        const c = q!.claims;
        const byRole = (r: CertRole) => certs.find((x) => x.ext.role === r)!;
        if (!p.equalBytes(c.measurements.vm, certs[0].ext.measurement)) return ['CLAIMS_MISMATCH', 'quote VM identity differs from the VM certificate'];
        for (const r of ['tvmm', 'bootloader', 'firmware'] as const)
          if (!p.equalBytes(c.measurements[r], byRole(r).ext.measurement)) return ['CLAIMS_MISMATCH', `${r} measurement differs from its certificate`];
        if (c.tvmmSvn !== byRole('tvmm').ext.svn) return ['CLAIMS_MISMATCH', 'TVMM svn differs from its certificate'];
        if (c.mode !== certs[0].ext.mode) return ['CLAIMS_MISMATCH', 'mode differs from the VM certificate'];
        if ((c.dbgstat === DBGSTAT.enabled) !== certs[0].ext.debug) return ['CLAIMS_MISMATCH', 'dbgstat differs from the VM certificate'];
        if (!p.equalBytes(c.ueid, ueidFor(p, byRole('device').publicKey))) return ['CLAIMS_MISMATCH', 'ueid differs from the device key'];
        // Replay the boot log: each boot register holds exactly one extend of its stage's measurement.
        const stages = [c.measurements.firmware, c.measurements.bootloader, c.measurements.tvmm];
        for (let i = 0; i < 3; i++)
          if (!p.equalBytes(c.measurements.pcrs[i], p.sha256(concatBytes(ZERO32, stages[i])))) return ['CLAIMS_MISMATCH', `register ${i} does not replay to the ${['firmware', 'bootloader', 'tvmm'][i]} measurement`];
        return null;
      }],
      ['nonce', () => {
        if (!p.equalBytes(q!.claims.nonce, expected)) return ['NONCE_MISMATCH', 'quote nonce differs from the session nonce'];
        const st = this.#nonces.get(toHex(expected));
        if (!st) return ['NONCE_UNKNOWN', 'the nonce was not issued by this verifier'];
        if (st.consumed) return ['NONCE_CONSUMED', 'the nonce was already used'];
        if (this.ctx.clock.now > st.expires) return ['NONCE_EXPIRED', 'the nonce expired'];
        return null;
      }],
      ['tcb', () => (q!.claims.tvmmSvn < pol.minTvmmSvn ? ['TCB_TOO_OLD', `TVMM svn ${q!.claims.tvmmSvn} < minimum ${pol.minTvmmSvn}`] : null)],
      ['measurements', () => {
        for (const r of ['firmware', 'bootloader', 'tvmm'] as const)
          if (!pol.allow[r].includes(hex(q!.claims.measurements[r]))) return ['MEASUREMENT_MISMATCH', `${r} measurement is not in allow.${r}`];
        return null;
      }],
      ['vm', () => {
        const m = q!.claims.measurements.vm;
        const vouched = (x: Uint8Array) => statements.some((s) => this.#vendorVouches(s, x, () => sigs++));
        if (!pol.allow.vm.includes(hex(m)) && !vouched(m)) return ['MEASUREMENT_MISMATCH', 'VM identity is neither in allow.vm nor vouched for by a pinned vendor'];
        // Secondary attested disks are part of what runs: each must be allowed too (fail-closed).
        const sec = q!.claims.measurements.secondary;
        for (let i = 0; i < sec.length; i++)
          if (!(pol.allow.secondary ?? []).includes(hex(sec[i])) && !vouched(sec[i])) return ['MEASUREMENT_MISMATCH', `secondary identity ${i} (${hex(sec[i]).slice(0, 16)}…) is neither in allow.secondary nor vouched for by a pinned vendor`];
        return null;
      }],
      ['mode', () => {
        if (pol.requireClosedBox && q!.claims.mode !== 'closed') return ['MODE_MISMATCH', 'policy requires a closed-box VM'];
        if (!pol.allowDebug && q!.claims.dbgstat === DBGSTAT.enabled) return ['DEBUG_NOT_ALLOWED', 'the VM is debuggable'];
        return null;
      }],
    ];
    let failed: VerificationReport['failed'];
    for (const [name, run] of steps) {
      if (failed) {
        checks.push({ name, ok: null, detail: 'skipped' });
        continue;
      }
      const r = run();
      if (r) {
        failed = { name, code: r[0], detail: r[1] };
        checks.push({ name, ok: false, code: r[0], detail: r[1] });
      } else checks.push({ name, ok: true, detail: 'passed' });
    }
    if (failed) {
      this.#stats.refused++;
      this.ctx.trace.security('attest.verify.refused', undefined, { check: failed.code, step: failed.name });
      return { ok: false, checks, failed, signatureVerifications: sigs, at: isoTime(at) };
    }
    this.#nonces.get(toHex(expected))!.consumed = true;
    this.#stats.verified++;
    const claims = q!.claims;
    return { ok: true, checks, claims, boundKey: claims.boundKey ? claims.boundKey.slice() : undefined, signatureVerifications: sigs, at: isoTime(at) };
  }

  // Parsing is a pure function of the DER bytes, so parsed certificates are cached by their full
  // bytes (bounded). Signatures are never cached: every verification checks every link.
  readonly #parsed = new Map<string, ParsedCert>();
  #parse(der: Uint8Array): ParsedCert {
    const key = toHex(der);
    const hit = this.#parsed.get(key);
    if (hit) return hit;
    const c = parseCert(der);
    if (this.#parsed.size >= 256) this.#parsed.delete(this.#parsed.keys().next().value as string);
    this.#parsed.set(key, c);
    return c;
  }

  /** Like {@link verify} but throws TerraError('ATTESTATION_ERROR', detail.check = failure code) on refusal. */
  verifyOrThrow(quote: Uint8Array, nonce: Uint8Array, opts: VerifyOptions = {}): VerificationReport {
    const r = this.verify(quote, nonce, opts);
    if (!r.ok) raise(this.ctx, attestationError(r.failed!.code, r.failed!.detail, { step: r.failed!.name }));
    return r;
  }

  #vendorVouches(stmt: Uint8Array, measurement: Uint8Array, count: () => void): boolean {
    try {
      const arr = cborDecode(stmt, 'vendor statement');
      if (!Array.isArray(arr) || arr.length !== 4) return false;
      const [prot, unprot, payload, sig] = arr as unknown[];
      if (!(prot instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(sig instanceof Uint8Array) || !(unprot instanceof Map) || unprot.size) return false;
      const ph = cborDecode(prot, 'vendor statement header');
      if (!(ph instanceof Map)) return false;
      onlyKeys(ph, [1, 4], 'vendor statement header');
      const kid = mapGet<Uint8Array>(ph, 4, 'vendor statement header', 'bytes');
      const body = cborDecode(payload, 'vendor statement payload');
      if (!(body instanceof Map)) return false;
      onlyKeys(body, ['measurement', 'product', 'version'], 'vendor statement payload');
      const m = mapGet<Uint8Array>(body, 'measurement', 'vendor statement payload', 'bytes');
      if (!this.provider.equalBytes(m, measurement)) return false;
      for (const v of this.#policy.vendors) {
        const pk = hexToBytes(v.publicKey);
        if (!this.provider.equalBytes(kid, this.provider.sha256(pk)) || ph.get(1) !== COSE_ALG[v.alg]) continue;
        count();
        if (this.provider.verify(v.alg, pk, sigStructure(prot, payload), sig)) return true;
      }
      return false;
    } catch (e) {
      if (e instanceof TerraError) return false;
      throw e;
    }
  }

  /** Counters. */
  stats(): { verified: number; refused: number; outstandingNonces: number } {
    return { ...this.#stats, outstandingNonces: [...this.#nonces.values()].filter((n) => !n.consumed).length };
  }
}

function hexToBytes(h: string): Uint8Array {
  const r = new Uint8Array(h.length / 2);
  for (let i = 0; i < r.length; i++) r[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return r;
}
