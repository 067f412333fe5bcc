// Attack: the management VM (the host's administrator) creates a VM from its own image and claims
// that a trusted vendor signed it, to read data other VMs sealed under the `signer` policy. The
// signer is a property the registrant asserts (AttestationService.registerVm is called by the TVMM);
// CREATE-VM must not let the administrator choose it.
import { describe, expect, it } from 'vitest';
import { Host, type GuestOs, type GuestPlatform } from '../../src/tvmm/index.js';
import { TerraError } from '../../src/sim/index.js';
import { utf8 } from '../../src/crypto/index.js';
import { sampleImage } from './helpers.js';

describe('signer-bound sealing through CREATE-VM', () => {
  it('a signer named in the VM spec is not taken: the VM has no signer identity and cannot use the signer policy', () => {
    let plat: GuestPlatform | undefined;
    const guest: GuestOs = { boot(p) { plat = p; }, interrupt() {}, run: () => 'idle' };
    const tvmm = new Host({ seed: 3, machineMiB: 32 }).boot();
    const vendorKeyHash = new Uint8Array(32).fill(0xbb);
    const id = tvmm.createVm({ name: 'evil', kind: 'closed-box', pages: 64, guest, image: sampleImage('evil', 9000, 9), signer: vendorKeyHash } as never);
    tvmm.power(id, 'on');
    tvmm.run({ maxSlices: 2 });
    expect(plat).toBeDefined();
    let err: unknown;
    try {
      plat!.attestation().seal('cfg', utf8('x'), 'signer');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TerraError);
    expect((err as TerraError).code).toBe('UNSEAL_ERROR');
    expect((err as TerraError).detail.reason).toBe('no-signer');
  });
});
