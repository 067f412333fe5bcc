/**
 * Experiments E1–E8 of papers-systems.md §7: the shape of every memory-management measurement of
 * VMware ESX (Waldspurger, OSDI'02 §3–7), run on our EsxMemory with synthetic, seeded page
 * contents and workload models (the guest OSes and benchmarks of the paper are not simulated
 * instruction by instruction). Sizes are the paper's, scaled by `scale` (frames are real bytes);
 * every result reports MB at paper scale. docs/results-esx.md discusses every difference.
 */
import { createSimContext, NS_PER_S, PAGE_SIZE, type Gppn, type Mpn, type VmId } from '../sim/index.js';
import {
  adjustedRatio, BALLOON_HC, EsxMemory, FrameFlag, MachineMemory, MemoryManager, PageState, ReclaimStateMachine,
  SLAB_SHIFT, type EsxOptions,
} from '../memory/index.js';
import { attachEsx } from '../memory/index.js';
import { bootGuest } from '../guest/index.js';
import { Host } from '../tvmm/index.js';
import type { Experiment, ExperimentResult } from './types.js';

const PAGES_PER_MB = (1024 * 1024) / PAGE_SIZE;

function lab(machineMB: number, scale: number, opts: EsxOptions, seed: number) {
  const ctx = createSimContext({ seed });
  const machine = new MachineMemory(Math.max(64, Math.round(machineMB * PAGES_PER_MB * scale)));
  const mm = new MemoryManager(ctx, machine);
  const esx = new EsxMemory(mm, { overheadPages: 0, autoBalloon: false, sharingEnabled: false, ...opts });
  const pagesOf = (mb: number) => Math.max(16, Math.round(mb * PAGES_PER_MB * scale));
  const toMB = (pages: number) => +(pages / PAGES_PER_MB / scale).toFixed(1);
  return { ctx, machine, mm, esx, pagesOf, toMB };
}

/** Writes content id `c` into (vm, g): 0 = a zero page; otherwise a full-page pattern unique to c. */
function put(mm: MemoryManager, vm: VmId, g: number, c: number): void {
  const m = mm.resolve(vm, g as Gppn, true);
  const w = mm.machine.slabs32[m >>> SLAB_SHIFT]!;
  const o = MachineMemory.offsetInSlab(m) >>> 2;
  if (c === 0) {
    w.fill(0, o, o + PAGE_SIZE / 4);
    return;
  }
  let x = Math.imul(c, 0x9e3779b1) ^ 0x5bd1e995;
  for (let i = 0; i < PAGE_SIZE / 4; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    w[o + i] = x >>> 0;
  }
}

/** Scans until every VM's memory has been looked at `passes` times on average. */
function scanPasses(esx: EsxMemory, totalPages: number, passes: number): number {
  let n = 0;
  while (n < passes * totalPages) {
    const k = esx.sharing.scan(Math.min(passes * totalPages - n, 1 << 16));
    if (k === 0) break;
    n += k;
  }
  return n;
}

const pct = (x: number) => +(100 * x).toFixed(1);

// ------------------------------------------------------------------------------------------- E1

/**
 * A dbench-like buffer-cache workload: a file set larger than memory, 80 % of operations on 20 % of
 * it; a miss costs a disk IO. The guest's per-page metadata (Linux 2.4 `struct page`, 64 bytes per
 * 4 KiB "physical" page) is sized to the configured memory, which is why a ballooned VM has a
 * slightly smaller cache than a VM configured at the same size (ESX §3.2).
 */
function dbenchThroughput(configuredPages: number, balloonPages: number, kernelPages: number, fileSet: number, seed: number, ops: number) {
  const metadata = Math.ceil((configuredPages * 64) / PAGE_SIZE);
  const cache = configuredPages - balloonPages - metadata - kernelPages;
  const hot = Math.round(fileSet * 0.2);
  const rng = createSimContext({ seed }).rng.fork('dbench');
  const lru = new Map<number, true>();
  let misses = 0;
  for (let i = 0; i < ops; i++) {
    const b = rng.int(100) < 80 ? rng.int(hot) : hot + rng.int(fileSet - hot);
    if (lru.has(b)) lru.delete(b);
    else {
      misses++;
      if (lru.size >= cache) lru.delete(lru.keys().next().value!);
    }
    lru.set(b, true);
  }
  const opNs = 20_000; // CPU per dbench operation (our estimate)
  const ioNs = 2_000_000; // a 4 KiB random read with the drive's own cache (our estimate)
  return (ops * NS_PER_S) / (ops * opNs + misses * ioNs);
}

const E1: Experiment = {
  id: 'esx-balloon',
  title: 'Ballooning vs a VM configured at the same size (dbench-like buffer-cache workload)',
  paper: 'Waldspurger, OSDI\'02 §3.2 Fig. 2',
  run({ seed, quick }): ExperimentResult {
    const scale = quick ? 1 / 16 : 1 / 4;
    const ops = quick ? 60_000 : 400_000;
    const { esx, mm, pagesOf } = lab(512, scale, {}, seed);
    const big = pagesOf(256);
    const kernel = pagesOf(16);
    const points: Record<string, unknown>[] = [];
    esx.addVm(1 as VmId, big);
    for (const x of [128, 160, 192, 224]) {
      // Inflate the balloon of the 256 MB VM through the real hypercall path.
      const want = big - pagesOf(x);
      esx.setBalloonTarget(1 as VmId, want);
      const p = mm.pmap(1 as VmId);
      let g = big - 1;
      while (esx.balloon.actual(1 as VmId) < want && g >= 0) {
        const batch: number[] = [];
        for (; batch.length < 8 && g >= 0; g--) if (!(p.state[g] & PageState.BALLOONED)) batch.push(g);
        esx.hypercall(BALLOON_HC.INFLATE, { vm: 1 as VmId, mode: 'kernel' }, batch);
      }
      while (esx.balloon.actual(1 as VmId) > want) {
        const out: number[] = [];
        for (let h = 0; h < big && out.length < 8; h++) if (p.state[h] & PageState.BALLOONED) out.push(h);
        esx.hypercall(BALLOON_HC.DEFLATE, { vm: 1 as VmId, mode: 'kernel' }, out);
      }
      const files = pagesOf(320); // dbench, 40 clients: the same file set for both VMs
      const ballooned = dbenchThroughput(big, esx.balloon.actual(1 as VmId), kernel, files, seed, ops);
      const configured = dbenchThroughput(pagesOf(x), 0, kernel, files, seed, ops);
      points.push({ sizeMB: x, balloonMB: 256 - x, overheadPct: +((100 * (configured - ballooned)) / configured).toFixed(2) });
    }
    return {
      id: 'esx-balloon',
      paper: { overheadPctAt128MB: 4.4, overheadPctAt224MB: 1.4, trend: 'overhead grows with balloon size' },
      ours: { points, model: 'LRU buffer cache; 64 B guest metadata per configured page; 16 MB kernel; miss = 2 ms IO', scale },
      notes: 'Ours isolates the one cause the paper names (guest structures sized to configured memory); the absolute overhead depends on the cache-miss curve of our synthetic file set, not dbench.',
    };
  },
};

