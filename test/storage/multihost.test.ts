import { describe, expect, it } from 'vitest';
import { ClusterVolume, DedupEngine, MemoryStore, computeLayout, SUB_SIZE, checkVolume } from '../../src/storage/index.js';
import { createSimContext } from '../../src/sim/index.js';
import { SMALL, block } from './helpers.js';

describe('DeDe across hosts, without a coordinator', () => {
  it('a failed host\'s logs are consumed by another host after its lease expires', () => {
    const ctx = createSimContext({ seed: 8 });
    const store = new MemoryStore(computeLayout(SMALL).totalSize);
    const vol = ClusterVolume.format(store, SMALL, { ctx, leaseNs: 1_000_000 });
    const a = vol.create(1, 'a', { size: 1 << 20, monitored: true, domain: 4 });
    const b = vol.create(2, 'b', { size: 1 << 20, monitored: true, domain: 4 });
    const h1 = new DedupEngine(vol);
    for (let i = 0; i < 32; i++) vol.writeAt(1, a, i * SUB_SIZE, block(i));
    h1.pass(1);
    // Host 2 writes b and flushes its log, then dies (its engine object is dropped).
    const h2 = new DedupEngine(vol);
    for (let i = 0; i < 32; i++) vol.writeAt(2, b, i * SUB_SIZE, block(i));
    h2.flush(2);
    h2.detach();
    // While host 2's lease is live, host 1 leaves b alone.
    expect(h1.pass(1).records).toBe(0);
    ctx.clock.advance(2_000_000);
    const r = h1.pass(1);
    expect(r.records).toBe(32);
    expect(r.shared).toBeGreaterThanOrEqual(32);
    for (let i = 0; i < 32; i++) {
      expect(vol.locate(a, i).unit).toBe(vol.locate(b, i).unit);
      expect(vol.readAt(b, i * SUB_SIZE, SUB_SIZE)).toEqual(block(i));
    }
    expect(vol.info(b).lockHost).toBe(0); // released after the pass
    expect(checkVolume(vol).findings).toEqual([]);
  });

  it('a pass is skipped while another live host holds the index lock', () => {
    const ctx = createSimContext({ seed: 9 });
    const store = new MemoryStore(computeLayout(SMALL).totalSize);
    const vol = ClusterVolume.format(store, SMALL, { ctx });
    const dede = new DedupEngine(vol);
    dede.pass(1);
    const idx = vol.lookup('.dede.index')!;
    vol.lock(3, idx);
    expect(dede.pass(1).skipped).toBe('index-busy');
    expect(dede.stats().passesSkippedBusy).toBe(1);
  });
});
