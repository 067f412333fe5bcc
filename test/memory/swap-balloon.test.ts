import { describe, expect, it } from 'vitest';
import { BALLOON_HC, MemorySwapStore, PageState } from '../../src/memory/index.js';
import { HC } from '../../src/tvmm/index.js';
import { TerraError, type Gppn, type VmId } from '../../src/sim/index.js';
import { makeEsx, pageOf, readPage, writePage } from './helpers.js';
import { leaks } from '../../src/attacks/memory.js';

const V1 = 1 as VmId, V2 = 2 as VmId;
const K = (vm: VmId) => ({ vm, mode: 'kernel' as const });

describe('host swap (ESX §3.3)', () => {
  it('pages out in clusters and swaps back in with the same bytes; slots are scrubbed on free', () => {
    const store = new MemorySwapStore(64);
    const { mm, esx, machine } = makeEsx(256, { swapStore: store, sharingEnabled: false, swapEncrypt: false });
    esx.addVm(V1, 32);
    for (let i = 0; i < 32; i++) writePage(mm, V1, i, pageOf(100 + i));
    const used = machine.used;
    const freed = esx.swap.pageOut(V1, 20);
    expect(freed).toBe(20);
    expect(machine.used).toBe(used - 20);
    expect(esx.swap.stats().clusters).toBe(2);
    const p = mm.pmap(V1);
    const swapped = [...Array(32).keys()].filter((i) => p.state[i] & PageState.SWAPPED);
    expect(swapped.length).toBe(20);
    const slot = esx.swap.slotOf(V1, swapped[0] as Gppn);
    expect(store.peek(slot)).toEqual(pageOf(100 + swapped[0]));
    for (let i = 0; i < 32; i++) expect(readPage(mm, V1, i)).toEqual(pageOf(100 + i));
    expect(store.peek(slot).every((b) => b === 0)).toBe(true);
    expect(esx.swap.stats()).toMatchObject({ pagesIn: 20, slotsUsed: 0, scrubs: 20 });
    expect(mm.checkInvariants().violations).toEqual([]);
  });

  it('a flipped bit in swap halts the VM with SWAP_IO_ERROR instead of returning a wrong page (FLT-10c)', () => {
    const store = new MemorySwapStore(64);
    const halts: string[] = [];
    const { mm, esx } = makeEsx(256, { swapStore: store, sharingEnabled: false, onHalt: (_v, r) => halts.push(r) });
    esx.addVm(V1, 8);
    for (let i = 0; i < 8; i++) writePage(mm, V1, i, pageOf(i + 1));
    esx.swap.pageOut(V1, 8);
    store.flipBit(esx.swap.slotOf(V1, 3 as Gppn), 77);
    let err: unknown;
    try {
      readPage(mm, V1, 3);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TerraError);
    expect((err as TerraError).detail.reason).toBe('SWAP_IO_ERROR');
    expect(halts).toEqual(['SWAP_IO_ERROR']);
    expect(mm.pmap(V1).state[3] & PageState.SWAPPED).toBeTruthy();
    expect(readPage(mm, V1, 4)).toEqual(pageOf(5));
  });

  it('a device write error keeps the pages resident (nothing lost) and is counted', () => {
    const store = new MemorySwapStore(64);
    store.fault = (op) => {
      if (op === 'write') throw new Error('EIO');
    };
    const { mm, esx } = makeEsx(256, { swapStore: store, sharingEnabled: false });
    esx.addVm(V1, 8);
    for (let i = 0; i < 8; i++) writePage(mm, V1, i, pageOf(i));
    expect(esx.swap.pageOut(V1, 4)).toBe(0);
    expect(esx.swap.stats().writeErrors).toBeGreaterThan(0);
    for (let i = 0; i < 8; i++) expect(readPage(mm, V1, i)).toEqual(pageOf(i));
  });
});

describe('swap confidentiality against the host', () => {
  it('by default the swap device holds ciphertext: no 16-byte window of any page, fresh nonce per write', () => {
    const store = new MemorySwapStore(64);
    const { mm, esx } = makeEsx(256, { swapStore: store, sharingEnabled: false });
    expect(esx.swap.encrypted).toBe(true);
    esx.addVm(V1, 8);
    const secret = pageOf(7);
    const pageI = (i: number) => {
      const x = secret.slice();
      x[4095] = i; // distinct pages (identical ones would be shared instead of swapped)
      return x;
    };
    for (let i = 0; i < 8; i++) writePage(mm, V1, i, pageI(i));
    esx.swap.pageOut(V1, 8);
    const p = mm.pmap(V1);
    const slots = [...Array(8).keys()].filter((g) => p.state[g] & PageState.SWAPPED).map((g) => esx.swap.slotOf(V1, g as Gppn));
    expect(slots.length).toBe(8);
    const seen = new Set<string>();
    for (const s of slots) {
      const c = store.peek(s);
      expect(leaks(secret.subarray(0, 4080), c)).toBe(false);
      seen.add(Buffer.from(c.subarray(0, 16)).toString('hex'));
    }
    expect(seen.size).toBe(8); // same first 4 KiB − 1 bytes, different ciphertext: a fresh nonce per write
    for (let i = 0; i < 8; i++) expect(readPage(mm, V1, i)).toEqual(pageI(i));
  });
  it('cloaked pages are never host-swapped', () => {
    const { mm, esx } = makeEsx(256, { sharingEnabled: false });
    esx.addVm(V1, 8);
    for (let i = 0; i < 8; i++) writePage(mm, V1, i, pageOf(i + 1));
    for (let i = 0; i < 8; i++) mm.pmap(V1).state[i] |= PageState.CLOAKED;
    expect(esx.swap.pageOut(V1, 8)).toBe(0);
  });
});

