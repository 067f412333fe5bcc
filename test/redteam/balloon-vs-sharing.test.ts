/**
 * Red team: balloon reports racing with content-based sharing. VM A and VM B share frames (same
 * sharing domain, identical pages); A's driver then balloons exactly those GPPNs, deflates some,
 * touches deflated and still-ballooned pages (a pop), while scans keep running. Expected (and
 * found): B's pages keep their bytes throughout, every shared frame still matches its hash, A's
 * deflated and popped pages come back zeroed, and the TVMM's balloon count is its own.
 */
import { describe, expect, it } from 'vitest';
import { makeEsx, pageOf, readPage, writePage } from '../memory/helpers.js';
import type { VmId } from '../../src/sim/index.js';

describe('ballooning shared pages', () => {
  it('inflate, deflate and pop shared GPPNs between scans: the co-sharer is untouched', () => {
    const { mm, esx } = makeEsx(4096);
    const a = esx.addVm(1 as VmId, 64);
    const b = esx.addVm(2 as VmId, 64);
    esx.setSharingDomain(a, 'tenant');
    esx.setSharingDomain(b, 'tenant');
    const P = pageOf(7);
    for (const v of [a, b]) for (let g = 0; g < 8; g++) writePage(mm, v, g, P);
    for (let i = 0; i < 10; i++) esx.sharing.scan(1000);
    expect(esx.sharing.stats().sharedPpns).toBeGreaterThanOrEqual(16);
    const bIntact = () => [0, 1, 2, 3, 4, 5, 6, 7].every((g) => readPage(mm, b, g).every((x, i) => x === P[i]));

    esx.setBalloonTarget(a, 8);
    expect(esx.hypercall(18, { vm: a, mode: 'kernel' }, [])).toBe(8);
    expect(esx.hypercall(16, { vm: a, mode: 'kernel' }, [0, 1, 2, 3, 4, 5, 6, 7])).toBe(0xff);
    for (let i = 0; i < 5; i++) esx.sharing.scan(1000);
    expect(bIntact()).toBe(true);
    expect(esx.hypercall(17, { vm: a, mode: 'kernel' }, [0, 1, 2, 3])).toBe(0xf);
    expect(readPage(mm, a, 0).every((x) => x === 0)).toBe(true);
    writePage(mm, a, 1, 0x55);
    writePage(mm, a, 5, 0x66); // still ballooned: a pop
    for (let i = 0; i < 5; i++) esx.sharing.scan(1000);
    expect(bIntact()).toBe(true);
    expect(esx.sharing.verifySharedFrames()).toEqual([]);
    expect(esx.balloon.stats(a).pops).toBe(1);
    expect(esx.balloon.actual(a)).toBe(3);
  });
});
