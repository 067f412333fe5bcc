/**
 * Virtual-time overhead of cloaking (docs/results-cloak.md): a compute-bound, a syscall-heavy and
 * a file-IO-heavy program, cloaked vs uncloaked, on the default cost model.
 */
import { describe, expect, it } from 'vitest';
import { O, SEEK, SYS, USER_LAYOUT } from '../../src/guest/abi.js';
import type { ProgramFn, Proc, TrapRequest } from '../../src/tvmm/index.js';
import { bootCloaked } from '../../src/testing/index.js';

const VA = USER_LAYOUT.textBase;
type G = Generator<TrapRequest, number, number>;

const WORKLOADS: Record<string, ProgramFn> = {
  /** 16 pages of data, 200 rounds of arithmetic over them with a timer tick per round. */
  compute: function* (p: Proc): G {
    for (let i = 0; i < 16 * 1024; i++) p.store32(VA + i * 4, i);
    let s = 0;
    for (let r = 0; r < 200; r++) {
      for (let i = 0; i < 1024; i++) s = (s + p.load32(VA + ((r * 1024 + i) % (16 * 1024)) * 4)) | 0;
      yield* p.compute(50_000);
    }
    return s & 1;
  },
  /** 2000 getpid + 500 small writes to the console. */
  syscalls: function* (p: Proc): G {
    p.write(VA, new TextEncoder().encode('x'));
    for (let i = 0; i < 2000; i++) yield* p.syscall(SYS.getpid);
    for (let i = 0; i < 500; i++) yield* p.syscall(SYS.write, [1, VA, 1]);
    return 0;
  },
  /** Write 64 KiB to a file in 4 KiB chunks, read it back twice. */
  fileio: function* (p: Proc): G {
    const cloaked = p.argv[0] === 'cloaked';
    p.write(VA, new TextEncoder().encode((cloaked ? '/cloaked/data' : '/data') + '\0'));
    const fd = yield* p.syscall(SYS.open, [VA, O.CREAT | O.RDWR, 0o600]);
    for (let i = 0; i < 16; i++) {
      p.write(VA + 4096, new Uint8Array(4096).fill(i));
      yield* p.syscall(SYS.write, [fd, VA + 4096, 4096]);
    }
    for (let r = 0; r < 2; r++) {
      yield* p.syscall(SYS.lseek, [fd, 0, SEEK.SET]);
      for (let i = 0; i < 16; i++) yield* p.syscall(SYS.read, [fd, VA + 4096, 4096]);
    }
    yield* p.syscall(SYS.close, [fd]);
    return 0;
  },
};

/** Virtual ns to run `name` cloaked or not. */
export function virtualTime(name: string, cloaked: boolean): number {
  const w = bootCloaked({ programs: { [name]: WORKLOADS[name] }, start: [], cloak: cloaked ? [name] : [], host: { seed: 3 } });
  const t0 = w.host.sim.clock.now;
  const tid = w.kernel.spawn(name, [cloaked ? 'cloaked' : 'plain']);
  w.run();
  if (w.kernel.exited.get(tid) === undefined || String(w.kernel.exited.get(tid)).startsWith('killed')) throw new Error(`${name} did not finish: ${String(w.kernel.exited.get(tid))}`);
  return w.host.sim.clock.now - t0;
}

describe('virtual-time overhead of cloaking', () => {
  it('is small for compute-bound work and larger for syscall- and file-IO-heavy work', () => {
    const rows = Object.keys(WORKLOADS).map((n) => {
      const plain = virtualTime(n, false), cloaked = virtualTime(n, true);
      return { workload: n, plainMs: plain / 1e6, cloakedMs: cloaked / 1e6, overhead: cloaked / plain - 1 };
    });
    if (process.env.PRINT_OVERHEAD) console.log(JSON.stringify(rows, null, 2));
    const o = Object.fromEntries(rows.map((r) => [r.workload, r.overhead]));
    expect(o.compute).toBeGreaterThan(0);
    expect(o.compute).toBeLessThan(0.1);
    expect(o.syscalls).toBeGreaterThan(o.compute);
    expect(o.fileio).toBeGreaterThan(o.compute);
  }, 60_000);
});