// ------------------------------------------------------------------------------------------- E2 / E3

/** Per-VM content mix calibrated to Fig. 4's one-VM point (5 MB reclaimed of 40, 55 % zero). */
function fillLinuxVm(mm: MemoryManager, vm: VmId, pages: number, vmIndex: number) {
  const zero = Math.round(pages * 0.069); // 2.75 MB of 40
  const pairs = Math.round(pages * 0.05625); // 2.25 MB reclaimed inside the VM
  const common = Math.round(pages * 0.49); // kernel, libraries, benchmark: identical in every VM
  let g = 0;
  for (let i = 0; i < zero; i++) put(mm, vm, g++, 0);
  for (let i = 0; i < pairs; i++) {
    put(mm, vm, g++, 1_000_000 + vmIndex * 100_000 + i);
    put(mm, vm, g++, 1_000_000 + vmIndex * 100_000 + i);
  }
  for (let i = 0; i < common; i++) put(mm, vm, g++, 2 + i);
  for (; g < pages; g++) put(mm, vm, g, 50_000_000 + vmIndex * 1_000_000 + g);
}

function sharingRun(n: number, scale: number, seed: number) {
  const per = 40;
  const { esx, mm, pagesOf, toMB } = lab(per * n + 16, scale, { sharing: { perVmPagesPerScan: 1 << 20, systemPagesPerScan: 1 << 20 } }, seed);
  const pages = pagesOf(per);
  for (let i = 1; i <= n; i++) {
    esx.addVm(i as VmId, pages);
    esx.setSharingDomain(i as VmId, 'all'); // the paper predates salting: every VM shares
    fillLinuxVm(mm, i as VmId, pages, i);
  }
  scanPasses(esx, n * pages, 8);
  const s = esx.sharing.stats();
  // Pages reclaimed by zero sharing: PPNs on shared all-zero frames less those frames themselves.
  let zeroFrames = 0;
  for (let f = 0; f < mm.machine.frames; f++) if (mm.machine.flags[f] & FrameFlag.SHARED && mm.machine.isZero(f as Mpn)) zeroFrames++;
  return { esx, mm, s, totalMB: toMB(n * pages), sharedMB: toMB(s.sharedPpns), reclaimedMB: toMB(s.pages_sharing), zeroMB: toMB(s.zeroPpns), zeroReclaimedMB: toMB(s.zeroPpns - zeroFrames), toMB, pages };
}

/**
 * The same shape with real guests: n VMs of 8 MiB running our guest kernel, each running the same
 * program (memhog 2 MiB 'half': 256 identical pages + 256 pages that are the same in every VM),
 * sharing through attachEsx's daemon (one salt domain). Returns MB at simulation scale.
 */
function guestSharing(n: number, seed: number) {
  const host = new Host({ seed, machineMiB: 16 + 10 * n });
  const tvmm = host.boot();
  const esx = attachEsx(tvmm, { overheadPages: 0, sharing: { perVmPagesPerScan: 4096, systemPagesPerScan: 65536 } });
  const ids: VmId[] = [];
  for (let i = 1; i <= n; i++) {
    const g = bootGuest({ host, name: `vm${i}`, pages: 2048, run: ['memhog 2 half 4000'] });
    esx.setSharingDomain(g.vmId, 'all');
    ids.push(g.vmId);
  }
  tvmm.run({ untilNs: 3.5 * NS_PER_S });
  const s = esx.sharing.stats();
  let resident = 0;
  for (const id of ids) resident += esx.vmStats(id).resident;
  esx.stop();
  const mb = (pages: number) => +(pages / PAGES_PER_MB).toFixed(2);
  return { vms: n, residentMB: mb(resident), sharedMB: mb(s.sharedPpns), reclaimedMB: mb(s.pages_sharing), zeroMB: mb(s.zeroPpns), cowBreaks: s.cow_breaks };
}

