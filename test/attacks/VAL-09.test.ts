import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { IoGuest, ioLab, val09 } from '../../src/attacks/platform.js';
import { twoWorlds } from '../../src/testing/index.js';

describe('VAL-09 · async interleavings (no async core API: interleavings through the event queue)', () => {
  it('meets the catalogue expectation (blocked)', async () => {
    const r = await findAttack('VAL-09')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('100 seal/unseal/quote operations in a seeded random interleaving are linearizable against the reference model', () => {
    const x = val09(2);
    expect(x.ops).toBe(100);
    expect(x.violations).toEqual([]);
  });
  it('regression: power off + destroy with 32 IOs in flight, then run: the late completions are dropped, the scheduler goes on', () => {
    const g = new IoGuest(200, 0x42);
    const lab = ioLab(1, [g]);
    lab.tvmm.run({ untilNs: 300_000 });
    expect(g.outstanding).toBe(32);
    lab.tvmm.power(lab.ids[0], 'off');
    lab.tvmm.power(lab.ids[0], 'destroy');
    expect(() => lab.tvmm.run({ untilNs: 50_000_000 })).not.toThrow();
    expect(lab.host.sim.trace.counts()['irq.drop'] ?? 0).toBeGreaterThan(0);
    const x = val09(1);
    expect(x.ioError).toBe('');
  });
  it('the one async public API (testing.twoWorlds) gives the same results concurrently (Promise.all) as sequentially', async () => {
    const scen = async (s: Uint8Array) => {
      await Promise.resolve();
      return { sum: s.reduce((a, b) => a + b, 0) % 7 };
    };
    const a = new Uint8Array([1, 2, 3]), b = new Uint8Array([4, 5, 6]);
    const seq = [await twoWorlds(a, b, scen), await twoWorlds(b, a, scen)];
    const par = await Promise.all([twoWorlds(a, b, scen), twoWorlds(b, a, scen)]);
    expect(par).toEqual(seq);
  });
});
