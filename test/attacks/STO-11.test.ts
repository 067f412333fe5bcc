import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { sto11 } from '../../src/attacks/platform.js';

describe('STO-11 · malicious interrupt injection (Heckler)', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('STO-11')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('no injection API for H; spurious completion interrupts fabricate nothing; cloaked threads resume from the CTC', () => {
    const x = sto11(2);
    expect(x.r.mgmtInject).toBe('none');
    expect(x.r.spuriousDelivered).toBe('true'); // the injected interrupts did reach the driver
    expect(x.r.spuriousFabricated).toBe('0');
    expect(x.r.foreign).toBe('0');
    expect(x.r.allReal).toBe('64/64');
    expect(['blocked', 'detected']).toContain(x.r.cloakedCtc);
  });
});
