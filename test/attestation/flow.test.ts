// End-to-end attestation: boot, register, quote, verify; checks and failure codes.
import { describe, expect, it } from 'vitest';
import { TerraError, createSimContext } from '../../src/sim/index.js';
import { nobleProvider, toHex } from '../../src/crypto/index.js';
import { nodeProvider } from '../../src/node.js';
import { CHECKS, Verifier, createAttestedHost, decodeQuote, parseCert, policyFor, parseImage, signVendorStatement } from '../../src/attestation/index.js';
import { P, sampleImage, setup } from './helpers.js';

describe('quote and verify', () => {
  for (const alg of ['ed25519', 'p256'] as const)
    for (const provider of [nobleProvider, nodeProvider])
      it(`a genuine quote verifies and every check passes (${alg}, ${provider.name})`, () => {
        const { host, verifier } = setup({ alg, provider });
        const n = verifier.issueNonce();
        const q = host.service.quote(1, n);
        const r = verifier.verify(q, n);
        expect(r.failed).toBeUndefined();
        expect(r.ok).toBe(true);
        expect(r.checks.map((c) => c.name)).toEqual([...CHECKS]);
        expect(r.checks.every((c) => c.ok === true)).toBe(true);
        expect(r.signatureVerifications).toBe(6);
      });

  it('same seed gives the same quote bytes; the chain is leaf first with measurements in the extension', () => {
    const a = setup().host.service.quote(1, new Uint8Array(32).fill(1));
    const b = setup().host.service.quote(1, new Uint8Array(32).fill(1));
    expect(toHex(a)).toBe(toHex(b));
    const d = decodeQuote(a);
    const roles = d.chain.map((c) => parseCert(c).ext.role);
    expect(roles).toEqual(['vm', 'tvmm', 'bootloader', 'firmware', 'device']);
    expect(toHex(parseCert(d.chain[0]).ext.measurement)).toBe(toHex(d.claims.measurements.vm));
  });

  it('fails closed: a VM not in allow.vm is refused (an empty list is refused at load: policy-edges.test.ts)', () => {
    const { host, policy } = setup();
    const v = new Verifier(createSimContext({ seed: 3 }), P, [host.rot.manufacturer.certDer], { ...policy, allow: { ...policy.allow, vm: ['ab'.repeat(32)] } });
    const n = v.issueNonce();
    const r = v.verify(host.service.quote(1, n), n);
    expect(r.failed).toMatchObject({ name: 'vm', code: 'MEASUREMENT_MISMATCH' });
    expect(r.checks.find((c) => c.name === 'mode')!.ok).toBeNull();
    expect(() => v.verifyOrThrow(host.service.quote(1, n), n)).toThrowError(expect.objectContaining({ code: 'ATTESTATION_ERROR', detail: expect.objectContaining({ check: 'MEASUREMENT_MISMATCH' }) }));
  });

  it('a vendor statement from a pinned vendor authorises a VM hash not in allow.vm', () => {
    const { host, policy, id } = setup();
    const vendor = P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(42));
    const pol = { ...policy, allow: { ...policy.allow, vm: [] }, vendors: [{ name: 'BankSoft', alg: 'ed25519' as const, publicKey: toHex(vendor.publicKey) }] };
    const v = new Verifier(createSimContext({ seed: 3 }), P, [host.rot.manufacturer.certDer], pol);
    const stmt = signVendorStatement(P, vendor, { measurement: id.primary, product: 'bank', version: '4.3' });
    const n = v.issueNonce();
    expect(v.verify(host.service.quote(1, n), n, { vendorStatements: [stmt] }).ok).toBe(true);
    const other = P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(43));
    const n2 = v.issueNonce();
    expect(v.verify(host.service.quote(1, n2), n2, { vendorStatements: [signVendorStatement(P, other, { measurement: id.primary, product: 'bank', version: '4.3' })] }).failed?.code).toBe('MEASUREMENT_MISMATCH');
  });

  it('revoked device key → CHAIN_INVALID; anchor from another manufacturer → UNTRUSTED_ROOT; TCB too old', () => {
    const { host, policy } = setup();
    const devHash = toHex(P.sha256(host.rot.devicePublicKey));
    const v1 = new Verifier(createSimContext({ seed: 3 }), P, [host.rot.manufacturer.certDer], { ...policy, revokedKeys: [devHash] });
    let n = v1.issueNonce();
    expect(v1.verify(host.service.quote(1, n), n).failed?.code).toBe('CHAIN_INVALID');
    const stranger = createAttestedHost({ seed: 8 });
    const v2 = new Verifier(createSimContext({ seed: 3 }), P, [stranger.rot.manufacturer.certDer], policy);
    n = v2.issueNonce();
    expect(v2.verify(host.service.quote(1, n), n).failed?.code).toBe('UNTRUSTED_ROOT');
    const v3 = new Verifier(createSimContext({ seed: 3 }), P, [host.rot.manufacturer.certDer], { ...policy, minTvmmSvn: 2 });
    n = v3.issueNonce();
    expect(v3.verify(host.service.quote(1, n), n).failed?.code).toBe('TCB_TOO_OLD');
  });

  it('GET-ID returns the caller\'s identity; ENDORSE certifies a key with the caller\'s identity', () => {
    const { host, id } = setup();
    host.service.registerVm(2, { image: sampleImage('other', 9000, 3), mode: 'closed' });
    expect(toHex(host.service.getId(1).primary)).toBe(toHex(id.primary));
    expect(toHex(host.service.getId(2).primary)).not.toBe(toHex(id.primary));
    const app = P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(5));
    const cert = parseCert(host.service.endorse(2, { alg: 'ed25519', publicKey: app.publicKey, appData: new Uint8Array([1, 2]) }));
    expect(cert.ext.role).toBe('app');
    expect(toHex(cert.ext.measurement)).toBe(toHex(host.service.getId(2).primary));
    expect(cert.ext.appData).toEqual(new Uint8Array([1, 2]));
    expect(() => host.service.getId(9)).toThrow(TerraError);
  });

  it('policy JSON errors name the field', () => {
    const { host, policy } = setup();
    const bad = { ...policy, allow: { ...policy.allow, tvmm: ['xyz'] } };
    expect(() => new Verifier(createSimContext(), P, [host.rot.manufacturer.certDer], bad)).toThrowError(/allow\.tvmm\[0\]/);
    expect(() => new Verifier(createSimContext(), P, [host.rot.manufacturer.certDer], { ...policy, extra: 1 })).toThrowError(expect.objectContaining({ code: 'MALFORMED' }));
    expect(() => new Verifier(createSimContext(), P, [host.rot.manufacturer.certDer], '{')).toThrowError(expect.objectContaining({ code: 'MALFORMED' }));
  });

  it('the image identity is the descriptor hash and changes with one byte', () => {
    const a = sampleImage();
    const b = a.slice();
    b[b.length - 1000] ^= 1;
    expect(() => parseImage(P, b)).not.toThrow(); // blocks are checked when loaded, not at parse
    const c = sampleImage('bank', 20_001);
    expect(toHex(parseImage(P, a).identity)).not.toBe(toHex(parseImage(P, c).identity));
  });
});

