import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { REFUSED, val11 } from '../../src/attacks/platform.js';
import { MAX_VMS } from '../../src/tvmm/index.js';

describe('VAL-11 · configuration, enumerations and resource limits', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('VAL-11')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  }, 60_000);
  it('bad configurations are validation errors; 10^6 VMs stop at MAX_VMS with ADMISSION_DENIED and bounded heap', () => {
    const x = val11(2);
    for (const [k, v] of Object.entries(x.r)) expect(v, k).toMatch(k.startsWith('reservation') ? /^(RangeError|ADMISSION_DENIED)$/ : REFUSED);
    expect(x.created).toBe(MAX_VMS);
    expect(x.stop).toBe('ADMISSION_DENIED');
    expect(x.heapMiB).toBeLessThan(512);
    expect(x.vmsAfter).toBe(1); // only the one valid 'dup' VM was created
  }, 60_000);
});
