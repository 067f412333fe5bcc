import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ClusterVolume, DedupEngine, IndexTable, INDEX_NAME, RamDisk, VirtualScsiController, checkVolume, isIndexCorrupt } from './robustness-imports.js';
import { TerraError, createSimContext, isValidationError } from '../../src/sim/index.js';
import { block, smallVolume } from './helpers.js';

describe('corrupted index and logs', () => {
  it('a corrupt index entry: strict load is CORRUPT, passes drop it, the checker reports and repairs; data intact', () => {
    const { store, vol } = smallVolume();
    const dede = new DedupEngine(vol);
    const a = vol.create(1, 'a', { size: 1 << 20, monitored: true });
    for (let i = 0; i < 16; i++) vol.writeAt(1, a, i * 4096, block(i));
    dede.pass(1);
    const idx = vol.lookup(INDEX_NAME)!;
    const loc = vol.locate(idx, 0);
    store.write(vol.layout.dataStart + loc.unit * 4096 + 64 * 3 + 5, new Uint8Array([0x5a]));
    expect(isIndexCorrupt(() => dede.loadIndex(true))).toBe(true);
    expect(dede.loadIndex().size).toBe(15);
    const rep = checkVolume(vol);
    expect(rep.findings.map((f) => f.code)).toEqual(['INDEX_ENTRY_CORRUPT']);
    expect(checkVolume(vol, { repair: true }).findings).toEqual([]);
    const v2 = ClusterVolume.open(store);
    for (let i = 0; i < 16; i++) expect(v2.readAt(a, i * 4096, 4096)).toEqual(block(i));
    expect(new DedupEngine(v2).loadIndex(true).size).toBe(15);
  });

  it('IndexTable round-trips through its sorted on-disk form', () => {
    const t = new IndexTable(4);
    for (let i = 0; i < 100; i++) {
      const h = new Uint8Array(32);
      h[0] = (i * 37) & 255; h[1] = i;
      t.set(i % 3, h, (1 + (i % 2)) as 1 | 2, i, 1, i * 2);
    }
    const { table, bad } = IndexTable.parse(t.serialize(), true);
    expect(bad).toBe(0);
    expect(table.size).toBe(100);
    expect(table.serialize()).toEqual(t.serialize());
  });
});

describe('validation totality (threats P20)', () => {
  const junk = fc.oneof(fc.anything(), fc.integer({ min: -5, max: 1 << 22 }), fc.double(), fc.constant(undefined), fc.uint8Array({ maxLength: 8 }));
  it('volume and controller APIs throw only validation errors or TerraError, and change nothing', () => {
    const { vol } = smallVolume();
    const f = vol.create(1, 'x', { size: 1 << 20 });
    vol.writeAt(1, f, 0, block(1));
    const ctx = createSimContext({ seed: 1 });
    const ctl = new VirtualScsiController(ctx, { vmId: 1, device: new RamDisk(64), sink: { raise: () => {} } });
    const calls: ((a: unknown, b: unknown, c: unknown) => unknown)[] = [
      (a, b, c) => vol.writeAt(a as number, b as number, c as number, new Uint8Array(1)),
      (a, b) => vol.writeAt(1, f, a as number, b as Uint8Array),
      (a, b, c) => vol.readAt(a as number, b as number, c as number),
      (a, b) => vol.create(a as number, b as string),
      (a, b) => vol.lock(a as number, b as number),
      (a, b, c) => vol.clone(a as number, b as number, c as string),
      (a, b) => vol.locate(a as number, b as number),
      (a, b, c) => vol.setSize(a as number, b as number, c as number),
      (a) => ctl.submit(a as never),
      (a, b, c) => ctl.submit({ op: 'write', lba: a, count: b, data: c } as never),
      (a) => checkVolume(vol, a as never),
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: calls.length - 1 }), junk, junk, junk, (k, a, b, c) => {
        const before = vol.stats().transactions;
        const bytes = vol.readAt(f, 0, 4096);
        try {
          calls[k](a, b, c);
        } catch (e) {
          expect(isValidationError(e) || e instanceof TerraError || e instanceof TypeError || e instanceof RangeError).toBe(true);
          expect(vol.stats().transactions).toBe(before);
          expect(vol.readAt(f, 0, 4096)).toEqual(bytes);
        }
      }),
      { seed: 77, numRuns: 400 },
    );
  });
});

describe('ISO-06: completions reach only their owner, exactly once', () => {
  it('two VMs interleave 10^4 IOs completed out of order with vIC and the IPI gate on', () => {
    const ctx = createSimContext({ seed: 6, costs: { diskIo: 100_000, diskPerByte: 1 } });
    const seen: Record<number, number[]> = { 1: [], 2: [] };
    const raised: Record<number, number> = { 1: 0, 2: 0 };
    const ctls: Record<number, VirtualScsiController> = {};
    for (const vm of [1, 2]) {
      ctls[vm] = new VirtualScsiController(ctx, {
        vmId: vm, device: new RamDisk(4096), queueDepth: 64, jitterNs: 200_000, remoteVcpu: vm === 2, vic: { iopsThreshold: 0 },
        sink: { raise: () => { raised[vm]++; ctx.events.after(1000, 'isr', () => seen[vm].push(...ctls[vm].poll().map((c) => c.tag))); } },
      });
    }
    const rng = ctx.rng.fork('iso06');
    const issued: Record<number, number> = { 1: 0, 2: 0 };
    for (let i = 0; i < 10_000; i++) {
      const vm = 1 + rng.int(2);
      ctx.events.at(rng.int(400_000_000), 'io', () => { if (ctls[vm].submit({ op: 'read', lba: rng.int(4000), count: 1 }).ok) issued[vm]++; });
    }
    while (ctx.events.runNext()) { /* drain */ }
    for (const vm of [1, 2]) {
      expect(new Set(seen[vm]).size).toBe(seen[vm].length);
      expect(seen[vm].length).toBe(issued[vm]);
      expect(ctls[vm].stats().interrupts).toBe(raised[vm]);
    }
    expect(issued[1] + issued[2]).toBeGreaterThan(9000);
  });
});

describe('checker on damaged pointers', () => {
  it('a pointer beyond the volume is reported, repaired (the block becomes a hole), other data intact', () => {
    const { store, vol } = smallVolume();
    const a = vol.create(1, 'a', { size: 2 << 20 });
    const b = vol.create(1, 'b', { size: 1 << 20 });
    vol.writeAt(1, a, 0, block(1));
    vol.writeAt(1, a, 1 << 20, block(2));
    vol.writeAt(1, b, 0, block(3));
    // Point a's second file block beyond the volume (the page checksum now fails too).
    const L = vol.layout;
    const ptrOff = L.metaStart + L.inodeOff + a * 4096 + 256 + 4;
    store.write(ptrOff, new Uint8Array([0xff, 0xff, 0x00, 0x00]));
    expect(() => ClusterVolume.open(store)).toThrowError(expect.objectContaining({ code: 'CORRUPT' }));
    const rep = checkVolume(store);
    expect(rep.ok).toBe(false);
    expect(rep.findings.map((f) => f.code)).toContain('BAD_POINTER');
    const fixed = checkVolume(store, { repair: true });
    expect(fixed.ok).toBe(true);
    const v2 = ClusterVolume.open(store);
    expect(v2.readAt(a, 0, 4096)).toEqual(block(1));
    expect(v2.readAt(a, 1 << 20, 4096)).toEqual(new Uint8Array(4096));
    expect(v2.readAt(b, 0, 4096)).toEqual(block(3));
    expect(checkVolume(v2).findings).toEqual([]);
  });
});
