/**
 * Storage experiments E9–E18 of papers-systems.md §7: DeDe (Clements, Ahmad, Vilayannur, Li,
 * USENIX ATC'09 §4) and vIC (Ahmad, Gulati, Mashtizadeh, USENIX ATC'11), on a synthetic VDI-like
 * corpus generated from a seed. Paper numbers beside ours; docs/results-storage.md explains every
 * difference. Virtual-time results come from the cost model; "wall" results measure this simulator.
 */
import { createSimContext, type SimContext, type SeededRng } from '../sim/index.js';
import { nobleProvider } from '../crypto/index.js';
import {
  ClusterVolume,
  DedupEngine,
  MemoryStore,
  RamDisk,
  SUB_SIZE,
  VirtualScsiController,
  computeLayout,
  INDEX_NAME,
} from '../storage/index.js';
import type { Experiment, ExperimentResult } from './types.js';

// ───────────────────────────── the synthetic VDI corpus ─────────────────────────────

/**
 * Corpus parameters. The paper's dataset: 113 Windows XP VMs cloned from a few standard images and
 * used for 6–12 months (DeDe §4.1). Ours: `images` base images; each VM is a clone whose "hot"
 * region (user-touched part of the disk) drifts by three kinds of extents: unique data, content of
 * its own image moved elsewhere (defragmentation, file moves), and applications from a shared pool
 * installed at VM-specific offsets. The cold region (OS binaries) stays identical to the image.
 * Fractions are our calibration, chosen so the 4 KiB and linked-clone points land near the paper's;
 * the shape across block sizes, the refcount distribution and everything on the real engine follow.
 */
export interface CorpusParams {
  images: number;
  vms: number;
  /** 4 KiB blocks per VM disk. */
  blocks: number;
  /** Fraction of the disk that is the drifting hot region. */
  hot: number;
  /** Fractions of the disk rewritten with unique data / moved image content / shared-app content. */
  unique: number;
  moved: number;
  apps: number;
  /** Fraction of image blocks that are zero (excluded like the paper's all-NULL blocks). */
  zero: number;
  /** Fraction of image blocks drawn from a pool shared by all images (common OS files). */
  commonOs: number;
}

/** Default corpus (quick mode scales `vms` and `blocks` down). */
export const DEFAULT_CORPUS: Readonly<CorpusParams> = Object.freeze({
  images: 8, vms: 48, blocks: 8192, hot: 0.62, unique: 0.14, moved: 0.28, apps: 0.14, zero: 0.1, commonOs: 0.1,
});

/** A VM disk as content ids per 4 KiB block (0 = zero block). */
export type CorpusDisk = Uint32Array;

/** Generates the corpus: per-VM content-id arrays plus each VM's base image index. */
export function generateCorpus(rng: SeededRng, p: CorpusParams): { disks: CorpusDisk[]; imageOf: number[]; images: CorpusDisk[] } {
  let nextId = 1;
  const commonPool = Array.from({ length: Math.max(16, Math.floor(p.blocks * 0.4)) }, () => nextId++);
  const images: CorpusDisk[] = [];
  for (let i = 0; i < p.images; i++) {
    const img = new Uint32Array(p.blocks);
    for (let b = 0; b < p.blocks; ) {
      // Files are runs of blocks: a run of common OS content or image-specific content, or zeros.
      const run = 1 + rng.int(32);
      const r = rng.float();
      const start = rng.int(commonPool.length);
      for (let k = 0; k < run && b < p.blocks; k++, b++) img[b] = r < p.zero ? 0 : r < p.zero + p.commonOs ? commonPool[(start + k) % commonPool.length] : nextId++;
    }
    images.push(img);
  }
  const appPool: Uint32Array[] = Array.from({ length: 24 }, () => {
    const a = new Uint32Array(8 + rng.int(120));
    for (let k = 0; k < a.length; k++) a[k] = nextId++;
    return a;
  });
  const disks: CorpusDisk[] = [];
  const imageOf: number[] = [];
  const hotStart = Math.floor(p.blocks * (1 - p.hot));
  for (let v = 0; v < p.vms; v++) {
    const im = v % p.images;
    const d = images[im].slice();
    const hotLen = p.blocks - hotStart;
    const extent = (frac: number, fill: (d: CorpusDisk, at: number, len: number) => void) => {
      let left = Math.floor(p.blocks * frac);
      while (left > 0) {
        const len = Math.min(left, 1 + rng.int(64));
        fill(d, hotStart + rng.int(Math.max(1, hotLen - len)), len);
        left -= len;
      }
    };
    extent(p.unique, (x, at, len) => { for (let k = 0; k < len; k++) x[at + k] = nextId++; });
    extent(p.moved, (x, at, len) => { const src = rng.int(p.blocks - len); for (let k = 0; k < len; k++) x[at + k] = images[im][src + k]; });
    extent(p.apps, (x, at, len) => { const app = rng.pick(appPool); const o = rng.int(app.length); for (let k = 0; k < len; k++) x[at + k] = app[(o + k) % app.length]; });
    disks.push(d);
    imageOf.push(im);
  }
  return { disks, imageOf, images };
}

