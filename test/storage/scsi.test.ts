import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createSimContext, TerraError, type SimContext } from '../../src/sim/index.js';
import { RamDisk, VirtualScsiController, VirtualDisk, ClusterVolume, MemoryStore, computeLayout, type Completion, type ControllerOptions } from '../../src/storage/index.js';
import { SMALL } from './helpers.js';

const SSD = { diskIo: 100_000, diskPerByte: 1 };

/** A guest that polls its ring `handlerNs` after each interrupt and records what it saw. */
function guest(ctx: SimContext, opts: Partial<ControllerOptions> & { handlerNs?: number; drop?: number; dup?: number } = {}) {
  const seen: Completion[] = [];
  let raised = 0;
  const rng = ctx.rng.fork('guest-faults');
  let ctl!: VirtualScsiController;
  const handle = () => ctx.events.after(opts.handlerNs ?? 1000, 'guest.isr', () => seen.push(...ctl.poll()));
  const sink = {
    raise: () => {
      raised++;
      const r = rng.float();
      if (opts.drop && r < opts.drop) return; // lost interrupt (FLT-09)
      handle();
      if (opts.dup && r > 1 - opts.dup) handle(); // duplicated interrupt
    },
  };
  ctl = new VirtualScsiController(ctx, { vmId: 1, device: new RamDisk(1 << 16), sink, ...opts });
  return { ctl, seen, raised: () => raised };
}

