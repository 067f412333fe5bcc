import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { iso01, REFUSED } from '../../src/attacks/platform.js';

describe('ISO-01 · guest-physical bounds and foreign frames', () => {
  it('is blocked (catalogue outcome) for several seeds', async () => {
    for (const seed of [1, 2]) {
      const r = await findAttack('ISO-01')!.run(seed);
      expect(r.outcome, r.detail).toBe('blocked');
    }
  });
  it('every out-of-range path is refused, and the other VM is untouched (god-view diff)', () => {
    const x = iso01(3);
    for (const g of [-1, 64, 2 ** 32]) {
      for (const k of ['phys.load32', 'phys.store32', 'phys.read', 'phys.write', 'phys.zeroPage', 'kernelSpace', 'disk.read→', 'disk.write←']) {
        const key = Object.keys(x.r).find((q) => q.startsWith(k) && q.includes(`${g})`) || q === `${k}${g}`)!;
        expect(x.r[key], key).toMatch(REFUSED);
      }
      expect(x.r[`balloon.inflate(${g})`]).toBe('OK:0'); // mask 0: nothing accepted
      expect(x.r[`balloon.deflate(${g})`]).toBe('OK:0');
    }
    expect(x.r['pte→memoryPages']).toBe('GUEST_FAULT:bad-gppn');
    expect(x.r['pte→-1']).toBe('GUEST_FAULT:bad-gppn');
    expect(x.r['pde→memoryPages']).toBe('GUEST_FAULT:bad-gppn');
    expect(x.r['pte→3 (control)']).toBe('OK:0');
    expect(x.r['user load via pte→memoryPages']).toBe('fault:bad-gppn');
    expect(x.r['phys.read crossing the end']).toMatch(REFUSED);
    expect(x.r['disk.read crossing the end']).toMatch(REFUSED);
    expect(x.balloon.rejectedInvalid).toBe(6);
    expect(x.victimUnchanged).toBe(true);
    expect(x.victimState).toBe('running');
  });
});