const E2: Experiment = {
  id: 'esx-sharing-vms',
  title: 'Page sharing vs number of identical VMs (40 MB Linux VMs, random scanner)',
  paper: 'Waldspurger, OSDI\'02 §4.3 Fig. 4',
  run({ seed, quick }): ExperimentResult {
    const scale = quick ? 1 / 16 : 1 / 4;
    const rows: Record<string, number>[] = [];
    for (let n = 1; n <= 10; n++) {
      const r = sharingRun(n, scale, seed);
      rows.push({ vms: n, totalMB: r.totalMB, sharedMB: r.sharedMB, reclaimedMB: r.reclaimedMB, sharedPct: pct(r.sharedMB / r.totalMB), reclaimedPct: pct(r.reclaimedMB / r.totalMB), zeroPctOfReclaimed: pct(r.zeroReclaimedMB / r.reclaimedMB) });
    }
    const slope = rows.slice(1).map((r, i) => +(r.reclaimedMB - rows[i].reclaimedMB).toFixed(1));
    const guests = [];
    for (let n = 1; n <= (quick ? 3 : 6); n++) guests.push(guestSharing(n, seed));
    return {
      id: 'esx-sharing-vms',
      paper: { oneVmReclaimedMB: 5, oneVmZeroPct: 55, tenVmSharedPct: 67, tenVmReclaimedPct: 60, growth: 'linear after VM 2' },
      ours: { rows, reclaimedMBPerAddedVm: slope, scale, realGuests: { note: '8 MiB VMs running our guest kernel + memhog 2 MiB half; MB at simulation scale', rows: guests } },
      notes: 'The content mix is calibrated to the one-VM point and to ~67 % shared at 10 VMs; reclaimed %, zero share and linearity are then measured by the real scanner (8 random passes).',
    };
  },
};

const E3: Experiment = {
  id: 'esx-sharing-cpu',
  title: 'CPU cost of page sharing: aggregate throughput with sharing on vs off',
  paper: 'Waldspurger, OSDI\'02 §4.3',
  run({ seed, quick }): ExperimentResult {
    const scale = quick ? 1 / 16 : 1 / 4;
    const seconds = quick ? 120 : 1800;
    const n = 10;
    const { esx, mm, pages } = sharingRun(n, scale, seed);
    // A CPU-bound benchmark: each VM does 10 µs operations; 20 random page writes per VM-second.
    const cpus = 2;
    const opNs = 10_000;
    const rng = createSimContext({ seed }).rng.fork('e3');
    const cow0 = esx.sharing.stats().cow_breaks;
    const scan0 = esx.sharing.stats().scanCpuNs;
    const scanPerSec = Math.round((n * pages) / 300); // rescan all memory every 5 minutes
    for (let t = 0; t < seconds; t++) {
      for (let v = 1; v <= n; v++) for (let k = 0; k < 20; k++) put(mm, v as VmId, rng.int(pages), 3_000_000_000 + t * 1000 + k);
      esx.sharing.scan(scanPerSec);
    }
    const st = esx.sharing.stats();
    const cowNs = (st.cow_breaks - cow0) * mm.ctx.costs.pageCopy;
    const scanNs = st.scanCpuNs - scan0;
    const capacity = seconds * NS_PER_S * cpus;
    const changePct = -(100 * (cowNs + scanNs)) / capacity;
    return {
      id: 'esx-sharing-cpu',
      paper: { throughputChangePct: 0.5, rangePct: [-1.6, 1.8] },
      ours: { throughputChangePct: +changePct.toFixed(3), scanCpuPct: +((100 * scanNs) / capacity).toFixed(3), cowBreaks: st.cow_breaks - cow0, scanRatePagesPerSec: Math.round(scanPerSec / scale), opsPerSecPerCpu: NS_PER_S / opNs, virtualSeconds: seconds },
      notes: 'Ours can only lose: the scanner and COW copies cost CPU and nothing models the cache-locality gain the paper credits for its +0.5 %; both are well inside the paper\'s ±2 % noise band.',
    };
  },
};

// ------------------------------------------------------------------------------------------- E4

interface Mix {
  name: string;
  guests: number;
  totalMB: number;
  sharedPct: number;
  reclaimedPct: number;
  zeroMB: number;
}

const MIXES: Mix[] = [
  { name: 'A', guests: 10, totalMB: 2048, sharedPct: 42.9, reclaimedPct: 32.9, zeroMB: 0 },
  { name: 'B', guests: 9, totalMB: 1846, sharedPct: 29.2, reclaimedPct: 18.7, zeroMB: 70 },
  { name: 'C', guests: 5, totalMB: 1658, sharedPct: 10.0, reclaimedPct: 7.2, zeroMB: 25 },
];

const E4: Experiment = {
  id: 'esx-sharing-real',
  title: 'Real-world sharing: synthetic content mixes for the paper\'s three deployments',
  paper: 'Waldspurger, OSDI\'02 §4.3 Fig. 5',
  run({ seed, quick }): ExperimentResult {
    const scale = quick ? 1 / 64 : 1 / 8;
    const out: Record<string, unknown> = {};
    for (const mx of MIXES) {
      const { esx, mm, pagesOf, toMB } = lab(mx.totalMB + 32, scale, { sharing: { perVmPagesPerScan: 1 << 20, systemPagesPerScan: 1 << 20 } }, seed);
      const total = pagesOf(mx.totalMB);
      const per = Math.floor(total / mx.guests);
      const rng = createSimContext({ seed }).rng.fork(`e4/${mx.name}`);
      // Calibration: zero pages z, and a pool of contents each copied m times on average, so that
      // shared = z + s_p and reclaimed ≈ z + s_p (m − 1)/m.
      const z = mx.zeroMB / mx.totalMB;
      const sp = mx.sharedPct / 100 - z;
      const m = sp / (sp - (mx.reclaimedPct / 100 - z));
      const copies: number[] = [];
      let c = 2;
      let placed = Math.round(sp * per * mx.guests);
      while (placed > 0) {
        const k = Math.min(placed, rng.float() < m - Math.floor(m) ? Math.ceil(m) : Math.floor(m));
        for (let i = 0; i < k; i++) copies.push(c);
        placed -= k;
        c++;
      }
      rng.shuffle(copies);
      const zeroPer = Math.round(z * per);
      let next = 0;
      for (let v = 1; v <= mx.guests; v++) {
        esx.addVm(v as VmId, per);
        esx.setSharingDomain(v as VmId, 'all');
        let g = 0;
        for (let i = 0; i < zeroPer; i++) put(mm, v as VmId, g++, 0);
        const share = Math.round(sp * per);
        for (let i = 0; i < share && next < copies.length; i++) put(mm, v as VmId, g++, copies[next++]);
        for (; g < per; g++) put(mm, v as VmId, g, 100_000_000 + v * 10_000_000 + g);
      }
      scanPasses(esx, per * mx.guests, 8);
      const s = esx.sharing.stats();
      out[mx.name] = {
        guests: mx.guests, totalMB: mx.totalMB,
        sharedMB: toMB(s.sharedPpns), sharedPct: pct(s.sharedPpns / (per * mx.guests)),
        reclaimedMB: toMB(s.pages_sharing), reclaimedPct: pct(s.pages_sharing / (per * mx.guests)),
        zeroMB: toMB(s.zeroPpns), copiesPerContent: +m.toFixed(2),
      };
    }
    return {
      id: 'esx-sharing-real',
      paper: Object.fromEntries(MIXES.map((x) => [x.name, { sharedPct: x.sharedPct, reclaimedPct: x.reclaimedPct, zeroMB: x.zeroMB || 'n/a' }])),
      ours: { ...out, scale },
      notes: 'The mixes are calibrated to the paper\'s shared/reclaimed/zero totals, so agreement shows the scanner finds the available sharing under random scanning, not that our mixes predict real workloads.',
    };
  },
};

