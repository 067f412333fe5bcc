import { describe, expect, it } from 'vitest';
import { Host, type ProgramFn } from '../../src/tvmm/index.js';
import { MiniKernel } from '../helpers/minikernel.js';

function run(seed: number): { digest: string; events: number; console: string[] } {
  const host = new Host({ seed, machineMiB: 32 });
  const tvmm = host.boot();
  const worker = (n: number): ProgramFn =>
    function* (p) {
      for (let i = 0; i < 64; i++) {
        p.store32(0x400000 + ((i * 97) % 16) * 4096, i * n);
        yield* p.compute(1000 + n);
      }
      p.write(0x400000 + 8000, new TextEncoder().encode(`w${n}`));
      yield* p.syscall(2, [0x400000 + 8000, 2]);
      yield* p.syscall(0, [n]);
    };
  for (let v = 0; v < 3; v++) {
    const id = tvmm.createVm({
      name: `vm${v}`,
      kind: v === 1 ? 'closed-box' : 'open-box',
      memoryMiB: 2,
      guest: new MiniKernel(['a', 'b']),
      programs: { a: worker(v * 2 + 1), b: worker(v * 2 + 2) },
    });
    tvmm.power(id, 'on');
  }
  tvmm.run({ untilNs: 1e10 });
  return { digest: host.sim.trace.digest(), events: host.sim.trace.length, console: tvmm.consoleLines.map((l) => `${l.vm}:${l.line}@${l.t}`) };
}

describe('determinism', () => {
  it('the same seed gives a byte-identical trace', () => {
    const a = run(11), b = run(11);
    expect(a.events).toBeGreaterThan(50);
    expect(a.digest).toBe(b.digest);
    expect(a.console).toEqual(b.console);
  });
});
