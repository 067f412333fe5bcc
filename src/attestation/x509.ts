/**
 * X.509 v3 (RFC 5280) DER certificates for Terra's attestation chain (Garfinkel et al., SOSP'03
 * §4.1: "vendor CA → hardware → firmware → boot loader → TVMM → VM", each link made by ENDORSE).
 * Built with @peculiar/asn1-x509 and signed with our CryptoProvider (Ed25519, or ECDSA P-256 with
 * SHA-256). Every certificate carries the certified layer's measurement in a private extension:
 *
 *   OID 1.3.6.1.4.1.32473.1.1 (under IANA's documentation enterprise number 32473, RFC 5612),
 *   non-critical, value DER:
 *   TerracloakMeasurement ::= SEQUENCE {
 *     version     INTEGER (1),
 *     role        UTF8String,   -- "manufacturer" | "device" | "firmware" | "bootloader" | "tvmm" | "vm" | "app"
 *     measurement OCTET STRING, -- SHA-256 of the certified layer (32 bytes; zeros for manufacturer/device)
 *     svn         INTEGER,      -- security version of the layer
 *     mode        UTF8String,   -- "closed" | "open" | "none"
 *     debug       BOOLEAN,
 *     appData     OCTET STRING  -- ENDORSE application data (empty otherwise)
 *   }
 *
 * Profile: basicConstraints (critical; CAs carry a per-role pathLenConstraint, {@link CA_PATH_LEN}),
 * keyUsage (critical; keyCertSign only on CAs), the measurement extension, each at most once;
 * validity windows per {@link certValidity}, dated from {@link SIM_EPOCH_MS} (virtual time 0).
 *
 * The parser is a strict DER walk of exactly this profile (fast: it is on every verification's
 * path); every failure is TerraError('MALFORMED'). `roundTripsWithAsn1Library` cross-checks it.
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  id_ce_basicConstraints,
  id_ce_keyUsage,
} from '@peculiar/asn1-x509';
import { TerraError, ValidationRangeError, checkBytes, checkInt, checkObject, checkOneOf, checkString } from '../sim/index.js';
import { concatBytes, fromBase64, toBase64, type CryptoProvider, type KeyPair, type SigAlg } from '../crypto/index.js';
import { checkInput, sameBytes } from './util.js';

/** OID of the terracloak measurement extension. */
export const MEASUREMENT_EXT_OID = '1.3.6.1.4.1.32473.1.1';
const OID_ED25519 = '1.3.101.112';
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_P256 = '1.2.840.10045.3.1.7';
const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';
const P256_PARAMS = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

/** Roles in the chain, root first. */
export const CERT_ROLES = ['manufacturer', 'device', 'firmware', 'bootloader', 'tvmm', 'vm', 'app'] as const;
/** A certificate's role. */
export type CertRole = (typeof CERT_ROLES)[number];
/** VM modes recorded in certificates. */
export type CertMode = 'closed' | 'open' | 'none';

/**
 * Virtual time 0 of every simulation as calendar time: 2026-01-01T00:00:00Z, in milliseconds since
 * the Unix epoch. Certificate validity is expressed against it, and a {@link Verifier} checks
 * validity at `SIM_EPOCH_MS + its virtual clock` unless given another time.
 */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);
/** Earliest and latest instants an X.509 Time can express (UTCTime from 1950, GeneralizedTime to 9999). */
const MIN_TIME_MS = Date.UTC(1950, 0, 1);
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59);
/** Fixed windows of the hardware layer (made before any simulation starts): manufacturer CA and device certificates. */
const HARDWARE_VALIDITY = {
  manufacturer: { notBefore: Date.UTC(2025, 0, 1), notAfter: Date.UTC(2055, 0, 1) },
  device: { notBefore: Date.UTC(2025, 0, 1), notAfter: Date.UTC(2050, 0, 1) },
} as const;
/** Lifetime in years of the certificates issued inside the simulation, from their virtual issue time. */
export const CERT_LIFETIME_YEARS: Readonly<Record<Exclude<CertRole, 'manufacturer' | 'device'>, number>> = {
  firmware: 20,
  bootloader: 20,
  tvmm: 20,
  vm: 10,
  app: 10,
};

