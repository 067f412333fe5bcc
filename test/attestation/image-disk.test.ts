// VM image verification modes (Terra §4.2) and protected virtual disks (Terra §4.3).
import { describe, expect, it } from 'vitest';
import { TerraError, createSimContext } from '../../src/sim/index.js';
import { ImageLoader, MemoryBlockDevice, ProtectedDisk, RootOfTrust, createSealedDiskKey, imageDisk, parseImage } from '../../src/attestation/index.js';
import { P, sampleImage } from './helpers.js';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof TerraError) return `${e.code}${e.detail.check ? ':' + e.detail.check : ''}`;
    throw e;
  }
  return 'OK';
};

describe('image loader', () => {
  const img = parseImage(P, sampleImage('bank', 40_000));
  it('ahead-of-time verifies everything up front and refuses a bad block before the VM runs', () => {
    const ctx = createSimContext();
    const disk = imageDisk(img);
    const l = new ImageLoader(ctx, P, img, disk, 'ahead-of-time');
    l.start();
    expect(l.stats().verifiedBlocks).toBe(img.descriptor.blocks);
    const t0 = ctx.clock.now;
    // After pinning, host tampering with the disk has no effect.
    const raw = disk.snapshot();
    raw[5] ^= 1;
    disk.restore(raw);
    expect(l.read(0, 2)).toEqual(img.blockData.subarray(0, 2 * 4096));
    expect(ctx.clock.now).toBe(t0);
    const bad = imageDisk(img);
    bad.restore(raw);
    const l2 = new ImageLoader(ctx, P, img, bad, 'ahead-of-time');
    expect(code(() => l2.start())).toBe('ATTESTATION_ERROR:IMAGE_BLOCK');
  });
  it('optimistic verifies lazily, halts at the first bad block, re-verifies after eviction', () => {
    const ctx = createSimContext();
    const disk = imageDisk(img);
    const l = new ImageLoader(ctx, P, img, disk, 'optimistic');
    l.start();
    expect(l.stats().verifiedBlocks).toBe(0);
    expect(l.read(0, 3)).toEqual(img.blockData.subarray(0, 3 * 4096));
    expect(l.stats().verifiedBlocks).toBe(3);
    l.read(1, 1);
    expect(l.stats().verifiedBlocks).toBe(3); // resident
    l.evict(1);
    const raw = disk.snapshot();
    raw[4096 + 10] ^= 0xff; // the host changes block 1 while it is paged out
    disk.restore(raw);
    expect(code(() => l.read(1, 1))).toBe('VM_HALTED');
    expect(l.halted).toBe(true);
    expect(code(() => l.read(0, 1))).toBe('VM_HALTED');
    expect(l.stats().reverified).toBe(1);
  });
  it('no-attestation mode serves whatever the disk holds', () => {
    const disk = imageDisk(img);
    const raw = disk.snapshot();
    raw[0] ^= 1;
    disk.restore(raw);
    const l = new ImageLoader(createSimContext(), P, img, disk, 'none');
    l.start();
    expect(l.read(0, 1)[0]).toBe(raw[0]);
  });
});

describe('protected disks', () => {
  for (const cls of ['encrypted', 'integrity', 'raw'] as const)
    it(`${cls}: round trip; tampering ${cls === 'raw' ? 'is not detected' : 'is detected'}`, () => {
      const ctx = createSimContext();
      const dev = new MemoryBlockDevice(512, 64);
      const key = new Uint8Array(32).fill(9);
      const d = ProtectedDisk.format(ctx, P, dev, { cls, key, diskId: 'd0' });
      const data = new Uint8Array(1024).map((_, i) => i & 0xff);
      d.write(3, data);
      expect(d.read(3, 2)).toEqual(data);
      const raw = dev.snapshot();
      if (cls === 'encrypted') expect(raw.subarray(3 * 512, 5 * 512)).not.toEqual(data);
      raw[3 * 512 + 1] ^= 1;
      dev.restore(raw);
      expect(code(() => d.read(3, 1))).toBe(cls === 'raw' ? 'OK' : 'INTEGRITY_VIOLATION');
      // Re-open from the device: metadata MAC checked.
      if (cls !== 'raw') {
        expect(code(() => ProtectedDisk.open(ctx, P, dev, { cls, key, diskId: 'd0' }).read(4, 1))).toBe('OK');
        expect(code(() => ProtectedDisk.open(ctx, P, dev, { cls, key: new Uint8Array(32), diskId: 'd0' }))).toBe('INTEGRITY_VIOLATION');
      }
    });
  it('a replayed older block with its metadata is detected at runtime; whole-disk rollback with a counter at open', () => {
    const ctx = createSimContext();
    const rot = new RootOfTrust(ctx, P);
    const dev = new MemoryBlockDevice(512, 64);
    const key = new Uint8Array(32).fill(1);
    const opts = { cls: 'integrity' as const, key, diskId: 'd1', counter: { rot, name: 'disk/d1' } };
    const d = ProtectedDisk.format(ctx, P, dev, opts);
    d.write(0, new Uint8Array(512).fill(1));
    const old = dev.snapshot();
    d.write(0, new Uint8Array(512).fill(2));
    const cur = dev.snapshot();
    const mix = cur.slice();
    mix.set(old.subarray(0, 512), 0);
    dev.restore(mix);
    expect(code(() => d.read(0, 1))).toBe('INTEGRITY_VIOLATION');
    dev.restore(old);
    expect(code(() => ProtectedDisk.open(ctx, P, dev, opts))).toBe('ROLLBACK_DETECTED');
    dev.restore(cur);
    expect(ProtectedDisk.open(ctx, P, dev, opts).read(0, 1)[0]).toBe(2);
  });
  it('attested disks refuse writes; disk keys are sealed to the TVMM registers', () => {
    const ctx = createSimContext();
    const dev = new MemoryBlockDevice(512, 16);
    const d = ProtectedDisk.format(ctx, P, dev, { cls: 'raw', diskId: 'a', attested: true });
    expect(code(() => d.write(0, new Uint8Array(512)))).toBe('INVALID_STATE');
    const rot = new RootOfTrust(ctx, P);
    rot.extend(2, new Uint8Array(32).fill(7));
    const { key, sealedKey } = createSealedDiskKey(rot, ctx.rng.fork('k'));
    expect(rot.unseal(sealedKey)).toEqual(key);
    rot.extend(2, new Uint8Array(32).fill(8));
    expect(code(() => rot.unseal(sealedKey))).toBe('UNSEAL_ERROR');
  });
});