// ------------------------------------------------------------------------------------------- E5

const E5: Experiment = {
  id: 'esx-sampler',
  title: 'Working-set sampler: step-varying toucher (50–250 MB) + background; n = 100 per 30 s',
  paper: 'Waldspurger, OSDI\'02 §5.3 Fig. 6',
  run({ seed, quick }): ExperimentResult {
    const scale = quick ? 1 / 16 : 1 / 4;
    const { esx, mm, ctx, pagesOf } = lab(512, scale, { samplePeriodNs: 30 * NS_PER_S, tickNs: 30 * NS_PER_S }, seed);
    const vm = 1 as VmId;
    const pages = pagesOf(384);
    esx.addVm(vm, pages);
    const rng = createSimContext({ seed }).rng.fork('e5');
    const steps = [50, 50, 250, 250, 250, 100, 100, 250, 250, 50, 50, 50, 50, 150, 150, 150, 0, 0, 0, 0, 0, 0, 0, 0];
    const series: Record<string, number>[] = [];
    let prevSteps = -1;
    for (let i = 0; i < steps.length * 4; i++) {
      const mb = steps[Math.floor(i / 4)];
      const ws = pagesOf(mb);
      for (let g = 0; g < ws && mb > 0; g++) mm.resolve(vm, g as Gppn, false);
      const bg = pagesOf(10 + rng.int(11));
      for (let k = 0; k < bg; k++) mm.resolve(vm, rng.int(pages) as Gppn, false);
      // The Windows zero-page thread zeroes freed memory right after the toucher exits.
      if (mb === 0 && prevSteps > 0) for (let g = 0; g < pages; g++) mm.resolve(vm, g as Gppn, true);
      prevSteps = mb;
      ctx.clock.advance(30 * NS_PER_S);
      esx.tick();
      const e = esx.vmStats(vm);
      series.push({ t: (i + 1) * 30, actualMB: mb + 15, estimateMB: Math.round(e.activeFraction * 384), slowMB: Math.round(e.slow * 384), fastMB: Math.round(e.fast * 384) });
    }
    // Lag: periods for the estimate to cover 90 % of the 50→250 step up vs of the 250→50 step down.
    const up = series.slice(8).findIndex((r) => r.estimateMB >= 0.9 * 265);
    const downStart = 36;
    const down = series.slice(downStart).findIndex((r) => r.estimateMB <= 65 + 0.1 * 200);
    const spike = Math.max(...series.slice(64, 70).map((r) => r.estimateMB));
    return {
      id: 'esx-sampler',
      paper: { shape: 'tracks increases quickly (fast EWMA), decreases slowly (slow EWMA); spike from the zero-page thread after the toucher exits' },
      ours: { periodsToTrackIncrease: up, periodsToTrackDecrease: down, zeroThreadSpikeMB: spike, gains: esx.sampler.gains, samplePages: esx.sampler.n, series: quick ? series.filter((_, i) => i % 4 === 3) : series, scale },
      notes: 'Gains are ours (slow 1/8, fast 1/2; the paper gives none). The workload is a step function of touched pages, not Windows; the spike comes from touching every page once as the zero thread does.',
    };
  },
};

// ------------------------------------------------------------------------------------------- E6

/** A cooperative balloon driver model inside an experiment: inflates the guest's least-used pages first. */
function driveBalloon(esx: EsxMemory, mm: MemoryManager, vm: VmId, order: number[]): void {
  const t = esx.hypercall(BALLOON_HC.TARGET, { vm, mode: 'kernel' }, []);
  if (t < 0) return;
  const p = mm.pmap(vm);
  const K = { vm, mode: 'kernel' as const };
  let guard = 0;
  while (esx.balloon.actual(vm) < t && guard++ < order.length) {
    const batch: number[] = [];
    for (let i = 0; i < order.length && batch.length < 8; i++) if (!(p.state[order[i]] & PageState.BALLOONED)) batch.push(order[i]);
    if (!batch.length || esx.hypercall(BALLOON_HC.INFLATE, K, batch) <= 0) break;
  }
  while (esx.balloon.actual(vm) > t) {
    const batch: number[] = [];
    for (let i = order.length - 1; i >= 0 && batch.length < 8; i--) if (p.state[order[i]] & PageState.BALLOONED) batch.push(order[i]);
    if (!batch.length || esx.hypercall(BALLOON_HC.DEFLATE, K, batch) <= 0) break;
  }
}

