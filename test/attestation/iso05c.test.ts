// ISO-05 (c): an open-box VM cannot open a closed-box VM's sealed blobs or encrypted disk.
import { expect, it } from 'vitest';
import { TerraError, createSimContext } from '../../src/sim/index.js';
import { utf8 } from '../../src/crypto/index.js';
import { MemoryBlockDevice, ProtectedDisk, createAttestedHost, createSealedDiskKey } from '../../src/attestation/index.js';
import { P, sampleImage } from './helpers.js';

it('ISO-05(c): the open-box twin gets UNSEAL_ERROR; without the sealed disk key the disk is unreadable', () => {
  const host = createAttestedHost({ seed: 21 });
  const img = sampleImage();
  host.service.registerVm(1, { image: img, mode: 'closed' });
  host.service.registerVm(2, { image: img, mode: 'open' });
  const blob = host.service.seal(1, 'wallet', utf8('closed-box secret'));
  let err: unknown;
  try {
    host.service.unsealBlob(2, blob);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TerraError);
  expect((err as TerraError).code).toBe('UNSEAL_ERROR');
  expect(String((err as TerraError).message)).not.toContain('closed-box secret');
  expect(host.ctx.trace.securityEvents().some((e) => e.kind === 'attest.unseal_error' && e.vm === 2)).toBe(true);

  const ctx = createSimContext({ seed: 2 });
  const dev = new MemoryBlockDevice(512, 32);
  const { key, sealedKey } = createSealedDiskKey(host.rot, ctx.rng.fork('disk'));
  const disk = ProtectedDisk.format(ctx, P, dev, { cls: 'encrypted', key, diskId: 'vm1-data' });
  disk.write(0, new Uint8Array(512).fill(0x5a));
  expect(dev.snapshot().subarray(0, 512).filter((b) => b === 0x5a).length).toBeLessThan(16); // ciphertext, not the plaintext
  expect(() => ProtectedDisk.open(ctx, P, dev, { cls: 'encrypted', key: new Uint8Array(32).fill(1), diskId: 'vm1-data' })).toThrowError(expect.objectContaining({ code: 'INTEGRITY_VIOLATION' }));
  // The key itself is sealed to the TVMM's registers: after booting a different TVMM it does not unseal.
  host.rot.platformReset();
  host.rot.boot({ firmware: new Uint8Array([1]), bootloader: new Uint8Array([2]), tvmm: new Uint8Array([3]) });
  expect(() => host.rot.unseal(sealedKey)).toThrowError(expect.objectContaining({ code: 'UNSEAL_ERROR' }));
});
