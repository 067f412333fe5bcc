/**
 * The scenario runner: maps a validated scenario (src/scenario) onto hosts, the TVMM, the ESX
 * memory manager, the cloaking engine, attestable images and VMs running the guest kernel and
 * built-in programs; stages the adversaries; runs for the scenario's virtual duration; and returns
 * every requested measurement as JSON-ready data and as report sections. Deterministic: the same
 * scenario and seed give the same result and the same trace, byte for byte.
 *
 * Storage (src/runner/storage.ts): a host whose VMs have `disks` gets one cluster volume holding
 * them (linked clones of per-image base files, Terra-encrypted for closed-box VMs by default); its
 * `storage.dedup` runs DeDe passes on the host's event queue and `storage.vic` gives each VM's root
 * disk a virtual SCSI controller with vIC; `dedup` and `interrupts` measure them.
 */
import { attachCloaking, type CloakEngine } from '../cloaking/index.js';
import { nobleProvider as P, toHex } from '../crypto/index.js';
import { BalloonDriver, BUILTIN_PROGRAMS, GuestKernel, type KernelAdversary, type KernelDriver } from '../guest/index.js';
import { attachEsx, type EsxMemory } from '../memory/index.js';
import type { Measurement, Scenario, ScenarioAdversary, ScenarioVm } from '../scenario/index.js';
import { checkInt, createSimContext, NS_PER_MS, TerraError, type TraceEvent, type VmId } from '../sim/index.js';
import { Host, MemoryDisk, type ProgramFn, type Tvmm } from '../tvmm/index.js';
import { securityCounts, stateBandsFromTrace, type AttackRow, type AttestationData, type MemorySample, type ReportData, type SummaryRow } from '../report/index.js';
import { buildImage, parseImage, policyFor, Verifier, x25519KeyPair } from '../attestation/index.js';
import { ATTACKS } from '../attacks/registry.js';
import { MAX_FILE_SIZE } from '../storage/index.js';
import { combineHooks, stageAdversary, type StagedAdversary, type VictimContext } from './adversaries.js';
import { delayedStart, newVaultLog, wrapProgram, type VaultLog } from './vault.js';
import { attachVmController, attachVmDisks, closeDisks, createHostStorage, dedupPass, dedupRows, interruptRows, MAX_VOLUME_MIB, scheduleDedup, type DedupMeasureRow, type HostStorage, type InterruptMeasureRow } from './storage.js';

export { ADVERSARY_META, type StagedAdversary, type VictimContext } from './adversaries.js';
export { VAULT_PAGES, STACK_BASE, type VaultLog } from './vault.js';

const MIB_PAGES = 256;
const TICK_NS = 50 * NS_PER_MS;
/** Largest VM disk (MiB): one file on the cluster volume. */
const MAX_VDISK_MIB = MAX_FILE_SIZE / (1 << 20);
/** Largest encrypted disk (MiB): ProtectedDisk.format seals every block (about 2 s of wall time per 64 MiB). */
const MAX_ENCRYPTED_MIB = 64;
/** Largest host swap device the memory manager accepts (slots). */
const MAX_SWAP_SLOTS = 2 ** 26;

