/**
 * Terra's image loader reading attested VM images from cluster-volume files (issue 6: the image
 * loader goes through the virtual disk): linked clones of one image file verify; a block the storage
 * host tampers with in one clone is refused by that VM's loader, and the other clone is untouched.
 */
import { describe, expect, it } from 'vitest';
import { TerraError, createSimContext } from '../../src/sim/index.js';
import { ImageLoader, buildImage, parseImage } from '../../src/attestation/index.js';
import { nobleProvider } from '../../src/crypto/index.js';
import { ClusterVolume, MemoryStore, checkVolume, computeLayout, volumeDisk } from '../../src/storage/index.js';

describe('attested images on the cluster volume', () => {
  it('clones of an image file load ahead-of-time; a tampered clone is refused, its sibling still loads', () => {
    const P = nobleProvider;
    const content = new Uint8Array(90_000).map((_, i) => (i * 37 + 11) & 255);
    const img = parseImage(P, buildImage(P, content, { name: 'desk' }));
    const geom = { largeBlocks: 8, inodes: 16, pointerBlocks: 64, journalPages: 32 };
    const store = new MemoryStore(computeLayout(geom).totalSize);
    const vol = ClusterVolume.format(store, geom);
    const base = volumeDisk(vol, 'desk.img', { host: 1, domain: 2, blocks: img.descriptor.blocks });
    base.write(0, img.blockData);
    vol.clone(1, base.ino, 'vm-a.img');
    vol.clone(1, base.ino, 'vm-b.img');
    const a = volumeDisk(vol, 'vm-a.img', { host: 1, domain: 2 });
    const b = volumeDisk(vol, 'vm-b.img', { host: 1, domain: 2 });
    const ctx = createSimContext();
    const la = new ImageLoader(ctx, P, img, a, 'ahead-of-time');
    la.start();
    expect(la.stats().verifiedBlocks).toBe(img.descriptor.blocks);
    expect(la.read(0, 2)).toEqual(img.blockData.subarray(0, 8192));
    // The storage host flips a byte of block 3 of vm-b's file (copy-on-write: only vm-b changes).
    const blk = b.read(3, 1);
    blk[100] ^= 1;
    b.write(3, blk);
    let code = 'OK';
    try {
      new ImageLoader(ctx, P, img, b, 'ahead-of-time').start();
    } catch (e) {
      if (!(e instanceof TerraError)) throw e;
      code = `${e.code}:${String(e.detail.check)}`;
    }
    expect(code).toBe('ATTESTATION_ERROR:IMAGE_BLOCK');
    const la2 = new ImageLoader(ctx, P, img, volumeDisk(vol, 'desk.img', { host: 1, domain: 2 }), 'ahead-of-time');
    la2.start();
    expect(la2.stats().verifiedBlocks).toBe(img.descriptor.blocks);
    expect(checkVolume(store).findings).toEqual([]);
  });
});
