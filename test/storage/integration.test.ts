import { describe, expect, it } from 'vitest';
import { ClusterVolume, DedupEngine, MemoryStore, VirtualDisk, VirtualScsiController, computeLayout, checkVolume, type Completion } from '../../src/storage/index.js';
import { createSimContext } from '../../src/sim/index.js';
import { SMALL, block } from './helpers.js';

describe('guest IO through the SCSI controller onto a deduplicated volume', () => {
  it('two VMs write the same blocks through their controllers; DeDe merges them; reads through SCSI are intact', () => {
    const ctx = createSimContext({ seed: 21, costs: { diskIo: 100_000, diskPerByte: 1 } });
    const store = new MemoryStore(computeLayout(SMALL).totalSize);
    const vol = ClusterVolume.format(store, SMALL, { ctx });
    const dede = new DedupEngine(vol, { ctx });
    const vms = [1, 2].map((vm) => {
      const ino = vol.create(vm, `vm${vm}.vmdk`, { size: 1 << 20, monitored: true, domain: 1 });
      const seen: Completion[] = [];
      let ctl!: VirtualScsiController;
      ctl = new VirtualScsiController(ctx, { vmId: vm, device: new VirtualDisk(vol, vm, ino), sink: { raise: () => ctx.events.after(500, 'isr', () => seen.push(...ctl.poll())) } });
      return { ino, ctl, seen };
    });
    for (const v of vms) for (let i = 0; i < 24; i++) expect(v.ctl.submit({ op: 'write', lba: i * 8, count: 8, data: block(i) }).ok).toBe(true);
    while (ctx.events.runNext()) { /* drain */ }
    expect(vms.every((v) => v.seen.length === 24 && v.seen.every((c) => c.status === 'good'))).toBe(true);
    const distinct = () => new Set(vms.flatMap((v) => Array.from({ length: 24 }, (_, i) => vol.locate(v.ino, i).unit))).size;
    expect(distinct()).toBe(48);
    dede.flush(1);
    dede.flush(2);
    dede.pass(1);
    dede.pass(2);
    expect(dede.processMergeRequests(1)).toBe(24);
    expect(distinct()).toBe(24);
    for (const v of vms) {
      v.seen.length = 0;
      for (let i = 0; i < 24; i++) v.ctl.submit({ op: 'read', lba: i * 8, count: 8 });
    }
    while (ctx.events.runNext()) { /* drain */ }
    for (const v of vms) {
      const byLba = new Map(v.seen.map((c) => [c.lba, c.data!]));
      for (let i = 0; i < 24; i++) expect(byLba.get(i * 8)).toEqual(block(i));
    }
    // A guest write to a now-shared block copies it; the other VM still reads the old content.
    vms[0].ctl.submit({ op: 'write', lba: 0, count: 8, data: block(99) });
    while (ctx.events.runNext()) { /* drain */ }
    expect(vol.readAt(vms[0].ino, 0, 4096)).toEqual(block(99));
    expect(vol.readAt(vms[1].ino, 0, 4096)).toEqual(block(0));
    expect(checkVolume(vol).findings).toEqual([]);
  });
});
