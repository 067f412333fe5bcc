// Attacks on certificate path validation beyond ATT-06: issuers without keyCertSign, end entities
// that claim keyCertSign, pathLenConstraint, duplicate and unknown extensions, a non-CA certificate
// pinned as the anchor, algorithm confusion between a certificate, its issuer and the quote.
import { describe, expect, it } from 'vitest';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { BasicConstraints, Certificate, Extension, KeyUsage, KeyUsageFlags, id_ce_basicConstraints, id_ce_keyUsage } from '@peculiar/asn1-x509';
import { TerraError, createSimContext } from '../../src/sim/index.js';
import type { KeyPair } from '../../src/crypto/index.js';
import { CA_PATH_LEN, Verifier, cborDecode, cborEncode, decodeQuote, encodeQuote, issueCert, parseCert, p1363ToDer, type CertRole } from '../../src/attestation/index.js';
import { P, setup } from './helpers.js';

const Z32 = new Uint8Array(32);
const ROLES = ['manufacturer', 'device', 'firmware', 'bootloader', 'tvmm', 'vm'] as const;
const code = (r: { ok: boolean; failed?: { name: string; code: string } }) => (r.ok ? 'OK' : `${r.failed!.name}:${r.failed!.code}`);

/** Re-signs `der` with `issuer` after `mutate` edits its TBS (the attacker holds the issuing key). */
function resign(der: Uint8Array, issuer: KeyPair, mutate: (c: Certificate) => void): Uint8Array {
  const c = AsnConvert.parse(der, Certificate);
  mutate(c);
  const tbs = new Uint8Array(AsnConvert.serialize(c.tbsCertificate));
  const raw = P.sign(issuer.alg, issuer.secretKey, tbs);
  c.signatureValue = (issuer.alg === 'ed25519' ? raw : p1363ToDer(raw)).slice().buffer;
  return new Uint8Array(AsnConvert.serialize(c));
}

function setExt(c: Certificate, oid: string, value: ArrayBuffer, critical = true): void {
  const exts = c.tbsCertificate.extensions!;
  const i = exts.findIndex((e) => e.extnID === oid);
  const e = new Extension({ extnID: oid, critical, extnValue: new OctetString(value) });
  if (i >= 0) exts[i] = e;
  else exts.push(e);
}
const ku = (flags: number) => AsnConvert.serialize(new KeyUsage(flags));
const bc = (ca: boolean, pathLenConstraint?: number) => AsnConvert.serialize(new BasicConstraints(pathLenConstraint === undefined ? { cA: ca } : { cA: ca, pathLenConstraint }));

/**
 * A whole chain under our own anchor (we hold every key), each certificate optionally edited and
 * re-signed, and a quote whose claims are a genuine quote's. Unedited, it passes chain, root, key
 * and signature and fails at claims (the measurements are zeros): an edit that is caught earlier
 * shows up as a `chain`/`root` failure.
 */
function ownChain(edits: Partial<Record<CertRole, (c: Certificate) => void>> = {}) {
  const { host, policy } = setup();
  const nonce = new Uint8Array(32).fill(9);
  const claims = decodeQuote(host.service.quote(1, nonce)).claims;
  const keys = ROLES.map((_, i) => P.keyPairFromSeed('ed25519', P.sha256(new Uint8Array([i + 1, 3]))));
  const ders = ROLES.map((role, i) => {
    const issuer = keys[Math.max(0, i - 1)];
    const der = issueCert(P, issuer, {
      subjectCN: `own ${role}`,
      issuerCN: `own ${ROLES[Math.max(0, i - 1)]}`,
      subjectKey: keys[i],
      ca: role !== 'vm',
      ext: { role, measurement: Z32, svn: 1, mode: role === 'vm' ? 'closed' : 'none', debug: false, appData: new Uint8Array() },
    });
    return edits[role] ? resign(der, issuer, edits[role]!) : der;
  });
  const chain = ders.slice(1).reverse();
  const quote = encodeQuote(P, keys[5], chain, claims);
  const run = (anchor = ders[0], q = quote) => {
    const v = new Verifier(createSimContext({ seed: 2 }), P, [anchor], policy);
    v.registerNonce(nonce);
    return v.verify(q, nonce);
  };
  return { ders, keys, chain, quote, run, nonce, claims };
}