/** A certificate's validity window, in milliseconds since the Unix epoch (UTC, whole seconds). */
export interface CertValidity {
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * The validity window terracloak gives a certificate of `role` issued at virtual time
 * `issuedAtNs`: manufacturer 2025-01-01 → 2055-01-01 and device 2025-01-01 → 2050-01-01 (fixed:
 * the hardware exists before the simulation); every other role from {@link SIM_EPOCH_MS} to the
 * issue time plus {@link CERT_LIFETIME_YEARS} (boot stages and TVMM 20 years, VM and app keys 10),
 * never beyond `issuerNotAfter`. notBefore is backdated to the epoch because verifiers run on
 * their own virtual clocks, which start at the epoch too (like a CA backdating for clock skew).
 * Pure: the same inputs give the same window, so certificate bytes stay deterministic per seed.
 */
export function certValidity(role: CertRole, issuedAtNs = 0, issuerNotAfter = MAX_TIME_MS): CertValidity {
  checkOneOf('role', role, CERT_ROLES);
  checkInt('issuedAtNs', issuedAtNs);
  checkInt('issuerNotAfter', issuerNotAfter, MIN_TIME_MS, MAX_TIME_MS);
  if (role === 'manufacturer' || role === 'device') return { ...HARDWARE_VALIDITY[role] };
  const end = new Date(SIM_EPOCH_MS + Math.floor(issuedAtNs / 1e9) * 1000);
  end.setUTCFullYear(end.getUTCFullYear() + CERT_LIFETIME_YEARS[role]);
  return { notBefore: SIM_EPOCH_MS, notAfter: Math.min(end.getTime(), issuerNotAfter, MAX_TIME_MS) };
}

/** ISO 8601 text of a certificate time (e.g. 2036-01-01T00:00:00Z). */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** The measurement extension's content. */
export interface MeasurementExt {
  readonly role: CertRole;
  readonly measurement: Uint8Array;
  readonly svn: number;
  readonly mode: CertMode;
  readonly debug: boolean;
  readonly appData: Uint8Array;
}

/** What to put in a certificate. */
export interface CertTemplate {
  readonly subjectCN: string;
  readonly issuerCN: string;
  readonly subjectKey: { alg: SigAlg; publicKey: Uint8Array };
  readonly ext: MeasurementExt;
  readonly ca: boolean;
  /** Validity window (default: {@link certValidity}(ext.role) — issued at virtual time 0). */
  readonly validity?: CertValidity;
  /** basicConstraints pathLenConstraint of a CA certificate (default: {@link CA_PATH_LEN} of its role; none for other roles). */
  readonly pathLen?: number;
}

/**
 * pathLenConstraint of each CA role (RFC 5280 §4.2.1.9): how many CA certificates may follow it
 * down the path. The TVMM's 0 means it certifies only end entities (VM and app keys).
 */
export const CA_PATH_LEN: Readonly<Partial<Record<CertRole, number>>> = { manufacturer: 4, device: 3, firmware: 2, bootloader: 1, tvmm: 0 };

/** The keyUsage bits terracloak's profile uses (RFC 5280 §4.2.1.3). */
export interface CertKeyUsage {
  readonly digitalSignature: boolean;
  readonly keyCertSign: boolean;
}

/** A parsed certificate (fields copied out of the DER). */
export interface ParsedCert {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly subjectCN: string;
  readonly issuerCN: string;
  readonly alg: SigAlg;
  readonly publicKey: Uint8Array;
  readonly sigAlg: SigAlg;
  readonly signature: Uint8Array;
  readonly ca: boolean;
  /** basicConstraints pathLenConstraint, or null when absent. */
  readonly pathLen: number | null;
  /** keyUsage (the extension is required by the profile). */
  readonly keyUsage: CertKeyUsage;
  readonly ext: MeasurementExt;
  /** Start of the validity window, ms since the Unix epoch (UTC). */
  readonly notBefore: number;
  /** End of the validity window (inclusive), ms since the Unix epoch (UTC). */
  readonly notAfter: number;
}

// ---------------------------------------------------------------- minimal DER
function derLen(n: number): number[] {
  if (n < 0x80) return [n];
  const b: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v & 0xff);
  return [0x80 | b.length, ...b];
}
function tlv(tag: number, body: Uint8Array): Uint8Array {
  const h = [tag, ...derLen(body.length)];
  const r = new Uint8Array(h.length + body.length);
  r.set(h);
  r.set(body, h.length);
  return r;
}
function derInt(n: number): Uint8Array {
  const b: number[] = [];
  let v = n;
  do {
    b.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (b[0] & 0x80) b.unshift(0);
  return tlv(0x02, Uint8Array.from(b));
}
function derUintBytes(x: Uint8Array): Uint8Array {
  let i = 0;
  while (i < x.length - 1 && x[i] === 0) i++;
  const v = x.subarray(i);
  const body = v[0] & 0x80 ? concat([new Uint8Array([0]), v]) : v;
  return tlv(0x02, body);
}
const concat = (parts: Uint8Array[]): Uint8Array => concatBytes(...parts);

interface Tlv {
  tag: number;
  body: Uint8Array;
  all: Uint8Array;
  end: number;
}
/** Reads one DER TLV at `off` (definite, minimal lengths only). */
function readTlv(b: Uint8Array, off: number, what: string): Tlv {
  const bad = (m: string): never => {
    throw new TerraError('MALFORMED', `${what}: ${m}`, { what });
  };
  if (off + 2 > b.length) bad('truncated');
  const tag = b[off];
  let len = b[off + 1];
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) bad('unsupported length');
    if (p + n > b.length) bad('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i];
    if (b[p] === 0 || len < 0x80) bad('non-minimal length');
    p += n;
  }
  if (p + len > b.length) bad('truncated value');
  return { tag, body: b.subarray(p, p + len), all: b.subarray(off, p + len), end: p + len };
}
function readSeq(b: Uint8Array, what: string): Tlv[] {
  const items: Tlv[] = [];
  for (let o = 0; o < b.length; ) {
    const t = readTlv(b, o, what);
    items.push(t);
    o = t.end;
  }
  return items;
}

