/**
 * Property tests (fast-check, fixed seeds) of the ESX memory manager against a reference model:
 * P4 frame conservation (refcount = mappings, used ≤ frames, freed frames zero on reuse), P5 no write
 * lands on a shared frame (hash recorded at merge constant), ballooned GPPNs have no frame unless
 * popped, swap round trips keep bytes, P7 frames reachable from two VMs are shared and inside one
 * sharing domain, and every merge compared bytes first (run with a deliberately
 * weak hash so that a merge without a compare would corrupt the model).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BALLOON_HC, FrameFlag, PageState, type Hash64 } from '../../src/memory/index.js';
import type { Gppn, VmId } from '../../src/sim/index.js';
import { makeEsx, pageOf, writePage } from './helpers.js';

const VMS = [1, 2, 3] as VmId[];
const PAGES = 12;

type Op =
  | { k: 'write'; vm: number; g: number; tag: number }
  | { k: 'read'; vm: number; g: number }
  | { k: 'share'; vm: number; g: number }
  | { k: 'scan' }
  | { k: 'inflate'; vm: number; gs: number[] }
  | { k: 'deflate'; vm: number; gs: number[] }
  | { k: 'swapout'; vm: number; n: number }
  | { k: 'tick' };

const vmA = fc.integer({ min: 0, max: 2 });
const gA = fc.integer({ min: 0, max: PAGES - 1 });
const opA: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('write' as const), vm: vmA, g: gA, tag: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('read' as const), vm: vmA, g: gA }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('share' as const), vm: vmA, g: gA }) },
  { weight: 1, arbitrary: fc.constant({ k: 'scan' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('inflate' as const), vm: vmA, gs: fc.array(fc.integer({ min: -2, max: PAGES + 2 }), { minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('deflate' as const), vm: vmA, gs: fc.array(gA, { minLength: 1, maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('swapout' as const), vm: vmA, n: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'tick' as const }) },
);

const weakHash = (w: Int32Array, off: number, salt: number, out: Hash64) => ((out.lo = (w[off] ^ salt) & 3), (out.hi = 0), out);

function runOps(ops: Op[], weak: boolean): void {
  const frames = 30; // fewer frames than 3 × 12 pages: the allocator must reclaim
  const { mm, esx, machine } = makeEsx(frames, {
    sharingEnabled: true, autoBalloon: false, swapSlots: 256, tickNs: 1000, samplePeriodNs: 5000,
    ...(weak ? { sharing: { hasher: weakHash, perVmPagesPerScan: 8, systemPagesPerScan: 16 } } : { sharing: { perVmPagesPerScan: 8, systemPagesPerScan: 16 } }),
  });
  for (const v of VMS) {
    esx.addVm(v, PAGES);
    if (v !== VMS[2]) esx.setSharingDomain(v, 'ab'); // VM 3 stays in its own (default) domain
    esx.setBalloonTarget(v, 6);
  }
  const model = VMS.map(() => new Array<number>(PAGES).fill(-1)); // -1 = zero page
  const expectPage = (vi: number, g: number) => {
    const b = machine.bytes(mm.resolve(VMS[vi], g as Gppn, false));
    const tag = model[vi][g];
    if (tag < 0) expect(b.every((x) => x === 0)).toBe(true);
    else expect(b).toEqual(pageOf(tag));
  };
  for (const op of ops) {
    switch (op.k) {
      case 'write':
        writePage(mm, VMS[op.vm], op.g, pageOf(op.tag));
        model[op.vm][op.g] = op.tag;
        break;
      case 'read':
        expectPage(op.vm, op.g);
        break;
      case 'share':
        esx.sharing.tryShare(VMS[op.vm], op.g as Gppn);
        break;
      case 'scan':
        esx.sharing.scan();
        break;
      case 'inflate': {
        const p = mm.pmap(VMS[op.vm]);
        const before = op.gs.map((g) => (g >= 0 && g < PAGES ? p.state[g] & PageState.BALLOONED : 1));
        esx.hypercall(BALLOON_HC.INFLATE, { vm: VMS[op.vm], mode: 'kernel' }, op.gs);
        op.gs.forEach((g, i) => {
          if (g >= 0 && g < PAGES && !before[i] && p.state[g] & PageState.BALLOONED) model[op.vm][g] = -1;
        });
        break;
      }
      case 'deflate':
        esx.hypercall(BALLOON_HC.DEFLATE, { vm: VMS[op.vm], mode: 'kernel' }, op.gs);
        break;
      case 'swapout':
        esx.swap.pageOut(VMS[op.vm], op.n);
        break;
      case 'tick':
        esx.tick();
        break;
    }
    // P4: refcount = mappings, used ≤ frames; P5: shared frames unchanged since merge.
    const inv = mm.checkInvariants();
    expect(inv.violations).toEqual([]);
    expect(inv.framesUsed).toBeLessThanOrEqual(frames);
    expect(esx.sharing.verifySharedFrames()).toEqual([]);
    // P7 isolation: a frame reachable from two VMs is shared and both are in one sharing domain.
    const owners = new Map<number, Set<number>>();
    for (const v of VMS) {
      const p = mm.pmap(v);
      for (let g = 0; g < PAGES; g++) if (p.state[g] & PageState.PRESENT) {
        let set = owners.get(p.mpn[g]);
        if (!set) owners.set(p.mpn[g], (set = new Set()));
        set.add(v);
      }
    }
    for (const [f, set] of owners) if (set.size > 1) {
      expect(machine.flags[f] & FrameFlag.SHARED).toBeTruthy();
      expect(set.has(VMS[2])).toBe(false);
    }
    // Ballooned GPPNs have no frame.
    for (const v of VMS) {
      const p = mm.pmap(v);
      for (let g = 0; g < PAGES; g++) if (p.state[g] & PageState.BALLOONED) expect(p.mpn[g]).toBe(0xffffffff);
    }
  }
  // Every page reads what the model says (swap round trips, COW, merges with the weak hash).
  for (let vi = 0; vi < VMS.length; vi++) for (let g = 0; g < PAGES; g++) expectPage(vi, g);
  const s = esx.sharing.stats();
  expect(s.merges).toBeLessThanOrEqual(s.byteCompares);
  // Freed frames are zero (so a reused frame is zero).
  for (let f = 0; f < frames; f++) if (machine.slabs[0] && !(machine.flags[f] & FrameFlag.USED)) expect(machine.isZero(f as never)).toBe(true);
}

describe('memory manager properties', () => {
  it('invariants hold over random operation sequences (strong hash)', () => {
    fc.assert(fc.property(fc.array(opA, { minLength: 1, maxLength: 120 }), (ops) => runOps(ops, false)), { seed: 4242, numRuns: 60 });
  });
  it('invariants hold with a colliding weak hash: every merge compared bytes first', () => {
    // The example merges two different pages whose weak hashes collide: it fails unless bytes are compared.
    const collide: Op[] = [
      { k: 'write', vm: 0, g: 0, tag: 0 }, { k: 'write', vm: 0, g: 1, tag: 1 },
      { k: 'share', vm: 0, g: 0 }, { k: 'share', vm: 0, g: 1 }, { k: 'read', vm: 0, g: 1 },
    ];
    fc.assert(fc.property(fc.array(opA, { minLength: 1, maxLength: 120 }), (ops) => runOps(ops, true)), { seed: 777, numRuns: 60, examples: [[collide]] });
  });
});