describe('path validation: key usage and basic constraints', () => {
  it('the unedited own chain gets past the path checks (the baseline the attacks are measured against)', () => {
    expect(code(ownChain().run())).toBe('claims:CLAIMS_MISMATCH');
  });

  it('issued CA certificates carry the per-role pathLenConstraint; end entities have none', () => {
    const { host } = setup();
    const certs = [...host.service.chain(1), host.rot.manufacturer.certDer].map((d) => parseCert(d));
    expect(certs.map((c) => c.pathLen)).toEqual([null, CA_PATH_LEN.tvmm, CA_PATH_LEN.bootloader, CA_PATH_LEN.firmware, CA_PATH_LEN.device, CA_PATH_LEN.manufacturer]);
    expect(certs.map((c) => c.keyUsage.keyCertSign)).toEqual([false, true, true, true, true, true]);
    expect(certs.every((c) => c.keyUsage.digitalSignature)).toBe(true);
  });

  it('an issuer without keyUsage keyCertSign cannot sign the next certificate (CHAIN_INVALID)', () => {
    const r = ownChain({ tvmm: (c) => setExt(c, id_ce_keyUsage, ku(KeyUsageFlags.digitalSignature)) }).run();
    expect(code(r)).toBe('chain:CHAIN_INVALID');
    expect(r.failed!.detail).toMatch(/certificate 1 \(tvmm\) lacks keyUsage keyCertSign/);
  });

  it('an end entity that claims keyCertSign is refused even with cA false', () => {
    const r = ownChain({ vm: (c) => setExt(c, id_ce_keyUsage, ku(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign)) }).run();
    expect(code(r)).toBe('chain:CHAIN_INVALID');
    const r2 = ownChain({ vm: (c) => setExt(c, id_ce_keyUsage, ku(KeyUsageFlags.keyEncipherment)) }).run();
    expect(code(r2)).toBe('chain:CHAIN_INVALID');
  });

  it('pathLenConstraint is enforced: a bootloader limited to 0 CA certificates below cannot certify the TVMM', () => {
    const r = ownChain({ bootloader: (c) => setExt(c, id_ce_basicConstraints, bc(true, 0)) }).run();
    expect(code(r)).toBe('chain:CHAIN_INVALID');
    expect(r.failed!.detail).toMatch(/certificate 2 \(bootloader\) allows 0 CA certificates below it/);
    // The anchor's constraint counts too.
    const a = ownChain({ manufacturer: (c) => setExt(c, id_ce_basicConstraints, bc(true, 2)) }).run();
    expect(code(a)).toBe('root:CHAIN_INVALID');
    expect(a.failed!.detail).toMatch(/the trust anchor allows 2 CA certificates below it/);
    // Exactly enough is fine.
    expect(code(ownChain({ firmware: (c) => setExt(c, id_ce_basicConstraints, bc(true, 2)) }).run())).toBe('claims:CLAIMS_MISMATCH');
  });

  it('a missing keyUsage, a duplicate extension (known or unknown), an unknown critical one are MALFORMED', () => {
    const dropKu = ownChain({ tvmm: (c) => (c.tbsCertificate.extensions = c.tbsCertificate.extensions!.filter((e) => e.extnID !== id_ce_keyUsage) as never) });
    expect(code(dropKu.run())).toBe('decode:MALFORMED');
    const dup = (oid: string, critical: boolean) => (c: Certificate) => {
      const e = new Extension({ extnID: oid, critical, extnValue: new OctetString(new Uint8Array([5, 0]).buffer) });
      c.tbsCertificate.extensions!.push(e, e);
    };
    expect(code(ownChain({ vm: dup('1.3.6.1.4.1.32473.9.9', false) }).run())).toBe('decode:MALFORMED');
    expect(code(ownChain({ vm: (c) => c.tbsCertificate.extensions!.push(c.tbsCertificate.extensions!.find((e) => e.extnID === id_ce_keyUsage)!) }).run())).toBe('decode:MALFORMED');
    expect(code(ownChain({ vm: (c) => c.tbsCertificate.extensions!.push(new Extension({ extnID: '1.3.6.1.4.1.32473.9.8', critical: true, extnValue: new OctetString(new Uint8Array([5, 0]).buffer) })) }).run())).toBe('decode:MALFORMED');
    // One unknown non-critical extension is ignored, as RFC 5280 allows.
    expect(code(ownChain({ vm: (c) => c.tbsCertificate.extensions!.push(new Extension({ extnID: '1.3.6.1.4.1.32473.9.7', extnValue: new OctetString(new Uint8Array([5, 0]).buffer) })) }).run())).toBe('claims:CLAIMS_MISMATCH');
  });
});

