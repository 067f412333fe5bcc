// Certificate validity windows: what terracloak issues, and the verifier's validity check
// (RFC 5280 §6.1.3 (a)(2), part of the `root` check) at its virtual clock, at an explicit `now`, or "as of" a time.
import { describe, expect, it } from 'vitest';
import { TerraError, createSimContext } from '../../src/sim/index.js';
import {
  cborDecode,
  cborEncode,
  SIM_EPOCH_MS,
  Verifier,
  certValidity,
  decodeQuote,
  encodeQuote,
  issueCert,
  parseCert,
  type CertRole,
  type CertValidity,
} from '../../src/attestation/index.js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, Time } from '@peculiar/asn1-x509';
import { P, setup } from './helpers.js';

const DAY = 86_400_000;
const Z32 = new Uint8Array(32);

function code(r: { ok: boolean; failed?: { code: string; name: string; detail: string } }): string {
  return r.ok ? 'OK' : `${r.failed!.name}:${r.failed!.code}`;
}

/**
 * A complete chain made with our own keys (anchor, device, firmware, bootloader, tvmm, vm), each
 * certificate with the given validity, and a quote over `nonce` signed by the VM key. Validity is
 * checked right after the root, so the quote's claims only need to decode.
 */
function ownChain(nonce: Uint8Array, windows: Partial<Record<CertRole, CertValidity>>) {
  const { host } = setup();
  const genuine = decodeQuote(host.service.quote(1, nonce));
  const roles = ['manufacturer', 'device', 'firmware', 'bootloader', 'tvmm', 'vm'] as const;
  const keys = roles.map((r, i) => P.keyPairFromSeed('ed25519', P.sha256(new Uint8Array([i + 1, 7]))));
  const ders: Uint8Array[] = [];
  roles.forEach((role, i) => {
    const issuer = keys[Math.max(0, i - 1)];
    ders.push(issueCert(P, issuer, {
      subjectCN: `own ${role}`,
      issuerCN: `own ${roles[Math.max(0, i - 1)]}`,
      subjectKey: keys[i],
      ca: role !== 'vm',
      ext: { role, measurement: Z32, svn: 1, mode: role === 'vm' ? 'closed' : 'none', debug: false, appData: new Uint8Array() },
      validity: windows[role] ?? certValidity(role),
    }));
  });
  const chain = ders.slice(1).reverse(); // vm, tvmm, bootloader, firmware, device
  const quote = encodeQuote(P, keys[5], chain, genuine.claims);
  return { anchor: ders[0], quote };
}

describe('issued validity windows', () => {
  it('follow the documented per-role rules and nest inside their issuer', () => {
    const { host } = setup();
    const chain = host.service.chain(1).map((d) => parseCert(d));
    const anchor = parseCert(host.rot.manufacturer.certDer);
    expect([anchor.notBefore, anchor.notAfter]).toEqual([Date.UTC(2025, 0, 1), Date.UTC(2055, 0, 1)]);
    const [vm, tvmm, bl, fw, dev] = chain;
    expect([dev.notBefore, dev.notAfter]).toEqual([Date.UTC(2025, 0, 1), Date.UTC(2050, 0, 1)]);
    for (const c of [fw, bl, tvmm]) expect([c.notBefore, c.notAfter]).toEqual([SIM_EPOCH_MS, Date.UTC(2046, 0, 1)]);
    expect([vm.notBefore, vm.notAfter]).toEqual([SIM_EPOCH_MS, Date.UTC(2036, 0, 1)]);
    const all = [vm, tvmm, bl, fw, dev, anchor];
    for (let i = 0; i + 1 < all.length; i++) {
      expect(all[i].notAfter).toBeLessThanOrEqual(all[i + 1].notAfter);
      expect(all[i].notBefore).toBeGreaterThanOrEqual(all[i + 1].notBefore);
    }
  });

  it('count from the virtual issue time, are deterministic per seed, and never outlive the issuer', () => {
    const a = setup();
    const b = setup();
    expect(a.host.service.chain(1)).toEqual(b.host.service.chain(1));
    a.host.ctx.clock.advance(5 * 86_400 * 1e9 + 123); // five days later (and a fraction of a second)
    a.host.service.registerVm(2, { image: a.image, mode: 'closed' });
    const late = parseCert(a.host.service.chain(2)[0]);
    expect(late.notBefore).toBe(SIM_EPOCH_MS);
    expect(late.notAfter).toBe(Date.UTC(2036, 0, 6));
    const app = parseCert(a.host.service.endorse(2, { alg: 'ed25519', publicKey: P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(3)).publicKey }));
    expect(app.notAfter).toBe(late.notAfter);
    // An issuer close to its end caps what it issues.
    expect(certValidity('vm', 0, SIM_EPOCH_MS + DAY).notAfter).toBe(SIM_EPOCH_MS + DAY);
  });

  it('issueCert refuses a window that is inverted, fractional or outside X.509 Time', () => {
    const k = P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(1));
    const t = (validity: CertValidity) => () => issueCert(P, k, { subjectCN: 'x', issuerCN: 'x', subjectKey: k, ca: true, ext: { role: 'tvmm', measurement: Z32, svn: 0, mode: 'none', debug: false, appData: new Uint8Array() }, validity });
    expect(t({ notBefore: SIM_EPOCH_MS + 1000, notAfter: SIM_EPOCH_MS })).toThrow(RangeError);
    expect(t({ notBefore: SIM_EPOCH_MS + 1, notAfter: SIM_EPOCH_MS + 5000 })).toThrow(/whole seconds/);
    expect(t({ notBefore: Date.UTC(1949, 11, 31), notAfter: SIM_EPOCH_MS })).toThrow(RangeError);
    expect(t({ notBefore: SIM_EPOCH_MS, notAfter: Date.UTC(10000, 0, 1) })).toThrow(RangeError);
    // Both encodings round-trip: UTCTime through 2049, GeneralizedTime from 2050.
    for (const [nb, na] of [[Date.UTC(1950, 0, 1), Date.UTC(2049, 11, 31, 23, 59, 59)], [Date.UTC(2050, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59)]]) {
      const c = parseCert(t({ notBefore: nb, notAfter: na })());
      expect([c.notBefore, c.notAfter]).toEqual([nb, na]);
    }
  });
});

