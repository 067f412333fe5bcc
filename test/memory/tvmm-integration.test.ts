import { describe, expect, it } from 'vitest';
import { Host, type GuestOs, type GuestPlatform } from '../../src/tvmm/index.js';
import { attachEsx, MemorySwapStore, PageState } from '../../src/memory/index.js';
import { BalloonDriver } from '../../src/guest/balloon.js';
import type { KernelServices } from '../../src/guest/driver.js';
import { NS_PER_S, TerraError, type VmId } from '../../src/sim/index.js';

/** A tiny guest kernel: a free-list page allocator, and a timer that ticks its kernel drivers. */
class TinyKernel implements GuestOs {
  p!: GuestPlatform;
  free: number[] = [];
  services!: KernelServices;
  constructor(readonly driver: BalloonDriver, readonly touch: number) {}
  boot(p: GuestPlatform): void {
    this.p = p;
    for (let g = p.memoryPages - 1; g >= 1; g--) this.free.push(g);
    const self = this;
    this.services = {
      platform: p,
      allocPage: () => {
        const g = self.free.pop();
        if (g !== undefined) p.phys.zeroPage(g);
        return g;
      },
      freePage: (g) => void self.free.push(g),
      freePages: () => self.free.length,
      totalPages: () => p.memoryPages,
      now: () => p.now(),
    };
    // The guest's own data: it fills `touch` pages with a pattern.
    for (let i = 0; i < this.touch; i++) {
      const g = this.free.pop()!;
      p.phys.store32(g * 4096, 0xc0de0000 + g);
    }
    // Like Windows (ESX §7), it zeroes all its free memory at boot, so every page has a frame.
    for (const g of this.free) p.phys.zeroPage(g);
    p.setTimer(this.driver.periodNs, 32);
  }
  interrupt(): void {
    this.driver.tick(this.services);
    this.p.setTimer(this.driver.periodNs, 32);
  }
  run(): 'idle' {
    return 'idle';
  }
}

function setup(touch = 600) {
  const host = new Host({ seed: 3, machineMiB: 16 });
  const tvmm = host.boot();
  const esx = attachEsx(tvmm, { overheadPages: 0, autoBalloon: false, sharingEnabled: false });
  const driver = new BalloonDriver({ initialRate: 64 });
  const k = new TinyKernel(driver, touch);
  const id = tvmm.createVm({ name: 'g', kind: 'open-box', memoryMiB: 4, guest: k });
  tvmm.power(id, 'on');
  return { host, tvmm, esx, driver, k, id };
}

describe('the guest balloon driver against the TVMM (ESX §3.2)', () => {
  it('polls once per second, inflates at an adaptive rate through the guest allocator, and deflates', () => {
    const { tvmm, esx, driver, id, host } = setup();
    tvmm.run({ untilNs: 1.5 * NS_PER_S });
    const used0 = host.machine.used;
    esx.setBalloonTarget(id, 300);
    tvmm.run({ untilNs: 2.5 * NS_PER_S });
    expect(esx.balloon.actual(id)).toBe(64); // first poll after the target: the initial rate
    tvmm.run({ untilNs: 6.5 * NS_PER_S });
    expect(esx.balloon.actual(id)).toBe(300);
    expect(driver.stats()).toMatchObject({ actual: 300, target: 300 });
    expect(driver.stats().rate).toBeGreaterThan(64);
    expect(host.machine.used).toBeLessThan(used0 - 250);
    const p = host.memory.pmap(id);
    let ballooned = 0;
    for (let g = 0; g < p.pages; g++) if (p.state[g] & PageState.BALLOONED) ballooned++;
    expect(ballooned).toBe(300);
    // The guest's data pages are intact (it only gave free pages).
    for (const g of [1, 300, 600]) expect(tvmm.management.readMemory(id, g * 4096, 4)).toEqual(new Uint8Array([g & 255, g >> 8, 0xde, 0xc0]));
    esx.setBalloonTarget(id, 0);
    tvmm.run({ untilNs: 8.5 * NS_PER_S });
    expect(esx.balloon.actual(id)).toBe(0);
    expect(driver.held).toBe(0);
    expect(esx.balloon.stats(id).deflations).toBe(300);
    expect(host.memory.checkInvariants().violations).toEqual([]);
  });

  it('admission control is installed on the TVMM and refuses a VM that does not fit swap', () => {
    const host = new Host({ seed: 3, machineMiB: 16 });
    const tvmm = host.boot();
    attachEsx(tvmm, { overheadPages: 0, swapSlots: 1500 });
    const guest = new TinyKernel(new BalloonDriver(), 0);
    tvmm.createVm({ name: 'a', kind: 'open-box', memoryMiB: 4, guest }); // max − min = 1024 swap pages
    let err: unknown;
    try {
      tvmm.createVm({ name: 'b', kind: 'open-box', memoryMiB: 4, guest });
    } catch (e) {
      err = e;
    }
    expect((err as TerraError).code).toBe('ADMISSION_DENIED');
    expect(tvmm.vms().map((v) => v.name)).toEqual(['a']);
  });

  it('a corrupted swap slot halts the VM through the TVMM with SWAP_IO_ERROR (FLT-10c)', () => {
    const host = new Host({ seed: 4, machineMiB: 16 });
    const tvmm = host.boot();
    const store = new MemorySwapStore(4096);
    const esx = attachEsx(tvmm, { overheadPages: 0, sharingEnabled: false, swapStore: store });
    const id = tvmm.createVm({ name: 'g', kind: 'open-box', memoryMiB: 4, guest: new TinyKernel(new BalloonDriver(), 100) });
    tvmm.power(id, 'on');
    tvmm.run({ untilNs: NS_PER_S / 2 });
    expect(esx.swap.pageOut(id, 64)).toBeGreaterThan(0);
    const p = host.memory.pmap(id);
    let g = 1;
    while (!(p.state[g] & PageState.SWAPPED)) g++;
    store.flipBit(esx.swap.slotOf(id, g as never), 3);
    expect(() => tvmm.management.readMemory(id, g * 4096, 4)).toThrow(TerraError);
    expect(tvmm.vm(id)).toMatchObject({ state: 'halted', haltReason: 'SWAP_IO_ERROR' });
    expect(host.sim.trace.securityEvents().map((e) => e.kind)).toContain('swap.integrity');
  });

  it('registers the balloon hypercalls (kernel only) and drives the daemon from the event queue', () => {
    const { tvmm, esx, id } = setup(10);
    tvmm.run({ untilNs: 3.5 * NS_PER_S });
    expect(esx.stats().ticks).toBeGreaterThanOrEqual(3);
    expect(esx.vmStats(id as VmId).resident).toBeGreaterThan(10);
  });
});
