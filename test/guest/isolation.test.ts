import { describe, expect, it } from 'vitest';
import { MachineMemory, MemoryManager, Pmap } from '../../src/memory/index.js';
import { MmuContext, ShadowMmu, Tvmm, Host } from '../../src/tvmm/index.js';
import { libc as c } from '../../src/guest/index.js';
import { bootMain } from './helpers.js';

const FORBIDDEN = [MachineMemory, MemoryManager, ShadowMmu, MmuContext, Pmap, Tvmm, Host] as const;
const MAX_BUFFER = 4 * 4096;

/** Walks every property (own, inherited, getters) reachable from `roots`; returns what it found that it must not. */
function walk(roots: unknown[], expand: (o: object) => unknown[]): { bad: string[]; visited: number } {
  const seen = new Set<unknown>();
  const bad: string[] = [];
  const queue: [unknown, string][] = roots.map((r, i) => [r, `root${i}`]);
  while (queue.length) {
    const [v, path] = queue.shift()!;
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) continue;
    seen.add(v);
    for (const K of FORBIDDEN) if (v instanceof K) bad.push(`${path}: ${K.name}`);
    if (v instanceof ArrayBuffer && v.byteLength > MAX_BUFFER) bad.push(`${path}: ArrayBuffer(${v.byteLength})`);
    if (ArrayBuffer.isView(v) && v.buffer.byteLength > MAX_BUFFER) bad.push(`${path}: view of ArrayBuffer(${v.buffer.byteLength})`);
    if (ArrayBuffer.isView(v)) queue.push([v.buffer, `${path}.buffer`]);
    for (let o: object | null = v as object; o && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o)) {
      for (const k of Reflect.ownKeys(o)) {
        const d = Object.getOwnPropertyDescriptor(o, k)!;
        let val: unknown;
        if ('value' in d) val = d.value;
        else if (d.get) {
          try {
            val = d.get.call(v);
          } catch {
            continue;
          }
        }
        queue.push([val, `${path}.${String(k)}`]);
      }
    }
    for (const [i, x] of expand(v as object).entries()) queue.push([x, `${path}→call${i}`]);
  }
  return { bad, visited: seen.size };
}

describe('the guest kernel holds nothing beyond the guest platform', () => {
  it('nothing reachable from the platform, its results, or the kernel reaches frames, pmaps, the MMU or large buffers', () => {
    const g = bootMain(function* (p) {
      const a = yield* c.mmap(p, 4 * 4096);
      p.store32(a, 1);
      yield* c.sleep(p, 1e9);
      p.store32(a + 4096, 1);
      yield* c.sleep(p, 1e9);
      return 0;
    }, { rootDiskBlocks: 1024, swapDiskBlocks: 64 });
    g.tvmm.run({ untilNs: 5e6 });
    const k = g.kernel;
    const platform = k.access.platform;
    const roots = k.ps().map((x) => x.root);
    const expand = (o: object): unknown[] => {
      if (o !== platform) return [];
      const out: unknown[] = [platform.phys, platform.disks(), platform.programs()];
      for (const r of roots) out.push(platform.kernelSpace(r));
      for (const d of platform.disks()) out.push(platform.disk(d));
      out.push(platform.phys.read(0, 4096), platform.kernelSpace(roots[0]).read(0x40000000, 16));
      return out;
    };
    // what the adversary hooks are handed
    const ctxs: unknown[] = [];
    k.adversary = {
      onSyscall: (ctx) => void ctxs.push(ctx),
      onSyscallResult: (ctx) => void ctxs.push(ctx),
      onInterrupt: (ctx) => void ctxs.push(ctx),
      onTrap: (ctx) => void ctxs.push(ctx),
      beforeResume: (ctx) => void ctxs.push(ctx),
      onPageFault: (ctx) => void ctxs.push(ctx),
    };
    g.tvmm.run({ untilNs: 1.5e9 });
    expect(ctxs.length).toBeGreaterThan(5);
    const res = walk([platform, k, k.access, k.services, k.stats, ...ctxs], expand);
    expect(res.bad).toEqual([]);
    expect(res.visited).toBeGreaterThan(20);
  });

  it('the walk does find a forbidden object when one is reachable (the check can fail)', () => {
    const host = new Host({ seed: 1, machineMiB: 8 });
    const res = walk([{ leak: { deeper: host.memory } }], () => []);
    expect(res.bad).toContain('root0.leak.deeper: MemoryManager');
    expect(res.bad).toContain('root0.leak.deeper.machine: MachineMemory');
  });
});
