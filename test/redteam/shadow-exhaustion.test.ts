/**
 * Red team: exhausting the TVMM's own memory from one guest. Every guest page-table root the TVMM
 * translates through costs an MMU context (a 1024-entry software TLB, ~25 KB) in TVMM memory, and
 * every thread a record. Before the defence, a guest kernel that asked for a kernel view of each of
 * its pages made the TVMM allocate one context per page: 20 000 roots cost ~0.5 GB of host memory
 * and 3 s (context lookup is a linear scan), and a 4 GiB guest could ask for a million — host memory
 * exhaustion, a denial of service to every co-tenant. Now each VM has a bounded, recycled budget of
 * shadowed address spaces (src/tvmm/spaces.ts) and a bounded number of threads; refusals are typed.
 */
import { describe, expect, it } from 'vitest';
import { addressSpaceCap, Host, MAX_THREADS_PER_VM, TerraError, type GuestPlatform } from '../../src/index.js';

function attacker(pages: number) {
  const tvmm = new Host({ seed: 1, machineMiB: 64 }).boot();
  let p!: GuestPlatform;
  const vm = tvmm.createVm({
    name: 'evil', kind: 'open-box', pages,
    guest: { boot(x) { p = x; }, interrupt() {}, run: () => 'idle' },
    programs: { spin: function* (pr) { for (;;) yield* pr.compute(1000); } },
  });
  tvmm.power(vm, 'on');
  tvmm.run({ maxSlices: 1 });
  return { tvmm, vm, p };
}

describe('a guest kernel cannot make the TVMM allocate shadow structures without bound', () => {
  it('a kernel view of every page as a page-table root: the contexts stay within the per-VM cap', () => {
    const pages = 4096;
    const { tvmm, vm, p } = attacker(pages);
    const cap = addressSpaceCap(pages);
    expect(cap).toBeLessThan(pages);
    for (let r = 0; r < pages; r++) {
      try {
        p.kernelSpace(r).load8(0);
      } catch {
        /* an empty page table faults: the context exists all the same */
      }
    }
    expect(tvmm.mmu.contexts(vm).length).toBeLessThanOrEqual(cap);
  });

  it('recycling is transparent: a kernel view held across a recycle still reads the same bytes', () => {
    const pages = 4096;
    const { tvmm, vm, p } = attacker(pages);
    // Root 1: a page directory whose entry 0 maps page table 2, whose entry 0 maps page 3.
    p.phys.store32(1 * 4096, (2 << 12) | 0x7);
    p.phys.store32(2 * 4096, (3 << 12) | 0x7);
    p.phys.write(3 * 4096, new TextEncoder().encode('still here'));
    const held = p.kernelSpace(1);
    expect(new TextDecoder().decode(held.read(0, 10))).toBe('still here');
    for (let r = 4; r < pages; r++) {
      try {
        p.kernelSpace(r).load8(0);
      } catch {
        /* empty */
      }
    }
    expect(new TextDecoder().decode(held.read(0, 10))).toBe('still here');
    expect(tvmm.mmu.contexts(vm).length).toBeLessThanOrEqual(addressSpaceCap(pages));
  });

  it('threads on more distinct roots than the cap: refused with OUT_OF_MEMORY, never unbounded', () => {
    const pages = 4096;
    const { tvmm, vm, p } = attacker(pages);
    const cap = addressSpaceCap(pages);
    let refused: unknown;
    let created = 0;
    for (let r = 0; r < cap + 10; r++) {
      try {
        p.createThread({ root: r, program: 'spin' });
        created++;
      } catch (e) {
        refused = e;
        break;
      }
    }
    expect(created).toBe(cap);
    expect(refused).toBeInstanceOf(TerraError);
    expect((refused as TerraError).code).toBe('OUT_OF_MEMORY');
    // Every thread runs and builds its context: still within the cap.
    for (const info of [...Array(created).keys()]) p.resume(info + 1);
    expect(tvmm.mmu.contexts(vm).length).toBeLessThanOrEqual(cap + 1);
  });

  it('threads beyond MAX_THREADS_PER_VM are refused with OUT_OF_MEMORY (on one root)', () => {
    const { p } = attacker(1024);
    let n = 0;
    let refused: unknown;
    for (;;) {
      try {
        p.createThread({ root: 0, program: 'spin' });
        n++;
      } catch (e) {
        refused = e;
        break;
      }
      if (n > MAX_THREADS_PER_VM + 1) break;
    }
    expect(n).toBe(MAX_THREADS_PER_VM);
    expect((refused as TerraError).code).toBe('OUT_OF_MEMORY');
  });
});
