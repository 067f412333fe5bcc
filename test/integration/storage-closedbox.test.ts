/**
 * A closed-box VM's Terra-encrypted disk (src/attestation ProtectedDisk) stacked on a cluster-volume
 * file: the volume holds only ciphertext; reopened from the store, a second boot reads the files
 * back; a block the storage host flips is an IO error in the guest, never silently wrong data.
 */
import { describe, expect, it } from 'vitest';
import { bootGuest } from '../../src/guest/index.js';
import { Host } from '../../src/tvmm/index.js';
import { ProtectedDisk } from '../../src/attestation/index.js';
import { nobleProvider } from '../../src/crypto/index.js';
import { ClusterVolume, MemoryStore, checkVolume, computeLayout, volumeDisk } from '../../src/storage/index.js';
import { STORAGE_PROGRAMS, storageContent } from '../../src/demo/storage.js';

describe('closed-box VM disk: Terra encryption over a volume file', () => {
  it('only ciphertext on the volume; a second boot reads back; tampering is detected', () => {
    const geom = { largeBlocks: 8, inodes: 16, pointerBlocks: 64, journalPages: 32 };
    const store = new MemoryStore(computeLayout(geom).totalSize);
    const vol = ClusterVolume.format(store, geom);
    const key = new Uint8Array(32).fill(7);
    const o = { cls: 'encrypted' as const, key, diskId: 'bank-root' };
    const h1 = new Host({ seed: 21, machineMiB: 64 });
    h1.boot();
    const pd = ProtectedDisk.format(h1.sim, nobleProvider, volumeDisk(vol, 'bank.vmdk', { host: 1, domain: 9, blocks: 512 }), o);
    const a = bootGuest({ host: h1, name: 'bank', kind: 'closed-box', run: ['put ledger.bin 31 64'], programs: STORAGE_PROGRAMS, rootDisk: pd });
    h1.tvmm.run({ untilNs: 60e9 });
    expect(h1.tvmm.vm(a.vmId).state).toBe('off');
    const all = Buffer.from(store.read(0, store.size));
    expect(all.indexOf(Buffer.from(storageContent(31, 64).subarray(0, 64)))).toBe(-1);
    expect(all.indexOf('bank.vmdk')).toBeGreaterThanOrEqual(0); // the volume's own metadata is in the clear: the scan works
    const vol2 = ClusterVolume.open(store);
    const h2 = new Host({ seed: 22, machineMiB: 64 });
    h2.boot();
    const disk2 = volumeDisk(vol2, 'bank.vmdk', { host: 1, domain: 9 });
    const b = bootGuest({ host: h2, name: 'bank2', kind: 'closed-box', run: ['bigread 16 ledger.bin 31 64'], programs: STORAGE_PROGRAMS, rootDisk: ProtectedDisk.open(h2.sim, nobleProvider, disk2, o) });
    h2.tvmm.run({ untilNs: 60e9 });
    expect(h2.tvmm.consoleLines.filter((l) => l.vm === b.vmId).map((l) => l.line)).toContain('bigread ledger.bin ok');
    expect(checkVolume(store).findings).toEqual([]);
    // The storage host flips one byte in every allocated data block of the file (but not the protected disk's table).
    const meta = ProtectedDisk.metaBlocks(disk2);
    for (let blk = 1; blk < disk2.blocks - meta; blk++) {
      const x = disk2.read(blk, 1);
      if (x.every((v) => v === 0)) continue;
      x[9] ^= 0x40;
      disk2.write(blk, x);
    }
    const h3 = new Host({ seed: 23, machineMiB: 64 });
    h3.boot();
    const c = bootGuest({ host: h3, name: 'bank3', kind: 'closed-box', run: ['bigread 16 ledger.bin 31 64'], programs: STORAGE_PROGRAMS, rootDisk: ProtectedDisk.open(h3.sim, nobleProvider, disk2, o) });
    h3.tvmm.run({ untilNs: 60e9 });
    const out3 = h3.tvmm.consoleLines.filter((l) => l.vm === c.vmId).map((l) => l.line);
    expect(out3).not.toContain('bigread ledger.bin ok');
    expect(h3.sim.trace.events().some((e) => e.kind === 'disk.io-error')).toBe(true);
  });
});
