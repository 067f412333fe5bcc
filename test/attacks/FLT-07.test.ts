import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { findAttack } from '../../src/attacks/index.js';
import { flt07 } from '../../src/attacks/platform.js';
import { FaultInjector, NvStore } from '../../src/attestation/index.js';
import { SimulatedCrash } from '../../src/sim/index.js';

describe('FLT-07 · torn or failed monotonic-counter update', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('FLT-07')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('never decreases, keeps every acknowledged value, and is never bricked', () => {
    const x = flt07(5, 100);
    for (let i = 1; i < x.history.length; i++) expect(x.history[i]).toBeGreaterThanOrEqual(x.history[i - 1]);
    expect(x.history[x.history.length - 1]).toBeGreaterThanOrEqual(x.acknowledged);
    expect(x.bricked).toBe(false);
    expect(x.afterIncrement).toBe(x.last + 1);
  });
  it('property (P13): any sequence of crash points and power losses keeps the counter monotonic', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('nv.beforeWrite', 'nv.tornWrite', 'nv.afterWrite', ''), { maxLength: 40 }), (points) => {
        let store = new NvStore(new FaultInjector());
        let prev = 0;
        let acked = 0;
        for (const p of points) {
          const f = new FaultInjector();
          const s = new NvStore(f);
          s.restore(store.save());
          if (p) f.arm(p);
          try {
            acked = s.increment('ctr');
          } catch (e) {
            if (!(e instanceof SimulatedCrash)) throw e;
          }
          store = new NvStore(new FaultInjector());
          store.restore(s.save());
          const v = store.read('ctr');
          if (v < prev || v < acked) return false;
          prev = v;
        }
        return true;
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});
