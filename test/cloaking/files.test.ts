import { describe, expect, it } from 'vitest';
import { MAP, O, PROT, SEEK, SYS, USER_LAYOUT } from '../../src/guest/abi.js';
import { MemoryNvStore } from '../../src/cloaking/index.js';
import { MemoryDisk, type ProgramFn, type Proc, type TrapRequest } from '../../src/tvmm/index.js';
import { bootCloaked, leakScan, type Inode } from '../../src/testing/index.js';

const VA = USER_LAYOUT.textBase;
type G = Generator<TrapRequest, number, number>;
const secret = new Uint8Array(2 * 4096).map((_, i) => (i * 193 + 17) & 255);

function* openF(p: Proc, path = '/cloaked/m'): G {
  p.write(VA, new TextEncoder().encode(path + '\0'));
  return yield* p.syscall(SYS.open, [VA, O.CREAT | O.RDWR, 0o600]);
}

describe('cloaked files', () => {
  it('mmap of a cloaked file: the mapping shows the plaintext, writes through it persist, read() on a mapped fd is EBUSY', () => {
    const seen: string[] = [];
    const app: ProgramFn = function* (p: Proc): G {
      const fd = yield* openF(p);
      if (p.argv[0] === 'create') {
        p.write(VA + 4096, secret);
        yield* p.syscall(SYS.write, [fd, VA + 4096, secret.length]);
      } else if (p.argv[0] === 'map') {
        const a = yield* p.syscall(SYS.mmap, [0, 2 * 4096, PROT.READ | PROT.WRITE, MAP.SHARED, fd]);
        seen.push(p.read(a, 2 * 4096).every((b, i) => b === secret[i]) ? 'mapped ok' : 'mapped WRONG');
        seen.push(`read while mapped ${(yield* p.syscall(SYS.read, [fd, VA + 4096, 16])) | 0}`);
        p.store8(a + 4096 + 5, 0xee);
        yield* p.syscall(SYS.munmap, [a, 2 * 4096]);
      } else {
        yield* p.syscall(SYS.lseek, [fd, 4096 + 5, SEEK.SET]);
        yield* p.syscall(SYS.read, [fd, VA + 4096, 1]);
        seen.push(`after ${p.load8(VA + 4096).toString(16)}`);
      }
      yield* p.syscall(SYS.close, [fd]);
      return 0;
    };
    const w = bootCloaked({ programs: { app }, start: [] });
    for (const step of ['create', 'map', 'check']) {
      const tid = w.kernel.spawn('app', [step]);
      w.run();
      expect(w.kernel.exited.get(tid), step).toBe(0);
    }
    expect(seen).toEqual(['mapped ok', 'read while mapped -16', 'after ee']);
    expect(leakScan(w, secret.subarray(0, 4096))).toEqual([]);
  });

  it('a cloaked file survives a TVMM crash and recovery from the NV store (model C2), and its metadata stays fresh', () => {
    const disk = new MemoryDisk(4096);
    const fs = new Map<string, Inode>();
    const nv = new MemoryNvStore();
    const got: boolean[] = [];
    const app: ProgramFn = function* (p: Proc): G {
      const fd = yield* openF(p, '/cloaked/crash');
      if (p.argv[0] === 'write') {
        p.write(VA + 4096, secret);
        yield* p.syscall(SYS.write, [fd, VA + 4096, secret.length]);
      } else {
        const n = yield* p.syscall(SYS.read, [fd, VA + 4096, secret.length]);
        got.push(n === secret.length && p.read(VA + 4096, n).every((b, i) => b === secret[i]));
      }
      yield* p.syscall(SYS.close, [fd]);
      return 0;
    };
    const w1 = bootCloaked({ programs: { app }, start: [], disk, fs, cloaking: { nv } });
    w1.kernel.spawn('app', ['write']);
    w1.run();
    // Power loss: only the disk, the directory and the NV store survive.
    const w2 = bootCloaked({ programs: { app }, start: [], disk, fs, cloaking: { nv: MemoryNvStore.fromSnapshot(nv.snapshot()) } });
    const tid = w2.kernel.spawn('app', ['read']);
    w2.run();
    expect(w2.kernel.exited.get(tid)).toBe(0);
    expect(got).toEqual([true]);
    expect(w2.engine.epoch).toBe(2);
    // A store that forgot the file's counter (rolled back NV state) cannot be fooled into accepting it silently either.
    const w3 = bootCloaked({ programs: { app }, start: [], disk, fs, cloaking: { nv: new MemoryNvStore(nv.getSecret()) } });
    const t3 = w3.kernel.spawn('app', ['read']);
    w3.run();
    expect(w3.kernel.exited.get(t3)).toBe('killed:ROLLBACK_DETECTED');
  });
});
