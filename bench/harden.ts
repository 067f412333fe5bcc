/**
 * Benchmark section `harden`: what freezing the realm's intrinsics (src/sim/harden.ts, done by
 * `new Host()`) costs the code that runs afterwards. Byte loops over typed arrays and noble's SHA-256
 * are timed before and after `hardenIntrinsics()` in this process (the section runs first, before any
 * Host exists). A plain `Object.freeze` of the intrinsics measured 6× (SHA-256) and 9× (byte loops)
 * slower; the target is ≥ 0.9× of the unhardened rate.
 */
import { performance } from 'node:perf_hooks';
import { sha256 } from '@noble/hashes/sha2.js';
import { hardenIntrinsics, intrinsicsHardened } from '../src/sim/index.js';
import type { BenchSection } from './types.js';

function rates() {
  const a = new Uint8Array(1 << 16).fill(3), b = new Uint8Array(1 << 16).fill(3);
  const eq = (x: Uint8Array, y: Uint8Array) => {
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  };
  const best = (f: () => unknown, n: number) => {
    let r = 0;
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) f();
      r = Math.max(r, n / ((performance.now() - t0) / 1000));
    }
    return r;
  };
  const page = new Uint8Array(4096).fill(7);
  return { byteCompareMBs: (best(() => eq(a, b), 200) * 65536) / 1e6, sha256PagesPerSec: best(() => sha256(page), 2000) };
}

/** The `harden` section. */
export const hardenBench: BenchSection = {
  name: 'harden',
  run() {
    if (intrinsicsHardened()) return { note: 'intrinsics were already hardened when this section ran; run it alone (--only harden)' };
    const before = rates();
    hardenIntrinsics();
    const after = rates();
    return {
      byteCompareMBsBefore: Math.round(before.byteCompareMBs),
      byteCompareMBsAfter: Math.round(after.byteCompareMBs),
      byteCompareRatio: +(after.byteCompareMBs / before.byteCompareMBs).toFixed(3),
      sha256PagesPerSecBefore: Math.round(before.sha256PagesPerSec),
      sha256PagesPerSecAfter: Math.round(after.sha256PagesPerSec),
      sha256Ratio: +(after.sha256PagesPerSec / before.sha256PagesPerSec).toFixed(3),
      targets: { byteCompareRatio: 0.9, sha256Ratio: 0.9 },
    };
  },
};