const E6: Experiment = {
  id: 'esx-idle-tax',
  title: 'Idle memory tax: idle VM vs memory-hungry VM, equal shares, τ 0 → 75 % mid-run',
  paper: 'Waldspurger, OSDI\'02 §5.2 Fig. 7',
  run({ seed, quick }): ExperimentResult {
    const scale = quick ? 1 / 32 : 1 / 8;
    // ≈ 360 MB for VMs once the 6 % free reserve is kept: machine = 360 / 0.94 MB.
    const { esx, mm, ctx, pagesOf, toMB } = lab(360 / 0.94, scale, { tau: 0, tickNs: 30 * NS_PER_S, samplePeriodNs: 30 * NS_PER_S, autoBalloon: true, balloonTimeoutNs: 60 * NS_PER_S, swapSlots: 1 << 16 }, seed);
    const size = pagesOf(256);
    const V1 = 1 as VmId, V2 = 2 as VmId;
    esx.addVm(V1, size, { min: 0, max: size, shares: 1000 });
    esx.addVm(V2, size, { min: 0, max: size, shares: 1000 });
    const rng = createSimContext({ seed }).rng.fork('e6');
    const order1 = Array.from({ length: size }, (_, i) => size - 1 - i);
    const order2 = Array.from({ length: size }, (_, i) => size - 1 - i);
    // VM1 boots (touches everything) then idles; VM2 runs dbench over all its memory.
    for (let g = 0; g < size; g++) put(mm, V1, g, 1 + g);
    const periods = quick ? 40 : 120;
    const series: Record<string, number>[] = [];
    const thr = [0, 0];
    for (let i = 0; i < periods; i++) {
      if (i === periods / 2) esx.setTau(0.75);
      for (let k = 0; k < size / 50; k++) mm.resolve(V1, rng.int(size) as Gppn, false);
      // dbench in VM2: every page it can keep resident; ballooned pages live in its own swap.
      const p2 = mm.pmap(V2);
      let inSwap = 0;
      for (let g = 0; g < size; g++) {
        if (p2.state[g] & PageState.BALLOONED) inSwap++;
        else mm.resolve(V2, g as Gppn, true);
      }
      // dbench throughput at the end of each half (steady state), with the E1 buffer-cache model.
      const throughput = i === periods / 2 - 1 || i === periods - 1 ? dbenchThroughput(size, inSwap, pagesOf(16), pagesOf(320), seed, quick ? 60_000 : 300_000) : 0;
      if (throughput) thr[i < periods / 2 ? 0 : 1] = throughput;
      ctx.clock.advance(30 * NS_PER_S);
      esx.tick();
      driveBalloon(esx, mm, V1, order1);
      driveBalloon(esx, mm, V2, order2);
      const a = esx.vmStats(V1), b = esx.vmStats(V2);
      series.push({ min: (i + 1) / 2, tau: esx.tau, vm1MB: toMB(a.resident), vm2MB: toMB(b.resident), vm1TargetMB: toMB(a.target), vm2TargetMB: toMB(b.target), vm2Throughput: +throughput.toFixed(1) });
    }
    const half = periods / 2;
    const at0 = series[half - 1], at75 = series[periods - 1];
    return {
      id: 'esx-idle-tax',
      paper: { tau0BothMB: 179, tau75: 'memory moves from idle VM1 to VM2', vm2ThroughputGainPct: '> 30' },
      ours: {
        tau0: { vm1MB: at0.vm1MB, vm2MB: at0.vm2MB, vm1TargetMB: at0.vm1TargetMB, vm2TargetMB: at0.vm2TargetMB },
        tau75: { vm1MB: at75.vm1MB, vm2MB: at75.vm2MB, vm1TargetMB: at75.vm1TargetMB, vm2TargetMB: at75.vm2TargetMB },
        vm2ThroughputGainPct: +((100 * (thr[1] - thr[0])) / thr[0]).toFixed(1),
        rhoCheck: +adjustedRatio(1000, 100, 25, 0.75).toFixed(3),
        series: quick ? series.filter((_, i) => i % 5 === 4) : series.filter((_, i) => i % 10 === 9),
        scale,
      },
      notes: 'VM2 touches all its memory every period (so its sampled f ≈ 1); its dbench throughput uses the E1 buffer-cache model with the balloon as lost cache, so the gain follows the memory recovered from the idle VM.',
    };
  },
};

// ------------------------------------------------------------------------------------------- E7

/**
 * One Windows 2000 guest of Fig. 8 as the memory manager sees it. Its "physical" pages: the OS
 * (kernel, drivers, system DLLs, services) at [0, os), of which the first `osCommon` pages are the
 * same Windows 2000 build in every VM; the application's data from `os` upward; the rest is free
 * memory (zeroed at boot). The balloon driver takes pages from the top down — free pages first,
 * then application pages, which the guest pages out to its own disk — and never the OS, so the
 * balloon is always the range [pages − balloon, pages).
 */
interface Fig8Guest {
  readonly name: string;
  readonly vm: VmId;
  readonly pages: number;
  readonly os: number;
  readonly osCommon: number;
  /** Application pages the guest wants resident at second t (from `os` upward). */
  readonly demand: (t: number) => number;
  /** Fraction of the application's loaded data it touches per 30 s (one sampling period) at second t. */
  readonly activity: (t: number) => number;
  /** Application pages (re)loaded per second, from its disk (or its own page file). */
  readonly loadPerSec: number;
  /** 1 where the application's data is in the page (0 once the guest gave the page to its balloon). */
  readonly valid: Uint8Array;
  /** Content id last written per page (0 = a zero page): classifies the victims of share-before-swap. */
  readonly content: Int32Array;
}

const STATE_RANK = { high: 0, soft: 1, hard: 2, low: 3 } as const;

/** Second-by-second touches so that a fraction `a` of `n` pages is touched within one 30 s period. */
const touchesPerSec = (n: number, a: number) => (a <= 0 || n <= 0 ? 0 : Math.ceil(n * -Math.log(1 - Math.min(a, 0.99)) / 30));

