/**
 * Cloaked programs under the project's guest OS (src/guest: GuestKernel with VMAs, page cache,
 * filesystem, adversary hooks) rather than the test kernel.
 */
import { describe, expect, it } from 'vitest';
import { MAP, O, PROT, SEEK, SYS } from '../../src/guest/abi.js';
import { bootGuest, type KernelAdversary } from '../../src/guest/index.js';
import { attachCloaking } from '../../src/cloaking/index.js';
import { Host, type ProgramFn } from '../../src/tvmm/index.js';

function boot(main: ProgramFn, adversary: KernelAdversary | undefined, extra: Record<string, ProgramFn> = {}) {
  const host = new Host({ seed: 9, machineMiB: 128 });
  const tvmm = host.boot();
  const engine = attachCloaking(tvmm, { cloakPrograms: ['main'] });
  const g = bootGuest({ host, programs: { main, ...extra }, rootDiskBlocks: 4096, kernel: { init: 'main', ...(adversary ? { adversary } : {}) } });
  return { ...g, engine };
}

describe('cloaking under the guest OS', () => {
  it('the kernel reads ciphertext of an mmap-ed cloaked page; the app keeps its plaintext; console output is marshalled', () => {
    const secret = new Uint8Array(4096).map((_, i) => (i * 71 + 5) & 255);
    let back: Uint8Array | undefined;
    let seen: Uint8Array | undefined;
    let addr = 0;
    const main: ProgramFn = function* (p) {
      addr = yield* p.syscall(SYS.mmap, [0, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      p.write(addr, secret);
      yield* p.syscall(SYS.getpid);
      back = p.read(addr, 4096);
      p.write(addr + 100, new TextEncoder().encode('hi from a cloaked app'));
      yield* p.syscall(SYS.write, [1, addr + 100, 21]);
      yield* p.syscall(SYS.exit, [0]);
      return 0;
    };
    const g = boot(main, {
      onSyscall(c) {
        if (c.nr === SYS.getpid && !seen) seen = c.kernel.readUser(c.pid, addr, 4096);
      },
    });
    g.tvmm.run({ untilNs: 10e9 });
    expect(seen).toBeDefined();
    expect(seen!.every((b, i) => b === secret[i])).toBe(false);
    expect(back).toEqual(secret);
    expect(g.tvmm.consoleLines.map((l) => l.line).join('')).toContain('hi from a cloaked app');
    expect(g.engine.stats().violations).toBe(0);
  });

  it('a cloaked file round-trips through the guest filesystem as ciphertext', () => {
    const text = 'cloaked file contents '.repeat(300);
    let got = '';
    let onDisk = '';
    const main: ProgramFn = function* (p) {
      const buf = yield* p.syscall(SYS.mmap, [0, 16 * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      p.write(buf, new TextEncoder().encode('/cloaked/f\0'));
      const fd = yield* p.syscall(SYS.open, [buf, O.CREAT | O.RDWR, 0o600]);
      const data = new TextEncoder().encode(text);
      p.write(buf + 4096, data);
      yield* p.syscall(SYS.write, [fd, buf + 4096, data.length]);
      yield* p.syscall(SYS.lseek, [fd, 0, SEEK.SET]);
      const n = yield* p.syscall(SYS.read, [fd, buf + 8 * 4096, data.length]);
      got = new TextDecoder().decode(p.read(buf + 8 * 4096, n));
      yield* p.syscall(SYS.close, [fd]);
      yield* p.syscall(SYS.exit, [0]);
      return 0;
    };
    const g = boot(main, undefined);
    g.tvmm.run({ untilNs: 20e9 });
    expect(got).toBe(text);
    const disk = g.rootDisk as unknown as { writtenBlocks(): number[]; peek(l: number): Uint8Array };
    for (const l of disk.writtenBlocks()) onDisk += new TextDecoder('latin1').decode(disk.peek(l));
    expect(onDisk).not.toContain('cloaked file contents');
    expect(g.engine.stats().violations).toBe(0);
  });
});

describe('fork and exec under the guest OS (copy-on-write)', () => {
  it('parent and child each keep their own view of a cloaked page after fork', () => {
    const out: string[] = [];
    const main: ProgramFn = function* (p) {
      const a = yield* p.syscall(SYS.mmap, [0, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      p.write(a, new TextEncoder().encode('parent data'));
      const pid = yield* p.syscall(SYS.fork, [], function* (c) {
        out.push('child sees ' + new TextDecoder().decode(c.read(a, 11)));
        c.write(a, new TextEncoder().encode('child  data'));
        out.push('child has ' + new TextDecoder().decode(c.read(a, 11)));
        yield* c.syscall(SYS.exit, [0]);
        return 0;
      });
      yield* p.syscall(SYS.waitpid, [pid, 0, 0]);
      out.push('parent has ' + new TextDecoder().decode(p.read(a, 11)));
      yield* p.syscall(SYS.exit, [0]);
      return 0;
    };
    const g = boot(main, undefined);
    g.tvmm.run({ untilNs: 10e9 });
    expect(out).toEqual(['child sees parent data', 'child has child  data', 'parent has parent data']);
    expect(g.engine.stats().violations).toBe(0);
  });

  it('exec of an uncloaked program ends the cloaking domain and scrubs its plaintext', () => {
    const secret = new Uint8Array(4096).map((_, i) => (i * 29 + 1) & 255);
    const main: ProgramFn = function* (p) {
      const a = yield* p.syscall(SYS.mmap, [0, 8192, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      p.write(a, secret);
      p.write(a + 4096, new TextEncoder().encode('plain\0'));
      yield* p.syscall(SYS.execve, [a + 4096, 0, 0]);
      return 1;
    };
    const plain: ProgramFn = function* (p) {
      yield* p.syscall(SYS.exit, [0]);
      return 0;
    };
    const g = boot(main, undefined, { plain });
    g.tvmm.run({ untilNs: 10e9 });
    expect(g.engine.domainStatus(1).terminated).toBe(true);
    expect(g.engine.stats().liveDomains).toBe(0);
    let found = false;
    const m = g.host.machine;
    for (let f = 0; f < m.frames && !found; f++) {
      if (!(m.flags[f] & 1)) continue;
      const b = m.bytes(f as never);
      for (let o = 0; o + 32 <= 4096; o += 4096) if (b.subarray(o, o + 32).every((x, i) => x === secret[i])) found = true;
    }
    expect(found).toBe(false);
  });
});

describe('address reuse under the guest OS', () => {
  it('munmap then mmap at the same address gives a fresh page, not a false integrity violation', () => {
    const addrs: number[] = [];
    let fresh = false;
    const main: ProgramFn = function* (p) {
      const a = yield* p.syscall(SYS.mmap, [0, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      p.write(a, new Uint8Array(4096).fill(0x5a));
      yield* p.syscall(SYS.write, [1, a, 8]); // the kernel gets control; nothing reads the page
      yield* p.syscall(SYS.munmap, [a, 4096]);
      const b = yield* p.syscall(SYS.mmap, [0, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      addrs.push(a, b);
      fresh = p.read(b, 4096).every((x) => x === 0);
      yield* p.syscall(SYS.exit, [0]);
      return 0;
    };
    const g = boot(main, {
      onSyscall(c) {
        // Make sure the first page was encrypted (version ≥ 1) before it is unmapped.
        if (c.nr === SYS.munmap) c.kernel.readUser(c.pid, c.args[0], 16);
      },
    });
    g.tvmm.run({ untilNs: 10e9 });
    expect(g.engine.stats().violations).toBe(0);
    expect(fresh).toBe(true);
    expect(addrs[1]).toBe(addrs[0]); // the guest OS reused the address
  });
});

describe('signals and the heap under the guest OS', () => {
  it('a registered handler runs on kill(self); the heap can shrink and grow again', () => {
    const out: string[] = [];
    const main: ProgramFn = function* (p) {
      yield* p.syscall(SYS.signal, [10], function* () {
        out.push('handler');
        return 0;
      });
      const pid = yield* p.syscall(SYS.getpid);
      yield* p.syscall(SYS.kill, [pid, 10]);
      yield* p.syscall(SYS.sched_yield);
      const base = yield* p.syscall(SYS.brk, [0]);
      yield* p.syscall(SYS.brk, [base + 8192]);
      p.write(base, new Uint8Array(8192).fill(7));
      yield* p.syscall(SYS.write, [1, base, 4]);
      yield* p.syscall(SYS.brk, [base]);
      yield* p.syscall(SYS.brk, [base + 8192]);
      out.push(p.read(base, 8192).every((x) => x === 0) ? 'heap fresh' : 'heap stale');
      yield* p.syscall(SYS.exit, [0]);
      return 0;
    };
    const g = boot(main, { onSyscall(c) { if (c.nr === SYS.brk) { try { c.kernel.readUser(c.pid, 0x01000000, 16); } catch { /* not mapped yet */ } } } });
    g.tvmm.run({ untilNs: 10e9 });
    expect(out).toEqual(['handler', 'heap fresh']);
    expect(g.engine.stats().violations).toBe(0);
  });
});