describe('trust anchors', () => {
  it('a non-CA certificate cannot be pinned: an ENDORSEd app key would otherwise mint whole chains', () => {
    const { host, policy } = setup();
    const app = P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(4));
    const appCert = host.service.endorse(1, { alg: 'ed25519', publicKey: app.publicKey });
    let err: unknown;
    try {
      new Verifier(createSimContext({ seed: 2 }), P, [appCert], policy);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TerraError);
    expect((err as TerraError).detail.check).toBe('UNTRUSTED_ROOT');
    // A CA anchor without keyCertSign is refused the same way.
    const o = ownChain({ manufacturer: (c) => setExt(c, id_ce_keyUsage, ku(KeyUsageFlags.digitalSignature)) });
    expect(() => o.run()).toThrow(/not a CA certificate/);
  });
});

describe('algorithm confusion', () => {
  it('a quote whose COSE alg disagrees with the leaf key is KEY_MISMATCH, whatever the signature', () => {
    for (const alg of ['ed25519', 'p256'] as const) {
      const { host, verifier } = setup({ alg });
      const n = verifier.issueNonce();
      const q = host.service.quote(1, n);
      const arr = cborDecode(q.subarray(1), 'q') as unknown[];
      const ph = cborDecode(arr[0] as Uint8Array, 'ph') as Map<number, unknown>;
      ph.set(1, alg === 'ed25519' ? -7 : -8);
      arr[0] = cborEncode(ph);
      const body = cborEncode(arr);
      const forged = new Uint8Array(body.length + 1);
      forged[0] = 0xd2;
      forged.set(body, 1);
      expect(code(verifier.verify(forged, n))).toBe('key:KEY_MISMATCH');
    }
  });

  it('a certificate signed with one algorithm under an issuer key of another is refused (MALFORMED or CHAIN_INVALID)', () => {
    // The attacker holds a P-256 key and tries to get a certificate it signed into the path under
    // an Ed25519 issuer.
    const o = ownChain();
    const p256 = P.keyPairFromSeed('p256', new Uint8Array(32).fill(6));
    const vm = resign(o.chain[0], p256, () => {});
    // The label still says Ed25519 (copied from the TBS), but a 70-odd-byte DER ECDSA signature is not
    // an Ed25519 signature: refused at decode.
    expect(() => parseCert(vm)).toThrow(/bad Ed25519 signature length/);
    const q = encodeQuote(P, o.keys[5], [vm, ...o.chain.slice(1)], o.claims);
    expect(code(o.run(undefined, q))).toBe('decode:MALFORMED');
    // Relabelled honestly as ecdsa-with-SHA256, it is well-formed but the issuer key is Ed25519.
    const relabelled = resign(o.chain[0], p256, (c) => {
      c.tbsCertificate.signature.algorithm = '1.2.840.10045.4.3.2';
      c.signatureAlgorithm.algorithm = '1.2.840.10045.4.3.2';
    });
    expect(parseCert(relabelled).sigAlg).toBe('p256');
    const q2 = encodeQuote(P, o.keys[5], [relabelled, ...o.chain.slice(1)], o.claims);
    const r = o.run(undefined, q2);
    expect(code(r)).toBe('chain:CHAIN_INVALID');
    expect(r.failed!.detail).toMatch(/signature does not verify/);
  });
});
