/**
 * Quotes: EAT (RFC 9711) claims in a COSE_Sign1 (RFC 9052) over deterministic CBOR, with the
 * certificate chain (leaf first) in the x5chain header (label 33, RFC 9360). The quote is Terra's
 * attestation (Garfinkel et al., SOSP'03 §4.1) in a standard envelope. Claim mapping: docs/attestation.md.
 */
import { ValidationRangeError, TerraError, checkBytes, checkInt, checkObject, checkOneOf } from '../sim/index.js';
import type { CryptoProvider, KeyPair, SigAlg } from '../crypto/index.js';
import { cborDecode, cborEncode, checkInput, mapGet, onlyKeys } from './util.js';

/** COSE algorithm identifiers. */
export const COSE_ALG = { ed25519: -8, p256: -7 } as const;
/** CBOR tag of COSE_Sign1. */
export const COSE_SIGN1_TAG = 18;
/** EAT / CWT claim keys used (RFC 9711, RFC 8392, RFC 8747) and our private claims. */
export const CLAIM = { cnf: 8, iat: 6, nonce: 10, ueid: 256, dbgstat: 263, measurements: 273, mode: -75000, tvmmSvn: -75001, instance: -75002 } as const;
/** EAT dbgstat values (RFC 9711 §4.2.9). */
export const DBGSTAT = { enabled: 0, disabled: 1, disabledSinceBoot: 2, disabledPermanently: 3, disabledFullyAndPermanently: 4 } as const;
/** CoAP content format of the measurement blob (application/cbor). */
export const MEASUREMENTS_CONTENT_FORMAT = 60;

/** The measurements reported in a quote. */
export interface QuoteMeasurements {
  readonly vm: Uint8Array;
  readonly secondary: readonly Uint8Array[];
  readonly tvmm: Uint8Array;
  readonly bootloader: Uint8Array;
  readonly firmware: Uint8Array;
  /** Boot registers 0–2 (firmware, boot loader, TVMM). */
  readonly pcrs: readonly Uint8Array[];
}

/** The claims of a quote. */
export interface QuoteClaims {
  readonly nonce: Uint8Array;
  readonly ueid: Uint8Array;
  readonly dbgstat: number;
  readonly measurements: QuoteMeasurements;
  readonly mode: 'closed' | 'open';
  readonly tvmmSvn: number;
  readonly instance: number;
  /** Virtual time of issue, seconds. */
  readonly iat: number;
  /** A VM-generated X25519 public key bound into the quote (cnf claim), or null. */
  readonly boundKey: Uint8Array | null;
}

/** A decoded quote. */
export interface DecodedQuote {
  readonly alg: SigAlg;
  readonly kid: Uint8Array;
  readonly chain: readonly Uint8Array[];
  readonly protectedBytes: Uint8Array;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  readonly claims: QuoteClaims;
}

/** Sig_structure for COSE_Sign1 (RFC 9052 §4.4) with empty external_aad. */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return cborEncode(['Signature1', protectedBytes, new Uint8Array(0), payload]);
}

function encodeClaims(c: QuoteClaims): Uint8Array {
  const meas = cborEncode(new Map<string, unknown>([
    ['vm', c.measurements.vm],
    ['secondary', c.measurements.secondary.map((x) => x.slice())],
    ['tvmm', c.measurements.tvmm],
    ['bootloader', c.measurements.bootloader],
    ['firmware', c.measurements.firmware],
    ['pcrs', c.measurements.pcrs.map((x) => x.slice())],
  ]));
  const m = new Map<number, unknown>([
    [CLAIM.nonce, c.nonce],
    [CLAIM.ueid, c.ueid],
    [CLAIM.dbgstat, c.dbgstat],
    [CLAIM.measurements, [[MEASUREMENTS_CONTENT_FORMAT, meas]]],
    [CLAIM.iat, c.iat],
    [CLAIM.mode, c.mode],
    [CLAIM.tvmmSvn, c.tvmmSvn],
    [CLAIM.instance, c.instance],
  ]);
  if (c.boundKey) m.set(CLAIM.cnf, new Map<number, unknown>([[1, new Map<number, unknown>([[1, 1], [-1, 4], [-2, c.boundKey]])]]));
  return cborEncode(m);
}