/** The guest's balloon driver (ESX §3.2): polls its target once per second and inflates/deflates to it (the paper gives no rate limit). */
function fig8Balloon(esx: EsxMemory, g: Fig8Guest): void {
  const K = { vm: g.vm, mode: 'kernel' as const };
  const want = Math.min(esx.hypercall(BALLOON_HC.TARGET, K, []), g.pages - g.os);
  if (want < 0) return;
  for (let cur = esx.balloon.actual(g.vm); cur < want; cur = esx.balloon.actual(g.vm)) {
    const batch: number[] = [];
    for (let p = g.pages - cur - 1; p >= g.pages - want && batch.length < 8; p--) batch.push(p);
    const took = esx.hypercall(BALLOON_HC.INFLATE, K, batch);
    batch.forEach((p, i) => {
      if (took > 0 && took & (1 << i)) g.valid[p] = 0; // a free page, or data the guest paged out
    });
    if (took !== (1 << batch.length) - 1) break;
  }
  for (let cur = esx.balloon.actual(g.vm); cur > want; cur = esx.balloon.actual(g.vm)) {
    const batch: number[] = [];
    for (let p = g.pages - cur; p < g.pages - want && batch.length < 8; p++) batch.push(p);
    if (esx.hypercall(BALLOON_HC.DEFLATE, K, batch) !== (1 << batch.length) - 1) break;
  }
}

