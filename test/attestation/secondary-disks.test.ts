// Attack: attach an unlisted secondary attested disk (say, a configuration or plug-in disk) to a VM
// whose primary image the verifier allows. The quote names the disk, but a verifier that checks only
// the primary identity accepts whatever rides along.
import { describe, expect, it } from 'vitest';
import { createSimContext } from '../../src/sim/index.js';
import { toHex } from '../../src/crypto/index.js';
import { Verifier, createAttestedHost, parseImage, policyFor, signVendorStatement } from '../../src/attestation/index.js';
import { P, sampleImage } from './helpers.js';

function world() {
  const host = createAttestedHost({ seed: 11 });
  const main = sampleImage('bank');
  const plugin = sampleImage('plugin', 9000, 4);
  host.service.registerVm(1, { image: main, mode: 'closed', secondary: [plugin] });
  const primary = parseImage(P, main).identity;
  const secondary = parseImage(P, plugin).identity;
  const verify = (extra: object = {}, statements: Uint8Array[] = []) => {
    const v = new Verifier(createSimContext({ seed: 12 }), P, [host.rot.manufacturer.certDer], { ...policyFor(host, [primary]), ...extra });
    const n = v.issueNonce();
    const r = v.verify(host.service.quote(1, n), n, { vendorStatements: statements });
    return r.ok ? 'OK' : `${r.failed!.name}:${r.failed!.code}`;
  };
  return { host, primary, secondary, verify };
}

describe('secondary attested disks', () => {
  it('an allowed primary with an unlisted secondary disk is MEASUREMENT_MISMATCH (fail-closed)', () => {
    const w = world();
    expect(w.verify()).toBe('vm:MEASUREMENT_MISMATCH');
  });

  it('listing the disk in allow.secondary, or a pinned vendor vouching for it, accepts it', () => {
    const w = world();
    const pol = policyFor(w.host, [w.primary]);
    expect(w.verify({ allow: { ...pol.allow, secondary: [toHex(w.secondary)] } })).toBe('OK');
    const vendor = P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(8));
    const st = signVendorStatement(P, vendor, { measurement: w.secondary, product: 'plugin', version: '1' });
    expect(w.verify({ vendors: [{ name: 'PluginCo', alg: 'ed25519', publicKey: toHex(vendor.publicKey) }] }, [st])).toBe('OK');
    // A statement for the primary does not vouch for the secondary.
    const stPrimary = signVendorStatement(P, vendor, { measurement: w.primary, product: 'bank', version: '1' });
    expect(w.verify({ vendors: [{ name: 'PluginCo', alg: 'ed25519', publicKey: toHex(vendor.publicKey) }] }, [stPrimary])).toBe('vm:MEASUREMENT_MISMATCH');
  });

  it('a VM without secondary disks is unaffected', () => {
    const host = createAttestedHost({ seed: 11 });
    host.service.registerVm(1, { image: sampleImage('bank'), mode: 'closed' });
    const v = new Verifier(createSimContext({ seed: 12 }), P, [host.rot.manufacturer.certDer], policyFor(host, [parseImage(P, sampleImage('bank')).identity]));
    const n = v.issueNonce();
    expect(v.verify(host.service.quote(1, n), n).ok).toBe(true);
  });
});