/** Encodes and signs a quote with `signer` (the VM attestation key named by the chain's leaf). */
export function encodeQuote(provider: CryptoProvider, signer: KeyPair, chain: readonly Uint8Array[], claims: QuoteClaims): Uint8Array {
  checkObject('claims', claims);
  checkBytes('nonce', claims.nonce, { min: 8, max: 64 });
  checkInt('tvmmSvn', claims.tvmmSvn, 0, 0x7fffffff);
  checkOneOf('mode', claims.mode, ['closed', 'open']);
  if (claims.boundKey !== null) checkBytes('boundKey', claims.boundKey, 32);
  if (!Array.isArray(chain) || chain.length < 1) throw new ValidationRangeError('chain must hold at least one certificate');
  const prot = cborEncode(new Map<number, unknown>([
    [1, COSE_ALG[signer.alg]],
    [4, provider.sha256(signer.publicKey)],
    [33, chain.map((c, i) => checkBytes(`chain[${i}]`, c).slice())],
  ]));
  const payload = encodeClaims(claims);
  const sig = provider.sign(signer.alg, signer.secretKey, sigStructure(prot, payload));
  const body = cborEncode([prot, new Map(), payload, sig]);
  const out = new Uint8Array(body.length + 1);
  out[0] = 0xc0 | COSE_SIGN1_TAG; // tag 18 in one byte
  out.set(body, 1);
  return out;
}

const MAX_QUOTE = 64 * 1024;

/** Decodes a quote strictly (tag 18, canonical CBOR, only known labels and claims); MALFORMED otherwise. Does not verify anything. */
export function decodeQuote(bytes: Uint8Array): DecodedQuote {
  const b = checkInput('quote', bytes, MAX_QUOTE).slice();
  const W = 'quote';
  const bad = (m: string): never => {
    throw new TerraError('MALFORMED', `${W}: ${m}`, { what: W });
  };
  if (b.length < 2 || b[0] !== (0xc0 | COSE_SIGN1_TAG)) bad('not a tagged COSE_Sign1');
  const arr = cborDecode(b.subarray(1), W);
  if (!Array.isArray(arr) || arr.length !== 4) bad('COSE_Sign1 must be a 4-element array');
  const [prot, unprot, payload, sig] = arr as unknown[];
  if (!(prot instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(sig instanceof Uint8Array)) bad('bad COSE_Sign1 field types');
  if (!(unprot instanceof Map) || unprot.size !== 0) bad('unprotected header must be empty');
  const ph = cborDecode(prot as Uint8Array, 'quote protected header');
  if (!(ph instanceof Map)) return bad('protected header must be a map');
  onlyKeys(ph, [1, 4, 33], 'quote protected header');
  const algId = mapGet<number>(ph, 1, 'quote protected header', 'int');
  const alg: SigAlg = algId === COSE_ALG.ed25519 ? 'ed25519' : algId === COSE_ALG.p256 ? 'p256' : bad(`unsupported alg ${algId}`);
  const kid = mapGet<Uint8Array>(ph, 4, 'quote protected header', 'bytes');
  if (kid.length !== 32) bad('kid must be 32 bytes');
  const chain = mapGet<unknown[]>(ph, 33, 'quote protected header', 'array');
  if (chain.length < 1 || chain.length > 8 || !chain.every((c) => c instanceof Uint8Array)) bad('x5chain must be 1–8 certificates');
  if ((sig as Uint8Array).length !== 64) bad('signature must be 64 bytes');
  const claims = decodeClaims(payload as Uint8Array);
  return {
    alg,
    kid: kid.slice(),
    chain: (chain as Uint8Array[]).map((c) => c.slice()),
    protectedBytes: (prot as Uint8Array).slice(),
    payload: (payload as Uint8Array).slice(),
    signature: (sig as Uint8Array).slice(),
    claims,
  };
}

function bytesN(v: unknown, n: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== n) throw new TerraError('MALFORMED', `${what} must be ${n} bytes`, { what });
  return v.slice();
}

