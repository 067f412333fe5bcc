// Sealed storage: binding, tamper, rollback, and every crash point of the seal protocol (ATT-15).
import { describe, expect, it } from 'vitest';
import { SimulatedCrash, TerraError } from '../../src/sim/index.js';
import { utf8 } from '../../src/crypto/index.js';
import { createAttestedHost, defaultBootImages, parseSealedBlob, type AttestedHost } from '../../src/attestation/index.js';
import { sampleImage, errorCode } from './helpers.js';

const code = errorCode;

function host(seed = 5): AttestedHost {
  const h = createAttestedHost({ seed });
  h.service.registerVm(1, { image: sampleImage(), mode: 'closed' });
  return h;
}

/** Power loss: platform reset, boot the same TVMM again, new service over the same NV store and blob store. */
function reboot(h: AttestedHost, tvmmSvn = 1): AttestedHost {
  h.rot.faults.clear();
  h.rot.platformReset();
  const n = createAttestedHost({ rot: h.rot, blobs: h.blobs, boot: defaultBootImages(tvmmSvn) });
  n.service.registerVm(1, { image: sampleImage(), mode: 'closed' });
  return n;
}

describe('sealed storage', () => {
  it('round trip, and the blob store copy unseals after a reboot', () => {
    const h = host();
    h.service.seal(1, 'k', utf8('v1'));
    expect(h.service.unseal(1, 'k')).toEqual(utf8('v1'));
    expect(reboot(h).service.unseal(1, 'k')).toEqual(utf8('v1'));
  });

  it('a different measurement, mode or TVMM cannot unseal (UNSEAL_ERROR); tampering is UNSEAL_ERROR; junk is MALFORMED', () => {
    const h = host();
    const blob = h.service.seal(1, 'k', utf8('secret'));
    h.service.registerVm(2, { image: sampleImage('bank', 20_000, 1), mode: 'closed' });
    h.service.registerVm(3, { image: sampleImage(), mode: 'open' });
    expect(code(() => h.service.unsealBlob(2, blob))).toBe('UNSEAL_ERROR');
    expect(code(() => h.service.unsealBlob(3, blob))).toBe('UNSEAL_ERROR');
    for (let i = 0; i < blob.length; i += 7) {
      const t = blob.slice();
      t[i] ^= 0x40;
      expect(['UNSEAL_ERROR', 'MALFORMED', 'ROLLBACK_DETECTED']).toContain(code(() => h.service.unsealBlob(1, t)));
    }
    expect(code(() => h.service.unsealBlob(1, utf8('hello')))).toBe('MALFORMED');
    const v2 = reboot(h, 2);
    expect(code(() => v2.service.unsealBlob(1, blob))).toBe('UNSEAL_ERROR');
    expect(h.ctx.trace.securityEvents().length).toBeGreaterThan(3);
  });

  it('a replayed older blob is ROLLBACK_DETECTED, also across a power loss', () => {
    const h = host();
    const b1 = h.service.seal(1, 'k', utf8('v1'));
    const b2 = h.service.seal(1, 'k', utf8('v2'));
    expect(parseSealedBlob(b2).sequence).toBe(2);
    expect(code(() => h.service.unsealBlob(1, b1))).toBe('ROLLBACK_DETECTED');
    expect(h.service.unsealBlob(1, b2)).toEqual(utf8('v2'));
    const r = reboot(h);
    expect(code(() => r.service.unsealBlob(1, b1))).toBe('ROLLBACK_DETECTED');
    expect(r.service.unseal(1, 'k')).toEqual(utf8('v2'));
  });

  it('instance policy binds the instance; measurement policy does not (ATT-12 d)', () => {
    const h = host();
    const bi = h.service.seal(1, 'i', utf8('x'), 'instance');
    const bm = h.service.seal(1, 'm', utf8('y'), 'measurement');
    h.service.registerVm(4, { image: sampleImage(), mode: 'closed', instance: 9 });
    expect(code(() => h.service.unsealBlob(4, bi))).toBe('UNSEAL_ERROR');
    expect(h.service.unsealBlob(4, bm)).toEqual(utf8('y'));
  });

  const POINTS = ['seal.beforePersist', 'seal.afterPersist', 'nv.beforeWrite', 'nv.tornWrite', 'nv.afterWrite', 'seal.afterIncrement', 'seal.afterAck'];
  it('the protocol visits every named crash point', () => {
    const h = host();
    h.service.seal(1, 'k', utf8('v'));
    expect(h.rot.faults.seen()).toEqual([...POINTS].sort());
  });
  for (const point of POINTS)
    it(`crash at ${point}: after recovery exactly one of old/new unseals, never both, never neither`, () => {
      const h = host();
      const old = h.service.seal(1, 'k', utf8('old'));
      h.rot.faults.arm(point);
      let newBlob: Uint8Array | undefined;
      expect(() => (newBlob = h.service.seal(1, 'k', utf8('new')))).toThrow(SimulatedCrash);
      const r = reboot(h);
      // The new blob, if it reached the host's storage, is whatever is there besides the old one.
      const stored = r.blobs.keys().map((k) => r.blobs.get(k)!).filter((b) => parseSealedBlob(b).sequence === 2);
      newBlob = stored[0];
      const oldOk = code(() => r.service.unsealBlob(1, old)) === 'OK';
      const newOk = newBlob !== undefined && code(() => r.service.unsealBlob(1, newBlob!)) === 'OK';
      expect(oldOk !== newOk).toBe(true);
      const live = new TextDecoder().decode(r.service.unseal(1, 'k'));
      expect(live).toBe(oldOk ? 'old' : 'new');
      // The state is not bricked: sealing again works and supersedes both.
      r.service.seal(1, 'k', utf8('next'));
      expect(new TextDecoder().decode(r.service.unseal(1, 'k'))).toBe('next');
      expect(code(() => r.service.unsealBlob(1, old))).toBe('ROLLBACK_DETECTED');
    });
});

it('a blob orphaned by a crash never becomes valid when its sequence number is reused (no fork)', () => {
  const h = host();
  h.service.seal(1, 'k', utf8('old'));
  h.rot.faults.arm('seal.afterPersist');
  expect(() => h.service.seal(1, 'k', utf8('orphan'))).toThrow(SimulatedCrash);
  const orphan = h.blobs.keys().map((k) => h.blobs.get(k)!).find((b) => parseSealedBlob(b).sequence === 2)!;
  const r = reboot(h);
  r.service.seal(1, 'k', utf8('next'));
  expect(code(() => r.service.unsealBlob(1, orphan))).toBe('UNSEAL_ERROR');
  expect(new TextDecoder().decode(r.service.unseal(1, 'k'))).toBe('next');
});

it('nonces never repeat across a reboot that replays the seeded stream (no XChaCha nonce reuse)', () => {
  const h = host();
  const b1 = h.service.seal(1, 'k', utf8('first'));
  h.rot.faults.arm('seal.afterPersist');
  expect(() => h.service.seal(1, 'k', utf8('second'))).toThrow(SimulatedCrash);
  const orphan = h.blobs.keys().map((k) => h.blobs.get(k)!).find((b) => parseSealedBlob(b).sequence === 2)!;
  const r = reboot(h);
  const b2 = r.service.seal(1, 'k', utf8('third!'));
  const nonces = [b1, orphan, b2].map((b) => Buffer.from(parseSealedBlob(b).nonce).toString('hex'));
  expect(new Set(nonces).size).toBe(3);
});
