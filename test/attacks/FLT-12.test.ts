import { afterEach, describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { flt12World, hostClocks, withHostClock } from '../../src/attacks/platform.js';

describe('FLT-12 · host clock anomalies', () => {
  const realNow = Date.now;
  const realPerf = performance.now;
  afterEach(() => {
    expect(Date.now).toBe(realNow); // the stub is always restored
    expect(performance.now).toBe(realPerf);
  });
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('FLT-12')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('moving the host wall clock back 1 h, forward 1 y, stalling it or making it erratic changes nothing: identical trace digest', () => {
    const clocks = hostClocks();
    const ref = flt12World(3);
    expect(ref.fresh).toBe('OK');
    expect(ref.expired).toBe('NONCE_EXPIRED');
    for (const [name, c] of Object.entries(clocks)) {
      const r = withHostClock(c, () => flt12World(3));
      expect(r, name).toEqual(ref);
    }
  });
  it('an expired nonce is not revived by moving the host clock back', () => {
    const r = withHostClock(() => 0, () => flt12World(4));
    expect(r.expired).toBe('NONCE_EXPIRED');
  });
});
