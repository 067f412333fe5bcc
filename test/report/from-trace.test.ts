import { describe, expect, it } from 'vitest';
import { securityCounts, stateBandsFromTrace } from '../../src/report/index.js';
import type { TraceEvent } from '../../src/sim/index.js';

const st = (seq: number, t: number, from: string, to: string): TraceEvent => ({ seq, t, cat: 'memory', kind: 'reclaim.state', data: { from, to, free: 0 } });

describe('stateBandsFromTrace', () => {
  it('turns transitions into contiguous bands covering the run', () => {
    const ev = [st(3, 700, 'high', 'soft'), { seq: 4, t: 800, cat: 'vm', kind: 'x' } as TraceEvent, st(5, 1100, 'soft', 'hard'), st(6, 1500, 'hard', 'soft')];
    expect(stateBandsFromTrace(ev, 2000)).toEqual([
      { from: 0, to: 700, state: 'high' },
      { from: 700, to: 1100, state: 'soft' },
      { from: 1100, to: 1500, state: 'hard' },
      { from: 1500, to: 2000, state: 'soft' },
    ]);
  });
  it('is one band without transitions, clips to the window, and refuses a reversed window', () => {
    expect(stateBandsFromTrace([], 10, { initial: 'low' })).toEqual([{ from: 0, to: 10, state: 'low' }]);
    expect(stateBandsFromTrace([st(0, 50, 'high', 'soft'), st(1, 500, 'soft', 'high')], 100, { startNs: 20 })).toEqual([
      { from: 20, to: 50, state: 'high' },
      { from: 50, to: 100, state: 'soft' },
    ]);
    expect(() => stateBandsFromTrace([], 1, { startNs: 2 })).toThrow(RangeError);
    expect(stateBandsFromTrace([st(0, 2_000_000, 'high', 'soft')], 5_000_000, { unit: 'ms' })).toEqual([
      { from: 0, to: 2, state: 'high' },
      { from: 2, to: 5, state: 'soft' },
    ]);
    expect(() => stateBandsFromTrace([], 1, { unit: 's' as never })).toThrow(TypeError);
  });
});

describe('securityCounts', () => {
  it('counts security events by kind', () => {
    const ev: TraceEvent[] = [
      { seq: 0, t: 0, cat: 'security', kind: 'vm.halt' },
      { seq: 1, t: 0, cat: 'security', kind: 'cloak.violation' },
      { seq: 2, t: 0, cat: 'security', kind: 'cloak.violation' },
      { seq: 3, t: 0, cat: 'vm', kind: 'boot' },
    ];
    expect(securityCounts(ev)).toEqual([{ kind: 'cloak.violation', count: 2 }, { kind: 'vm.halt', count: 1 }]);
  });
});