/** Savings of whole-corpus dedup at `blockBlocks` × 4 KiB, excluding all-zero chunks (DeDe Fig. 5 method). */
export function dedupSavings(disks: CorpusDisk[], blockBlocks: number, shift512 = false): { total: number; unique: number; savings: number } {
  const seen = new Set<string>();
  let total = 0;
  for (const d of disks) {
    for (let b = 0; b + blockBlocks <= d.length; b += blockBlocks) {
      let key = '';
      let zero = true;
      for (let k = 0; k < blockBlocks; k++) {
        const id = d[b + k];
        // A 512 B misalignment makes every 4 KiB chunk straddle two blocks: the chunk is (prev, cur).
        const part = shift512 ? `${b + k > 0 ? d[b + k - 1] : 0}/${id}` : `${id}`;
        if (id !== 0 || (shift512 && b + k > 0 && d[b + k - 1] !== 0)) zero = false;
        key += part + ',';
      }
      if (zero) continue;
      total++;
      seen.add(key);
    }
  }
  return { total, unique: seen.size, savings: total ? 1 - seen.size / total : 0 };
}

/** Savings of linked clones: only blocks equal to the base image at the same offset are shared. */
export function linkedCloneSavings(disks: CorpusDisk[], imageOf: number[], images: CorpusDisk[]): number {
  let total = 0, stored = 0;
  for (const img of images) for (const id of img) if (id) stored++;
  disks.forEach((d, v) => {
    const img = images[imageOf[v]];
    for (let b = 0; b < d.length; b++) {
      if (d[b] === 0) continue;
      total++;
      if (d[b] !== img[b]) stored++;
    }
  });
  return 1 - stored / total;
}

/** Bytes of a 4 KiB block with content id `id` (deterministic). */
export function blockBytes(id: number): Uint8Array {
  const b = new Uint8Array(SUB_SIZE);
  if (id === 0) return b;
  let x = (Math.imul(id, 0x9e3779b1) ^ 0x5bd1e995) >>> 0 || 1;
  const dv = new DataView(b.buffer);
  for (let i = 0; i < SUB_SIZE; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    dv.setUint32(i, x ^ id, true);
  }
  return b;
}