function encodeExt(e: MeasurementExt): Uint8Array {
  const enc = new TextEncoder();
  return tlv(
    0x30,
    concat([
      derInt(1),
      tlv(0x0c, enc.encode(e.role)),
      tlv(0x04, e.measurement),
      derInt(e.svn),
      tlv(0x0c, enc.encode(e.mode)),
      tlv(0x01, new Uint8Array([e.debug ? 0xff : 0])),
      tlv(0x04, e.appData),
    ]),
  );
}

function decodeExt(b: Uint8Array): MeasurementExt {
  const W = 'certificate measurement extension';
  const bad = (m: string): never => {
    throw new TerraError('MALFORMED', `${W}: ${m}`, { what: W });
  };
  const outer = readTlv(b, 0, W);
  if (outer.tag !== 0x30 || outer.end !== b.length) bad('not one SEQUENCE');
  const f = readSeq(outer.body, W);
  if (f.length !== 7) bad('wrong field count');
  const tags = [0x02, 0x0c, 0x04, 0x02, 0x0c, 0x01, 0x04];
  f.forEach((t, i) => t.tag !== tags[i] && bad(`field ${i} has tag ${t.tag}`));
  const int = (t: Tlv): number => {
    if (t.body.length < 1 || t.body.length > 4 || t.body[0] & 0x80 || (t.body.length > 1 && t.body[0] === 0 && !(t.body[1] & 0x80))) bad('bad INTEGER');
    let v = 0;
    for (const x of t.body) v = v * 256 + x;
    return v;
  };
  if (int(f[0]) !== 1) bad('unsupported version');
  let role: string, mode: string;
  try {
    role = new TextDecoder('utf-8', { fatal: true }).decode(f[1].body);
    mode = new TextDecoder('utf-8', { fatal: true }).decode(f[4].body);
  } catch {
    return bad('bad UTF8String');
  }
  if (!(CERT_ROLES as readonly string[]).includes(role)) bad(`unknown role ${JSON.stringify(role)}`);
  if (!['closed', 'open', 'none'].includes(mode)) bad('unknown mode');
  if (f[2].body.length !== 32) bad('measurement must be 32 bytes');
  if (f[5].body.length !== 1 || (f[5].body[0] !== 0 && f[5].body[0] !== 0xff)) bad('bad BOOLEAN');
  return { role: role as CertRole, measurement: f[2].body.slice(), svn: int(f[3]), mode: mode as CertMode, debug: f[5].body[0] === 0xff, appData: f[6].body.slice() };
}

