import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createSimContext, EventQueue, makeCosts, SeededRng, VirtualClock, checkInt, checkBytes, ValidationRangeError, ValidationTypeError } from '../../src/sim/index.js';

describe('SeededRng', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = SeededRng.fromSeed(42), b = SeededRng.fromSeed(42), c = SeededRng.fromSeed(43);
    const xs = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.u32())).not.toEqual(xs);
  });
  it('forks independent streams: drawing from one does not perturb another', () => {
    const r1 = SeededRng.fromSeed(5), r2 = SeededRng.fromSeed(5);
    const f1 = r1.fork('x');
    r2.fork('y').bytes(1000);
    const f2 = r2.fork('x');
    expect(f1.bytes(64)).toEqual(f2.bytes(64));
  });
  it('int(n) stays in range and is roughly uniform', () => {
    const r = SeededRng.fromSeed(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) counts[r.int(10)]++;
    for (const c of counts) expect(c).toBeGreaterThan(1800);
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 32 }), (n) => {
      const v = r.int(n);
      return v >= 0 && v < n && Number.isInteger(v);
    }), { seed: 1, numRuns: 200 });
  });
  it('rejects bad seeds without coercion', () => {
    let called = false;
    const evil = { valueOf() { called = true; return 1; } };
    expect(() => SeededRng.fromSeed(evil as unknown as number)).toThrow(TypeError);
    expect(() => SeededRng.fromSeed(-1)).toThrow(RangeError);
    expect(() => SeededRng.fromSeed(1.5)).toThrow(RangeError);
    expect(() => SeededRng.fromSeed(NaN)).toThrow(RangeError);
    expect(called).toBe(false);
  });
});

describe('EventQueue', () => {
  it('orders by time, then by scheduling order', () => {
    const clock = new VirtualClock();
    const q = new EventQueue(clock);
    const seen: string[] = [];
    q.at(10, 'b', () => seen.push('b'));
    q.at(5, 'a', () => seen.push('a'));
    q.at(10, 'c', () => seen.push('c'));
    const h = q.at(7, 'x', () => seen.push('x'));
    h.cancel();
    q.runUntil(100);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(clock.now).toBe(100);
  });
  it('refuses events in the past', () => {
    const clock = new VirtualClock();
    clock.advance(50);
    const q = new EventQueue(clock);
    expect(() => q.at(10, 'late', () => {})).toThrow(RangeError);
  });
});

describe('trace and costs', () => {
  it('gives the same digest for the same events and a different one otherwise', () => {
    const a = createSimContext({ seed: 3 }), b = createSimContext({ seed: 3 });
    for (const c of [a, b]) {
      c.trace.emit('vm', 'x', 1, { k: 1 });
      c.clock.advance(5);
      c.trace.security('y', 1);
    }
    expect(a.trace.digest()).toBe(b.trace.digest());
    b.trace.emit('vm', 'z');
    expect(a.trace.digest()).not.toBe(b.trace.digest());
    expect(a.trace.securityEvents()).toHaveLength(1);
  });
  it('validates cost overrides', () => {
    expect(makeCosts({ exit: 5 }).exit).toBe(5);
    expect(() => makeCosts({ nope: 1 } as never)).toThrow(RangeError);
    expect(() => makeCosts({ exit: -1 })).toThrow(RangeError);
    expect(() => makeCosts({ exit: '1' as never })).toThrow(TypeError);
  });
});

describe('validators', () => {
  it('reject every non-integer kind with the right class', () => {
    for (const v of ['1', 1n, null, undefined, {}, [], true]) expect(() => checkInt('x', v)).toThrow(ValidationTypeError);
    for (const v of [-1, -0, 0.5, NaN, Infinity, -Infinity, 2 ** 53]) expect(() => checkInt('x', v)).toThrow(ValidationRangeError);
  });
  it('reject non-Uint8Array byte inputs', () => {
    for (const v of [[1, 2], new ArrayBuffer(4), new DataView(new ArrayBuffer(4)), new Int8Array(4), new Uint8ClampedArray(4), 'ab'])
      expect(() => checkBytes('b', v)).toThrow(TypeError);
    expect(() => checkBytes('b', new Uint8Array(new SharedArrayBuffer(4)))).toThrow(TypeError);
    expect(() => checkBytes('b', new Uint8Array(3), 4)).toThrow(RangeError);
  });
});