/** Writes a small corpus onto a real volume, runs DeDe on two hosts, returns the volume and numbers. */
export function runEngineOnCorpus(seed: number, vms: number, blocks: number): {
  vol: ClusterVolume; dede: DedupEngine; files: number[]; disks: CorpusDisk[]; logicalUnits: number; before: number; after: number; analysis: number; passMs: number; shareMs: number;
} {
  const rng = createSimContext({ seed }).rng.fork('corpus-engine');
  const { disks } = generateCorpus(rng, { ...DEFAULT_CORPUS, vms, blocks });
  const mib = Math.ceil((blocks * SUB_SIZE) / (1 << 20));
  const geo = { largeBlocks: vms * mib + 24, inodes: vms * 2 + 64, pointerBlocks: vms * mib * 2 + 256, journalPages: 900 };
  const store = new MemoryStore(computeLayout(geo).totalSize);
  const vol = ClusterVolume.format(store, geo);
  const dede = new DedupEngine(vol, { flushRecords: 1 << 16 });
  const files: number[] = [];
  let logicalUnits = 0;
  disks.forEach((d, v) => {
    const host = 1 + (v % 2);
    const f = vol.create(host, `vm${v}.vmdk`, { size: blocks * SUB_SIZE, monitored: true, domain: 1 });
    files.push(f);
    const buf = new Uint8Array(blocks * SUB_SIZE);
    for (let b = 0; b < blocks; b++) if (d[b]) { buf.set(blockBytes(d[b]), b * SUB_SIZE); logicalUnits++; }
    vol.writeAt(host, f, 0, buf);
  });
  const dataUnits = () => {
    let u = 0;
    const seen = new Set<number>();
    for (const f of files) for (let b = 0; b < blocks; b++) {
      const l = vol.locate(f, b);
      if (l.kind !== 'hole' && !seen.has(l.unit)) { seen.add(l.unit); if (disks[files.indexOf(f)][b] !== 0) u++; }
    }
    return u;
  };
  const before = dataUnits();
  const t0 = performance.now();
  dede.pass(1);
  const t1 = performance.now();
  dede.pass(2);
  dede.pass(1);
  dede.pass(2);
  const t2 = performance.now();
  const after = dataUnits();
  return { vol, dede, files, disks, logicalUnits, before, after, analysis: dedupSavings(disks, 1).savings, passMs: t1 - t0, shareMs: t2 - t1 };
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

// ───────────────────────────── DeDe experiments ─────────────────────────────

const dedeSavings: Experiment = {
  id: 'dede-savings',
  title: 'DeDe space savings vs block size, linked clones, partition realignment (E11)',
  paper: 'Clements et al., ATC\'09 §4.1 Fig. 5',
  run({ seed, quick }): ExperimentResult {
    const p = { ...DEFAULT_CORPUS, ...(quick ? { vms: 24, images: 4, blocks: 4096 } : {}) };
    const { disks, imageOf, images } = generateCorpus(createSimContext({ seed }).rng.fork('corpus'), p);
    const sizes = [1, 4, 16, 64, 256];
    const bySize = Object.fromEntries(sizes.map((s) => [`${s * 4}KiB`, round(dedupSavings(disks, s).savings)]));
    const engine = runEngineOnCorpus(seed, quick ? 4 : 8, 1024);
    return {
      id: 'dede-savings',
      paper: { savings4KiB: 0.8, savings1MiB: 0.35, linkedClones: 0.44, realignment: 'very little change', vms: 113 },
      ours: {
        vms: p.vms,
        savingsByBlockSize: bySize,
        linkedClones: round(linkedCloneSavings(disks, imageOf, images)),
        savings4KiBMisaligned512: round(dedupSavings(disks, 1, true).savings),
        engineCheck: { vms: engine.disks.length, analysis4KiB: round(engine.analysis), engine4KiB: round(1 - engine.after / engine.logicalUnits) },
      },
      notes: 'Corpus drift fractions are calibrated to the paper\'s 4 KiB and linked-clone points; the fall with block size and the misalignment result are outcomes. engineCheck runs the real DeDe engine on a small corpus and matches the offline analysis.',
    };
  },
};

const dedeRefcounts: Experiment = {
  id: 'dede-refcounts',
  title: 'Reference-count distribution of deduplicated 4 KiB blocks (E12)',
  paper: 'Clements et al., ATC\'09 §4.1 Fig. 6',
  run({ seed, quick }): ExperimentResult {
    const p = { ...DEFAULT_CORPUS, ...(quick ? { vms: 24, images: 4, blocks: 4096 } : {}) };
    const { disks } = generateCorpus(createSimContext({ seed }).rng.fork('corpus'), p);
    const counts = new Map<number, number>();
    for (const d of disks) for (const id of d) if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    let dup = 0, le10 = 0, max = 0;
    for (const c of counts.values()) if (c >= 2) { dup++; if (c <= 10) le10++; max = Math.max(max, c); }
    return {
      id: 'dede-refcounts',
      paper: { fractionAtMost10Refs: 0.94, maxRefs: '> 100,000' },
      ours: { vms: p.vms, dedupedBlocks: dup, fractionAtMost10Refs: round(le10 / dup), maxRefs: max },
      notes: 'Max refs is bounded by VM count × in-image repeats; the paper\'s > 100,000 comes from 113 VMs × ~1000s of repeats of a few blocks (e.g. filler patterns) that our corpus does not model.',
    };
  },
};

const dedeOverhead: Experiment = {
  id: 'dede-overhead',
  title: 'Space overhead: index, arena, pointer blocks (E13)',
  paper: 'Clements et al., ATC\'09 §4.1.1',
  run({ seed, quick }): ExperimentResult {
    const e = runEngineOnCorpus(seed, quick ? 4 : 12, 2048);
    const vol = e.vol;
    const idx = vol.lookup(INDEX_NAME);
    const indexBytes = idx === undefined ? 0 : vol.info(idx).size;
    const dataBytes = e.after * SUB_SIZE;
    const pbBytes = vol.usedPointerBlocks() * 1024;
    const inodeBytes = vol.list().filter((f) => f.type === 'arena').length * 4096;
    return {
      id: 'dede-overhead',
      paper: { totalOverhead: 0.011, indexWorstCase: 0.0073, metadataBefore: 0.000004, metadataAfter: 0.0049 },
      ours: {
        dedupedDataBytes: dataBytes,
        indexBytes,
        indexOverhead: round(indexBytes / dataBytes, 4),
        pointerBlockBytes: pbBytes,
        metadataOverhead: round(pbBytes / dataBytes, 4),
        arenaInodeBytes: inodeBytes,
        totalOverhead: round((indexBytes + pbBytes + inodeBytes) / dataBytes, 4),
      },
      notes: 'Our index entry is a fixed 64 B (hash, domain, state, location, CRC) vs the paper\'s ~23 B average, so index overhead is ~2.8× theirs per entry; our pointer blocks are 1 KiB like VMFS\'s.',
    };
  },
};

const dedeMonitor: Experiment = {
  id: 'dede-monitor',
  title: 'Write-monitor overhead (E14, E15)',
  paper: 'Clements et al., ATC\'09 §4.2 Tables 1–2',
  run({ seed }): ExperimentResult {
    const ctx = createSimContext({ seed });
    const hashNsPerByte = ctx.costs.hashPerByte;
    const cpu = (mbps: number, base: number) => round(base + (mbps * 1e6 * hashNsPerByte) / 1e9, 2);
    // Measure our own SHA-256 monitor in wall time (for context: the simulator's speed).
    const rng = ctx.rng.fork('mon');
    const data = rng.bytes(8 << 20);
    const store = new MemoryStore(computeLayout({ largeBlocks: 16, inodes: 16, pointerBlocks: 64, journalPages: 64 }).totalSize);
    const vol = ClusterVolume.format(store, { largeBlocks: 16, inodes: 16, pointerBlocks: 64, journalPages: 64 });
    const dede = new DedupEngine(vol);
    const t0 = performance.now();
    dede.observe(1, 1, 1, 0, 0, data);
    const ms = performance.now() - t0;
    return {
      id: 'dede-monitor',
      paper: { seq: { MBps: 233, latencyMs: 8.6, cpuBaseline: 0.33, cpuDeDe: 2.2 }, random: { MBps: 84, latencyMs: 24, cpuBaseline: 0.16, cpuDeDe: 0.92 }, oltp: { opsPerMin: [29989, 29719], responseMs: [60, 61] } },
      ours: {
        model: `hashing off the IO path on idle cores; hashPerByte ${hashNsPerByte} ns (SHA-1 on a 2.4 GHz P4, Terra §4.2)`,
        seq: { MBps: 233, latencyMs: 8.6, cpuBaseline: 0.33, cpuDeDe: cpu(233, 0.33) },
        random: { MBps: 84, latencyMs: 24, cpuBaseline: 0.16, cpuDeDe: cpu(84, 0.16) },
        oltp: 'unchanged by construction: hashing never delays an IO in our model',
        ourMonitorWallMBps: round(8 / (ms / 1000), 1),
      },
      notes: 'Throughput and latency are inputs (the monitor is off the IO path, as in the paper); the CPU column is derived from the cost model\'s hash cost, not measured on 2009 hardware.',
    };
  },
};

const dedeLayout: Experiment = {
  id: 'dede-layout',
  title: 'Mixed block-size / fragmentation penalty (E16)',
  paper: 'Clements et al., ATC\'09 §4.2 Table 3',
  run({ seed, quick }): ExperimentResult {
    const e = runEngineOnCorpus(seed, quick ? 4 : 8, 2048);
    const ctx = createSimContext({ seed });
    const { diskIo, diskPerByte } = ctx.costs;
    // Sequential 64 KiB reads of VM 1's disk: each physically contiguous run costs one positioning.
    const f = e.files[1];
    const ioBlocks = 16;
    let runsDedup = 0, ios = 0;
    for (let b = 0; b + ioBlocks <= 2048; b += ioBlocks) {
      ios++;
      let prev = -2;
      for (let k = 0; k < ioBlocks; k++) {
        const l = e.vol.locate(f, b + k);
        const u = l.kind === 'hole' ? -10 : l.unit;
        if (u !== prev + 1) runsDedup++;
        prev = u;
      }
    }
    const t = (runs: number) => runs * diskIo + ios * ioBlocks * SUB_SIZE * diskPerByte;
    return {
      id: 'dede-layout',
      paper: { overhead: { seqWrite: 0.37, randWrite: 0.09, seqRead: 0.45, randRead: 0.14 }, layout4KiB: '163 fragments, avg run 31 MB (not deduplicated)' },
      ours: { seqRead64KiB: { iosContiguousBaseline: ios, physicalRunsAfterDedup: runsDedup, overhead: round(t(runsDedup) / t(ios) - 1, 2) } },
      notes: 'We measure a deduplicated VDI disk (scattered shared blocks), which is far more fragmented than the paper\'s 4 KB-block but undeduplicated vdisk; our cost model charges a full positioning per discontiguity and has no array cache or prefetch, so the overhead is an upper bound, not comparable to Table 3.',
    };
  },
};

const dedeRate: Experiment = {
  id: 'dede-rate',
  title: 'Dedup processing rate (E17)',
  paper: 'Clements et al., ATC\'09 §4.3',
  run({ seed, quick }): ExperimentResult {
    const e = runEngineOnCorpus(seed, quick ? 4 : 8, 2048);
    const st = e.dede.stats();
    const scannedBytes = st.recordsRead * SUB_SIZE;
    const sharedBytes = (st.sharedFromArena + st.promotedToShared + st.mergeRequestsApplied) * SUB_SIZE;
    return {
      id: 'dede-rate',
      paper: { scanGBps: 6.6, subdivideMBps: 37.5, shareMBps: 2.6, provisionGBps: 1 },
      ours: {
        wallFirstPassMBps: round(scannedBytes / 2 / 1e6 / (e.passMs / 1000), 1),
        wallSharePassesMBps: round(sharedBytes / 1e6 / (e.shareMs / 1000), 1),
        records: st.recordsRead,
        shared: st.sharedFromArena + st.mergeRequestsApplied,
        splits: e.vol.stats().splits,
      },
      notes: 'Our rates are this simulator\'s wall time on an in-memory store (no disk seeks; every merge is a journaled transaction); subdividing is in place (no copy), so it is not a separate cost here.',
    };
  },
};

const dedeBootStorm: Experiment = {
  id: 'dede-bootstorm',
  title: 'Boot storm: array cache footprint, full copies vs dedup (E18)',
  paper: 'Clements et al., ATC\'09 §4.2 Fig. 7',
  run({ seed, quick }): ExperimentResult {
    const e = runEngineOnCorpus(seed, quick ? 6 : 20, 1024);
    const ctx = createSimContext({ seed });
    const bootSet = Array.from({ length: 256 }, (_, k) => k * 3); // blocks read at boot (cold OS region)
    const cacheUnits = 2048; // 8 MiB array cache
    const hitNs = 100_000, missNs = ctx.costs.diskIo;
    const storm = (n: number, dedup: boolean, warm: boolean) => {
      const lru = new Map<number, true>();
      const touch = (u: number): boolean => {
        const hit = lru.delete(u);
        lru.set(u, true);
        if (lru.size > cacheUnits) lru.delete(lru.keys().next().value!);
        return hit;
      };
      const unitOf = (v: number, b: number) => (dedup ? e.vol.locate(e.files[v], b).unit : v * 1_000_000 + b);
      if (warm) for (const b of bootSet) touch(unitOf(0, b));
      let ns = 0;
      for (const b of bootSet) for (let v = 0; v < n; v++) ns += touch(unitOf(v % e.files.length, b)) ? hitNs : missNs;
      return round(ns / 1e9 / 1, 2); // seconds of array time for the storm
    };
    const ns = quick ? [1, 3, 6] : [1, 5, 10, 20];
    return {
      id: 'dede-bootstorm',
      paper: { shape: 'dedup ≪ full copies; cold ≈ warm; absolute values only in the figure' },
      ours: Object.fromEntries(ns.map((n) => [`vms${n}`, { fullCopiesS: storm(n, false, false), dedupColdS: storm(n, true, false), dedupWarmS: storm(n, true, true) }])),
      notes: 'Array time (serialised) for reading a 256-block boot set per VM through an 8 MiB LRU cache; hit 0.1 ms, miss = cost-model diskIo.',
    };
  },
};

// ───────────────────────────── vIC experiments ─────────────────────────────

/**
 * A closed-loop guest keeping `cif` commands outstanding against a device of `deviceNs` latency.
 * The guest vCPU is one server: each interrupt costs `interrupt + 2 × exit` of the cost model
 * (injection, handler, EOI/APIC exits), each completion `ioCpuNs` of driver + application work.
 * The rest of the vCPU goes to a CPU-bound application; its share is the throughput metric.
 */
export function vicClosedLoop(opts: { seed: number; cif: number; vic: boolean; ioCpuNs: number; durationNs: number; deviceNs?: number; remote?: boolean; ipiGateNs?: number }): {
  iops: number; interruptsPerCompletion: number; addedLatencyUs: number; ipis: number; completed: number; appCpu: number;
} {
  const ctx: SimContext = createSimContext({ seed: opts.seed, costs: { diskIo: opts.deviceNs ?? 2_000_000, diskPerByte: 0.5 } });
  const intNs = ctx.costs.interrupt + 2 * ctx.costs.exit;
  let cpuFree = 0, busy = 0;
  let ctl!: VirtualScsiController;
  const submitOne = () => ctl.submit({ op: 'read', lba: 0, count: 8 });
  ctl = new VirtualScsiController(ctx, {
    vmId: 1, device: new RamDisk(1024), queueDepth: Math.max(32, opts.cif), jitterNs: Math.round((opts.deviceNs ?? 2_000_000) / 2), remoteVcpu: opts.remote ?? false,
    vic: { enabled: opts.vic, ...(opts.ipiGateNs !== undefined ? { ipiGateNs: opts.ipiGateNs } : {}) },
    sink: {
      raise: () => {
        const start = Math.max(ctx.clock.now, cpuFree);
        cpuFree = start + intNs;
        busy += intNs;
        ctx.events.at(cpuFree, 'isr', () => {
          const done = ctl.poll();
          const work = done.length * opts.ioCpuNs;
          cpuFree = Math.max(cpuFree, ctx.clock.now) + work;
          busy += work;
          ctx.events.at(cpuFree, 'resubmit', () => { if (ctx.clock.now < opts.durationNs) for (let i = 0; i < done.length; i++) submitOne(); });
        });
      },
    },
  });
  for (let i = 0; i < opts.cif; i++) submitOne();
  while (ctx.events.runNext()) { /* run */ }
  const st = ctl.stats();
  const span = Math.max(opts.durationNs, ctx.clock.now);
  return {
    iops: round(st.completed / (span / 1e9), 0),
    interruptsPerCompletion: round(st.interrupts / st.completed, 3),
    addedLatencyUs: round(st.addedLatencyNs / st.completed / 1000, 2),
    ipis: st.ipis,
    completed: st.completed,
    appCpu: round(Math.max(0, 1 - busy / span), 4),
  };
}

const vicHeadline: Experiment = {
  id: 'vic-headline',
  title: 'vIC throughput gain for a CPU-bound guest at deep CIF (E9)',
  paper: 'Ahmad, Gulati, Mashtizadeh, ATC\'11 (abstract)',
  run({ seed, quick }): ExperimentResult {
    const dur = quick ? 500_000_000 : 2_000_000_000;
    const rows = [2_000, 5_000, 10_000, 20_000].map((ioCpuNs) => {
      const off = vicClosedLoop({ seed, cif: 64, vic: false, ioCpuNs, durationNs: dur });
      const on = vicClosedLoop({ seed, cif: 64, vic: true, ioCpuNs, durationNs: dur });
      return { ioCpuUs: ioCpuNs / 1000, iopsOff: off.iops, iopsOn: on.iops, appCpuOff: off.appCpu, appCpuOn: on.appCpu, appThroughputGain: round(on.appCpu / off.appCpu - 1, 3), intPerCompletionOn: on.interruptsPerCompletion, addedLatencyUsOn: on.addedLatencyUs };
    });
    const low = vicClosedLoop({ seed, cif: 2, vic: true, ioCpuNs: 10_000, durationNs: dur });
    return {
      id: 'vic-headline',
      paper: { microbenchmarkGainUpTo: 0.18, tpccGainUpTo: 0.05 },
      ours: { cif64: rows, cif2WithVic: { interruptsPerCompletion: low.interruptsPerCompletion, addedLatencyUs: low.addedLatencyUs } },
      notes: 'Gain = CPU left to a CPU-bound application; it depends on per-IO guest CPU vs per-interrupt cost (cost model: 2 µs + two exits). The paper\'s workloads and costs were not retrieved, so the rows show sensitivity, not a reproduction.',
    };
  },
};

const vicIpi: Experiment = {
  id: 'vic-ipi',
  title: 'vIC IPI gate: IPIs with completions on a remote pCPU (E10)',
  paper: 'VMware vSphere 4.0 performance note; US 9,336,165',
  run({ seed, quick }): ExperimentResult {
    const dur = quick ? 200_000_000 : 1_000_000_000;
    const gated = vicClosedLoop({ seed, cif: 64, vic: false, ioCpuNs: 2_000, durationNs: dur, deviceNs: 500_000, remote: true });
    const ungated = vicClosedLoop({ seed, cif: 64, vic: false, ioCpuNs: 2_000, durationNs: dur, deviceNs: 500_000, remote: true, ipiGateNs: 0 });
    return {
      id: 'vic-ipi',
      paper: { gateUs: 100, result: 'no number retrieved (qualitative)' },
      ours: {
        ipisPerSecond: { gate100us: round(gated.ipis / (dur / 1e9), 0), noGate: round(ungated.ipis / (dur / 1e9), 0) },
        addedLatencyUs: { gate100us: gated.addedLatencyUs, noGate: ungated.addedLatencyUs },
        iops: { gate100us: gated.iops, noGate: ungated.iops },
      },
      notes: 'The gate caps IPIs at 10,000/s and batches completions; added latency stays under the 100 µs bound.',
    };
  },
};

/** DeDe and vIC experiments (E9–E18; E15 is folded into dede-monitor). */
export const storageExperiments: readonly Experiment[] = [dedeSavings, dedeRefcounts, dedeOverhead, dedeMonitor, dedeLayout, dedeRate, dedeBootStorm, vicHeadline, vicIpi];

/** Exposed for the bench: the monitor's hash provider. */
export const monitorCrypto = nobleProvider;
