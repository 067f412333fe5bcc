import { describe, expect, it } from 'vitest';
import { MAP, O, PROT, SIG, USER_LAYOUT, libc as c } from '../../src/guest/index.js';
import { bootMain, consoleOf, runMain } from './helpers.js';

describe('guest virtual memory', () => {
  it('fork is copy-on-write: writes on either side stay private, and copies happen only on write', () => {
    const r: Record<string, unknown> = {};
    const g = bootMain(function* (p) {
      const a = yield* c.mmap(p, 8 * 4096);
      for (let i = 0; i < 8; i++) p.store32(a + i * 4096, 100 + i);
      const before = kernel.stats.cowCopies;
      const pid = yield* c.fork(p, function* (ch) {
        const c0 = kernel.stats.cowCopies;
        r.childRead = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ch.load32(a + i * 4096));
        r.copiesAfterChildReads = kernel.stats.cowCopies - c0;
        ch.store32(a, 999);
        r.childAfterWrite = ch.load32(a);
        yield* c.yieldCpu(ch);
        r.childSeesParentWrite = ch.load32(a + 4096);
        return 0;
      });
      p.store32(a + 4096, 555);
      yield* c.waitpid(p, pid);
      r.parentSeesOwn = p.load32(a + 4096);
      r.parentUnaffected = p.load32(a);
      r.copies = kernel.stats.cowCopies - before;
      // the last holder writes without a copy
      p.store32(a + 2 * 4096, 1);
      r.copiesAfterSoleOwnerWrite = kernel.stats.cowCopies - before;
      return 0;
    });
    const kernel = g.kernel;
    g.tvmm.run({ untilNs: 1e10 });
    expect(r).toEqual({
      childRead: [100, 101, 102, 103, 104, 105, 106, 107], copiesAfterChildReads: 0, childAfterWrite: 999, childSeesParentWrite: 101,
      parentSeesOwn: 555, parentUnaffected: 100, copies: 2, copiesAfterSoleOwnerWrite: 2,
    });
  });

  it('demand paging: only touched pages are allocated; unmapped and read-only accesses kill with SIGSEGV', () => {
    const r: Record<string, unknown> = {};
    const g = bootMain(function* (p) {
      const free0 = kernel.freePageCount();
      const a = yield* c.mmap(p, 1024 * 4096);
      r.noAllocOnMmap = kernel.freePageCount() === free0;
      for (let i = 0; i < 10; i++) p.store8(a + i * 4096 * 7, 1);
      r.allocated = free0 - kernel.freePageCount();
      const ro = yield* c.mmap(p, 4096, PROT.READ);
      r.roRead = p.load32(ro);
      const k1 = yield* c.fork(p, function* (ch) {
        ch.store32(ro, 1);
        return 0;
      });
      r.k1 = yield* c.waitpid(p, k1);
      const k2 = yield* c.fork(p, function* (ch) {
        ch.load32(0x20000000);
        return 0;
      });
      r.k2 = yield* c.waitpid(p, k2);
      yield* c.munmap(p, a, 4096 * 8);
      const k3 = yield* c.fork(p, function* (ch) {
        ch.load32(a);
        return 0;
      });
      r.k3 = yield* c.waitpid(p, k3);
      r.stillMapped = p.load8(a + 4096 * 14);
      const k4 = yield* c.fork(p, function* (ch) {
        ch.load32(USER_LAYOUT.kernelBase + 16);
        return 0;
      });
      r.k4 = yield* c.waitpid(p, k4);
      return 0;
    });
    const kernel = g.kernel;
    g.tvmm.run({ untilNs: 1e10 });
    const out = consoleOf(g);
    expect(r.noAllocOnMmap).toBe(true);
    // 10 data pages (+ at most one page table)
    expect(r.allocated).toBeGreaterThanOrEqual(10);
    expect(r.allocated).toBeLessThanOrEqual(11);
    expect(r.roRead).toBe(0);
    for (const k of ['k1', 'k2', 'k3', 'k4']) expect(r[k]).toMatchObject({ exited: false, signal: SIG.SIGSEGV });
    expect(r.stillMapped).toBe(1);
    expect(out.filter((l) => l.includes('segmentation fault'))).toHaveLength(4);
  });

  it('file mappings: MAP_SHARED writes reach the file, MAP_PRIVATE writes do not; offsets work', () => {
    const r: Record<string, unknown> = {};
    runMain(function* (p) {
      const fd = yield* c.open(p, 'm.bin', O.RDWR | O.CREAT);
      const init = new Uint8Array(3 * 4096).map((_, i) => i & 0xff);
      yield* c.write(p, fd, init);
      const sh = yield* c.mmap(p, 3 * 4096, PROT.READ | PROT.WRITE, MAP.SHARED, fd);
      const pr = yield* c.mmap(p, 3 * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE, fd);
      const off = yield* c.mmap(p, 4096, PROT.READ, MAP.SHARED, fd, 2 * 4096);
      r.shRead = p.load8(sh + 5);
      r.offRead = p.load8(off + 1) === ((2 * 4096 + 1) & 0xff);
      p.store8(sh + 4096, 0xee);
      p.store8(pr + 4096 * 2, 0xdd);
      r.prSeesShared = p.load8(pr + 4096);
      yield* c.lseek(p, fd, 0);
      const back = yield* c.readAll(p, fd);
      r.fileHasShared = typeof back !== 'number' && back[4096] === 0xee;
      r.fileLacksPrivate = typeof back !== 'number' && back[8192] === 0;
      r.privateSeesOwn = p.load8(pr + 8192);
      r.sharedRO = yield* c.mmap(p, 4096, PROT.READ | PROT.WRITE, MAP.SHARED, yield* c.open(p, 'm.bin', O.RDONLY));
      // the shared page also crosses fork
      const pid = yield* c.fork(p, function* (ch) {
        ch.store8(sh + 7, 0x77);
        return 0;
      });
      yield* c.waitpid(p, pid);
      r.parentSeesChildShared = p.load8(sh + 7);
      const anon = yield* c.mmap(p, 4096, PROT.READ | PROT.WRITE, MAP.SHARED);
      const pid2 = yield* c.fork(p, function* (ch) {
        ch.store32(anon, 0xabcd);
        return 0;
      });
      yield* c.waitpid(p, pid2);
      r.anonShared = p.load32(anon);
      return 0;
    });
    expect(r).toEqual({
      shRead: 5, offRead: true, prSeesShared: 0xee, fileHasShared: true, fileLacksPrivate: true, privateSeesOwn: 0xdd,
      sharedRO: -13, parentSeesChildShared: 0x77, anonShared: 0xabcd,
    });
  });

  it('MAP_FIXED replaces an existing mapping; munmap of the middle splits a mapping', () => {
    const r: Record<string, unknown> = {};
    runMain(function* (p) {
      const a = yield* c.mmap(p, 4 * 4096);
      for (let i = 0; i < 4; i++) p.store32(a + i * 4096, 10 + i);
      r.fixed = (yield* c.mmap(p, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.FIXED, -1, 0, a + 4096)) === a + 4096;
      r.replacedIsZero = p.load32(a + 4096);
      r.neighbours = [p.load32(a), p.load32(a + 2 * 4096)];
      r.munmap = yield* c.munmap(p, a + 2 * 4096, 4096);
      r.after = p.load32(a + 3 * 4096);
      const pid = yield* c.fork(p, function* (ch) {
        ch.load32(a + 2 * 4096);
        return 0;
      });
      r.hole = yield* c.waitpid(p, pid);
      // the next anonymous mmap reuses the hole (first fit)
      r.reuse = (yield* c.mmap(p, 4096)) === a + 2 * 4096;
      return 0;
    });
    expect(r).toEqual({
      fixed: true, replacedIsZero: 0, neighbours: [10, 12], munmap: 0, after: 13,
      hole: expect.objectContaining({ signal: SIG.SIGSEGV }), reuse: true,
    });
  });

  it('guest swap: under memory pressure user pages go to the swap disk and come back intact', () => {
    const { kernel, console: out, swapDisk } = runMain(function* (p) {
      const pid = yield* c.fork(p, function* (ch) {
        yield* c.exec(ch, 'memhog', ['6', 'unique']);
        return 1;
      });
      const w = yield* c.waitpid(p, pid);
      return typeof w === 'number' ? 9 : w.code;
    }, { pages: 1024, swapDiskBlocks: 4096 });
    expect(out).toContain('memhog: 6 MiB unique ok');
    expect(kernel.stats.swapOuts).toBeGreaterThan(500);
    expect(kernel.stats.swapIns).toBeGreaterThan(0);
    expect(swapDisk!.writtenBlocks().length).toBeGreaterThan(500);
  });

  it('without swap, running out of memory kills the process instead of crashing the kernel', () => {
    const { kernel, tvmm, vmId } = runMain(function* (p) {
      const pid = yield* c.fork(p, function* (ch) {
        yield* c.exec(ch, 'memhog', ['8', 'unique']);
        return 1;
      });
      const w = yield* c.waitpid(p, pid);
      return typeof w === 'number' ? 9 : w.signal;
    }, { pages: 1024 });
    expect(kernel.panic).toBeUndefined();
    expect(tvmm.vm(vmId).haltReason).toBeUndefined();
    expect(kernel.stats.exits).toBe(2);
  });
});
