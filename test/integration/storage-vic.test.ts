/**
 * Interrupt-driven guest disk IO (issue 6): the guest kernel's read path submits to a virtual SCSI
 * controller (Tvmm.attachController), sleeps, and finishes on the completion interrupt; vIC
 * coalesces those interrupts at high commands-in-flight.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { O, bootGuest, libc, type BootedGuest } from '../../src/guest/index.js';
import { Host, MemoryDisk, type AsyncBlockController, type ControllerCompletion, type ProgramFn } from '../../src/tvmm/index.js';
import { TerraError } from '../../src/sim/index.js';
import { ClusterVolume, MemoryStore, checkVolume, computeLayout, volumeController, volumeDisk, type VolumeBlockBackend } from '../../src/storage/index.js';
import { STORAGE_PROGRAMS, storageContent } from '../../src/demo/storage.js';

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
  it('concurrent readers and writers (any chunk size, vIC on or off, jittered completions): every byte read is right and every fsync-ed file reads back', () => {
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
          // writers: each truncates and rewrites its own file twice (interrupt-driven fsync), racing the readers
          const seeds = Array.from({ length: rewrites }, (_, r) => 1000 + run * 10 + r);
          seeds.forEach((sd, r) => cmds.push(`put c${r}.bin ${sd + 500} 96 c${r}.bin ${sd} 160`));
          // two writers truncating one file under each other's queued writes (its content is not checked:
          // they interleave); the freed blocks must not be reused until those writes land
          cmds.push('put z.bin 77 200 z.bin 78 120', 'put z.bin 79 160');
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
          // What the writers left on disk, read back by a fresh VM on the synchronous path.
          const v = bootGuest({ host, name: `v${run}`, memoryMiB: 32, run: [`bigread 64 ${seeds.map((sd, r) => `c${r}.bin ${sd} 160`).join(' ')}`], programs: STORAGE_PROGRAMS, rootDisk: disk });
          host.tvmm.run({ untilNs: host.sim.clock.now + 600e9 });
          expect(out(host, v)).toEqual(seeds.map((_, r) => `bigread c${r}.bin ok`));
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

describe('interrupt-driven fsync', () => {
  it('write-back goes through the controller, fsync sleeps until it lands, a fresh boot reads the files back', () => {
    const { host, store, disk } = setup();
    const w = bootGuest({ host, name: 'w', memoryMiB: 32, run: ['put d1.bin 21 512 d2.bin 22 300'], programs: STORAGE_PROGRAMS, rootDisk: disk });
    const ctl = volumeController(host.sim, disk, host.tvmm, w.vmId, {});
    host.tvmm.attachController(w.vmId, 'root', ctl);
    host.tvmm.run({ untilNs: host.sim.clock.now + 600e9 });
    expect(host.tvmm.vm(w.vmId).state).toBe('off');
    const s = ctl.stats();
    expect(s.submitted).toBeGreaterThanOrEqual(128 + 75); // every data page of both files
    expect(s.completed).toBe(s.submitted);
    expect(w.kernel.stats.interrupts).toBeGreaterThan(0);
    const r = reader(host, disk, 'r', 64);
    const r2 = bootGuest({ host, name: 'r2', memoryMiB: 32, run: ['bigread 64 d1.bin 21 512 d2.bin 22 300'], programs: STORAGE_PROGRAMS, rootDisk: disk });
    host.tvmm.run({ untilNs: host.sim.clock.now + 600e9 });
    expect(out(host, r)).toEqual(EXPECT);
    expect(out(host, r2)).toEqual(['bigread d1.bin ok', 'bigread d2.bin ok']);
    expect(checkVolume(store).findings).toEqual([]);
  });

  it('a failed queued write keeps the page dirty and fsync reports EIO', () => {
    const host = new Host({ seed: 5, machineMiB: 64 });
    host.boot();
    const results: number[] = [];
    const prog: ProgramFn = function* (p) {
      const fd = yield* libc.open(p, 'x.bin', O.RDWR | O.CREAT);
      yield* libc.write(p, fd, new Uint8Array(8192).fill(3));
      results.push(yield* libc.fsync(p, fd));
      results.push(yield* libc.fsync(p, fd));
      return 0;
    };
    const g = bootGuest({ host, name: 'f', run: ['prog'], programs: { prog }, rootDisk: new MemoryDisk(256) });
    let next = 1;
    const done: ControllerCompletion[] = [];
    host.tvmm.attachController(g.vmId, 'root', {
      vector: 0x42,
      submit() {
        const tag = next++;
        host.sim.events.after(1000, 'fail', () => {
          done.push({ tag, status: 'check-condition' });
          host.tvmm.raiseInterrupt(g.vmId, 0x42);
        });
        return { ok: true, value: tag };
      },
      poll: () => done.splice(0),
    });
    host.tvmm.run({ untilNs: host.sim.clock.now + 60e9 });
    // first fsync: EIO (the writes failed); the pages stayed dirty, so the second queues them again and fails again
    expect(results).toEqual([-5, -5]);
    expect(next).toBeGreaterThanOrEqual(5);
  });
});

describe('interrupt-driven fsync and truncate', () => {
  it('blocks freed under a queued write are not reused until it lands: a file written into them reads back intact', () => {
    const host = new Host({ seed: 12, machineMiB: 64 });
    host.boot();
    const backing = new MemoryDisk(200);
    // A controller whose first 100 commands (z.bin's write-back) take 500 ms, later ones 1 ms; the
    // device applies a write when it completes, as a real one does.
    let next = 1;
    const done: ControllerCompletion[] = [];
    const slow: AsyncBlockController = {
      vector: 0x43,
      submit(cmd) {
        const tag = next++;
        const data = cmd.data?.slice();
        host.sim.events.after(tag <= 100 ? 500_000_000 : 1_000_000, 'slow', () => {
          if (cmd.op === 'write') backing.write(cmd.lba / 8, data!);
          done.push({ tag, status: 'good', ...(cmd.op === 'read' ? { data: backing.read(cmd.lba / 8, cmd.count / 8) } : {}) });
          host.tvmm.raiseInterrupt(g.vmId, 0x43);
        });
        return { ok: true, value: tag };
      },
      poll: () => done.splice(0),
    };
    // A: writes z.bin (100 blocks) and sleeps in fsync while its writes are queued.
    // B: meanwhile truncates z.bin (its blocks are freed under A's writes), writes y.bin (120 blocks:
    //    more than the disk has outside z's old blocks) and fsyncs it: it must wait for A's writes
    //    to land before it may reuse those blocks, or they would overwrite y.bin.
    const a: ProgramFn = function* (p) {
      const fd = yield* libc.open(p, 'z.bin', O.RDWR | O.CREAT | O.TRUNC);
      yield* libc.write(p, fd, new Uint8Array(400 * 1024).fill(0xaa));
      return (yield* libc.fsync(p, fd)) === 0 ? 0 : 1;
    };
    const b: ProgramFn = function* (p) {
      yield* libc.sleep(p, 50_000_000);
      const fd = yield* libc.open(p, 'z.bin', O.RDWR | O.TRUNC);
      yield* libc.close(p, fd);
      const fy = yield* libc.open(p, 'y.bin', O.RDWR | O.CREAT | O.TRUNC);
      yield* libc.write(p, fy, storageContent(9, 480));
      const r = yield* libc.fsync(p, fy);
      yield* libc.puts(p, `fsync y ${r}`);
      return 0;
    };
    const g = bootGuest({ host, name: 'trunc', memoryMiB: 32, run: ['a', 'b'], programs: { ...STORAGE_PROGRAMS, a, b }, rootDisk: backing });
    host.tvmm.attachController(g.vmId, 'root', slow);
    host.tvmm.run({ untilNs: host.sim.clock.now + 600e9 });
    expect(host.tvmm.vm(g.vmId).state).toBe('off');
    expect(host.tvmm.consoleLines.filter((l) => l.vm === g.vmId).map((l) => l.line)).toContain('fsync y 0');
    expect(next).toBeGreaterThan(200);
    const v = bootGuest({ host, name: 'check', memoryMiB: 32, run: ['bigread 64 y.bin 9 480'], programs: STORAGE_PROGRAMS, rootDisk: backing });
    host.tvmm.run({ untilNs: host.sim.clock.now + 600e9 });
    expect(out(host, v)).toEqual(['bigread y.bin ok']);
  });
});
