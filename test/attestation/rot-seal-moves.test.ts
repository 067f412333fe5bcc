// Attacks on the root of trust's own sealing (TPM-style, used for disk keys): move a blob to another
// device, rewrite its register selection, unseal after another TVMM booted.
import { describe, expect, it } from 'vitest';
import { TerraError, createSimContext } from '../../src/sim/index.js';
import { utf8 } from '../../src/crypto/index.js';
import { RootOfTrust, createAttestedHost, defaultBootImages } from '../../src/attestation/index.js';
import { P, errorCode } from './helpers.js';

const code = errorCode;

describe('root-of-trust sealing', () => {
  it('a blob opens only on its device, under its register selection and values', () => {
    const h = createAttestedHost({ seed: 21 });
    const blob = h.rot.seal(utf8('disk key'), [0, 1, 2]);
    expect(h.rot.unseal(blob)).toEqual(utf8('disk key'));
    // Same manufacturer, another device (another device secret): UNSEAL_ERROR.
    const other = new RootOfTrust(h.ctx, P, { manufacturer: h.rot.manufacturer, deviceLabel: 'device-9' });
    other.boot(defaultBootImages());
    expect(code(() => other.unseal(blob))).toBe('UNSEAL_ERROR');
    // Another seed's device with identical boot: UNSEAL_ERROR.
    const far = createAttestedHost({ seed: 22 });
    expect(code(() => far.rot.unseal(blob))).toBe('UNSEAL_ERROR');
    // Rewriting the selection mask (to registers that are still zero, or a subset): UNSEAL_ERROR.
    for (const mask of [0b1000, 0b011, 0b1111, 0xff]) {
      const t = blob.slice();
      t[5] = mask;
      expect(code(() => h.rot.unseal(t)), `mask ${mask}`).toBe('UNSEAL_ERROR');
    }
    const z = blob.slice();
    z[5] = 0;
    expect(code(() => h.rot.unseal(z))).toBe('MALFORMED');
    // Extending a register outside the selection changes nothing; inside it, the blob is gone.
    h.rot.extend(5, P.sha256(utf8('late measurement')));
    expect(h.rot.unseal(blob)).toEqual(utf8('disk key'));
    h.rot.extend(2, P.sha256(utf8('tvmm plug-in')));
    expect(code(() => h.rot.unseal(blob))).toBe('UNSEAL_ERROR');
  });

  it('after a reboot into another TVMM version the blob does not open; back on the original it does', () => {
    const ctx = createSimContext({ seed: 23 });
    const rot = new RootOfTrust(ctx, P);
    rot.boot(defaultBootImages(2));
    const blob = rot.seal(utf8('k'));
    rot.platformReset();
    rot.boot(defaultBootImages(1));
    expect(code(() => rot.unseal(blob))).toBe('UNSEAL_ERROR');
    rot.platformReset();
    rot.boot(defaultBootImages(2));
    expect(rot.unseal(blob)).toEqual(utf8('k'));
  });
});
