import { describe, expect, it } from 'vitest';
import { MemoryDisk } from '../../src/tvmm/index.js';
import { FSLAYOUT, MAP, O, PROT, introspect, libc as c } from '../../src/guest/index.js';
import { bootMain, runMain } from './helpers.js';

describe('the guest filesystem', () => {
  it('persists files to the root disk and reads them back after a reboot on a new host', () => {
    const disk = new MemoryDisk(2048);
    const big = new Uint8Array(200 * 1024).map((_, i) => (i * 13 + 5) & 0xff); // > 12 direct blocks: uses the indirect block
    const a = runMain(function* (p) {
      const fd = yield* c.open(p, 'big.bin', O.RDWR | O.CREAT);
      yield* c.write(p, fd, big);
      yield* c.fsync(p, fd);
      const fd2 = yield* c.open(p, 'small.txt', O.WRONLY | O.CREAT);
      yield* c.write(p, fd2, 'persisted');
      yield* c.close(p, fd2);
      const fd3 = yield* c.open(p, 'gone.txt', O.WRONLY | O.CREAT);
      yield* c.write(p, fd3, 'bye');
      yield* c.close(p, fd3);
      yield* c.unlink(p, 'gone.txt');
      return 0;
    }, { rootDisk: disk, seed: 1 });
    expect(a.console[0]).toMatch(/fs formatted/);
    const sb = new DataView(disk.peek(0).buffer);
    expect(sb.getUint32(0, true)).toBe(FSLAYOUT.magic);
    const r: Record<string, unknown> = {};
    const b = runMain(function* (p) {
      const fd = yield* c.open(p, 'big.bin', O.RDONLY);
      const got = yield* c.readAll(p, fd);
      r.big = typeof got !== 'number' && got.length === big.length && got.every((x, i) => x === big[i]);
      const fd2 = yield* c.open(p, 'small.txt', O.RDONLY);
      const s = yield* c.readAll(p, fd2);
      r.small = typeof s === 'number' ? s : c.text(s);
      r.gone = yield* c.open(p, 'gone.txt', O.RDONLY);
      return 0;
    }, { rootDisk: disk, seed: 2 });
    expect(b.console[0]).toMatch(/fs mounted/);
    expect(r).toEqual({ big: true, small: 'persisted', gone: -2 });
    expect(b.kernel.files()).toEqual(['big.bin', 'small.txt']);
  });

  it('without a disk the filesystem lives in guest memory only', () => {
    const g = runMain(function* (p) {
      const fd = yield* c.open(p, 'ram.txt', O.RDWR | O.CREAT);
      yield* c.write(p, fd, 'hi');
      return (yield* c.fsync(p, fd)) === 0 ? 0 : 1;
    });
    expect(g.console[0]).toMatch(/fs ram/);
    expect(g.kernel.fsStats().persistent).toBe(false);
    expect(g.kernel.files()).toEqual(['ram.txt']);
  });

  it('an unlinked file stays readable through an open descriptor until its last close', () => {
    const r: unknown[] = [];
    runMain(function* (p) {
      const fd = yield* c.open(p, 'tmp', O.RDWR | O.CREAT);
      yield* c.write(p, fd, 'still here');
      r.push(yield* c.unlink(p, 'tmp'));
      yield* c.lseek(p, fd, 0);
      const b = yield* c.readAll(p, fd);
      r.push(typeof b === 'number' ? b : c.text(b));
      r.push(yield* c.open(p, 'tmp', O.RDONLY));
      return 0;
    }, { rootDiskBlocks: 256 });
    expect(r).toEqual([0, 'still here', -2]);
  });

  it('a mapped file keeps its inode after unlink until unmapped (and across fork), then it is freed', () => {
    const snaps: { ino: number; name: string; size: number; nlink: number }[][] = [];
    const g = bootMain(function* (p) {
      const snap = () => snaps.push([...introspect((gpa, len) => g.kernel.access.phys.read(gpa, len)).inodes]);
      const fd = yield* c.open(p, 'm', O.RDWR | O.CREAT);
      yield* c.write(p, fd, new Uint8Array(8192).fill(7));
      const a = yield* c.mmap(p, 8192, PROT.READ, MAP.SHARED, fd);
      yield* c.close(p, fd);
      yield* c.unlink(p, 'm');
      snap(); // mapped, unlinked
      const pid = yield* c.fork(p, function* (ch) {
        yield* c.munmap(ch, a, 8192);
        return 0;
      });
      yield* c.waitpid(p, pid);
      yield* c.munmap(p, a + 4096, 4096); // trim: still mapped
      snap();
      const v = p.load8(a);
      yield* c.munmap(p, a, 4096);
      snap(); // gone
      return v;
    }, { rootDiskBlocks: 256 });
    g.tvmm.run({ untilNs: 1e9 });
    expect(snaps).toEqual([[{ ino: 1, name: '', size: 8192, nlink: 0 }], [{ ino: 1, name: '', size: 8192, nlink: 0 }], []]);
  });

  it('the built-in file-io program verifies its data on a disk-backed fs, and a full disk gives -ENOSPC', () => {
    const r: number[] = [];
    const g = runMain(function* (p) {
      const pid = yield* c.fork(p, function* (ch) {
        yield* c.exec(ch, 'file-io', ['f.bin', '64']);
        return 1;
      });
      yield* c.waitpid(p, pid);
      const fd = yield* c.open(p, 'huge', O.RDWR | O.CREAT);
      const w = yield* c.write(p, fd, new Uint8Array(200 * 1024));
      r.push(w, yield* c.fsync(p, fd));
      return 0;
    }, { rootDiskBlocks: 64 });
    expect(r).toEqual([200 * 1024, -28]);
    expect(g.console).toContain('file-io: f.bin 65536 bytes ok');
  });
});