function decodeClaims(payload: Uint8Array): QuoteClaims {
  const W = 'quote claims';
  const m = cborDecode(payload, W);
  if (!(m instanceof Map)) throw new TerraError('MALFORMED', `${W}: not a map`, { what: W });
  onlyKeys(m, Object.values(CLAIM), W);
  const nonce = mapGet<Uint8Array>(m, CLAIM.nonce, W, 'bytes');
  if (nonce.length < 8 || nonce.length > 64) throw new TerraError('MALFORMED', `${W}: eat_nonce must be 8–64 bytes`, { what: W });
  const ueid = bytesN(mapGet(m, CLAIM.ueid, W, 'bytes'), 33, 'ueid');
  const dbgstat = mapGet<number>(m, CLAIM.dbgstat, W, 'int');
  if (dbgstat < 0 || dbgstat > 4) throw new TerraError('MALFORMED', `${W}: dbgstat out of range`, { what: W });
  const ms = mapGet<unknown[]>(m, CLAIM.measurements, W, 'array');
  if (ms.length !== 1 || !Array.isArray(ms[0]) || ms[0].length !== 2 || ms[0][0] !== MEASUREMENTS_CONTENT_FORMAT || !(ms[0][1] instanceof Uint8Array))
    throw new TerraError('MALFORMED', `${W}: measurements must be [[60, bstr]]`, { what: W });
  const mm = cborDecode(ms[0][1] as Uint8Array, 'quote measurements');
  if (!(mm instanceof Map)) throw new TerraError('MALFORMED', 'quote measurements: not a map', { what: W });
  onlyKeys(mm, ['vm', 'secondary', 'tvmm', 'bootloader', 'firmware', 'pcrs'], 'quote measurements');
  const sec = mapGet<unknown[]>(mm, 'secondary', 'quote measurements', 'array');
  const pcrs = mapGet<unknown[]>(mm, 'pcrs', 'quote measurements', 'array');
  if (sec.length > 16 || pcrs.length !== 3) throw new TerraError('MALFORMED', 'quote measurements: bad list length', { what: W });
  const mode = mapGet<string>(m, CLAIM.mode, W, 'string');
  if (mode !== 'closed' && mode !== 'open') throw new TerraError('MALFORMED', `${W}: bad mode`, { what: W });
  let boundKey: Uint8Array | null = null;
  const cnf = m.get(CLAIM.cnf);
  if (cnf !== undefined) {
    if (!(cnf instanceof Map) || cnf.size !== 1 || !(cnf.get(1) instanceof Map)) throw new TerraError('MALFORMED', `${W}: bad cnf`, { what: W });
    const k = cnf.get(1) as Map<unknown, unknown>;
    onlyKeys(k, [1, -1, -2], 'cnf COSE_Key');
    if (k.get(1) !== 1 || k.get(-1) !== 4) throw new TerraError('MALFORMED', `${W}: cnf key must be an X25519 OKP`, { what: W });
    boundKey = bytesN(k.get(-2), 32, 'cnf key');
  }
  const iat = mapGet<number>(m, CLAIM.iat, W, 'int');
  const tvmmSvn = mapGet<number>(m, CLAIM.tvmmSvn, W, 'int');
  const instance = mapGet<number>(m, CLAIM.instance, W, 'int');
  if (iat < 0 || tvmmSvn < 0 || instance < 0) throw new TerraError('MALFORMED', `${W}: negative integer`, { what: W });
  return {
    nonce: nonce.slice(),
    ueid,
    dbgstat,
    measurements: {
      vm: bytesN(mm.get('vm'), 32, 'vm measurement'),
      secondary: sec.map((x) => bytesN(x, 32, 'secondary measurement')),
      tvmm: bytesN(mm.get('tvmm'), 32, 'tvmm measurement'),
      bootloader: bytesN(mm.get('bootloader'), 32, 'bootloader measurement'),
      firmware: bytesN(mm.get('firmware'), 32, 'firmware measurement'),
      pcrs: pcrs.map((x) => bytesN(x, 32, 'pcr')),
    },
    mode,
    tvmmSvn,
    instance,
    iat,
    boundKey,
  };
}

/** Domain-separated UEID: 0x01 (RAND type) ‖ SHA-256(device public key). */
export function ueidFor(provider: CryptoProvider, devicePublicKey: Uint8Array): Uint8Array {
  const r = new Uint8Array(33);
  r[0] = 1;
  r.set(provider.sha256(devicePublicKey), 1);
  return r;
}