const E7: Experiment = {
  id: 'esx-realloc',
  title: 'Dynamic reallocation: five Windows VMs (2 × 256 + 3 × 320 MB) and 160 MB of overhead on 1 GB, min = max/2, shares ∝ max',
  paper: 'Waldspurger, OSDI\'02 §5.4, §6 Fig. 8',
  run({ seed, quick }): ExperimentResult {
    const scale = quick ? 1 / 32 : 1 / 8;
    const P = (mb: number) => Math.max(16, Math.round(mb * PAGES_PER_MB * scale));
    const rate = (mbPerSec: number) => Math.max(1, Math.round(mbPerSec * PAGES_PER_MB * scale));
    const { esx, mm, ctx, toMB, machine } = lab(1024, scale, {
      tickNs: NS_PER_S, samplePeriodNs: 30 * NS_PER_S, autoBalloon: true, sharingEnabled: true, balloonTimeoutNs: 30 * NS_PER_S,
      swapSlots: P(1024), sharing: { perVmPagesPerScan: P(8), systemPagesPerScan: P(24) },
    }, seed);
    // ESX's per-VM overhead (32 MB each: frame buffer, pmap, shadow page tables; §5.4) is real memory
    // out of the same 1 GB — the paper counts it in the overcommitment (1472 + 160 MB on 1 GB). It is
    // modelled as one pinned, never-reclaimed allocation with min = max, so admission sees each VM's
    // min + overhead and the targets share out only what the overhead leaves.
    const OVH = 6 as VmId;
    const ovh = P(160);
    esx.addVm(OVH, ovh, { min: ovh, max: ovh, shares: ovh });
    esx.sharing.setEnabled(OVH, false);
    for (let g = 0; g < ovh; g++) {
      put(mm, OVH, g, 9_000_000 + g);
      mm.pmap(OVH).state[g] |= PageState.PINNED;
    }
    const seconds = quick ? 1800 : 2700;
    const bootEnd = 20; // Windows zeroes all its memory while it boots
    const driversAt = 60; // balloon drivers (VMware Tools) start late, once the guests are up
    const appsAt = 90; // the Exchange and Citrix loads start after boot
    const queryAt = Math.round((2 * seconds) / 3); // SQL Server idles, then runs a long query
    // The load generators (LoadSim, Citrix clients) drive their servers in phases of 2–5 minutes at
    // 50–100 % of full load; each busy VM touches that fraction of `act` of its data per period.
    const prng = createSimContext({ seed }).rng.fork('e7-load');
    const phases = (act: number) => {
      const level = new Float64Array(seconds);
      for (let t = 0; t < seconds; ) {
        const len = 120 + prng.int(181), l = 0.5 + prng.int(51) / 100;
        for (let k = 0; k < len && t < seconds; k++, t++) level[t] = l * act;
      }
      return level;
    };
    const busy = (share: number, act: number) => {
      const level = phases(act);
      return { demand: (t: number) => (t < appsAt ? 0 : share), activity: (t: number) => (t < appsAt ? 0 : level[t]) };
    };
    const roles = [
      { name: 'exchange-server', mb: 256, ...busy(1, 0.9), loadMBps: 4 },
      { name: 'exchange-client', mb: 256, ...busy(0.7, 0.8), loadMBps: 4 },
      { name: 'citrix-server', mb: 320, ...busy(1, 0.9), loadMBps: 4 },
      { name: 'citrix-client', mb: 320, ...busy(0.7, 0.8), loadMBps: 4 },
      { name: 'sql-server', mb: 320, demand: (t: number) => (t < appsAt ? 0 : t < queryAt ? 0.05 : 0.9), activity: (t: number) => (t < queryAt ? 0.2 : 0.8), loadMBps: 8 },
    ];
    const guests: Fig8Guest[] = roles.map((r, i) => {
      const vm = (i + 1) as VmId;
      const pages = P(r.mb);
      esx.addVm(vm, pages, { min: Math.floor(pages / 2), max: pages, shares: pages });
      esx.setSharingDomain(vm, 'fig8'); // ESX shares pages across all VMs
      const os = P(48), app = pages - os;
      return {
        name: r.name, vm, pages, os, osCommon: P(40),
        demand: (t: number) => Math.floor(app * r.demand(t)), activity: r.activity, loadPerSec: rate(r.loadMBps),
        valid: new Uint8Array(pages), content: new Int32Array(pages),
      };
    });
    const byVm = new Map(guests.map((g) => [g.vm as number, g]));
    // Share-before-swap victims, zero or not (observation only: the swap daemon calls tryShare).
    let sbsZero = 0, sbsOther = 0;
    const tryShare = esx.sharing.tryShare.bind(esx.sharing);
    esx.sharing.tryShare = (vm, g) => {
      const r = tryShare(vm, g);
      if (r === 'merged') {
        if (byVm.get(vm)?.content[g] === 0) sbsZero++;
        else sbsOther++;
      }
      return r;
    };
    const write = (g: Fig8Guest, p: number, c: number) => {
      put(mm, g.vm, p, c);
      g.content[p] = c;
    };
    const rng = createSimContext({ seed }).rng.fork('e7');
    const stateSeconds: Record<string, number> = { high: 0, soft: 0, hard: 0, low: 0 };
    const settled = 300; // after the boot transient
    const peak = { swapped: 0, swappedAfterBoot: 0, zeroShared: 0, aggregate: 0, aggregateAfterBoot: 0, saved: 0, balloon: 0, sqlQuery: 0, sqlTargetQuery: 0, sqlPrivateQuery: 0 };
    const sum = { aggregate: 0, saved: 0, balloon: 0, n: 0 };
    let sqlIdleMin = Infinity, sqlBeforeQuery = 0, sqlTargetBeforeQuery = 0, sqlPrivateBeforeQuery = 0;
    const sql = guests[4];
    const series: Record<string, number | string>[] = [];
    for (let t = 0; t < seconds; t++) {
      for (const g of guests) {
        if (t < bootEnd) {
          // Boot: the OS loads (first 8 s) while Windows zeroes all the rest of its memory.
          if (t < 8) for (let p = Math.floor((t * g.os) / 8); p < Math.floor(((t + 1) * g.os) / 8); p++) write(g, p, p < g.osCommon ? 7_000_000 + p : 8_000_000 + g.vm * 100_000 + p);
          const per = Math.ceil((g.pages - g.os) / bootEnd);
          for (let p = g.os + t * per; p < Math.min(g.pages, g.os + (t + 1) * per); p++) write(g, p, 0);
          continue;
        }
        // Windows background activity: 15 MB of the OS touched per period (ESX §5.3, Fig. 6: 10–20 MB).
        for (let k = touchesPerSec(g.os, P(15) / g.os); k > 0; k--) mm.resolve(g.vm, rng.int(g.os) as Gppn, false);
        // The application (re)loads its data into the pages the balloon leaves it, then works on it.
        const top = Math.min(g.os + g.demand(t), g.pages - esx.balloon.actual(g.vm));
        let loaded = 0;
        for (let p = g.os, left = g.loadPerSec; p < top; p++) {
          if (!g.valid[p] && left > 0) {
            write(g, p, 1 + g.vm * 10_000_000 + p);
            g.valid[p] = 1;
            left--;
          }
          loaded += g.valid[p];
        }
        for (let k = touchesPerSec(loaded, g.activity(t)); k > 0; k--) {
          const p = g.os + rng.int(Math.max(1, top - g.os));
          if (g.valid[p]) mm.resolve(g.vm, p as Gppn, false);
        }
      }
      ctx.clock.advance(NS_PER_S);
      const seen = esx.reclaim.transitions.length;
      esx.tick();
      if (t >= driversAt) for (const g of guests) fig8Balloon(esx, g);
      // Each second counts in the lowest state the daemon was in during its tick (a dip into hard
      // that the same tick's reclamation climbs out of still counts as hard).
      let worst = esx.state;
      for (const tr of esx.reclaim.transitions.slice(seen)) for (const s of [tr.from, tr.to]) if (STATE_RANK[s] > STATE_RANK[worst]) worst = s;
      stateSeconds[worst]++;
      const swapped = esx.swap.store.slots - esx.swap.freeSlots;
      peak.swapped = Math.max(peak.swapped, swapped);
      if (t >= settled) peak.swappedAfterBoot = Math.max(peak.swappedAfterBoot, swapped);
      const sq = esx.vmStats(sql.vm);
      // The rest is measured every second during boot, then every 5 s (it scans every pmap).
      if (t < settled || t % 5 === 4) {
        const sh = esx.sharing.stats();
        let agg = 0, bal = 0;
        const res = guests.map((g) => {
          const v = g === sql ? sq : esx.vmStats(g.vm);
          agg += v.resident;
          bal += v.ballooned;
          return v;
        });
        peak.zeroShared = Math.max(peak.zeroShared, sh.zeroPpns);
        peak.aggregate = Math.max(peak.aggregate, agg);
        peak.saved = Math.max(peak.saved, sh.pages_sharing);
        peak.balloon = Math.max(peak.balloon, bal);
        if (t >= settled) {
          peak.aggregateAfterBoot = Math.max(peak.aggregateAfterBoot, agg);
          sum.aggregate += agg;
          sum.saved += sh.pages_sharing;
          sum.balloon += bal;
          sum.n++;
        }
        if (t % 30 === 29) {
          const row: Record<string, number | string> = { t: t + 1, state: esx.state, freePct: pct(machine.free / machine.frames), aggregateMB: toMB(agg), savedMB: toMB(sh.pages_sharing), zeroSharedMB: toMB(sh.zeroPpns), balloonMB: toMB(bal), swappedMB: toMB(swapped) };
          guests.forEach((g, i) => {
            row[`${g.name}MB`] = toMB(res[i].resident);
            row[`${g.name}TargetMB`] = toMB(res[i].target);
          });
          row.sqlActivePct = pct(sq.activeFraction);
          series.push(row);
        }
      }
      if (t >= settled && t < queryAt) sqlIdleMin = Math.min(sqlIdleMin, sq.resident);
      if (t === queryAt - 1) {
        sqlBeforeQuery = sq.resident;
        sqlTargetBeforeQuery = sq.target;
        sqlPrivateBeforeQuery = sq.resident - sq.sharedPpns;
      }
      if (t >= queryAt) {
        peak.sqlQuery = Math.max(peak.sqlQuery, sq.resident);
        peak.sqlTargetQuery = Math.max(peak.sqlTargetQuery, sq.target);
        peak.sqlPrivateQuery = Math.max(peak.sqlPrivateQuery, sq.resident - sq.sharedPpns);
      }
    }
    const mean = (x: number) => (sum.n ? toMB(x / sum.n) : null);
    return {
      id: 'esx-realloc',
      paper: { states: 'almost all time in high and soft', zeroPagesReclaimedBySharingMB: 325, peakSwappedMB: 35, swappedAfterBootMB: '< 20', aggregateAllocationMB: 1200, sharingSavedMB: 200, sqlIdleMB: 160, sqlQuery: 'climbs quickly when a long query starts' },
      ours: {
        stateTimePct: Object.fromEntries(Object.entries(stateSeconds).map(([k, v]) => [k, pct(v / seconds)])),
        shareBeforeSwapZeroMB: toMB(sbsZero),
        shareBeforeSwapNonZeroMB: toMB(sbsOther),
        zeroPagesSharedPeakMB: toMB(peak.zeroShared),
        peakSwappedMB: toMB(peak.swapped),
        swappedAfterBootPeakMB: toMB(peak.swappedAfterBoot),
        swapOutTotalMB: toMB(esx.stats().swap.pagesOut),
        aggregateAllocationPeakMB: toMB(peak.aggregate),
        aggregateAllocationPeakAfterBootMB: toMB(peak.aggregateAfterBoot),
        aggregateAllocationMeanMB: mean(sum.aggregate),
        overheadMB: toMB(ovh),
        machineMB: toMB(machine.frames),
        sharingSavedPeakMB: toMB(peak.saved),
        sharingSavedMeanMB: mean(sum.saved),
        balloonPeakMB: toMB(peak.balloon),
        balloonMeanMB: mean(sum.balloon),
        sqlMinMB: toMB(Math.floor(sql.pages / 2)),
        sqlIdleMB: sqlIdleMin === Infinity ? null : toMB(sqlIdleMin),
        sqlBeforeQueryMB: toMB(sqlBeforeQuery),
        sqlTargetBeforeQueryMB: toMB(sqlTargetBeforeQuery),
        sqlQueryPeakMB: toMB(peak.sqlQuery),
        sqlAfterQueryMB: toMB(esx.vmStats(sql.vm).resident),
        sqlTargetQueryPeakMB: toMB(peak.sqlTargetQuery),
        sqlPrivateBeforeQueryMB: toMB(sqlPrivateBeforeQuery),
        sqlPrivateQueryPeakMB: toMB(peak.sqlPrivateQuery),
        queryAtSeconds: queryAt,
        names: guests.map((g) => g.name),
        series,
        scale,
        virtualSeconds: seconds,
      },
      notes: 'Five synthetic Windows 2000 guests: a 48 MB OS image (40 MB identical in every VM) loaded at boot while Windows zeroes the rest of memory; balloon drivers from 60 s; Exchange/Citrix loads from 90 s in phases of 50–100 % load; SQL Server idle (5 % of memory, 15 MB of OS background) until a long query at 2/3 of the run. The 160 MB of overhead is a pinned allocation out of the same 1 GB. Allocation counts every mapped page, shared ones included (ESX). Our targets share out machine frames only, so the pages sharing saves stay free and the host stays in high after the first reclamation: SQL\'s target reaches its min but its allocation does not follow (see docs/results-esx.md).',
    };
  },
};

