import { describe, expect, it } from 'vitest';
import { ERRNO, LIBC_SCRATCH, MAP, O, PROT, SEEK, SIG, SYS, USER_LAYOUT, libc as c } from '../../src/guest/index.js';
import { runMain } from './helpers.js';

describe('system calls', () => {
  it('getpid, getppid, brk/malloc, write to the console', () => {
    const seen: Record<string, number> = {};
    const { console: out, tvmm, vmId } = runMain(function* (p) {
      seen.pid = yield* c.getpid(p);
      seen.ppid = yield* c.getppid(p);
      seen.brk0 = yield* c.brk(p, 0);
      const a = yield* c.malloc(p, 10000);
      p.store32(a + 9996, 0xdeadbeef);
      seen.stored = p.load32(a + 9996);
      seen.brk1 = yield* c.brk(p, 0);
      seen.brkTooHigh = yield* c.brk(p, USER_LAYOUT.kernelBase);
      seen.w = yield* c.write(p, 1, 'hello\nworld\n');
      return 0;
    });
    expect(seen).toEqual({ pid: 1, ppid: 0, brk0: USER_LAYOUT.heapBase, stored: 0xdeadbeef, brk1: USER_LAYOUT.heapBase + 10000, brkTooHigh: USER_LAYOUT.heapBase + 10000, w: 12 });
    expect(out).toContain('hello');
    expect(out).toContain('world');
    expect(tvmm.vm(vmId).state).toBe('off');
  });

  it('files: open/write/lseek/read/close/unlink/fsync with their errors', () => {
    const r: Record<string, unknown> = {};
    const { kernel } = runMain(function* (p) {
      r.noent = yield* c.open(p, 'nope', O.RDONLY);
      const fd = yield* c.open(p, '/a.txt', O.RDWR | O.CREAT);
      r.fd = fd;
      r.w = yield* c.write(p, fd, 'abcdefghij'.repeat(1000));
      r.end = yield* c.lseek(p, fd, 0, SEEK.END);
      r.set = yield* c.lseek(p, fd, 4095, SEEK.SET);
      const b = yield* c.read(p, fd, 3);
      r.read = typeof b === 'number' ? b : c.text(b);
      r.cur = yield* c.lseek(p, fd, -2, SEEK.CUR);
      r.badWhence = yield* c.lseek(p, fd, 0, 9);
      r.negative = yield* c.lseek(p, fd, -1, SEEK.SET);
      r.fsync = yield* c.fsync(p, fd);
      r.close = yield* c.close(p, fd);
      r.closeAgain = yield* c.close(p, fd);
      r.readBad = yield* c.read(p, 17, 4);
      r.writeBad = yield* c.write(p, 99, 'x');
      r.fsyncBad = yield* c.fsync(p, 5);
      const ro = yield* c.open(p, 'a.txt', O.RDONLY);
      r.writeRo = yield* c.write(p, ro, 'x');
      r.badFlags = yield* c.open(p, 'a.txt', 3);
      const app = yield* c.open(p, 'a.txt', O.WRONLY | O.APPEND);
      yield* c.write(p, app, 'Z');
      r.sizeAfterAppend = yield* c.lseek(p, ro, 0, SEEK.END);
      const wo = yield* c.open(p, 'a.txt', O.WRONLY | O.TRUNC);
      r.readWo = yield* c.read(p, wo, 1);
      r.sizeAfterTrunc = yield* c.lseek(p, ro, 0, SEEK.END);
      r.unlink = yield* c.unlink(p, 'a.txt');
      r.unlinkAgain = yield* c.unlink(p, 'a.txt');
      r.reopen = yield* c.open(p, 'a.txt', O.RDONLY);
      r.longName = yield* c.open(p, 'x'.repeat(80), O.RDWR | O.CREAT);
      return 0;
    });
    expect(r).toEqual({
      noent: -ERRNO.ENOENT, fd: 3, w: 10000, end: 10000, set: 4095, read: 'fgh', cur: 4096, badWhence: -ERRNO.EINVAL, negative: -ERRNO.EINVAL,
      fsync: 0, close: 0, closeAgain: -ERRNO.EBADF, readBad: -ERRNO.EBADF, writeBad: -ERRNO.EBADF, fsyncBad: -ERRNO.EBADF,
      writeRo: -ERRNO.EBADF, badFlags: -ERRNO.EINVAL, sizeAfterAppend: 10001, readWo: -ERRNO.EBADF, sizeAfterTrunc: 0,
      unlink: 0, unlinkAgain: -ERRNO.ENOENT, reopen: -ERRNO.ENOENT, longName: -ERRNO.ENAMETOOLONG,
    });
    expect(kernel.files()).toEqual([]);
  });

  it('bad pointers get -EFAULT; unknown syscalls -ENOSYS; absurd lengths an errno', () => {
    const r: Record<string, number> = {};
    runMain(function* (p) {
      r.nullWrite = yield* c.syscall(p, SYS.write, [1, 0, 10]);
      r.kernelPtr = yield* c.syscall(p, SYS.write, [1, USER_LAYOUT.kernelBase, 10]);
      r.unmapped = yield* c.syscall(p, SYS.write, [1, 0x20000000, 10]);
      r.wrap = yield* c.syscall(p, SYS.read, [0, 0xfffffff0, 0x100]);
      r.huge = yield* c.syscall(p, SYS.write, [1, USER_LAYOUT.heapBase, 0xffffffff]);
      r.openBad = yield* c.syscall(p, SYS.open, [0x30000000, 0, 0]);
      r.pipeBad = yield* c.syscall(p, SYS.pipe, [0x30000000]);
      r.waitBad = yield* c.syscall(p, SYS.nanosleep, [0x30000000, 0]);
      r.enosys = yield* c.syscall(p, 999);
      r.enosys2 = yield* c.syscall(p, 0xffff);
      r.mmapZero = yield* c.mmap(p, 0);
      r.mmapHuge = yield* c.mmap(p, 0xffffffff);
      r.mmapBadFd = yield* c.mmap(p, 4096, PROT.READ, MAP.SHARED, 7);
      r.mmapBadFlags = yield* c.syscall(p, SYS.mmap, [0, 4096, PROT.READ, MAP.ANONYMOUS, 0xffffffff]);
      r.mmapUnalignedFixed = yield* c.mmap(p, 4096, PROT.READ, MAP.PRIVATE | MAP.FIXED, -1, 0, USER_LAYOUT.mmapBase + 3);
      r.munmapUnaligned = yield* c.munmap(p, 0x40000001, 4096);
      r.killNobody = yield* c.kill(p, 4242, SIG.SIGTERM);
      r.killBadSig = yield* c.kill(p, 1, 99);
      r.signalKill = yield* c.syscall(p, SYS.signal, [SIG.SIGKILL, 1]);
      r.waitNoChild = yield* c.syscall(p, SYS.waitpid, [0xffffffff, 0, 0]);
      return 0;
    });
    expect(r).toMatchObject({
      nullWrite: -ERRNO.EFAULT, kernelPtr: -ERRNO.EFAULT, unmapped: -ERRNO.EFAULT, wrap: -ERRNO.EFAULT, huge: -ERRNO.EFAULT,
      openBad: -ERRNO.EFAULT, pipeBad: -ERRNO.EFAULT, waitBad: -ERRNO.EFAULT, enosys: -ERRNO.ENOSYS, enosys2: -ERRNO.ENOSYS,
      mmapZero: -ERRNO.EINVAL, mmapHuge: -ERRNO.ENOMEM, mmapBadFd: -ERRNO.EBADF, mmapBadFlags: -ERRNO.EINVAL,
      mmapUnalignedFixed: -ERRNO.EINVAL, munmapUnaligned: -ERRNO.EINVAL, killNobody: -ERRNO.ESRCH, killBadSig: -ERRNO.EINVAL,
      signalKill: -ERRNO.EINVAL, waitNoChild: -ERRNO.ECHILD,
    });
  });

  it('fork + waitpid: the child runs its body with the parent memory, exit codes come back', () => {
    const r: Record<string, unknown> = {};
    runMain(function* (p) {
      const a = yield* c.malloc(p, 8);
      p.store32(a, 1234);
      const pid = yield* c.fork(p, function* (ch) {
        r.childSees = ch.load32(a);
        r.childPid = yield* c.getpid(ch);
        r.childPpid = yield* c.getppid(ch);
        return 7;
      });
      r.pid = pid;
      const w = yield* c.waitpid(p, pid);
      r.wait = w;
      r.again = yield* c.waitpid(p, pid);
      const pid2 = yield* c.fork(p, function* (ch) {
        yield* c.exit(ch, 3);
      });
      r.nohang = yield* c.waitpidNoHang(p, -1);
      const w2 = yield* c.waitpid(p, -1);
      r.w2 = typeof w2 === 'number' ? w2 : [w2.pid === pid2, w2.code];
      r.forkNoCont = yield* c.syscall(p, SYS.fork);
      return 0;
    });
    expect(r).toEqual({
      childSees: 1234, childPid: 2, childPpid: 1, pid: 2,
      wait: { pid: 2, status: 7 << 8, exited: true, code: 7, signal: 0 }, again: -ERRNO.ECHILD,
      nohang: 0, w2: [true, 3], forkNoCont: -ERRNO.EINVAL,
    });
  });

  it('pipe: a producer and a consumer exchange more than the pipe buffer, with blocking and EOF', () => {
    const r: Record<string, unknown> = {};
    const data = new Uint8Array(50_000).map((_, i) => (i * 7) & 0xff);
    runMain(function* (p) {
      const fds = yield* c.pipe(p);
      if (typeof fds === 'number') throw new Error('pipe failed');
      const [rd, wr] = fds;
      const pid = yield* c.fork(p, function* (ch) {
        yield* c.close(ch, rd);
        const n = yield* c.write(ch, wr, data);
        r.written = n;
        yield* c.close(ch, wr);
        return 0;
      });
      yield* c.close(p, wr);
      const got = yield* c.readAll(p, rd);
      r.same = typeof got !== 'number' && got.length === data.length && got.every((b, i) => b === data[i]);
      r.eof = yield* c.read(p, rd, 10);
      r.wrongEnd = yield* c.write(p, rd, 'x');
      yield* c.waitpid(p, pid);
      const f2 = yield* c.pipe(p);
      if (typeof f2 === 'number') throw new Error('pipe failed');
      yield* c.close(p, f2[0]);
      r.epipe = yield* c.write(p, f2[1], 'x');
      r.seekPipe = yield* c.lseek(p, f2[1], 0);
      return 0;
    });
    expect(r.written).toBe(data.length);
    expect(r.same).toBe(true);
    expect(r.eof).toEqual(new Uint8Array(0));
    expect(r.wrongEnd).toBe(-ERRNO.EBADF);
    expect(r.epipe).toBe(-ERRNO.EPIPE);
    expect(r.seekPipe).toBe(-ERRNO.ESPIPE);
  });

  it('signals: a handler runs and the interrupted code continues; default action kills; SIGKILL kills; SIG_IGN ignores', () => {
    const log: string[] = [];
    const r: Record<string, unknown> = {};
    runMain(function* (p) {
      yield* c.signal(p, SIG.SIGUSR1, function* (h, signo) {
        log.push(`handler ${signo}`);
        yield* c.getpid(h);
        return 0;
      });
      r.selfKill = yield* c.kill(p, 1, SIG.SIGUSR1);
      log.push('after self-kill');
      yield* c.signal(p, SIG.SIGUSR2, 'ignore');
      r.ignored = yield* c.kill(p, 1, SIG.SIGUSR2);
      // a sleeping child with a handler is interrupted (EINTR)
      const a = yield* c.fork(p, function* (ch) {
        yield* c.signal(ch, SIG.SIGTERM, function* () {
          log.push('child handler');
        });
        const s = yield* c.sleep(ch, 50e6);
        log.push(`child sleep ${s}`);
        return 5;
      });
      yield* c.sleep(p, 1e6);
      yield* c.kill(p, a, SIG.SIGTERM);
      r.a = yield* c.waitpid(p, a);
      const b = yield* c.fork(p, function* (ch) {
        yield* c.sleep(ch, 1e9);
        return 0;
      });
      yield* c.yieldCpu(p);
      yield* c.kill(p, b, SIG.SIGTERM);
      r.b = yield* c.waitpid(p, b);
      const k = yield* c.fork(p, function* (ch) {
        yield* c.signal(ch, SIG.SIGINT, function* () {
          log.push('never');
        });
        for (;;) yield* c.yieldCpu(ch);
      });
      yield* c.yieldCpu(p);
      yield* c.kill(p, k, SIG.SIGKILL);
      r.k = yield* c.waitpid(p, k);
      return 0;
    });
    expect(log).toEqual(['handler 10', 'after self-kill', 'child handler', `child sleep ${-ERRNO.EINTR}`]);
    expect(r.selfKill).toBe(0);
    expect(r.ignored).toBe(0);
    expect(r.a).toMatchObject({ exited: true, code: 5 });
    expect(r.b).toMatchObject({ exited: false, signal: SIG.SIGTERM });
    expect(r.k).toMatchObject({ exited: false, signal: SIG.SIGKILL });
  });

  it('nanosleep blocks until the timer interrupt; sleepers wake in deadline order', () => {
    const wakes: [string, number][] = [];
    const { kernel, tvmm } = runMain(function* (p) {
      const kids: number[] = [];
      for (const [name, ms] of [['late', 30], ['early', 10], ['mid', 20]] as const) {
        kids.push(yield* c.fork(p, function* (ch) {
          yield* c.sleep(ch, ms * 1e6);
          wakes.push([name, -1]);
          return 0;
        }));
      }
      for (const _ of kids) yield* c.waitpid(p, -1);
      return 0;
    });
    expect(wakes.map((w) => w[0])).toEqual(['early', 'mid', 'late']);
    expect(tvmm.sim.clock.now).toBeGreaterThanOrEqual(30e6);
    expect(kernel.stats.interrupts).toBeGreaterThanOrEqual(3);
  });

  it('execve replaces the program and passes argv; unknown programs give -ENOENT', () => {
    const r: Record<string, unknown> = {};
    const got: string[][] = [];
    runMain(function* (p) {
      r.missing = yield* c.exec(p, 'no-such-program', []);
      const pid = yield* c.fork(p, function* (ch) {
        yield* c.exec(ch, '/bin/echoargs', ['one', 'two words']);
        return 99;
      });
      r.w = yield* c.waitpid(p, pid);
      const LIBC_PATH = LIBC_SCRATCH.base + 8192;
      p.write(LIBC_PATH, new TextEncoder().encode('echoargs\0'));
      r.badArgv = yield* c.syscall(p, SYS.execve, [LIBC_PATH, 0x30000000, 0]);
      return 0;
    }, {
      programs: {
        *echoargs(p) {
          got.push([...p.argv]);
          return (yield* c.getpid(p)) === 2 ? 11 : 12;
        },
      },
    });
    expect(r.missing).toBe(-ERRNO.ENOENT);
    expect(got).toEqual([['one', 'two words']]);
    expect(r.w).toMatchObject({ code: 11 });
    expect(r.badArgv).toBe(-ERRNO.EFAULT);
  });

  it('getrandom returns device entropy recorded in the trace', () => {
    const out: (Uint8Array | number)[] = [];
    const { host } = runMain(function* (p) {
      out.push(yield* c.getrandom(p, 32));
      return 0;
    });
    const bytes = out[0];
    if (!(bytes instanceof Uint8Array)) throw new Error(`getrandom failed: ${String(bytes)}`);
    expect(bytes.length).toBe(32);
    expect(bytes.some((b) => b !== 0)).toBe(true);
    expect(host.sim.trace.events().some((e) => e.kind === 'entropy')).toBe(true);
  });
});