describe('verifier validity check', () => {
  it('defaults to the simulation epoch plus the verifier clock, and reports the time it used', () => {
    const { host, verifier, vctx } = setup();
    vctx.clock.advance(90_000 * 1e9); // 25 h of virtual time
    const n = verifier.issueNonce();
    const r = verifier.verify(host.service.quote(1, n), n);
    expect(r.ok).toBe(true);
    expect(r.at).toBe('2026-01-02T01:00:00Z');
    expect(r.checks.find((c) => c.name === 'root')).toMatchObject({ ok: true });
  });

  it('an expired VM certificate is CERT_EXPIRED (the end is inclusive); before the epoch it is CERT_NOT_YET_VALID', () => {
    const { host, verifier } = setup();
    const vmEnd = parseCert(host.service.chain(1)[0]).notAfter;
    const at = (t: number | Date) => {
      const n = verifier.issueNonce();
      return verifier.verify(host.service.quote(1, n), n, { at: t });
    };
    expect(code(at(vmEnd))).toBe('OK');
    const late = at(vmEnd + 1000);
    expect(code(late)).toBe('root:CERT_EXPIRED');
    expect(late.failed!.detail).toBe('certificate 0 (vm) expired at 2036-01-01T00:00:00Z (verification time 2036-01-01T00:00:01Z)');
    expect(late.checks.slice(CHECKS_AFTER_VALIDITY).every((c) => c.ok === null)).toBe(true);
    expect(code(at(new Date(SIM_EPOCH_MS - 1)))).toBe('root:CERT_NOT_YET_VALID');
    expect(at(new Date(SIM_EPOCH_MS - 1)).failed!.detail).toMatch(/^certificate 0 \(vm\) is not valid before 2026-01-01T00:00:00Z/);
    // A refused nonce is not consumed: the same quote verifies at a valid time.
    const n = verifier.issueNonce();
    const q = host.service.quote(1, n);
    expect(code(verifier.verify(q, n, { at: Date.UTC(2040, 0, 1) }))).toBe('root:CERT_EXPIRED');
    expect(code(verifier.verify(q, n))).toBe('OK');
  });

  it('verifyOrThrow raises ATTESTATION_ERROR with check CERT_EXPIRED', () => {
    const { host, verifier } = setup();
    const n = verifier.issueNonce();
    let err: unknown;
    try {
      verifier.verifyOrThrow(host.service.quote(1, n), n, { at: Date.UTC(2060, 0, 1) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TerraError);
    expect((err as TerraError).code).toBe('ATTESTATION_ERROR');
    expect((err as TerraError).detail.check).toBe('CERT_EXPIRED');
  });

  it('the `now` option sets the verification time; bad times are caller errors', () => {
    const { host, policy } = setup();
    const v = new Verifier(createSimContext({ seed: 5 }), P, [host.rot.manufacturer.certDer], policy, { now: () => Date.UTC(2051, 0, 1) });
    const n = v.issueNonce();
    const r = v.verify(host.service.quote(1, n), n);
    expect(code(r)).toBe('root:CERT_EXPIRED');
    expect(r.at).toBe('2051-01-01T00:00:00Z');
    expect(() => new Verifier(createSimContext({ seed: 5 }), P, [host.rot.manufacturer.certDer], policy, { now: 5 as never })).toThrow(TypeError);
    const bad = new Verifier(createSimContext({ seed: 5 }), P, [host.rot.manufacturer.certDer], policy, { now: () => NaN });
    const n2 = bad.issueNonce();
    expect(() => bad.verify(host.service.quote(1, n2), n2)).toThrow(RangeError);
    expect(() => v.verify(host.service.quote(1, n2), n2, { at: new Date('garbage') })).toThrow(RangeError);
    expect(() => v.verify(host.service.quote(1, n2), n2, { at: 1e300 })).toThrow(RangeError);
  });

  it('names the first invalid certificate of the path: a not-yet-valid TVMM, an expired device, an expired anchor', () => {
    const nonce = new Uint8Array(32).fill(0x5a);
    const cases: [Partial<Record<CertRole, CertValidity>>, number, string, RegExp][] = [
      [{ tvmm: { notBefore: Date.UTC(2030, 0, 1), notAfter: Date.UTC(2031, 0, 1) } }, Date.UTC(2027, 0, 1), 'CERT_NOT_YET_VALID', /^certificate 1 \(tvmm\) is not valid before 2030-01-01T00:00:00Z/],
      [{ device: { notBefore: Date.UTC(2025, 0, 1), notAfter: Date.UTC(2026, 6, 1) } }, Date.UTC(2027, 0, 1), 'CERT_EXPIRED', /^certificate 4 \(device\) expired at 2026-07-01/],
      [{ manufacturer: { notBefore: Date.UTC(2025, 0, 1), notAfter: Date.UTC(2026, 6, 1) } }, Date.UTC(2027, 0, 1), 'CERT_EXPIRED', /^the trust anchor expired at 2026-07-01/],
    ];
    for (const [windows, at, expected, detail] of cases) {
      const { anchor, quote } = ownChain(nonce, windows);
      const { policy } = setup();
      const v = new Verifier(createSimContext({ seed: 1 }), P, [anchor], policy, { now: () => at });
      v.registerNonce(nonce);
      const r = v.verify(quote, nonce);
      expect(code(r)).toBe(`root:${expected}`);
      expect(r.failed!.detail).toMatch(detail);
      // The same chain at a time inside every window gets past validity (and fails later, on claims).
      const v2 = new Verifier(createSimContext({ seed: 1 }), P, [anchor], policy, { now: () => Date.UTC(2026, 2, 1) });
      v2.registerNonce(nonce);
      expect(v2.verify(quote, nonce).checks.find((c) => c.name === 'root')!.ok).toBe(expected === 'CERT_NOT_YET_VALID' ? false : true);
    }
  });

  it('a certificate cannot be given a longer life: editing notAfter breaks its signature', () => {
    const { host, verifier } = setup();
    const n = verifier.issueNonce();
    const q = host.service.quote(1, n);
    const der = host.service.chain(1)[0];
    const s = new TextDecoder('latin1').decode(der);
    const at = s.indexOf('360101000000Z'); // the VM certificate's notAfter (UTCTime)
    expect(at).toBeGreaterThan(0);
    const t = der.slice();
    t.set(new TextEncoder().encode('49'), at); // 2036 → 2049
    expect(parseCert(t).notAfter).toBe(Date.UTC(2049, 0, 1));
    const forged = swapLeaf(q, der, t);
    expect(code(verifier.verify(forged, n, { at: Date.UTC(2040, 0, 1) }))).toBe('chain:CHAIN_INVALID');
  });

  it('the parser refuses times outside RFC 5280 DER: GeneralizedTime before 2050, bad fields, fractions, local time', () => {
    const { host } = setup();
    const der = host.service.chain(1)[0];
    const s = new TextDecoder('latin1').decode(der);
    const at = s.indexOf('360101000000Z');
    const edit = (text: string, off = at) => {
      const t = der.slice();
      t.set(new TextEncoder().encode(text), off);
      return t;
    };
    for (const bad of ['361301000000Z', '360230000000Z', '360100000000Z', '360101240000Z', '360101006000Z', '360101000060Z', '3601010000.0Z', '360101000000+', '36010100000 Z']) {
      let err: unknown;
      try {
        parseCert(edit(bad));
      } catch (e) {
        err = e;
      }
      expect((err as TerraError).code, bad).toBe('MALFORMED');
    }
    // A GeneralizedTime with a year before 2050 (RFC 5280 requires UTCTime there).
    const c = AsnConvert.parse(der, Certificate);
    c.tbsCertificate.validity.notAfter = new Time({ generalTime: new Date(Date.UTC(2036, 0, 1)) });
    const gen = new Uint8Array(AsnConvert.serialize(c));
    expect(() => parseCert(gen)).toThrow(/GeneralizedTime before 2050/);
  });
});

const CHECKS_AFTER_VALIDITY = 3; // decode, chain, root (validity is part of root)

/** The quote with one x5chain certificate replaced (the COSE signature still covers the old header). */
function swapLeaf(q: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  const arr = cborDecode(q.subarray(1), 'q') as unknown[];
  const ph = cborDecode(arr[0] as Uint8Array, 'ph') as Map<number, unknown>;
  ph.set(33, (ph.get(33) as Uint8Array[]).map((c) => (P.equalBytes(c, from) ? to : c)));
  arr[0] = cborEncode(ph);
  const body = cborEncode(arr);
  const out = new Uint8Array(body.length + 1);
  out[0] = 0xd2;
  out.set(body, 1);
  return out;
}
