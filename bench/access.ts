/**
 * Benchmark sections `access` (mediated loads and page reads vs raw typed-array work in the same
 * run) and `scale` (16 VMs of 1 GiB on an 8 GiB host, each touching 64 MiB; process RSS).
 */
import { performance } from 'node:perf_hooks';
import { Host, type ProgramFn } from '../src/tvmm/index.js';
import { MiniKernel } from '../test/helpers/minikernel.js';
import type { BenchSection } from './types.js';

const BASE = 0x400000;
const PAGES = 16;

/** Best rate over `rounds` timed rounds (each ≥ minMs): on a shared machine the best round is the least disturbed one. */
function bestOf(rounds: number, fn: () => number, minMs = 120): { perSec: number; sink: number } {
  let best = { perSec: 0, sink: 0 };
  for (let r = 0; r < rounds; r++) {
    const x = timeIt(fn, minMs);
    if (x.perSec > best.perSec) best = x;
  }
  return best;
}

function timeIt(fn: () => number, minMs = 300): { perSec: number; sink: number } {
  let n = 0, sink = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    sink += fn();
    n++;
    t = performance.now();
  }
  return { perSec: n / ((t - t0) / 1000), sink };
}

function runAccess(): Record<string, number> {
  const WORDS = (PAGES * 4096) / 4;
  const results: Record<string, number> = {};
  const prog: ProgramFn = function* (p) {
    for (let i = 0; i < WORDS; i++) p.store32(BASE + i * 4, i);
    // warm
    let s = 0;
    for (let r = 0; r < 50; r++) for (let i = 0; i < WORDS; i++) s += p.load32(BASE + i * 4);
    const mediated = bestOf(5, () => {
      let x = 0;
      for (let i = 0; i < WORDS; i++) x = (x + p.load32(BASE + i * 4)) | 0;
      return x;
    });
    const raw32 = new Uint32Array(WORDS).map((_, i) => i);
    const raw = bestOf(5, () => {
      let x = 0;
      for (let i = 0; i < WORDS; i++) x = (x + raw32[i]) | 0;
      return x;
    });
    const out = new Uint8Array(4096);
    const pageRead = bestOf(5, () => {
      for (let pg = 0; pg < PAGES; pg++) p.readInto(BASE + pg * 4096, out);
      return out[7];
    });
    const src = new Uint8Array(PAGES * 4096).fill(3);
    const srcViews = Array.from({ length: PAGES }, (_, i) => src.subarray(i * 4096, (i + 1) * 4096));
    const rawCopy = bestOf(5, () => {
      for (let pg = 0; pg < PAGES; pg++) out.set(srcViews[pg]);
      return out[7];
    });
    results.loadsPerSec = mediated.perSec * WORDS;
    results.rawLoadsPerSec = raw.perSec * WORDS;
    results.loadRatio = results.loadsPerSec / results.rawLoadsPerSec;
    results.pageReadGBs = (pageRead.perSec * PAGES * 4096) / 1e9;
    results.rawPageCopyGBs = (rawCopy.perSec * PAGES * 4096) / 1e9;
    results.pageReadRatio = results.pageReadGBs / results.rawPageCopyGBs;
    yield* p.syscall(0, [s & 0xff]);
  };
  const host = new Host({ seed: 1, machineMiB: 64 });
  const tvmm = host.boot();
  const id = tvmm.createVm({ name: 'bench', kind: 'open-box', memoryMiB: 8, guest: new MiniKernel(['prog'], { userPages: PAGES }), programs: { prog } });
  tvmm.power(id, 'on');
  tvmm.run({ untilNs: 1e12 });
  return results;
}

function runScale(): Record<string, number> {
  const VMS = 16, GIB = 1, TOUCH_MIB = 64;
  const touchPages = (TOUCH_MIB * 1024 * 1024) / 4096;
  const host = new Host({ seed: 1, machineMiB: 8 * 1024 });
  const tvmm = host.boot();
  const t0 = performance.now();
  const prog: ProgramFn = function* (p) {
    for (let i = 0; i < touchPages; i++) p.store32(BASE + i * 4096, i + 1);
    yield* p.syscall(0, [0]);
  };
  for (let v = 0; v < VMS; v++) {
    // The kernel maps the touched range at boot (its page-table pages and zeroing touch frames too).
    const id = tvmm.createVm({ name: `vm${v}`, kind: v % 2 ? 'closed-box' : 'open-box', memoryMiB: GIB * 1024, guest: new MiniKernel(['prog'], { userPages: touchPages }), programs: { prog } });
    tvmm.power(id, 'on');
  }
  tvmm.run({ untilNs: 1e13 });
  const wallMs = performance.now() - t0;
  return {
    vms: VMS,
    guestGiB: VMS * GIB,
    machineGiB: 8,
    touchedMiBPerVm: TOUCH_MIB,
    framesUsed: host.machine.used,
    rssMiB: Math.round(process.memoryUsage().rss / (1024 * 1024)),
    wallMs: Math.round(wallMs),
  };
}

export const accessBench: BenchSection = { name: 'access', run: runAccess };
export const scaleBench: BenchSection = { name: 'scale', run: runScale };