it('the fast certificate parser agrees with @peculiar/asn1-x509 on every certificate we issue', async () => {
  const { roundTripsWithAsn1Library, parseCert: pc } = await import('../../src/attestation/index.js');
  for (const alg of ['ed25519', 'p256'] as const) {
    const { host } = setup({ alg });
    const app = P.keyPairFromSeed(alg, new Uint8Array(32).fill(5));
    for (const der of [...host.service.chain(1), host.rot.manufacturer.certDer, host.service.endorse(1, { alg, publicKey: app.publicKey })]) {
      expect(roundTripsWithAsn1Library(der)).toBe(true);
      expect(pc(der).der).toEqual(der);
    }
  }
});

it('AttestationService(ctx, provider, rot) alone runs measured boot of the default stages', async () => {
  const { AttestationService, RootOfTrust, defaultBootImages } = await import('../../src/attestation/index.js');
  const ctx = createSimContext({ seed: 4 });
  const rot = new RootOfTrust(ctx, P);
  const svc = new AttestationService(ctx, P, rot);
  expect(toHex(svc.tvmmInfo().measurements.tvmm)).toBe(toHex(P.sha256(defaultBootImages().tvmm)));
  expect(svc.tvmmChain()).toHaveLength(4);
  expect(() => new AttestationService(ctx, P, rot)).toThrowError(expect.objectContaining({ code: 'INVALID_STATE' })); // boot runs once per reset
});

it('an oversize quote is MALFORMED in the report (never a thrown RangeError); an unlogged register extend is CLAIMS_MISMATCH', () => {
  const { host, verifier } = setup();
  const n = verifier.issueNonce();
  const r = verifier.verify(new Uint8Array(70_000), n);
  expect(r.failed).toMatchObject({ name: 'decode', code: 'MALFORMED' });
  host.rot.extend(2, P.sha256(new Uint8Array([1]))); // something measured into the TVMM register after boot, outside the chain
  const n2 = verifier.issueNonce();
  expect(verifier.verify(host.service.quote(1, n2), n2).failed).toMatchObject({ name: 'claims', code: 'CLAIMS_MISMATCH' });
});
