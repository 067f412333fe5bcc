import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameFlag, PageState } from '../../src/memory/index.js';
import { NO_MPN, type Gppn, type Mpn, type VmId } from '../../src/sim/index.js';
import { TLB_SIZE } from '../../src/tvmm/index.js';
import { capturePlatform } from '../helpers/platform.js';

const ROOT = 1, PT = 2, FIRST_DATA = 3, DATA_PAGES = 8, VPNS = 8;

type Op =
  | { k: 'map'; vpn: number; g: number; w: boolean }
  | { k: 'unmapPte'; vpn: number }
  | { k: 'store'; vpn: number; word: number; v: number }
  | { k: 'load'; vpn: number; word: number }
  | { k: 'merge'; a: number; b: number }
  | { k: 'drop'; g: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('map' as const), vpn: fc.nat(VPNS - 1), g: fc.nat(DATA_PAGES - 1), w: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('unmapPte' as const), vpn: fc.nat(VPNS - 1) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('store' as const), vpn: fc.nat(VPNS - 1), word: fc.nat(3), v: fc.nat(0xffffffff) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('load' as const), vpn: fc.nat(VPNS - 1), word: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('merge' as const), a: fc.nat(DATA_PAGES - 1), b: fc.nat(DATA_PAGES - 1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('drop' as const), g: fc.nat(DATA_PAGES - 1) }) },
);

function setup() {
  const cap = capturePlatform({ memoryMiB: 1 });
  const { platform: p, tvmm, host, id } = cap;
  p.phys.zeroPage(ROOT);
  p.phys.zeroPage(PT);
  p.phys.store32(ROOT * 4096, (PT << 12) | 7);
  p.onPageFault(() => false);
  return { p, tvmm, host, vm: id as VmId };
}

describe('memory-path invariants (property tests, fixed seeds)', () => {
  it('frames have one owner unless shared COW; refcounts match mappings; free frames are zero; no stale TLB entry', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        const { p, tvmm, host, vm } = setup();
        const mm = host.memory, machine = host.machine;
        const space = p.kernelSpace(ROOT);
        const content = new Map<number, Map<number, number>>(); // gppn → word → value
        const ptes = new Map<number, number>(); // vpn → gppn
        const g0 = (i: number) => FIRST_DATA + i;
        for (const o of ops) {
          switch (o.k) {
            case 'map':
              p.phys.store32(PT * 4096 + o.vpn * 4, ((g0(o.g) << 12) | 7) >>> 0);
              ptes.set(o.vpn, g0(o.g));
              break;
            case 'unmapPte':
              p.phys.store32(PT * 4096 + o.vpn * 4, 0);
              ptes.delete(o.vpn);
              break;
            case 'store': {
              const g = ptes.get(o.vpn);
              if (g === undefined) expect(() => space.store32(o.vpn * 4096 + o.word * 4, o.v)).toThrow();
              else {
                space.store32(o.vpn * 4096 + o.word * 4, o.v);
                if (!content.has(g)) content.set(g, new Map());
                content.get(g)!.set(o.word, o.v);
              }
              break;
            }
            case 'load': {
              const g = ptes.get(o.vpn);
              if (g === undefined) expect(() => space.load32(o.vpn * 4096 + o.word * 4)).toThrow();
              else expect(space.load32(o.vpn * 4096 + o.word * 4)).toBe(content.get(g)?.get(o.word) ?? 0);
              break;
            }
            case 'merge': {
              // Emulate a sharing merge of b into a's frame (b takes a's content, copy-on-write).
              const ga = g0(o.a) as Gppn, gb = g0(o.b) as Gppn;
              if (ga === gb) break;
              const ma = mm.resolve(vm, ga, false);
              machine.flags[ma] |= FrameFlag.SHARED;
              mm.remap(vm, ga, ma, true); // same frame: marks it copy-on-write and invalidates
              if (mm.pmap(vm).mpn[gb] === ma) break;
              machine.incRef(ma);
              mm.remap(vm, gb, ma, true);
              content.set(gb, new Map(content.get(ga) ?? []));
              break;
            }
            case 'drop':
              mm.unmap(vm, g0(o.g) as Gppn);
              content.delete(g0(o.g));
              break;
          }
          // Invariant: refcount(f) = number of pmap entries mapping f; >1 only when SHARED.
          const pm = mm.pmap(vm);
          const refs = new Map<number, number>();
          for (let g = 0; g < pm.pages; g++) if (pm.mpn[g] !== NO_MPN) refs.set(pm.mpn[g], (refs.get(pm.mpn[g]) ?? 0) + 1);
          for (const [m, n] of refs) {
            expect(machine.refcount[m]).toBe(n);
            if (n > 1) expect(machine.flags[m] & FrameFlag.SHARED).toBeTruthy();
          }
          expect(machine.used).toBe(refs.size);
          // Invariant: every free frame in an allocated slab is zero.
          for (let m = 0; m < 64; m++) if (machine.flags[m] === 0 && machine.slabs[0]) expect(machine.isZero(m as Mpn)).toBe(true);
          // Invariant: every TLB entry agrees with the guest page table and the pmap right now.
          for (const c of tvmm.mmu.contexts(vm)) {
            for (let i = 0; i < TLB_SIZE; i++) {
              if (c.tag[i] === -1) continue;
              const vpn = c.tag[i];
              const pte = p.phys.load32(PT * 4096 + (vpn & 1023) * 4);
              expect(pte & 1).toBe(1);
              expect(pte >>> 12).toBe(c.tgppn[i]);
              expect(pm.mpn[c.tgppn[i]]).toBe(c.tmpn[i]);
              if (c.perm[i] & 2) expect(pm.state[c.tgppn[i]] & PageState.SHARED).toBe(0);
            }
          }
        }
      }),
      { seed: 42, numRuns: 150 },
    );
  });

  it('a freed frame is zero when it is reused', () => {
    const { p, host } = setup();
    const space = p.kernelSpace(ROOT);
    p.phys.store32(PT * 4096, ((FIRST_DATA << 12) | 7) >>> 0);
    for (let w = 0; w < 1024; w++) space.store32(w * 4, 0xdeadbeef);
    host.memory.unmap(1 as VmId, FIRST_DATA as Gppn);
    expect(space.load32(0)).toBe(0);
    expect(space.read(0, 4096).every((b) => b === 0)).toBe(true);
  });

  it('a refused call leaves state unchanged', () => {
    const { p, host, tvmm, vm } = setup();
    const snap = () => JSON.stringify({ used: host.machine.used, trace: host.sim.trace.length, vms: tvmm.vms(), map: Array.from(host.memory.pmap(vm).mpn.slice(0, 40)) });
    const before = snap();
    expect(() => p.phys.store32(-4, 1)).toThrow(RangeError);
    expect(() => p.phys.store32(1.5, 1)).toThrow(RangeError);
    expect(() => p.phys.write(p.phys.pages * 4096, new Uint8Array(4))).toThrow(RangeError);
    expect(() => p.kernelSpace(p.memoryPages)).toThrow(RangeError);
    expect(() => tvmm.power(vm, 'resume')).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(() => tvmm.createVm({ name: '', kind: 'open-box', memoryMiB: 1, guest: { boot() {}, interrupt() {}, run: () => 'idle' } })).toThrow(RangeError);
    expect(snap()).toBe(before);
  });
});