// ------------------------------------------------------------------------------------------- E8

const E8: Experiment = {
  id: 'esx-thresholds',
  title: 'Reclamation states under a memory-pressure ramp: 6/4/2/1 % with hysteresis',
  paper: 'Waldspurger, OSDI\'02 §6.3',
  run(): ExperimentResult {
    const r = new ReclaimStateMachine();
    const trace: { free: number; state: string }[] = [];
    // Ramp down from 10 % to 0.5 % free, back up to 10 %, then oscillate ±0.4 % around 4 %.
    const ramp: number[] = [];
    for (let f = 100; f >= 5; f--) ramp.push(f / 1000);
    for (let f = 5; f <= 100; f++) ramp.push(f / 1000);
    const rampLen = ramp.length;
    for (let k = 0; k < 40; k++) ramp.push(k % 2 ? 0.044 : 0.036);
    let before = 0;
    ramp.forEach((f, i) => {
      if (i === rampLen) before = r.transitions.length;
      trace.push({ free: f, state: r.update(f) });
    });
    const down = r.transitions.slice(0, before).filter((t) => ['high>soft', 'soft>hard', 'hard>low'].includes(`${t.from}>${t.to}`)).map((t) => ({ to: t.to, atFreePct: +(t.free * 100).toFixed(1) }));
    const up = r.transitions.slice(0, before).filter((t) => ['low>hard', 'hard>soft', 'soft>high'].includes(`${t.from}>${t.to}`)).map((t) => ({ to: t.to, atFreePct: +(t.free * 100).toFixed(1) }));
    const oscillationTransitions = r.transitions.length - before;
    return {
      id: 'esx-thresholds',
      paper: { enterPct: { soft: 4, hard: 2, low: 1 }, highPct: 6, hysteresis: 'move up only after free memory significantly exceeds the higher threshold' },
      ours: { down, up, oscillationTransitions, oscillationSteps: 40, rule: 'enter below 4/2/1 %; climb one state once free ≥ the next threshold up (6/4/2 %)' },
      notes: 'The paper leaves "significantly" unquantified; we use the next threshold up (two percentage points).',
    };
  },
};

/** Every ESX experiment, for `src/experiments/registry.ts`. */
export const esxExperiments: readonly Experiment[] = [E1, E2, E3, E4, E5, E6, E7, E8];