function name(cn: string): Name {
  return new Name([
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OID_O, value: new AttributeValue({ utf8String: 'terracloak' }) })]),
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OID_CN, value: new AttributeValue({ utf8String: cn }) })]),
  ]);
}

function spki(alg: SigAlg, pk: Uint8Array): SubjectPublicKeyInfo {
  return alg === 'ed25519'
    ? new SubjectPublicKeyInfo({ algorithm: new AlgorithmIdentifier({ algorithm: OID_ED25519 }), subjectPublicKey: pk.slice().buffer })
    : new SubjectPublicKeyInfo({
        algorithm: new AlgorithmIdentifier({ algorithm: OID_EC_PUBLIC_KEY, parameters: P256_PARAMS.slice().buffer }),
        subjectPublicKey: pk.slice().buffer,
      });
}

function sigAlgId(alg: SigAlg): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: alg === 'ed25519' ? OID_ED25519 : OID_ECDSA_SHA256 });
}

/** r‖s (64 bytes) → DER Ecdsa-Sig-Value. */
export function p1363ToDer(sig: Uint8Array): Uint8Array {
  checkBytes('sig', sig, 64);
  return tlv(0x30, concat([derUintBytes(sig.subarray(0, 32)), derUintBytes(sig.subarray(32))]));
}

/** DER Ecdsa-Sig-Value → r‖s (64 bytes); MALFORMED when not strict DER. */
export function derToP1363(der: Uint8Array): Uint8Array {
  const W = 'ECDSA signature';
  const s = readTlv(der, 0, W);
  if (s.tag !== 0x30 || s.end !== der.length) throw new TerraError('MALFORMED', `${W}: not a SEQUENCE`, { what: W });
  const f = readSeq(s.body, W);
  if (f.length !== 2 || f.some((t) => t.tag !== 0x02 || t.body.length === 0 || t.body.length > 33))
    throw new TerraError('MALFORMED', `${W}: bad integers`, { what: W });
  const r = new Uint8Array(64);
  f.forEach((t, i) => {
    let v = t.body;
    if (v[0] & 0x80) throw new TerraError('MALFORMED', `${W}: negative integer`, { what: W });
    if (v.length > 1 && v[0] === 0) {
      if (!(v[1] & 0x80)) throw new TerraError('MALFORMED', `${W}: non-minimal integer`, { what: W });
      v = v.subarray(1);
    }
    if (v.length > 32) throw new TerraError('MALFORMED', `${W}: integer too large`, { what: W });
    r.set(v, i * 32 + 32 - v.length);
  });
  return r;
}

