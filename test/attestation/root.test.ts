// Root of trust: registers, NV counters with torn writes, measured boot chain; secondary identities; signer-bound sealing.
import { describe, expect, it } from 'vitest';
import { SimulatedCrash, TerraError, createSimContext } from '../../src/sim/index.js';
import { toHex, utf8 } from '../../src/crypto/index.js';
import { RootOfTrust, Verifier, createAttestedHost, decodeQuote, defaultBootImages, parseCert, parseImage, policyFor } from '../../src/attestation/index.js';
import { P, sampleImage } from './helpers.js';

describe('root of trust', () => {
  it('registers extend and only a platform reset zeroes them', () => {
    const rot = new RootOfTrust(createSimContext(), P);
    const d = P.sha256(utf8('x'));
    rot.extend(3, d);
    const v = rot.readPcr(3);
    expect(toHex(v)).toBe(toHex(P.sha256(new Uint8Array([...new Uint8Array(32), ...d]))));
    rot.extend(3, d);
    expect(toHex(rot.readPcr(3))).not.toBe(toHex(v));
    rot.platformReset();
    expect(rot.readPcr(3)).toEqual(new Uint8Array(32));
    expect(() => rot.extend(8, d)).toThrow(RangeError);
    expect(() => rot.extend(0, new Uint8Array(31))).toThrow(RangeError);
  });

  it('NV counters are monotonic; a torn write leaves the previous value readable', () => {
    const rot = new RootOfTrust(createSimContext(), P);
    expect(rot.nv.read('c')).toBe(0);
    expect(rot.nv.increment('c')).toBe(1);
    expect(rot.nv.increment('c')).toBe(2);
    for (const point of ['nv.beforeWrite', 'nv.tornWrite']) {
      rot.faults.arm(point);
      expect(() => rot.nv.increment('c')).toThrow(SimulatedCrash);
      expect(rot.nv.read('c')).toBe(2);
    }
    rot.faults.arm('nv.afterWrite');
    expect(() => rot.nv.increment('c')).toThrow(SimulatedCrash);
    expect(rot.nv.read('c')).toBe(3);
    expect(rot.nv.increment('c')).toBe(4);
    rot.platformReset();
    expect(rot.nv.read('c')).toBe(4);
  });

  it('measured boot: one boot per reset; registers hold the stage measurements; each stage certified by the one below', () => {
    const ctx = createSimContext({ seed: 3 });
    const rot = new RootOfTrust(ctx, P);
    const imgs = defaultBootImages(1);
    const t = rot.boot(imgs);
    expect(() => rot.boot(imgs)).toThrowError(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(toHex(rot.readPcr(2))).toBe(toHex(P.sha256(new Uint8Array([...new Uint8Array(32), ...P.sha256(imgs.tvmm)]))));
    const chain = t.chain.map((c) => parseCert(c));
    expect(chain.map((c) => c.ext.role)).toEqual(['tvmm', 'bootloader', 'firmware', 'device']);
    for (let i = 0; i + 1 < chain.length; i++) expect(P.verify(chain[i + 1].alg, chain[i + 1].publicKey, chain[i].tbs, chain[i].signature)).toBe(true);
    // Same device, same TVMM after a reset: same TVMM key (derived, not stored); another TVMM: another key.
    rot.platformReset();
    expect(toHex(rot.boot(imgs).key.publicKey)).toBe(toHex(t.key.publicKey));
    rot.platformReset();
    expect(toHex(rot.boot(defaultBootImages(2)).key.publicKey)).not.toBe(toHex(t.key.publicKey));
  });
});

describe('identities and sealing policies', () => {
  it('secondary attested disks appear in the quote as secondary identities', () => {
    const host = createAttestedHost({ seed: 4 });
    const main = sampleImage('tap', 9000), extra = sampleImage('firewall-rules', 5000, 4);
    const id = host.service.registerVm(1, { image: main, mode: 'closed', secondary: [extra] });
    expect(id.secondary.map(toHex)).toEqual([toHex(parseImage(P, extra).identity)]);
    const pol = policyFor(host, [id.primary]);
    const v = new Verifier(createSimContext({ seed: 5 }), P, [host.rot.manufacturer.certDer], { ...pol, allow: { ...pol.allow, secondary: id.secondary.map(toHex) } });
    const n = v.issueNonce();
    const q = host.service.quote(1, n);
    expect(v.verify(q, n).ok).toBe(true);
    // Not listed: refused (secondary-disks.test.ts).
    const strict = new Verifier(createSimContext({ seed: 5 }), P, [host.rot.manufacturer.certDer], pol);
    const n2 = strict.issueNonce();
    expect(strict.verify(host.service.quote(1, n2), n2).failed?.code).toBe('MEASUREMENT_MISMATCH');
    expect(decodeQuote(q).claims.measurements.secondary.map(toHex)).toEqual([toHex(parseImage(P, extra).identity)]);
  });

  it('signer policy: a new image version from the same vendor unseals; another signer does not', () => {
    const host = createAttestedHost({ seed: 6 });
    const signer = P.sha256(utf8('vendor key'));
    host.service.registerVm(1, { image: sampleImage('app', 9000, 1), mode: 'closed', signer });
    host.service.registerVm(2, { image: sampleImage('app', 9000, 2), mode: 'closed', signer });
    host.service.registerVm(3, { image: sampleImage('app', 9000, 2), mode: 'closed', signer: P.sha256(utf8('other')) });
    const blob = host.service.seal(1, 'cfg', utf8('settings'), 'signer');
    expect(host.service.unsealBlob(2, blob)).toEqual(utf8('settings'));
    expect(() => host.service.unsealBlob(3, blob)).toThrowError(expect.objectContaining({ code: 'UNSEAL_ERROR' }));
    host.service.registerVm(4, { image: sampleImage('app', 9000, 2), mode: 'closed' });
    expect(() => host.service.seal(4, 'cfg', utf8('x'), 'signer')).toThrow(TerraError);
  });

  it('a policy restricted to Ed25519 refuses a P-256 chain', () => {
    const host = createAttestedHost({ seed: 7, alg: 'p256' });
    const img = sampleImage();
    host.service.registerVm(1, { image: img, mode: 'closed' });
    const v = new Verifier(createSimContext(), P, [host.rot.manufacturer.certDer], policyFor(host, [parseImage(P, img).identity], { algs: ['ed25519'] }));
    const n = v.issueNonce();
    expect(v.verify(host.service.quote(1, n), n).failed?.code).toBe('CHAIN_INVALID');
  });
});

it('NV store and blob store survive save/restore (power loss to a new machine object); bad images are MALFORMED', async () => {
  const { MemoryBlobStore } = await import('../../src/attestation/index.js');
  const h = createAttestedHost({ seed: 12 });
  h.service.registerVm(1, { image: sampleImage(), mode: 'closed' });
  const b1 = h.service.seal(1, 'k', utf8('v1'));
  h.service.seal(1, 'k', utf8('v2'));
  h.rot.faults.arm('nv.tornWrite');
  expect(() => h.rot.nv.increment('other')).toThrow(SimulatedCrash);
  const nvImage = h.rot.nv.save();
  const blobImage = (h.blobs as InstanceType<typeof MemoryBlobStore>).save();
  // A fresh root of trust object for the same device (same seed), NV restored from its image.
  const rot2 = new RootOfTrust(createSimContext({ seed: 12 }), P);
  rot2.nv.restore(nvImage);
  expect(rot2.nv.save()).toEqual(nvImage);
  expect(rot2.nv.read('other')).toBe(0); // the torn write stays invisible
  const h2 = createAttestedHost({ rot: rot2, blobs: MemoryBlobStore.restore(blobImage) });
  h2.service.registerVm(1, { image: sampleImage(), mode: 'closed' });
  expect(h2.service.unseal(1, 'k')).toEqual(utf8('v2'));
  expect(() => h2.service.unsealBlob(1, b1)).toThrowError(expect.objectContaining({ code: 'ROLLBACK_DETECTED' }));
  expect(() => rot2.nv.restore(utf8('nope'))).toThrowError(expect.objectContaining({ code: 'MALFORMED' }));
  expect(rot2.nv.read('other')).toBe(0);
  expect(() => MemoryBlobStore.restore(new Uint8Array([0xa0]))).toThrowError(expect.objectContaining({ code: 'MALFORMED' }));
});

it('one seed gives one trace digest (determinism of the attestation path)', () => {
  const digest = () => {
    const h = createAttestedHost({ seed: 33 });
    h.service.registerVm(1, { image: sampleImage(), mode: 'closed' });
    h.service.quote(1, new Uint8Array(16));
    h.service.seal(1, 'x', utf8('y'));
    try {
      h.service.unsealBlob(1, utf8('garbage-garbage-garbage-garbage-garbage-garbage-garbage-garbage-garbage-garbage-garbage-'));
    } catch {
      /* recorded as a security event */
    }
    return h.ctx.trace.digest();
  };
  expect(digest()).toBe(digest());
});