/** A scenario that validated but cannot be run as written (names the field, like the parser). */
export class ScenarioRunError extends Error {
  override readonly name = 'ScenarioRunError';
  /** Field path, e.g. `adversaries[2].target`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

/** One VM's line of the result. */
export interface ScenarioVmResult {
  readonly name: string;
  readonly host: string;
  readonly kind: string;
  readonly vcpus: number;
  readonly state: string;
  readonly haltReason?: string;
  readonly residentMiB: number;
  readonly console: number;
  readonly programs: readonly string[];
}

/** What a scenario run returns. */
export interface ScenarioRunResult {
  readonly name: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly vms: readonly ScenarioVmResult[];
  /** One key per requested measurement (JSON-ready). */
  readonly measurements: Partial<Record<Measurement, unknown>>;
  /** What the run could not do or measure, in words. */
  readonly notes: readonly string[];
  readonly report: ReportData;
  /** The first host's trace events (all hosts: {@link ScenarioRunResult.traceRuns}). */
  readonly events: readonly TraceEvent[];
  /** Every host's trace, named by host, for `toChromeTraceRuns`. */
  readonly traceRuns: readonly { name: string; events: readonly TraceEvent[]; vmNames: Record<number, string> }[];
  readonly digest: string;
  /** False when an attack LEAKED, an attestation failed, a guest kernel panicked or the TVMM halted a VM. */
  readonly ok: boolean;
}

interface HostRt {
  readonly name: string;
  readonly spec: Scenario['hosts'][number];
  readonly host: Host;
  readonly tvmm: Tvmm;
  readonly esx: EsxMemory;
  readonly engine?: CloakEngine;
  /** The host's cluster volume, when VMs on it have disks. */
  readonly storage?: HostStorage;
}

interface VmRt {
  readonly spec: ScenarioVm;
  readonly h: HostRt;
  readonly vmId: VmId;
  readonly kernel: GuestKernel;
  readonly image?: Uint8Array;
  readonly programs: string[];
}

/** Deterministic bytes standing for the contents of the image called `name` (same name → same identity). */
export function imageContent(name: string): Uint8Array {
  const c = new Uint8Array(32 * 1024);
  const text = new TextEncoder().encode(`terracloak guest image ${name}\n`);
  for (let i = 0; i < c.length; i++) c[i] = text[i % text.length] ^ ((i >> 12) & 0xff);
  return c;
}

/** The program a no-target adversary of `kind` attacks in `vm`, or undefined when it needs none. */
function defaultTarget(a: ScenarioAdversary, vm: ScenarioVm): string | undefined {
  if (a.target !== undefined) return a.target;
  if (a.kind === 'syscall-lie') return (vm.programs.find((p) => p.cloaked) ?? vm.programs[0])?.name;
  if (a.kind === 'mgmt-inspect') return vm.programs.find((p) => p.cloaked)?.name;
  return undefined;
}

/**
 * Default ceiling on the real host memory a scenario may need (MiB): the frame side tables of every
 * declared machine (about 7 bytes per 4 KiB frame, allocated up front) plus, per host, the guest
 * memory its VMs could touch (at most the machine's size) plus its cluster volume. A valid scenario
 * file may declare 16 hosts of 256 GiB and 256 VMs of 4 GiB; running one must not exhaust the memory
 * of the machine running the simulator.
 */
export const DEFAULT_MAX_REAL_MIB = 16 * 1024;

/** The real host memory (MiB) a scenario may need at most (see {@link DEFAULT_MAX_REAL_MIB}). */
export function scenarioFootprintMiB(s: Scenario): number {
  let total = 0;
  for (const h of s.hosts) {
    const here = s.vms.filter((v) => (v.host ?? s.hosts[0].name) === h.name);
    const guest = Math.min(h.machineMiB, here.reduce((n, v) => n + v.memoryMiB, 0));
    const disks = Math.min(MAX_VOLUME_MIB, here.reduce((n, v) => n + v.disks.reduce((m, d) => m + d.sizeMiB, 0), 0));
    total += Math.ceil((h.machineMiB * 256 * 7) / (1 << 20)) + guest + disks;
  }
  return total;
}

/** Runs a scenario; `seed` overrides the scenario's seed. Throws {@link ScenarioRunError} when it cannot be run as written. */
export function runScenario(s: Scenario, opts: { seed?: number; maxRealMiB?: number } = {}): ScenarioRunResult {
  const seed = opts.seed ?? s.seed;
  const maxReal = opts.maxRealMiB === undefined ? DEFAULT_MAX_REAL_MIB : checkInt('maxRealMiB', opts.maxRealMiB, 1);
  const footprint = scenarioFootprintMiB(s);
  if (footprint > maxReal)
    throw new ScenarioRunError('hosts', `the scenario could need ${footprint} MiB of real memory to simulate (machine side tables, touched guest memory, cluster volumes), more than the ${maxReal} MiB this runner allows`);
  const notes: string[] = [];
  const want = new Set<Measurement>(s.measure);

  // ---- static checks the schema cannot make
  s.vms.forEach((v, i) => v.programs.forEach((p, j) => {
    if (!Object.hasOwn(BUILTIN_PROGRAMS, p.name)) throw new ScenarioRunError(`vms[${i}].programs[${j}].name`, `expected a built-in program [${Object.keys(BUILTIN_PROGRAMS).join(', ')}], got ${JSON.stringify(p.name)}`);
  }));
  const targets = s.adversaries.map((a, i) => {
    const vm = s.vms.find((v) => v.name === a.vm)!;
    const t = defaultTarget(a, vm);
    if (a.kind === 'syscall-lie' && t === undefined) throw new ScenarioRunError(`adversaries[${i}].target`, `syscall-lie needs a program to lie to, but VM ${vm.name} runs none`);
    if (a.kind === 'disk-tamper' && vm.disks.length === 0) throw new ScenarioRunError(`adversaries[${i}].vm`, `disk-tamper needs a VM with a disk, but VM ${vm.name} has none`);
    return t;
  });
  const imageSizes = new Map<string, number>();
  s.vms.forEach((v, i) => v.disks.forEach((d, j) => {
    const encrypted = d.encrypted ?? v.kind === 'closed-box';
    if (d.sizeMiB > MAX_VDISK_MIB) throw new ScenarioRunError(`vms[${i}].disks[${j}].sizeMiB`, `a disk is a file on the host's cluster volume, at most ${MAX_VDISK_MIB} MiB, got ${d.sizeMiB}`);
    if (encrypted && d.sizeMiB > MAX_ENCRYPTED_MIB) throw new ScenarioRunError(`vms[${i}].disks[${j}].sizeMiB`, `an encrypted disk is formatted block by block (Terra protected disk); at most ${MAX_ENCRYPTED_MIB} MiB, got ${d.sizeMiB}`);
    if (d.image === undefined || encrypted) return;
    const key = `${v.host ?? s.hosts[0].name}/${d.image}`;
    const prev = imageSizes.get(key);
    if (prev !== undefined && prev !== d.sizeMiB) throw new ScenarioRunError(`vms[${i}].disks[${j}].sizeMiB`, `linked clones of image ${d.image} must all be ${prev} MiB (the size of its base image), got ${d.sizeMiB}`);
    imageSizes.set(key, d.sizeMiB);
  }));

  // ---- hosts
  const domains = new Map<string, number>(); // storage trust-domain key → domain id
  const hosts = new Map<string, HostRt>();
  for (const h of s.hosts) {
    const vmsHere = s.vms.filter((v) => (v.host ?? s.hosts[0].name) === h.name);
    const mem = h.memory ?? { sharing: true, ballooning: true, swap: true, idleTax: 0.75 };
    const host = new Host({ seed: h.seed ?? seed, machineMiB: h.machineMiB, cpus: h.cpus });
    const tvmm = host.boot();
    // scanPagesPerSec → pages per daemon tick (at least one unless the rate is 0, which stops the scanner).
    const perTick = mem.scanPagesPerSec === undefined ? undefined : Math.max(mem.scanPagesPerSec > 0 ? 1 : 0, Math.round((mem.scanPagesPerSec * TICK_NS) / 1e9));
    const esx = attachEsx(tvmm, {
      overheadPages: 0,
      // Admission reserves swap for max − min of every VM (min is 0 at creation; setVmConfig follows).
      swapSlots: Math.min(MAX_SWAP_SLOTS, Math.max(1, vmsHere.reduce((n, v) => n + v.memoryMiB * MIB_PAGES, 0))),
      tickNs: TICK_NS,
      tau: mem.idleTax,
      sharingEnabled: mem.sharing && perTick !== 0,
      autoBalloon: mem.ballooning,
      balloonTimeoutNs: mem.swap ? 500 * NS_PER_MS : Number.MAX_SAFE_INTEGER,
      sharing: perTick === undefined ? { perVmPagesPerScan: 2048, systemPagesPerScan: 8192 } : { perVmPagesPerScan: Math.max(1, perTick), systemPagesPerScan: Math.max(1, perTick) },
    });
    if (!mem.swap) notes.push(`host ${h.name}: swap: false — the memory manager never falls back to host swap for a slow balloon; admission control still reserves swap space, and the hard/low reclamation states may still swap as the last resort`);
    const cloakNames = vmsHere.flatMap((v) => v.programs.map((p, j) => (p.cloaked ? alias(v.name, j, p.name) : undefined)).filter((x): x is string => x !== undefined));
    const engine = cloakNames.length > 0 ? attachCloaking(tvmm, { cloakPrograms: cloakNames }) : undefined;
    const withDisks = vmsHere.filter((v) => v.disks.length > 0);
    let storage: HostStorage | undefined;
    try {
      storage = withDisks.length > 0 ? createHostStorage(h.name, host, h, withDisks, domains) : undefined;
    } catch (e) {
      if (!(e instanceof TerraError)) throw e;
      throw new ScenarioRunError(`hosts[${s.hosts.indexOf(h)}]`, `host ${h.name} could not set up its cluster volume: ${e.code} (${e.message})`);
    }
    if (h.storage && !storage) notes.push(`host ${h.name}: the storage policy (dedup, vIC) had no effect: no VM on the host has disks`);
    if (storage && h.storage?.dedup) scheduleDedup(storage, host, h.storage.dedupIntervalMs ?? 0, s.durationMs);
    if (storage && h.storage?.vic) notes.push(`host ${h.name}: storage.vic.timerUs (${h.storage.vic.timerUs} µs) has no counterpart: vIC as modelled has no delivery timer (a coalesced completion is covered by a later completion's interrupt); maxCif is the largest coalescing factor`);
    hosts.set(h.name, { name: h.name, spec: h, host, tvmm, esx, ...(engine ? { engine } : {}), ...(storage ? { storage } : {}) });
  }

  // ---- VMs
  const vaults = new Map<string, VaultLog>(); // "vm/program" → log
  const vms: VmRt[] = [];
  const staged: { a: StagedAdversary; v: VmRt }[] = [];
  const lastAt = (vm: string) => Math.max(0, ...s.adversaries.filter((a) => a.vm === vm).map((a) => a.atMs));
  for (const v of s.vms) {
    const h = hosts.get(v.host ?? s.hosts[0].name)!;
    const mem = h.spec.memory ?? { sharing: true, ballooning: true };
    const hog = s.adversaries.some((a) => a.vm === v.name && a.kind === 'balloon-hog');
    const programs: Record<string, ProgramFn> = {};
    const run: string[] = [];
    const names: string[] = [];
    v.programs.forEach((p, j) => {
      const targeted = s.adversaries.some((a, i) => a.vm === v.name && targets[i] === p.name);
      const key = `${v.name}/${p.name}`;
      let vault: VaultLog | undefined;
      if (targeted && !vaults.has(key)) {
        const rng = h.host.sim.rng.fork(`vault/${key}`);
        const windowMs = Math.max(0, Math.min(s.durationMs, lastAt(v.name) + 20) - p.startMs);
        vault = newVaultLog((n) => rng.bytes(n), Math.min(256, Math.ceil(windowMs / 2) + 1));
        vaults.set(key, vault);
      }
      let exe = p.name;
      if (vault !== undefined || p.cloaked) {
        exe = alias(v.name, j, p.name);
        programs[exe] = vault ? wrapProgram(BUILTIN_PROGRAMS[p.name], vault, vault.freshPages - 1) : BUILTIN_PROGRAMS[p.name];
      }
      if (p.startMs > 0) {
        const launcher = `${alias(v.name, j, p.name)}.start`;
        programs[launcher] = delayedStart(p.startMs, exe);
        exe = launcher;
      }
      run.push([exe, ...p.argv].join(' '));
      names.push(`${p.name}${p.cloaked ? ' (cloaked)' : ''}${p.startMs > 0 ? ` @${p.startMs}ms` : ''}`);
    });
    // The driver polls at the memory daemon's tick so ballooning reacts within short virtual runs.
    const drivers: KernelDriver[] = mem.ballooning && !hog ? [new BalloonDriver({ periodNs: TICK_NS, initialRate: 1024 })] : [];
    const kernel = new GuestKernel({ initArgv: run, drivers });
    const image = v.image !== undefined ? buildImage(P, imageContent(v.image), { name: v.image, blockSize: 4096 }) : undefined;
    let vmId: VmId;
    try {
      vmId = h.tvmm.createVm({ name: v.name, kind: v.kind, memoryMiB: v.memoryMiB, vcpus: v.vcpus, guest: kernel, programs: { ...BUILTIN_PROGRAMS, ...programs }, ...(image ? { image } : {}) });
    } catch (e) {
      if (!(e instanceof TerraError)) throw e;
      throw new ScenarioRunError(`vms[${s.vms.indexOf(v)}]`, `host ${h.name} refused VM ${v.name}: ${e.code} (${e.message})`);
    }
    let own = { swap: false };
    try {
      if (h.storage) own = attachVmDisks(h.storage, h.host, h.tvmm, v, vmId, domains);
      if (h.storage && h.spec.storage?.vic) attachVmController(h.storage, h.host, h.tvmm, v, vmId, h.spec.storage.vic);
    } catch (e) {
      if (!(e instanceof TerraError)) throw e;
      throw new ScenarioRunError(`vms[${s.vms.indexOf(v)}].disks`, `host ${h.name} could not attach VM ${v.name}'s disks: ${e.code} (${e.message})`);
    }
    if (mem.ballooning && !own.swap) h.tvmm.attachDisk(vmId, 'swap', new MemoryDisk(v.memoryMiB * MIB_PAGES));
    h.esx.setVmConfig(vmId, { min: (v.minMiB ?? 0) * MIB_PAGES, max: (v.maxMiB ?? v.memoryMiB) * MIB_PAGES, shares: v.shares });
    if (v.image !== undefined) h.esx.setSharingDomain(vmId, `image:${v.image}`);
    const rt: VmRt = { spec: v, h, vmId, kernel, ...(image ? { image } : {}), programs: names };
    vms.push(rt);
    const hooks: KernelAdversary[] = [];
    s.adversaries.forEach((a, i) => {
      if (a.vm !== v.name) return;
      const target = targets[i];
      const vault = target !== undefined ? vaults.get(`${v.name}/${target}`) : undefined;
      const ctx: VictimContext = {
        tvmm: h.tvmm, vmId, vmName: v.name, kind: v.kind, kernel,
        ...(vault ? { vault } : {}),
        cloaked: target !== undefined && v.programs.some((p) => p.name === target && p.cloaked),
        ...(h.engine ? { engine: h.engine } : {}),
        esx: h.esx,
        ...(a.kind === 'disk-tamper' && h.storage ? { disk: tamperTarget(h.storage, v.name) } : {}),
      };
      const st = stageAdversary(a, ctx);
      hooks.push(st.hooks);
      staged.push({ a: st, v: rt });
    });
    const combined = combineHooks(hooks);
    if (combined) kernel.adversary = combined;
    h.tvmm.power(vmId, 'on');
  }

  // ---- run
  const stepMs = Math.max(1, Math.round(s.durationMs / 100));
  const times = new Set<number>();
  for (let t = 0; t <= s.durationMs; t += stepMs) times.add(t);
  times.add(s.durationMs);
  for (const a of s.adversaries) times.add(a.atMs);
  const attestAt = Math.min(s.durationMs, 1);
  times.add(attestAt);
  const sorted = [...times].sort((a, b) => a - b);
  const samples: MemorySample[] = [];
  const peaks = new Map<string, { resident: number; balloon: number; swapped: number; shared: number }>();
  const attestation: { vm: string; data: AttestationData; identity: string }[] = [];
  const pendingActs = staged.filter((x) => x.a.act).map((x) => ({ ...x, at: x.a.spec.atMs, done: false }));
  for (const t of sorted) {
    for (const h of hosts.values()) h.tvmm.run({ untilNs: t * NS_PER_MS });
    for (const p of pendingActs) {
      if (p.done || p.at > t) continue;
      p.done = true;
      const st = p.v.h.tvmm.vm(p.v.vmId).state;
      if (st !== 'destroyed') p.a.act!();
    }
    if (t === attestAt && attestation.length === 0) for (const v of vms.filter((x) => x.spec.attest)) attestation.push(attest(v, seed));
    if (t % stepMs === 0 || t === s.durationMs) {
      for (const v of vms) {
        if (v.h.tvmm.vm(v.vmId).state === 'destroyed') continue;
        const st = v.h.esx.vmStats(v.vmId);
        const sample: MemorySample = { t, vm: v.spec.name, residentMiB: st.resident / MIB_PAGES, balloonMiB: st.ballooned / MIB_PAGES, swappedMiB: st.swapped / MIB_PAGES, sharedMiB: st.sharedPpns / MIB_PAGES };
        samples.push(sample);
        const pk = peaks.get(v.spec.name) ?? { resident: 0, balloon: 0, swapped: 0, shared: 0 };
        peaks.set(v.spec.name, { resident: Math.max(pk.resident, sample.residentMiB), balloon: Math.max(pk.balloon, sample.balloonMiB!), swapped: Math.max(pk.swapped, sample.swappedMiB!), shared: Math.max(pk.shared, sample.sharedMiB!) });
      }
    }
  }
  for (const h of hosts.values()) {
    h.esx.stop();
    if (h.storage) {
      dedupPass(h.storage); // the final pass (no-op without dedup)
      closeDisks(h.storage);
    }
  }

  // ---- results
  const endNs = s.durationMs * NS_PER_MS;
  const vmResults: ScenarioVmResult[] = vms.map((v) => {
    const info = v.h.tvmm.vm(v.vmId);
    return {
      name: v.spec.name, host: v.h.name, kind: v.spec.kind, vcpus: info.vcpus, state: info.state,
      ...(info.haltReason !== undefined ? { haltReason: info.haltReason } : {}),
      residentMiB: v.h.esx.vmStats(v.vmId).resident / MIB_PAGES,
      console: v.h.tvmm.consoleLines.filter((l) => l.vm === v.vmId).length,
      programs: v.programs,
    };
  });
  const panics = vms.filter((v) => v.kernel.panic !== undefined).map((v) => `${v.spec.name}: kernel panic: ${v.kernel.panic}`);
  notes.push(...panics);
  const measurements: Partial<Record<Measurement, unknown>> = {};
  const report: { -readonly [K in keyof ReportData]: ReportData[K] } = { title: `scenario: ${s.name}`, ...(s.description ? { subtitle: s.description } : {}), seed, generator: 'terracloak 0.1.0' };
  const summary: SummaryRow[] = vmResults.map((v) => ({ label: `${v.name} (${v.kind}, ${v.host})`, value: `${v.state}, ${v.residentMiB.toFixed(1)} MiB resident`, status: v.state === 'halted' ? 'bad' : 'ok' }));
  const halted = vmResults.filter((v) => v.state === 'halted');
  for (const v of halted) notes.push(`${v.name}: the TVMM halted the VM (${v.haltReason ?? 'no reason given'})`);
  const hostList = [...hosts.values()];

  if (want.has('memory')) {
    const machineMiB = s.hosts.reduce((n, h) => n + h.machineMiB, 0);
    const states = stateBandsFromTrace(hostList[0].host.sim.trace.events(), endNs, { unit: 'ms' });
    report.memory = { samples, states, machineMiB };
    if (hostList.length > 1) notes.push(`memory: the reclamation-state bands are host ${hostList[0].name}'s; machineMiB is the sum over ${hostList.length} hosts`);
    measurements.memory = {
      machineMiB,
      hosts: hostList.map((h) => ({ host: h.name, machineMiB: h.spec.machineMiB, cpus: h.spec.cpus, idleTax: h.esx.stats().tau, state: h.esx.stats().state, transitions: h.esx.stats().transitions, states: stateBandsFromTrace(h.host.sim.trace.events(), endNs, { unit: 'ms' }) })),
      vms: vms.map((v) => ({ vm: v.spec.name, configuredMiB: v.spec.memoryMiB, final: samples.filter((x) => x.vm === v.spec.name).at(-1) ?? null, peak: peaks.get(v.spec.name) ?? null })),
      samples,
    };
  }
  if (want.has('sharing')) {
    measurements.sharing = hostList.map((h) => {
      const st = h.esx.stats().sharing;
      return { host: h.name, enabled: h.spec.memory?.sharing ?? true, ...st, savedMiB: st.pages_sharing / MIB_PAGES, peakSharedMiBPerVm: Object.fromEntries(vms.filter((v) => v.h === h).map((v) => [v.spec.name, peaks.get(v.spec.name)?.shared ?? 0])) };
    });
    for (const m of measurements.sharing as { host: string; savedMiB: number }[]) summary.push({ label: `sharing on ${m.host}`, value: `${m.savedMiB.toFixed(1)} MiB saved now` });
  }
  if (want.has('ballooning')) {
    measurements.ballooning = vms.map((v) => {
      const st = v.h.esx.vmStats(v.vmId);
      return { vm: v.spec.name, enabled: v.h.spec.memory?.ballooning ?? true, driver: v.kernel.driverStats()['balloon'] ?? null, balloon: st.balloon, ballooned: st.ballooned, swapped: st.swapped, target: st.target, peakBalloonMiB: peaks.get(v.spec.name)?.balloon ?? 0, peakSwappedMiB: peaks.get(v.spec.name)?.swapped ?? 0 };
    });
    const peak = vms.reduce((n, v) => n + (peaks.get(v.spec.name)?.balloon ?? 0), 0);
    summary.push({ label: 'ballooning', value: `${peak.toFixed(1)} MiB ballooned at the per-VM peaks` });
  }
  let rows: AttackRow[] = staged.map((x) => x.a.judge());
  if (want.has('attacks')) {
    if (rows.length === 0) {
      const areas = new Set<string>();
      if (s.vms.some((v) => v.programs.some((p) => p.cloaked))) areas.add('CLK');
      if (s.vms.some((v) => v.attest)) areas.add('ATT');
      if (areas.size === 0) notes.push('attacks: no adversary staged and no cloaked program or attested VM to choose catalogue attacks for; the table is empty');
      else notes.push(`attacks: no adversary staged; ran the threat-catalogue scenarios of area(s) ${[...areas].join(', ')} (seed ${seed})`);
      rows = ATTACKS.filter((a) => areas.has(a.area)).map((a) => {
        const r = a.run(seed);
        if (r instanceof Promise) throw new ScenarioRunError('measure', `attack ${a.id} is asynchronous; the runner runs synchronous scenarios only`);
        return { id: a.id, area: a.area, attack: a.attack, expected: a.expected, outcome: r.outcome, detail: r.detail };
      });
    }
    report.attacks = rows;
    measurements.attacks = rows;
  } else if (rows.length > 0) notes.push(`adversaries ran (${rows.length}); add "attacks" to measure to see the table`);
  if (want.has('attestation')) {
    const first = attestation[0];
    if (first) report.attestation = first.data;
    measurements.attestation = attestation.map((a) => ({ vm: a.vm, identity: a.identity, verified: a.data.verified, checks: a.data.checks }));
    for (const a of attestation) summary.push({ label: `attestation of ${a.vm}`, value: a.data.verified ? 'verified' : 'REFUSED', status: a.data.verified ? 'ok' : 'bad' });
    if (attestation.length > 1) notes.push(`attestation: the report shows ${first!.vm}; the JSON has all ${attestation.length}`);
  }
  const stores = hostList.flatMap((h) => (h.storage ? [h.storage] : []));
  for (const st of stores) notes.push(...st.notes);
  if (want.has('dedup')) {
    const rows: DedupMeasureRow[] = [];
    const perHost: Record<string, unknown>[] = [];
    const rep: NonNullable<ReportData['dedup']>[number][] = [];
    for (const st of stores) {
      const d = dedupRows(st);
      rows.push(...d.rows);
      rep.push(...d.report);
      perHost.push(d.host);
      if (!st.dedup) notes.push(`dedup: host ${st.hostName} has no storage.dedup; its rows show linked-clone sharing only`);
    }
    if (stores.length === 0) notes.push('dedup: no VM has disks; nothing to deduplicate');
    measurements.dedup = { hosts: perHost, rows };
    if (rep.length) report.dedup = rep;
    for (const r of rows.filter((x) => x.vm === null)) summary.push({ label: `dedup on ${r.host}`, value: `${r.logicalMiB.toFixed(1)} MiB logical in ${r.uniqueMiB.toFixed(1)} MiB unique` });
  }
  if (want.has('interrupts')) {
    const rows: InterruptMeasureRow[] = [];
    const rep: NonNullable<ReportData['interrupts']>[number][] = [];
    for (const st of stores) {
      const d = interruptRows(st);
      rows.push(...d.rows);
      rep.push(...d.report);
    }
    if (rows.length === 0) notes.push('interrupts: no VM has an interrupt-driven disk (a host storage.vic policy and an unencrypted root disk); nothing measured');
    measurements.interrupts = rows;
    if (rep.length) report.interrupts = rep;
    for (const r of rows) summary.push({ label: `interrupts of ${r.vm}`, value: `${r.interruptsPerCompletion.toFixed(2)} per completion (${r.completions} completions, vIC ${r.vic ? 'on' : 'off'})` });
  }
  const digest = hostList.map((h) => h.host.sim.trace.digest()).join(':');
  const allEvents = hostList.map((h) => h.host.sim.trace.events());
  if (want.has('trace')) {
    const categories: Record<string, number> = {};
    for (const evs of allEvents) for (const e of evs) categories[e.cat] = (categories[e.cat] ?? 0) + 1;
    const total = allEvents.reduce((n, e) => n + e.length, 0);
    measurements.trace = { events: total, digest, categories: Object.fromEntries(Object.entries(categories).sort(([a], [b]) => a.localeCompare(b))), security: securityCounts(allEvents.flat()) };
    report.trace = { events: total, digest };
  }
  const leaked = rows.filter((r) => r.outcome === 'LEAKED');
  const refused = attestation.filter((a) => !a.data.verified);
  summary.push(...(rows.length ? [{ label: 'attacks', value: `${rows.length - leaked.length}/${rows.length} blocked or detected`, status: leaked.length ? ('bad' as const) : ('ok' as const) }] : []));
  report.summary = summary;
  if (notes.length) report.notes = notes;
  return {
    name: s.name,
    seed,
    durationMs: s.durationMs,
    vms: vmResults,
    measurements,
    notes,
    report,
    events: allEvents[0],
    traceRuns: hostList.map((h, i) => ({ name: h.name, events: allEvents[i], vmNames: Object.fromEntries(vms.filter((v) => v.h === h).map((v) => [v.vmId, v.spec.name])) })),
    digest,
    ok: leaked.length === 0 && refused.length === 0 && panics.length === 0 && halted.length === 0,
  };
}

/** The executable name of program `j` of VM `vm` when the runner wraps it (cloaked, delayed or a victim). */
function alias(vm: string, j: number, name: string): string {
  return `${name}.${vm}.${j}`;
}

/** Quotes VM `v` (an attestable image) and verifies the quote with a remote verifier that pins the manufacturer root. */
function attest(v: VmRt, seed: number): { vm: string; data: AttestationData; identity: string } {
  const host = v.h.host;
  const expected = parseImage(P, v.image!).identity; // the verifier's own measurement of the published image
  const remote = new Verifier(createSimContext({ seed: seed + 1000 }), P, [host.rootOfTrust.manufacturer.certDer], policyFor({ tvmm: host.tvmmIdentity! }, [expected]));
  const nonce = remote.issueNonce();
  try {
    const port = v.kernel.services.platform.attestation();
    const keys = x25519KeyPair(host.sim.rng.fork(`attest/${v.spec.name}`));
    const quote = port.quote(nonce, { boundKey: keys.publicKey });
    const r = remote.verify(quote, nonce);
    const checks = r.checks.map((c) => ({ name: c.name, ok: c.ok === true, detail: c.ok === null ? 'not run' : c.ok ? c.detail : String(c.code ?? c.detail) }));
    return { vm: v.spec.name, identity: toHex(port.getId().primary), data: { verified: r.ok, subject: `${v.spec.name} (${v.spec.kind}, image ${v.spec.image}) ${toHex(expected).slice(0, 16)}…`, checks } };
  } catch (e) {
    return { vm: v.spec.name, identity: '', data: { verified: false, subject: v.spec.name, checks: [{ name: 'quote', ok: false, detail: e instanceof Error ? e.message : String(e) }] } };
  }
}

/**
 * What a disk-tamper adversary (the storage host) reaches of VM `vm`'s first disk: the volume file's
 * raw blocks (ciphertext when encrypted), written as the volume host; and the read the VM's TVMM
 * makes through the disk's class (the ProtectedDisk's integrity check when encrypted).
 */
function tamperTarget(st: HostStorage, vm: string): NonNullable<VictimContext['disk']> {
  const d = st.disks.find((x) => x.vm === vm)!;
  return {
    peek: (lba) => d.vdisk.read(lba, 1),
    poke: (lba, data) => d.vdisk.write(lba, data),
    verifyRead: (lba) => d.backend.read(lba, 1),
  };
}