/** Issues a certificate for `t`, signed by `issuer`. Returns DER. */
export function issueCert(provider: CryptoProvider, issuer: KeyPair, t: CertTemplate): Uint8Array {
  checkString('subjectCN', t.subjectCN, { nonEmpty: true, max: 64 });
  checkString('issuerCN', t.issuerCN, { nonEmpty: true, max: 64 });
  checkOneOf('subjectKey.alg', t.subjectKey.alg, ['ed25519', 'p256']);
  checkBytes('subjectKey.publicKey', t.subjectKey.publicKey, t.subjectKey.alg === 'ed25519' ? 32 : 33);
  checkOneOf('ext.role', t.ext.role, CERT_ROLES);
  checkBytes('ext.measurement', t.ext.measurement, 32);
  checkInt('ext.svn', t.ext.svn, 0, 0x7fffffff);
  checkBytes('ext.appData', t.ext.appData, { max: 1024 });
  const validity = t.validity === undefined ? certValidity(t.ext.role) : checkValidity(t.validity);
  const pathLen = t.pathLen !== undefined ? checkInt('pathLen', t.pathLen, 0, 16) : t.ca ? CA_PATH_LEN[t.ext.role] : undefined;
  if (pathLen !== undefined && !t.ca) throw new ValidationRangeError('pathLen needs a CA certificate');
  const serial = provider.sha256(concat([t.subjectKey.publicKey, new TextEncoder().encode(t.subjectCN + '|' + t.issuerCN)])).slice(0, 16);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  const exts = new Extensions([
    new Extension({ extnID: id_ce_basicConstraints, critical: true, extnValue: new OctetString(AsnConvert.serialize(new BasicConstraints(pathLen === undefined ? { cA: t.ca } : { cA: true, pathLenConstraint: pathLen }))) }),
    new Extension({
      extnID: id_ce_keyUsage,
      critical: true,
      extnValue: new OctetString(AsnConvert.serialize(new KeyUsage(t.ca ? KeyUsageFlags.keyCertSign | KeyUsageFlags.digitalSignature : KeyUsageFlags.digitalSignature))),
    }),
    new Extension({ extnID: MEASUREMENT_EXT_OID, critical: false, extnValue: new OctetString(encodeExt(t.ext).slice().buffer) }),
  ]);
  const tbs = new TBSCertificate({
    version: 2,
    serialNumber: serial.slice().buffer,
    signature: sigAlgId(issuer.alg),
    issuer: name(t.issuerCN),
    validity: new Validity({ notBefore: new Date(validity.notBefore), notAfter: new Date(validity.notAfter) }),
    subject: name(t.subjectCN),
    subjectPublicKeyInfo: spki(t.subjectKey.alg, t.subjectKey.publicKey),
    extensions: exts,
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const raw = provider.sign(issuer.alg, issuer.secretKey, tbsDer);
  const sig = issuer.alg === 'ed25519' ? raw : p1363ToDer(raw);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: sigAlgId(issuer.alg), signatureValue: sig.slice().buffer });
  return new Uint8Array(AsnConvert.serialize(cert));
}

function checkValidity(v: CertValidity): CertValidity {
  checkObject('validity', v);
  const nb = checkInt('validity.notBefore', v.notBefore, MIN_TIME_MS, MAX_TIME_MS);
  const na = checkInt('validity.notAfter', v.notAfter, MIN_TIME_MS, MAX_TIME_MS);
  if (nb % 1000 !== 0 || na % 1000 !== 0) throw new ValidationRangeError('validity times must be whole seconds');
  if (nb > na) throw new ValidationRangeError('validity.notBefore must not be after validity.notAfter');
  return { notBefore: nb, notAfter: na };
}

/**
 * Decodes one X.509 Time strictly (RFC 5280 §4.1.2.5): UTCTime YYMMDDHHMMSSZ for 1950–2049,
 * GeneralizedTime YYYYMMDDHHMMSSZ for 2050 and later, seconds present, no fractions, Z only, every
 * field in range. Returns ms since the Unix epoch; MALFORMED otherwise.
 */
