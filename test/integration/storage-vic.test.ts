/**
 * Interrupt-driven guest disk IO (issue 6): the guest kernel's read path submits to a virtual SCSI
 * controller (Tvmm.attachController), sleeps, and finishes on the completion interrupt; vIC
 * coalesces those interrupts at high commands-in-flight.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bootGuest, type BootedGuest } from '../../src/guest/index.js';
import { Host, MemoryDisk, type AsyncBlockController, type ControllerCompletion } from '../../src/tvmm/index.js';
import { TerraError } from '../../src/sim/index.js';
import { ClusterVolume, MemoryStore, checkVolume, computeLayout, volumeController, volumeDisk, type VolumeBlockBackend } from '../../src/storage/index.js';
import { STORAGE_PROGRAMS } from '../../src/demo/storage.js';

const GEOM = { largeBlocks: 32, inodes: 32, pointerBlocks: 512, journalPages: 128 };

function setup(): { host: Host; store: MemoryStore; disk: VolumeBlockBackend } {
  const host = new Host({ seed: 11, machineMiB: 128 });
  host.boot();
  const store = new MemoryStore(computeLayout(GEOM).totalSize);
  const vol = ClusterVolume.format(store, GEOM);
  const disk = volumeDisk(vol, 'data.vmdk', { host: 1, domain: 1, blocks: 2048 });
  const g = bootGuest({ host, name: 'loader', memoryMiB: 32, run: ['put a.bin 5 2048 b.bin 6 1024'], programs: STORAGE_PROGRAMS, rootDisk: disk });
  host.tvmm.run({ untilNs: 600e9 });
  expect(host.tvmm.vm(g.vmId).state).toBe('off');
  return { host, store, disk };
}

function reader(host: Host, disk: VolumeBlockBackend, name: string, chunkKiB: number): BootedGuest {
  return bootGuest({ host, name, memoryMiB: 32, run: [`bigread ${chunkKiB} a.bin 5 2048 b.bin 6 1024 b.bin 7 1024`], programs: STORAGE_PROGRAMS, rootDisk: disk });
}

function out(host: Host, g: BootedGuest): string[] {
  return host.tvmm.consoleLines.filter((l) => l.vm === g.vmId && l.line.startsWith('bigread')).map((l) => l.line);
}

const EXPECT = ['bigread a.bin ok', 'bigread b.bin ok', 'bigread b.bin bad'];

describe('interrupt-driven disk IO through a virtual SCSI controller', () => {
  it('the guest reads through the controller, sleeping on completion interrupts, much faster in virtual time than synchronous IO', () => {
    const { host, store, disk } = setup();
    const t0 = host.sim.clock.now;
    const s = reader(host, disk, 'sync', 128);
    host.tvmm.run({ untilNs: t0 + 600e9 });
    const syncNs = host.sim.clock.now - t0;
    expect(out(host, s)).toEqual(EXPECT);

    const irq0 = host.tvmm.stats.interrupts;
    const g = reader(host, disk, 'async', 128);
    const ctl = volumeController(host.sim, disk, host.tvmm, g.vmId, { vector: 0x40, vic: { enabled: false } });
    host.tvmm.attachController(g.vmId, 'root', ctl);
    const t1 = host.sim.clock.now;
    host.tvmm.run({ untilNs: t1 + 600e9 });
    const asyncNs = host.sim.clock.now - t1;
    expect(out(host, g)).toEqual(EXPECT);
    const st = ctl.stats();
    // 768 data pages (a.bin 512 + b.bin 256) plus the indirect blocks; b.bin is read twice from the cache
    expect(st.submitted).toBeGreaterThanOrEqual(768);
    expect(st.completed).toBe(st.submitted);
    expect(st.maxInFlight).toBe(32);
    expect(st.interrupts).toBeGreaterThanOrEqual(st.completed); // vIC off: one per completion
    expect(host.tvmm.stats.interrupts - irq0).toBeGreaterThanOrEqual(st.interrupts);
    expect(g.kernel.stats.interrupts).toBeGreaterThanOrEqual(st.interrupts);
    expect(asyncNs * 4).toBeLessThan(syncNs);
    expect(checkVolume(store).findings).toEqual([]);
  });

  it('vIC: fewer interrupts per completion at CIF 32, the same data', () => {
    const { host, disk } = setup();
    const runWith = (enabled: boolean) => {
      const g = reader(host, disk, `r-${enabled}`, 128);
      const ctl = volumeController(host.sim, disk, host.tvmm, g.vmId, { vic: { enabled, epochNs: 20_000_000 }, jitterNs: 1_000_000 });
      host.tvmm.attachController(g.vmId, 'root', ctl);
      host.tvmm.run({ untilNs: host.sim.clock.now + 600e9 });
      expect(out(host, g)).toEqual(EXPECT);
      const s = ctl.stats();
      expect(s.completed).toBe(s.submitted);
      return s.interrupts / s.completed;
    };
    const off = runWith(false);
    const on = runWith(true);
    expect(off).toBeGreaterThanOrEqual(1);
    expect(on).toBeLessThan(0.7);
  });

  it('a failed queued read falls back to a synchronous read; stray tags are ignored', () => {
    const { host, disk } = setup();
    const g = reader(host, disk, 'faulty', 64);
    // A controller that fails every command (and reports one tag nobody issued).
    let next = 1;
    const done: ControllerCompletion[] = [];
    const ctl: AsyncBlockController = {
      vector: 0x41,
      submit(cmd) {
        const tag = next++;
        host.sim.events.after(1000, 'faulty', () => {
          done.push({ tag, status: 'check-condition' }, { tag: 99_999, status: 'good' });
          host.tvmm.raiseInterrupt(g.vmId, 0x41);
        });
        expect(cmd.count % 8).toBe(0);
        return { ok: true, value: tag };
      },
      poll: () => done.splice(0),
    };
    host.tvmm.attachController(g.vmId, 'root', ctl);
    host.tvmm.run({ untilNs: host.sim.clock.now + 600e9 });
    expect(next).toBeGreaterThan(1);
    expect(out(host, g)).toEqual(EXPECT);
  });

  it('attachController validates: the disk must exist, one controller per disk, a controller-shaped object', () => {
    const host = new Host({ seed: 1, machineMiB: 64 });
    const g = bootGuest({ host: (host.boot(), host), name: 'v', run: [] });
    const ctl: AsyncBlockController = { vector: 0x40, submit: () => ({ ok: true, value: 1 }), poll: () => [] };
    try {
      host.tvmm.attachController(g.vmId, 'root', ctl);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TerraError);
      expect((e as TerraError).code).toBe('NOT_FOUND');
    }
    host.tvmm.attachDisk(g.vmId, 'root', new MemoryDisk(64));
    expect(() => host.tvmm.attachController(g.vmId, 'root', { ...ctl, vector: 256 })).toThrow(RangeError);
    expect(() => host.tvmm.attachController(g.vmId, 'root', { vector: 1 } as never)).toThrow(TypeError);
    host.tvmm.attachController(g.vmId, 'root', ctl);
    expect(() => host.tvmm.attachController(g.vmId, 'root', ctl)).toThrow(RangeError);
  });
});

describe('interrupt-driven reads under concurrency (property)', () => {
  it('concurrent readers (any chunk size, vIC on or off, jittered completions) read every byte right while a writer truncates and rewrites another file', () => {
    const { host, store, disk } = setup();
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(4, 12, 64, 128, 256), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 3_000_000 }),
        fc.integer({ min: 1, max: 3 }),
        (chunks, vic, jitterNs, rewrites) => {
          run++;
          const cmds = chunks.map((k, i) => `bigread ${k} ${i % 2 ? 'b.bin 6 1024' : 'a.bin 5 2048'}`);
          for (let r = 0; r < rewrites; r++) cmds.push(`put c.bin ${1000 + run * 10 + r} 256`);
          const g = bootGuest({ host, name: `p${run}`, memoryMiB: 32, run: cmds, programs: STORAGE_PROGRAMS, rootDisk: disk });
          const ctl = volumeController(host.sim, disk, host.tvmm, g.vmId, { vic: { enabled: vic, epochNs: 10_000_000, iopsThreshold: 500 }, jitterNs, queueDepth: 16 });
          host.tvmm.attachController(g.vmId, 'root', ctl);
          host.tvmm.run({ untilNs: host.sim.clock.now + 600e9 });
          const lines = out(host, g);
          expect(lines).toHaveLength(chunks.length);
          expect(lines.every((l) => l.endsWith(' ok'))).toBe(true);
          const s = ctl.stats();
          expect(s.submitted).toBeGreaterThan(0);
          expect(s.completed).toBe(s.submitted);
          expect(host.tvmm.vm(g.vmId).state).toBe('off');
        },
      ),
      { seed: 42, numRuns: 8 },
    );
    expect(checkVolume(store).findings).toEqual([]);
  });
});

describe('interrupt-driven reads across a power cycle', () => {
  it('commands still in flight when the VM is powered off never land in the next boot; the next boot reads correctly', () => {
    const { host, disk } = setup();
    const g = reader(host, disk, 'cycled', 128);
    const ctl = volumeController(host.sim, disk, host.tvmm, g.vmId, { jitterNs: 500_000 });
    host.tvmm.attachController(g.vmId, 'root', ctl);
    for (let i = 0; i < 1000 && ctl.stats().submitted < 100; i++) host.tvmm.run({ untilNs: host.sim.clock.now + 1_000_000 });
    expect(ctl.inFlight).toBeGreaterThan(0);
    expect(out(host, g)).toEqual([]);
    host.tvmm.power(g.vmId, 'off');
    const stale = ctl.inFlight;
    const submittedBefore = ctl.stats().submitted;
    const seq0 = host.sim.trace.events().at(-1)!.seq;
    host.tvmm.power(g.vmId, 'on');
    host.tvmm.run({ untilNs: host.sim.clock.now + 600e9 });
    expect(out(host, g)).toEqual(EXPECT);
    // Only the new boot's commands were completed into guest memory; the stale ones were dropped.
    const delivered = host.sim.trace.events().filter((e) => e.seq > seq0 && e.vm === g.vmId && e.kind === 'disk.complete').length;
    expect(stale).toBeGreaterThan(0);
    expect(delivered).toBe(ctl.stats().submitted - submittedBefore);
    expect(host.tvmm.vm(g.vmId).state).toBe('off');
    const s = ctl.stats();
    expect(s.completed).toBe(s.submitted);
  });
});
