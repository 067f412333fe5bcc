import { describe, expect, it } from 'vitest';
import { introspect, IntrospectionError, KLAYOUT, SYS, libc as c } from '../../src/guest/index.js';
import { bootMain } from './helpers.js';

function workload() {
  return bootMain(function* (p) {
    const fds = yield* c.pipe(p);
    if (typeof fds === 'number') return 1;
    const fd = yield* c.open(p, 'log.txt', 0x42);
    yield* c.write(p, fd, 'x'.repeat(100));
    for (const ms of [50, 60]) {
      yield* c.fork(p, function* (ch) {
        yield* c.sleep(ch, ms * 1e6);
        return 0;
      });
    }
    const z = yield* c.fork(p, function* () {
      return 4;
    });
    void z;
    yield* c.fork(p, function* (ch) {
      yield* c.exec(ch, 'idle', ['100']);
      return 1;
    });
    yield* c.sleep(p, 20e6); // the quick child becomes a zombie (not reaped yet)
    for (let i = 0; i < 4; i++) yield* c.waitpid(p, -1);
    return 0;
  }, { memoryMiB: 8 });
}

describe('VM introspection from raw guest-physical memory', () => {
  it('rebuilds the process list, fds, open files and pipes, matching the kernel (through the management VM)', () => {
    const g = workload();
    g.tvmm.run({ untilNs: 15e6 });
    const raw = introspect((gpa, len) => g.tvmm.management.readMemory(g.vmId, gpa, len));
    const ps = g.kernel.ps();
    expect(ps.length).toBe(5);
    expect(raw.processes.map(({ pid, ppid, tid, name, state, root, brk, exitStatus }) => ({ pid, ppid, tid, name, state, root, brk, exitStatus }))).toEqual(ps);
    expect(raw.processes.map((p) => p.name)).toEqual(['main', 'main', 'main', 'main', 'idle']);
    expect(raw.processes.find((p) => p.pid === 4)).toMatchObject({ state: 'zombie', exitStatus: 4 << 8 });
    const init = raw.processes[0];
    expect(init.fds.map((f) => f.fd)).toEqual([0, 1, 2, 3, 4, 5]);
    const types = init.fds.map((f) => raw.files.find((x) => x.index === f.file)!.type);
    expect(types).toEqual(['console', 'console', 'console', 'pipe-read', 'pipe-write', 'file']);
    expect(raw.files.find((x) => x.type === 'file')).toMatchObject({ offset: 100 });
    expect(raw.pipes).toHaveLength(1);
    expect(raw.inodes).toEqual([{ ino: 1, name: 'log.txt', size: 100, nlink: 1 }]);
    expect(raw.hookedSyscalls).toEqual([]);
    expect(raw.nextPid).toBe(6);
    // later, everything has exited: the table is empty
    g.tvmm.run({ untilNs: 1e9 });
    expect(g.kernel.ps()).toEqual([]);
  });

  it('detects a hooked syscall table entry, and the kernel really dispatches through the table', () => {
    let pid = 0;
    const g = bootMain(function* (p) {
      yield* c.sleep(p, 1e6);
      pid = yield* c.getpid(p);
      return 0;
    });
    g.tvmm.run({ untilNs: 1e5 });
    const phys = g.kernel.access.phys;
    // a rootkit points getpid at the handler of getppid
    phys.store32(KLAYOUT.sysTableGppn * 4096 + SYS.getpid * 4, phys.load32(KLAYOUT.sysTableGppn * 4096 + SYS.getppid * 4));
    const raw = introspect((gpa, len) => phys.read(gpa, len));
    expect(raw.hookedSyscalls).toEqual([SYS.getpid]);
    g.tvmm.run({ untilNs: 1e9 });
    expect(pid).toBe(0); // getppid of pid 1
  });

  it('refuses memory without a kernel header, and a closed-box VM refuses the management VM', () => {
    expect(() => introspect(() => new Uint8Array(4096))).toThrow(IntrospectionError);
    const g = bootMain(function* (p) {
      yield* c.sleep(p, 1e9);
    }, { kind: 'closed-box' });
    g.tvmm.run({ untilNs: 1e5 });
    expect(() => introspect((gpa, len) => g.tvmm.management.readMemory(g.vmId, gpa, len))).toThrow(/closed-box/);
  });
});