function decodeTime(t: { tag: number; body: Uint8Array }, what: string): number {
  const bad = (m: string): never => {
    throw new TerraError('MALFORMED', `certificate: ${what}: ${m}`, { what: 'certificate' });
  };
  const s = String.fromCharCode(...t.body);
  let year: number;
  let rest: string;
  if (t.tag === 0x17 && /^\d{12}Z$/.test(s)) {
    const yy = Number(s.slice(0, 2));
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = s.slice(2);
  } else if (t.tag === 0x18 && /^\d{14}Z$/.test(s)) {
    year = Number(s.slice(0, 4));
    if (year < 2050) bad('GeneralizedTime before 2050 (RFC 5280 requires UTCTime)');
    rest = s.slice(4);
  } else return bad('not a DER UTCTime or GeneralizedTime');
  const [mo, d, h, mi, se] = [0, 2, 4, 6, 8].map((i) => Number(rest.slice(i, i + 2)));
  const ms = Date.UTC(year, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59 || back.getUTCFullYear() !== year || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) bad('field out of range');
  return ms;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const OIDB = {
  ed25519: [0x2b, 0x65, 0x70],
  ecdsaSha256: [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
  ecPublicKey: [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01],
  p256: [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
  cn: [0x55, 0x04, 0x03],
  basicConstraints: [0x55, 0x1d, 0x13],
  keyUsage: [0x55, 0x1d, 0x0f],
  measurement: [0x2b, 0x06, 0x01, 0x04, 0x01, 0x81, 0xfd, 0x59, 0x01, 0x01],
} as const;

function isOid(t: Tlv, oid: readonly number[]): boolean {
  return t.tag === 0x06 && t.body.length === oid.length && oid.every((b, i) => t.body[i] === b);
}

/**
 * Parses a DER certificate of terracloak's profile strictly (a purpose-built DER walk: definite
 * minimal lengths, exact field tags, no trailing bytes, DER booleans and BIT STRINGs); any
 * deviation is TerraError('MALFORMED'). Certificates outside the profile are refused, never guessed at.
 */
export function parseCert(derIn: Uint8Array): ParsedCert {
  const der = checkInput('certificate', derIn, 16384).slice();
  const W = 'certificate';
  const bad = (m: string): never => {
    throw new TerraError('MALFORMED', `${W}: ${m}`, { what: W });
  };
  const seq = (t: Tlv, what: string, n?: number): Tlv[] => {
    if (t.tag !== 0x30) bad(`${what} is not a SEQUENCE`);
    const items = readSeq(t.body, W);
    if (n !== undefined && items.length !== n) bad(`${what} has ${items.length} fields, expected ${n}`);
    return items;
  };
  const outer = readTlv(der, 0, W);
  if (outer.end !== der.length) bad('trailing bytes');
  const [tbsT, sigAlgT, sigT] = seq(outer, 'Certificate', 3);
  const tbsF = seq(tbsT, 'TBSCertificate', 8);
  const [verT, serialT, tbsAlgT, issuerT, validityT, subjectT, spkiT, extsT] = tbsF;
  if (verT.tag !== 0xa0 || verT.body.length !== 3 || verT.body[0] !== 0x02 || verT.body[1] !== 1 || verT.body[2] !== 2) bad('not X.509 v3');
  if (serialT.tag !== 0x02 || serialT.body.length < 1 || serialT.body.length > 20 || serialT.body[0] & 0x80) bad('bad serial number');
  if (serialT.body.length > 1 && serialT.body[0] === 0 && !(serialT.body[1] & 0x80)) bad('non-minimal serial number');
  const algOf = (t: Tlv, what: string): SigAlg => {
    const f = seq(t, what);
    if (f.length !== 1) bad(`${what} must have no parameters`);
    return isOid(f[0], OIDB.ed25519) ? 'ed25519' : isOid(f[0], OIDB.ecdsaSha256) ? 'p256' : bad(`${what}: unsupported algorithm`);
  };
  const sigAlg = algOf(sigAlgT, 'signatureAlgorithm');
  if (!sameBytes(sigAlgT.all, tbsAlgT.all)) bad('signature algorithm mismatch');
  const cnOfName = (t: Tlv, what: string): string => {
    let cn: string | undefined;
    for (const rdn of seq(t, what)) {
      if (rdn.tag !== 0x31) bad(`${what}: RDN is not a SET`);
      for (const atv of readSeq(rdn.body, W)) {
        const [typ, val] = seq(atv, `${what} attribute`, 2);
        if (typ.tag !== 0x06) bad(`${what}: attribute type is not an OID`);
        if (val.tag !== 0x0c && val.tag !== 0x13) bad(`${what}: unsupported string type`);
        if (isOid(typ, OIDB.cn)) {
          if (cn !== undefined) bad(`${what}: two common names`);
          try {
            cn = UTF8.decode(val.body);
          } catch {
            bad(`${what}: common name is not UTF-8`);
          }
        }
      }
    }
    return cn ?? bad(`${what} has no common name`);
  };
  const issuerCN = cnOfName(issuerT, 'issuer');
  const subjectCN = cnOfName(subjectT, 'subject');
  const validity = seq(validityT, 'validity', 2);
  const notBefore = decodeTime(validity[0], 'notBefore');
  const notAfter = decodeTime(validity[1], 'notAfter');
  const [spkiAlgT, spkiKeyT] = seq(spkiT, 'subjectPublicKeyInfo', 2);
  const ka = seq(spkiAlgT, 'subjectPublicKeyInfo algorithm');
  if (spkiKeyT.tag !== 0x03 || spkiKeyT.body.length < 2 || spkiKeyT.body[0] !== 0) bad('bad subjectPublicKey BIT STRING');
  const pk = spkiKeyT.body.slice(1);
  let alg: SigAlg;
  if (ka.length === 1 && isOid(ka[0], OIDB.ed25519) && pk.length === 32) alg = 'ed25519';
  else if (ka.length === 2 && isOid(ka[0], OIDB.ecPublicKey) && isOid(ka[1], OIDB.p256) && pk.length === 33) alg = 'p256';
  else return bad('unsupported subject public key');
  if (extsT.tag !== 0xa3) bad('missing extensions');
  const inner = readTlv(extsT.body, 0, W);
  if (inner.end !== extsT.body.length) bad('trailing bytes after extensions');
  let ext: MeasurementExt | undefined;
  let ca: boolean | undefined;
  let pathLen: number | null = null;
  let keyUsage: CertKeyUsage | undefined;
  const seen = new Set<string>();
  for (const e of seq(inner, 'extensions')) {
    const f = seq(e, 'extension');
    if (f.length < 2 || f.length > 3 || f[0].tag !== 0x06) bad('bad extension');
    // RFC 5280 §4.2: at most one instance of any extension, known or not.
    const oid = Array.from(f[0].body, (x) => x.toString(16).padStart(2, '0')).join('');
    if (seen.has(oid)) bad('duplicate extension');
    seen.add(oid);
    let critical = false;
    if (f.length === 3) {
      if (f[1].tag !== 0x01 || f[1].body.length !== 1 || f[1].body[0] !== 0xff) bad('bad critical flag (DER omits FALSE)');
      critical = true;
    }
    const val = f[f.length - 1];
    if (val.tag !== 0x04) bad('extension value is not an OCTET STRING');
    if (isOid(f[0], OIDB.measurement)) {
      ext = decodeExt(val.body);
    } else if (isOid(f[0], OIDB.basicConstraints)) {
      const bc = readTlv(val.body, 0, W);
      if (bc.end !== val.body.length) bad('bad basicConstraints');
      const bf = seq(bc, 'basicConstraints');
      const isTrue = (t: Tlv) => t.tag === 0x01 && t.body.length === 1 && t.body[0] === 0xff;
      if (bf.length === 0) ca = false;
      else if (bf.length === 1 && isTrue(bf[0])) ca = true;
      else if (bf.length === 2 && isTrue(bf[0]) && bf[1].tag === 0x02 && bf[1].body.length === 1 && bf[1].body[0] < 0x80) {
        ca = true;
        pathLen = bf[1].body[0];
      } else bad('unsupported basicConstraints');
    } else if (isOid(f[0], OIDB.keyUsage)) {
      // KeyUsage ::= BIT STRING, DER: no trailing zero bits (the unused-bit count must match the last set bit).
      const ku = readTlv(val.body, 0, W);
      if (ku.tag !== 0x03 || ku.end !== val.body.length || ku.body.length < 2 || ku.body.length > 3 || ku.body[0] > 7) bad('bad keyUsage');
      const last = ku.body[ku.body.length - 1];
      const unused = ku.body[0];
      if (last === 0 || (last & ((1 << unused) - 1)) !== 0 || (last & (1 << unused)) === 0) bad('keyUsage is not DER (trailing zero bits)');
      keyUsage = { digitalSignature: (ku.body[1] & 0x80) !== 0, keyCertSign: (ku.body[1] & 0x04) !== 0 };
    } else if (critical) bad('unknown critical extension');
  }
  if (!ext) return bad('missing measurement extension');
  if (ca === undefined) return bad('missing basicConstraints');
  if (!keyUsage) return bad('missing keyUsage');
  if (sigT.tag !== 0x03 || sigT.body.length < 2 || sigT.body[0] !== 0) bad('bad signature BIT STRING');
  const sigBytes = sigT.body.subarray(1);
  const signature = sigAlg === 'ed25519' ? (sigBytes.length === 64 ? sigBytes.slice() : bad('bad Ed25519 signature length')) : derToP1363(sigBytes);
  return { der, tbs: tbsT.all.slice(), subjectCN, issuerCN, alg, publicKey: pk, sigAlg, signature, ca, pathLen, keyUsage, ext, notBefore, notAfter };
}

/** The slower cross-check parser (@peculiar/asn1-x509): true when the library parses `der` and re-serialises it byte for byte. */
export function roundTripsWithAsn1Library(der: Uint8Array): boolean {
  try {
    return sameBytes(new Uint8Array(AsnConvert.serialize(AsnConvert.parse(checkBytes('der', der), Certificate))), der);
  } catch {
    return false;
  }
}

/** True when `child` carries a valid signature by `issuerKey` (strict verification). */
export function certSignedBy(provider: CryptoProvider, child: ParsedCert, issuer: { alg: SigAlg; publicKey: Uint8Array }): boolean {
  if (child.sigAlg !== issuer.alg) return false;
  return provider.verify(issuer.alg, issuer.publicKey, child.tbs, child.signature);
}

/** PEM armour of DER certificates (in order). */
export function toPem(ders: readonly Uint8Array[]): string {
  return ders
    .map((d) => {
      const b64 = toBase64(d);
      return `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
    })
    .join('');
}

/** DER certificates from PEM text (in order); MALFORMED on bad armour. */
export function fromPem(pem: string): Uint8Array[] {
  checkString('pem', pem, { max: 1 << 20 });
  const out: Uint8Array[] = [];
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;
  for (let m = re.exec(pem); m; m = re.exec(pem)) out.push(base64ToBytes(m[1].replace(/\s+/g, '')));
  if (out.length === 0) throw new TerraError('MALFORMED', 'pem: no CERTIFICATE block', { what: 'pem' });
  return out;
}

function base64ToBytes(s: string): Uint8Array {
  try {
    return fromBase64(s);
  } catch {
    throw new TerraError('MALFORMED', 'pem: bad base64', { what: 'pem' });
  }
}
