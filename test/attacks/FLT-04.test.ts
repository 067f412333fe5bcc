import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { flt04, flt04Class } from '../../src/attacks/platform.js';

describe('FLT-04 · power loss during a cloaked file write', () => {
  it("is 'detected' (catalogue outcome): last committed version or explicit detection", async () => {
    const r = await findAttack('FLT-04')!.run(1);
    expect(r.outcome, r.detail).toBe('detected');
  });
  it('at every persistent write (data blocks, metadata, counter): v1, v2 or ROLLBACK/INTEGRITY, never a mix; acknowledged v2 reads v2', () => {
    const o = flt04(2);
    expect(o.length).toBeGreaterThanOrEqual(5);
    const classes = o.map((x) => flt04Class(x.result));
    expect(classes).not.toContain('MIX');
    expect(classes[0]).toBe('v1'); // crash before anything of v2 persisted: the committed v1
    expect(classes[classes.length - 1]).toBe('v2'); // after the acknowledgement: never rolled back
    expect(o.some((x) => x.at.startsWith('after nv.advance'))).toBe(true);
    // Every crash between the counter advance and the new metadata is an explicit detection, not v1.
    const firstAdvance = o.findIndex((x) => x.at.startsWith('after nv.advance'));
    if (firstAdvance >= 0 && classes[firstAdvance] !== 'v2') expect(classes[firstAdvance]).toBe('detected');
  });
});

describe('FLT-04 documented gap', () => {
  it('a crash after the first in-place data block write leaves neither version readable (detected, but no recovery path)', () => {
    const o = flt04(1);
    const firstData = o.find((x) => x.at.startsWith('disk lba'))!;
    expect(flt04Class(firstData.result)).toBe('detected');
    expect(firstData.result).toBe('killed:INTEGRITY_VIOLATION');
  });
});
