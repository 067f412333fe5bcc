import { describe, expect, it } from 'vitest';
import { FrameFlag, PageSharing, PageState, hashBytes, type Hash64 } from '../../src/memory/index.js';
import { createSimContext, type Gppn, type VmId } from '../../src/sim/index.js';
import { makeEsx, pageOf, readPage, writePage } from './helpers.js';

const V1 = 1 as VmId, V2 = 2 as VmId;
const g = (n: number) => n as Gppn;

describe('content-based page sharing (ESX §4)', () => {
  it('merges identical pages of one VM after a hint, frees the duplicate, and COW-breaks on write', () => {
    const { mm, esx, machine } = makeEsx(256, { sharingEnabled: false });
    esx.addVm(V1, 32);
    writePage(mm, V1, 3, pageOf(7));
    writePage(mm, V1, 9, pageOf(7));
    const used = machine.used;
    expect(esx.sharing.tryShare(V1, g(3))).toBe('hint');
    expect(esx.sharing.tryShare(V1, g(9))).toBe('merged');
    expect(machine.used).toBe(used - 1);
    const p = mm.pmap(V1);
    expect(p.mpn[3]).toBe(p.mpn[9]);
    expect(p.state[3] & PageState.SHARED).toBeTruthy();
    expect(machine.refcount[p.mpn[3]]).toBe(2);
    expect(esx.sharing.stats()).toMatchObject({ pages_shared: 1, pages_sharing: 1, merges: 1, byteCompares: 1 });
    writePage(mm, V1, 9, pageOf(8));
    expect(readPage(mm, V1, 3)).toEqual(pageOf(7));
    expect(readPage(mm, V1, 9)).toEqual(pageOf(8));
    expect(esx.sharing.stats().cow_breaks).toBe(1);
    expect(mm.checkInvariants().violations).toEqual([]);
    expect(esx.sharing.verifySharedFrames()).toEqual([]);
  });

  it('charges scanCpuNs once per page hashed and once per compare (E3 is computed from it)', () => {
    const { mm, esx } = makeEsx(256, { sharingEnabled: false });
    const cost = mm.ctx.costs.sharingHash;
    esx.addVm(V1, 32);
    writePage(mm, V1, 3, pageOf(7));
    writePage(mm, V1, 9, pageOf(7));
    expect(esx.sharing.tryShare(V1, g(3))).toBe('hint'); // one hash
    expect(esx.sharing.stats().scanCpuNs).toBe(cost);
    expect(esx.sharing.tryShare(V1, g(9))).toBe('merged'); // hash, rehash of the hint, compare
    expect(esx.sharing.stats().scanCpuNs).toBe(4 * cost);
  });

  it('does not share between VMs by default (salted), but does inside one configured domain', () => {
    const { mm, esx } = makeEsx(256, { sharingEnabled: false });
    esx.addVm(V1, 16);
    esx.addVm(V2, 16);
    writePage(mm, V1, 1, pageOf(5));
    writePage(mm, V2, 1, pageOf(5));
    esx.sharing.tryShare(V1, g(1));
    expect(esx.sharing.tryShare(V2, g(1))).toBe('hint');
    expect(mm.pmap(V1).mpn[1]).not.toBe(mm.pmap(V2).mpn[1]);
    esx.setSharingDomain(V1, 'tenant-a');
    esx.setSharingDomain(V2, 'tenant-a');
    esx.sharing.tryShare(V1, g(1));
    expect(esx.sharing.tryShare(V2, g(1))).toBe('merged');
    expect(mm.pmap(V1).mpn[1]).toBe(mm.pmap(V2).mpn[1]);
  });

  it('shares zero pages like any content and counts them', () => {
    const { mm, esx } = makeEsx(256, { sharingEnabled: false });
    esx.addVm(V1, 64);
    for (let i = 0; i < 40; i++) writePage(mm, V1, i, 0);
    for (let i = 0; i < 40; i++) esx.sharing.tryShare(V1, g(i));
    const s = esx.sharing.stats();
    expect(s.pages_shared).toBe(1);
    expect(s.pages_sharing).toBe(39);
    expect(s.zeroPpns).toBe(40);
  });

  it('never hashes or merges cloaked, pinned or page-table pages, or CLOAKED frames', () => {
    const { mm, esx, machine } = makeEsx(256, { sharingEnabled: false });
    esx.addVm(V1, 16);
    for (let i = 0; i < 5; i++) writePage(mm, V1, i, pageOf(1));
    const p = mm.pmap(V1);
    p.state[0] |= PageState.CLOAKED;
    p.state[1] |= PageState.PINNED;
    p.state[2] |= PageState.TRACED;
    machine.flags[p.mpn[3]] |= FrameFlag.CLOAKED;
    for (let i = 0; i < 4; i++) expect(esx.sharing.tryShare(V1, g(i))).toBe('ineligible');
    expect(esx.sharing.tryShare(V1, g(4))).toBe('hint');
    for (let i = 0; i < 4; i++) expect(esx.sharing.isIndexed(p.mpn[i] as never)).toBe(false);
  });

  it('a hash collision with different bytes is a false match: no merge, index entry kept (MEM-04)', () => {
    const weak = (w: Int32Array, off: number, salt: number, out: Hash64) => ((out.lo = w[off] ^ salt), (out.hi = w[off + 1]), out);
    const { mm, esx } = makeEsx(256, { sharingEnabled: false, sharing: { hasher: weak } });
    esx.addVm(V1, 16);
    const a = pageOf(1), b = pageOf(1);
    b[100] ^= 1;
    writePage(mm, V1, 1, a);
    writePage(mm, V1, 2, b);
    esx.sharing.tryShare(V1, g(1));
    expect(esx.sharing.tryShare(V1, g(2))).toBe('false-match');
    expect(esx.sharing.isIndexed(mm.pmap(V1).mpn[1] as never)).toBe(true);
    expect(readPage(mm, V1, 1)).toEqual(a);
    expect(readPage(mm, V1, 2)).toEqual(b);
    expect(esx.sharing.stats().false_matches).toBe(1);
  });

  it('a stale hint (page rewritten) is dropped, not merged', () => {
    const { mm, esx } = makeEsx(256, { sharingEnabled: false });
    esx.addVm(V1, 16);
    writePage(mm, V1, 1, pageOf(1));
    esx.sharing.tryShare(V1, g(1));
    writePage(mm, V1, 1, pageOf(2));
    writePage(mm, V1, 2, pageOf(1));
    expect(esx.sharing.tryShare(V1, g(2))).toBe('stale-hint');
    expect(readPage(mm, V1, 1)).toEqual(pageOf(2));
  });

  it('the random scanner respects per-VM and system-wide caps and counts full scans', () => {
    const { mm, esx } = makeEsx(1024, { sharingEnabled: false, sharing: { perVmPagesPerScan: 10, systemPagesPerScan: 15 } });
    esx.addVm(V1, 16);
    esx.addVm(V2, 16);
    expect(esx.sharing.scan()).toBe(15);
    expect(esx.sharing.scan(100)).toBe(15);
    esx.sharing.scan();
    expect(esx.sharing.stats().full_scans).toBe(1);
    expect(esx.sharing.vmStats(V1).scanned).toBeLessThanOrEqual(30);
    void mm;
  });

  it('salts are keyed with a per-host secret: reproducible per seed, unpredictable across hosts, distinct per domain', () => {
    const salts = (seed: number) => {
      const { mm } = makeEsx(64, {}, seed);
      const s = new PageSharing(mm, createSimContext({ seed }).rng.fork('scan'));
      s.setDomain(3 as VmId, 'tenant');
      s.setDomain(4 as VmId, 'tenant');
      return [1, 2, 3, 4].map((v) => s.saltOf(v as VmId));
    };
    const a = salts(1), b = salts(1), c = salts(2);
    expect(a).toEqual(b);
    expect(a[2]).toBe(a[3]);
    expect(new Set(a.slice(0, 3)).size).toBe(3);
    // The unkeyed base salts (0x10000 + vm, 0x100000 + domain index) a guest could predict are not used.
    expect(a).not.toContain(0x10001);
    expect(a[2]).not.toBe(0x100000);
    for (let i = 0; i < 4; i++) expect(c[i]).not.toBe(a[i]);
  });

  it('hashBytes is deterministic, salt-dependent and sensitive to every word', () => {
    const a = pageOf(3);
    const h = hashBytes(a);
    expect(hashBytes(a)).toEqual(h);
    expect(hashBytes(a, 5)).not.toEqual(h);
    for (const i of [0, 4, 2048, 4092]) {
      const b = a.slice();
      b[i] ^= 1;
      const hb = hashBytes(b);
      expect(hb.lo !== h.lo && hb.hi !== h.hi).toBe(true);
    }
    expect(() => hashBytes(new Uint8Array(10))).toThrow(RangeError);
  });
});
