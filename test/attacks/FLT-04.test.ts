import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { flt04, flt04Class } from '../../src/attacks/platform.js';

describe('FLT-04 · power loss during a cloaked file write', () => {
  it("is 'blocked': every crash point recovers the last committed version (the catalogue also accepts detection)", async () => {
    const r = await findAttack('FLT-04')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('at every persistent write (data blocks, metadata, counter): exactly v1 before the commit point, exactly v2 from it on', () => {
    for (const seed of [1, 2]) {
      const o = flt04(seed);
      expect(o.length).toBeGreaterThanOrEqual(5);
      const classes = o.map((x) => flt04Class(x.result));
      expect(classes.every((c) => c === 'v1' || c === 'v2'), o.map((x) => `${x.at}: ${x.result}`).join('\n')).toBe(true);
      expect(classes[0]).toBe('v1'); // crash before anything of v2 persisted: the committed v1
      expect(classes[classes.length - 1]).toBe('v2'); // after the acknowledgement: never rolled back
      const firstV2 = classes.indexOf('v2');
      expect(classes.slice(firstV2).every((c) => c === 'v2')).toBe(true); // v1s, then v2s: monotone
      // The first data-block write no longer destroys v1 (it goes to the page's shadow slot).
      const firstData = o.findIndex((x) => x.at.startsWith('disk lba'));
      expect(firstData).toBeGreaterThan(0);
      expect(classes[firstData]).toBe('v1');
      expect(o.some((x) => x.at.startsWith('after nv.advance'))).toBe(true);
    }
  });
});
