import { describe, expect, it } from 'vitest';
import { bootGuest, libc as c } from '../../src/guest/index.js';
import type { ProgramFn } from '../../src/tvmm/index.js';
import { consoleOf } from './helpers.js';

const ticker: ProgramFn = function* (p) {
  const tag = p.argv[0] ?? '?';
  for (let i = 0; i < 5; i++) {
    yield* p.compute(150_000);
    yield* c.write(p, 1, `${tag}${i}`);
  }
  return 0;
};

const WORKLOAD = ['compute 3000 8', 'syscall-heavy 200', 'file-io a.bin 32', 'memhog 2 random', 'memhog 1 half', 'idle 3 2', 'fork-exec syscall-heavy 10', 'ticker A', 'ticker B'];

function runOnce(seed: number, run = WORKLOAD) {
  const g = bootGuest({ seed, run, programs: { ticker }, rootDiskBlocks: 4096, swapDiskBlocks: 1024, memoryMiB: 8 });
  const r = g.tvmm.run({ untilNs: 10e9 });
  return { digest: g.host.sim.trace.digest(), console: consoleOf(g), reason: r.reason, end: r.endNs, stats: { ...g.kernel.stats } };
}

describe('deterministic multi-process execution', () => {
  it('the same seed gives the identical trace digest, console and counters', () => {
    const a = runOnce(42);
    const b = runOnce(42);
    expect(a.reason).toBe('all-halted');
    expect(a.console).toContain('memhog: 2 MiB random ok');
    expect(a.console).toContain('file-io: a.bin 32768 bytes ok');
    expect(b.digest).toBe(a.digest);
    expect(b.console).toEqual(a.console);
    expect(b.stats).toEqual(a.stats);
    expect(b.end).toBe(a.end);
  });

  it('a different workload order gives a different digest (the digest is sensitive to the schedule)', () => {
    const a = runOnce(42);
    const b = runOnce(42, [...WORKLOAD].reverse());
    expect(b.digest).not.toBe(a.digest);
  });

  it('processes interleave round-robin at the quantum', () => {
    const g = bootGuest({ seed: 1, run: ['ticker A', 'ticker B'], programs: { ticker }, kernel: { quantumNs: 200_000 } });
    g.tvmm.run({ untilNs: 1e9 });
    const lines = consoleOf(g).filter((l) => /^[AB]\d$/.test(l));
    expect(lines).toHaveLength(10);
    // neither runs all its iterations before the other starts
    expect(lines.indexOf('B0')).toBeLessThan(lines.indexOf('A4'));
    expect(lines.indexOf('A0')).toBeLessThan(lines.indexOf('B4'));
  });
});
