/**
 * Red team: hypercall argument TOCTOU. The dispatcher validates the guest's argument array and then
 * hands it to the handler; if the handler got the guest's own object, a Proxy (Array.isArray is
 * true for a Proxy of an array) or an accessor element could show the check integers and the
 * handler anything else, and a hole passes `every` while reaching the handler as undefined. The
 * defence: the handler gets a frozen copy read exactly once; anything unreadable is EINVAL.
 */
import { describe, expect, it } from 'vitest';
import { HCERR } from '../../src/index.js';
import { libc as c } from '../../src/guest/index.js';
import { capturePlatform } from '../helpers/platform.js';
import { bootMain } from '../guest/helpers.js';

const PROBE = 250;

function probeWorld() {
  const w = capturePlatform();
  const seen: { args: readonly number[]; frozen: boolean; allInts: boolean }[] = [];
  w.tvmm.registerHypercall(PROBE, 'redteam.probe', (_caller, args) => {
    seen.push({ args: [...args], frozen: Object.isFrozen(args), allInts: args.every((a) => typeof a === 'number' && Number.isInteger(a)) });
    return args.length;
  });
  return { ...w, seen };
}

/** An array Proxy that reports integers on the first read of each index and a string afterwards. */
function flipping(values: number[]): { proxy: number[]; reads: () => number } {
  let reads = 0;
  const counts = new Map<PropertyKey, number>();
  const proxy = new Proxy(values, {
    get(t, k, r) {
      if (typeof k === 'string' && /^\d+$/.test(k)) {
        reads++;
        const n = (counts.get(k) ?? 0) + 1;
        counts.set(k, n);
        return n === 1 ? t[Number(k)] : 'not a number';
      }
      return Reflect.get(t, k, r);
    },
  });
  return { proxy, reads: () => reads };
}

describe('hypercall arguments are read once into a frozen copy', () => {
  it('a Proxy that changes its elements after the check cannot show the handler anything but integers', () => {
    const w = probeWorld();
    const f = flipping([1, 2, 3]);
    const r = w.platform.hypercall(PROBE, f.proxy);
    expect(w.seen.every((s) => s.allInts && s.frozen)).toBe(true);
    if (r >= 0) expect(w.seen.at(-1)!.args).toEqual([1, 2, 3]);
    expect(f.reads()).toBe(3); // each element read once
  });

  it('a hole is EINVAL and never reaches the handler as undefined', () => {
    const w = probeWorld();
    // eslint-disable-next-line no-sparse-arrays
    expect(w.platform.hypercall(PROBE, [, 1] as number[])).toBe(HCERR.EINVAL);
    expect(w.platform.hypercall(PROBE, new Array(3) as number[])).toBe(HCERR.EINVAL);
    expect(w.seen).toEqual([]);
  });

  it('an accessor element runs once; a throwing Proxy or accessor is EINVAL, not an exception', () => {
    const w = probeWorld();
    let gets = 0;
    const arr: number[] = [];
    Object.defineProperty(arr, 0, { get: () => (++gets, 7), enumerable: true });
    expect(w.platform.hypercall(PROBE, arr)).toBe(1);
    expect(gets).toBe(1);
    const boom = () => {
      throw new Error('trap');
    };
    expect(w.platform.hypercall(PROBE, new Proxy([1], { get: boom }) as number[])).toBe(HCERR.EINVAL);
    const bad: number[] = [];
    Object.defineProperty(bad, 0, { get: boom, enumerable: true });
    expect(w.platform.hypercall(PROBE, bad)).toBe(HCERR.EINVAL);
    const lengthLies = new Proxy([1], { get: (t, k, r) => (k === 'length' ? 2 ** 40 : Reflect.get(t, k, r)) });
    expect(w.platform.hypercall(PROBE, lengthLies as number[])).toBe(HCERR.EINVAL);
  });

  it('the handler never holds the guest array: mutating it afterwards changes nothing the handler kept', () => {
    const w = probeWorld();
    let kept: readonly number[] | undefined;
    w.tvmm.registerHypercall(PROBE + 1, 'redteam.keep', (_c, args) => ((kept = args), 0));
    const guestArgs = [4, 5];
    w.platform.hypercall(PROBE + 1, guestArgs);
    guestArgs[0] = 99;
    expect(kept).toEqual([4, 5]);
    expect(kept).not.toBe(guestArgs);
  });

  it('the same holds on the user-mode channel (an uncloaked program hypercalling with a flipping Proxy)', () => {
    const seen: boolean[] = [];
    const g = bootMain(function* (p) {
      const f = flipping([9]);
      (p as unknown as { hypercall(nr: number, a: readonly number[]): number }).hypercall(PROBE, f.proxy);
      yield* c.puts(p, 'done');
      return 0;
    });
    g.tvmm.registerHypercall(PROBE, 'redteam.probe', (_caller, args) => {
      seen.push(Object.isFrozen(args) && args.every((a) => Number.isInteger(a)));
      return 0;
    });
    g.tvmm.run({ untilNs: 1e9 });
    expect(seen).toEqual([true]);
  });
});
