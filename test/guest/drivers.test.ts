import { describe, expect, it } from 'vitest';
import { GuestKernel, libc as c, type KernelDriver, type KernelServices } from '../../src/guest/index.js';
import { bootMain } from './helpers.js';

class Hog implements KernelDriver {
  readonly name = 'hog';
  readonly held: number[] = [];
  ticks: number[] = [];
  constructor(readonly periodNs: number, readonly perTick: number) {}
  tick(k: KernelServices): void {
    this.ticks.push(k.now());
    for (let i = 0; i < this.perTick; i++) {
      const g = k.allocPage({ pinned: true });
      if (g === undefined) break;
      this.held.push(g);
    }
  }
  stats() {
    return { held: this.held.length };
  }
}

describe('kernel drivers', () => {
  it('ticks each driver at its period from the timer, with the kernel allocator as its page source', () => {
    const hog = new Hog(10e6, 8);
    const g = bootMain(function* (p) {
      yield* c.sleep(p, 55e6);
      return 0;
    }, { kernel: { drivers: [hog] } });
    g.tvmm.run({ untilNs: 1e9 });
    expect(hog.ticks).toEqual([10e6, 20e6, 30e6, 40e6, 50e6].map((t) => expect.closeTo(t, -5)));
    expect(hog.ticks.every((t, i) => t >= (i + 1) * 10e6)).toBe(true);
    expect(new Set(hog.held).size).toBe(40);
    expect(g.kernel.driverStats()).toEqual({ hog: { held: 40 } });
  });

  it('under driver pressure the kernel pages user memory out to guest swap (as under a balloon), and the program still sees its bytes', () => {
    const hog = new Hog(1e6, 64);
    const g = bootMain(function* (p) {
      const pid = yield* c.fork(p, function* (ch) {
        yield* c.exec(ch, 'memhog', ['2', 'unique', '30']);
        return 1;
      });
      const w = yield* c.waitpid(p, pid);
      return typeof w === 'number' ? 9 : w.code;
    }, { pages: 1024, swapDiskBlocks: 2048, kernel: { drivers: [hog] } });
    g.tvmm.run({ untilNs: 1e9 });
    expect(g.tvmm.consoleLines.map((l) => l.line)).toContain('memhog: 2 MiB unique ok');
    expect(g.kernel.stats.swapOuts).toBeGreaterThan(0);
    expect(hog.held.length).toBeGreaterThan(300);
  });

  it('a greedy driver cannot take the kernel reserve, so processes keep running (page tables, pipes)', () => {
    const hog = new Hog(1e6, 100_000);
    const r: number[] = [];
    const g = bootMain(function* (p) {
      yield* c.sleep(p, 3e6);
      const fds = yield* c.pipe(p);
      r.push(typeof fds === 'number' ? fds : 0);
      return 0;
    }, { pages: 1024, kernel: { drivers: [hog], reservePages: 40 } });
    g.tvmm.run({ untilNs: 1e9 });
    expect(hog.held.length).toBeGreaterThan(900);
    expect(g.kernel.freePageCount()).toBeGreaterThanOrEqual(40);
    expect(r).toEqual([0]);
  });

  it('KernelServices: freePage refuses pages it did not hand out; counts add up; bad drivers are refused', () => {
    const g = bootMain(function* (p) {
      yield* c.sleep(p, 1e6);
      return 0;
    });
    g.tvmm.run({ untilNs: 1e5 });
    const s = g.kernel.services;
    const before = s.freePages();
    const pg = s.allocPage()!;
    expect(s.freePages()).toBe(before - 1);
    expect(() => s.freePage(0)).toThrow(RangeError);
    expect(() => s.freePage(-1)).toThrow(RangeError);
    expect(() => s.freePage(1.5)).toThrow(RangeError);
    s.freePage(pg);
    expect(() => s.freePage(pg)).toThrow(RangeError);
    expect(s.freePages()).toBe(before);
    expect(s.totalPages()).toBe(g.kernel.access.platform.memoryPages - 17);
    expect(() => g.kernel.addDriver({ name: 'x', periodNs: 0, tick() {} })).toThrow(RangeError);
    expect(() => g.kernel.addDriver({} as KernelDriver)).toThrow(TypeError);
    expect(() => new GuestKernel({ quantumNs: -1 })).toThrow(RangeError);
    expect(() => new GuestKernel({ init: '' })).toThrow(TypeError);
  });
});