describe('ballooning, TVMM side (ESX §3.2)', () => {
  it('the hypercall numbers match the TVMM table', () => {
    expect(BALLOON_HC).toEqual({ INFLATE: HC.BALLOON_INFLATE, DEFLATE: HC.BALLOON_DEFLATE, TARGET: HC.BALLOON_TARGET });
  });

  it('inflate frees frames, skips and counts bad reports, deflate returns zeroed pages', () => {
    const { mm, esx, machine } = makeEsx(256, { sharingEnabled: false, autoBalloon: false });
    esx.addVm(V1, 32);
    for (let i = 0; i < 32; i++) writePage(mm, V1, i, pageOf(i + 9));
    esx.setBalloonTarget(V1, 4);
    expect(esx.hypercall(BALLOON_HC.TARGET, K(V1), [])).toBe(4);
    const used = machine.used;
    // The result is the bit mask of accepted positions: 0 (gppn 1), 5, 6, 7 (gppns 2, 3, 4).
    expect(esx.hypercall(BALLOON_HC.INFLATE, K(V1), [1, 1, 40, -3, 2.5, 2, 3, 4])).toBe(0b11100001);
    expect(esx.hypercall(BALLOON_HC.INFLATE, K(V1), [5])).toBe(0);
    expect(machine.used).toBe(used - 4);
    const s = esx.balloon.stats(V1);
    expect(s).toMatchObject({ actual: 4, inflations: 4, rejectedDuplicate: 1, rejectedInvalid: 3, rejectedPastTarget: 1 });
    expect(esx.hypercall(BALLOON_HC.DEFLATE, K(V1), [1, 9])).toBe(1);
    expect(esx.balloon.stats(V1).rejectedNotInflated).toBe(1);
    expect(readPage(mm, V1, 1).every((b) => b === 0)).toBe(true);
    expect(esx.hypercall(BALLOON_HC.INFLATE, K(V1), [])).toBe(-22);
    expect(esx.hypercall(BALLOON_HC.INFLATE, { vm: V1, mode: 'user' }, [6])).toBe(-1);
    expect(mm.checkInvariants().violations).toEqual([]);
  });

  it('a touch of a ballooned page pops the balloon: fresh zero frame, driver reset on next call', () => {
    const { mm, esx } = makeEsx(256, { sharingEnabled: false, autoBalloon: false });
    esx.addVm(V1, 16);
    writePage(mm, V1, 2, pageOf(3));
    esx.setBalloonTarget(V1, 2);
    esx.hypercall(BALLOON_HC.INFLATE, K(V1), [2, 3]);
    expect(mm.pmap(V1).mpn[2]).toBe(0xffffffff);
    expect(readPage(mm, V1, 2).every((b) => b === 0)).toBe(true);
    expect(esx.balloon.stats(V1).pops).toBe(1);
    expect(esx.hypercall(BALLOON_HC.TARGET, K(V1), [])).toBe(-16);
    expect(esx.balloon.actual(V1)).toBe(0);
    expect(mm.pmap(V1).state[3] & PageState.BALLOONED).toBe(0);
    expect(esx.hypercall(BALLOON_HC.TARGET, K(V1), [])).toBe(2);
  });

  it('ballooning a page shared with another VM drops only this VM’s reference', () => {
    const { mm, esx } = makeEsx(256, { sharingEnabled: false, autoBalloon: false });
    esx.addVm(V1, 8);
    esx.addVm(V2, 8);
    esx.setSharingDomain(V1, 'd');
    esx.setSharingDomain(V2, 'd');
    writePage(mm, V1, 1, pageOf(4));
    writePage(mm, V2, 1, pageOf(4));
    esx.sharing.tryShare(V1, 1 as Gppn);
    expect(esx.sharing.tryShare(V2, 1 as Gppn)).toBe('merged');
    esx.setBalloonTarget(V1, 1);
    expect(esx.hypercall(BALLOON_HC.INFLATE, K(V1), [1])).toBe(1);
    expect(readPage(mm, V2, 1)).toEqual(pageOf(4));
    expect(mm.checkInvariants().violations).toEqual([]);
  });
});
