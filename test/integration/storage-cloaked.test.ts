/**
 * Cloaked files (Overshadow) on a virtual disk that is a cluster-volume file: the guest fs writes
 * them through the TVMM's DMA path, which encrypts cloaked pages, so the shared volume never holds
 * their plaintext (issue 6: cloaked files go through the virtual disk).
 */
import { describe, expect, it } from 'vitest';
import { O, SEEK, SYS, MAP, PROT, bootGuest } from '../../src/guest/index.js';
import { attachCloaking } from '../../src/cloaking/index.js';
import { Host, type ProgramFn } from '../../src/tvmm/index.js';
import { ClusterVolume, DedupEngine, MemoryStore, checkVolume, computeLayout, volumeDisk } from '../../src/storage/index.js';

describe('cloaked files on a cluster-volume disk', () => {
  it('round-trip for the app; the volume holds only ciphertext; DeDe and the checker see a sound volume', () => {
    const geom = { largeBlocks: 16, inodes: 32, pointerBlocks: 256, journalPages: 64 };
    const store = new MemoryStore(computeLayout(geom).totalSize);
    const vol = ClusterVolume.format(store, geom);
    const dede = new DedupEngine(vol);
    const text = 'cloaked file contents '.repeat(400);
    let got = '';
    const main: ProgramFn = function* (p) {
      const buf = yield* p.syscall(SYS.mmap, [0, 16 * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      p.write(buf, new TextEncoder().encode('/cloaked/f\0'));
      const fd = yield* p.syscall(SYS.open, [buf, O.CREAT | O.RDWR, 0o600]);
      const data = new TextEncoder().encode(text);
      p.write(buf + 4096, data);
      yield* p.syscall(SYS.write, [fd, buf + 4096, data.length]);
      yield* p.syscall(SYS.fsync, [fd]);
      yield* p.syscall(SYS.lseek, [fd, 0, SEEK.SET]);
      const n = yield* p.syscall(SYS.read, [fd, buf + 8 * 4096, data.length]);
      got = new TextDecoder().decode(p.read(buf + 8 * 4096, n));
      yield* p.syscall(SYS.close, [fd]);
      return 0;
    };
    const host = new Host({ seed: 9, machineMiB: 128 });
    const tvmm = host.boot();
    const engine = attachCloaking(tvmm, { cloakPrograms: ['main'] });
    const disk = volumeDisk(vol, 'secret.vmdk', { host: 1, domain: 3, blocks: 1024, dedup: dede });
    const g = bootGuest({ host, programs: { main }, rootDisk: disk, kernel: { init: 'main' } });
    tvmm.run({ untilNs: 20e9 });
    expect(tvmm.vm(g.vmId).state).toBe('off');
    expect(got).toBe(text);
    expect(engine.stats().violations).toBe(0);
    expect(vol.stats().dataBytesWritten).toBeGreaterThan(text.length);
    const all = Buffer.from(store.read(0, store.size));
    expect(all.indexOf('cloaked file contents')).toBe(-1);
    expect(all.indexOf('TCFS')).toBeGreaterThanOrEqual(0); // the guest fs superblock magic, in the clear: the scan does find guest data
    disk.flush();
    dede.pass(1);
    expect(checkVolume(store).findings).toEqual([]);
  });
});