describe('virtual SCSI controller and vIC', () => {
  it('every completion reaches the guest exactly once, with vIC coalescing under deep CIF (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 3_000_000 }), n: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 300_000 }),
        (bursts, remote, jitter) => {
          const ctx = createSimContext({ seed: 5, costs: SSD });
          const g = guest(ctx, { remoteVcpu: remote, jitterNs: jitter, queueDepth: 64, vic: { iopsThreshold: 0, epochNs: 1_000_000 } });
          let submitted = 0;
          for (const b of bursts) ctx.events.at(b.at, 'burst', () => {
            for (let i = 0; i < b.n; i++) if (g.ctl.submit({ op: 'read', lba: i * 8, count: 8 }).ok) submitted++;
          });
          while (ctx.events.runNext()) { /* run to quiescence */ }
          const tags = g.seen.map((c) => c.tag);
          expect(new Set(tags).size).toBe(tags.length);
          expect(tags.length).toBe(submitted);
          expect(g.ctl.ringSize).toBe(0);
          expect(g.ctl.inFlight).toBe(0);
        },
      ),
      { seed: 11, numRuns: 60 },
    );
  });

  it('with CIF at or under the threshold every completion is delivered at once (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 50_000 }), (cif, total, jitter) => {
        const ctx = createSimContext({ seed: 9, costs: SSD });
        const g = guest(ctx, { jitterNs: jitter, vic: { cifThreshold: 4, iopsThreshold: 0 }, handlerNs: 0 });
        let issued = 0;
        const refill = () => {
          while (g.ctl.inFlight < cif && issued < total) {
            g.ctl.submit({ op: 'read', lba: 0, count: 1 });
            issued++;
          }
        };
        const sinkSeen = g.seen.length;
        refill();
        ctx.events.after(0, 'loop', function loop() {
          refill();
          if (issued < total || g.ctl.inFlight) ctx.events.after(10_000, 'loop', loop);
        });
        while (ctx.events.runNext()) { /* drain */ }
        const st = g.ctl.stats();
        expect(sinkSeen).toBe(0);
        expect(st.coalesced).toBe(0);
        expect(st.addedLatencyNs).toBe(0);
        expect(st.interrupts).toBe(st.completed);
        expect(g.seen.length).toBe(total);
      }),
      { seed: 12, numRuns: 40 },
    );
  });

  it('coalesces at deep CIF and high IOPS, and vIC off means one interrupt per completion', () => {
    const run = (enabled: boolean) => {
      const ctx = createSimContext({ seed: 1, costs: SSD });
      // Closed loop at CIF 32 for 100 ms of virtual time: the ISR polls and resubmits.
      let ctl!: VirtualScsiController;
      const top = () => { while (ctx.clock.now < 100_000_000 && ctl.inFlight < 32) ctl.submit({ op: 'read', lba: 0, count: 8 }); };
      ctl = new VirtualScsiController(ctx, {
        vmId: 1, device: new RamDisk(1024), queueDepth: 64, jitterNs: 50_000,
        vic: { enabled, epochNs: 10_000_000 },
        sink: { raise: () => ctx.events.after(2000, 'isr', () => { ctl.poll(); top(); }) },
      });
      top();
      while (ctx.events.runNext()) { /* drain */ }
      return ctl.stats();
    };
    const on = run(true), off = run(false);
    expect(off.interrupts).toBe(off.completed);
    expect(on.interrupts / on.completed).toBeLessThan(0.5);
    expect(on.coalesced).toBeGreaterThan(0);
  });

  it('IPI gate: no two IPIs within 100 µs, and deferred deliveries still happen', () => {
    const ctx = createSimContext({ seed: 2, costs: { diskIo: 10_000, diskPerByte: 0 } });
    const times: number[] = [];
    const ctl: VirtualScsiController = new VirtualScsiController(ctx, {
      vmId: 3, device: new RamDisk(1024), remoteVcpu: true, jitterNs: 50_000,
      sink: { raise: () => { times.push(ctx.clock.now); ctx.events.after(500, 'isr', () => ctl.poll()); } },
      vic: { enabled: false },
    });
    for (let i = 0; i < 20; i++) ctl.submit({ op: 'read', lba: i, count: 1 });
    while (ctx.events.runNext()) { /* drain */ }
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(100_000);
    expect(ctl.stats().polled).toBe(20);
    expect(ctl.stats().ipiDeferred).toBeGreaterThan(0);
  });

  it('queue-depth cap gives BUSY back-pressure and changes nothing', () => {
    const ctx = createSimContext({ seed: 3, costs: SSD });
    const g = guest(ctx, { queueDepth: 4 });
    for (let i = 0; i < 4; i++) expect(g.ctl.submit({ op: 'read', lba: 0, count: 1 }).ok).toBe(true);
    const r = g.ctl.submit({ op: 'read', lba: 0, count: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('BUSY');
    expect(g.ctl.inFlight).toBe(4);
    expect(g.ctl.stats().submitted).toBe(4);
  });

  it('bad LBAs, zero counts and misaligned payloads complete with ILLEGAL_REQUEST; type errors throw', () => {
    const ctx = createSimContext({ seed: 4, costs: SSD });
    const g = guest(ctx);
    g.ctl.submit({ op: 'read', lba: 1 << 16, count: 1 });
    g.ctl.submit({ op: 'read', lba: 0, count: 0 });
    g.ctl.submit({ op: 'write', lba: 0, count: 1, data: new Uint8Array(100) });
    g.ctl.submit({ op: 'write', lba: 2, count: 1, data: new Uint8Array(512).fill(7) });
    g.ctl.submit({ op: 'read', lba: 2, count: 1 });
    expect(() => g.ctl.submit(null as never)).toThrow(TypeError);
    expect(() => g.ctl.submit({ op: 'erase' } as never)).toThrow(RangeError);
    while (ctx.events.runNext()) { /* drain */ }
    const bySense = g.seen.map((c) => c.sense ?? c.status);
    expect(bySense).toEqual(['ILLEGAL_REQUEST', 'ILLEGAL_REQUEST', 'ILLEGAL_REQUEST', 'good', 'good']);
    expect(g.seen[4].data![0]).toBe(7);
  });

  it('a virtual disk on the volume: sector IO, range and alignment errors', () => {
    const store = new MemoryStore(computeLayout(SMALL).totalSize);
    const vol = ClusterVolume.format(store, SMALL);
    const f = vol.create(1, 'd', { size: 1 << 20 });
    const d = new VirtualDisk(vol, 1, f);
    d.write(8, new Uint8Array(1024).fill(3));
    expect(d.read(8, 2)).toEqual(new Uint8Array(1024).fill(3));
    expect(() => d.read(2048, 1)).toThrow(RangeError);
    expect(() => d.read(0, 0)).toThrow(RangeError);
    expect(() => d.write(0, new Uint8Array(100))).toThrow(RangeError);
    expect(() => new VirtualDisk(vol, 2, f).write(0, new Uint8Array(512))).toThrow(TerraError);
  });
});
