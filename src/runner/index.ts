/**
 * The scenario runner: maps a validated scenario (src/scenario) onto hosts, the TVMM, VMs running
 * the guest kernel and built-in programs, the memory manager, cloaking, storage and adversaries,
 * runs it for its virtual duration, and returns the measurements as report data.
 */
import { bootGuest, BUILTIN_PROGRAMS, type BootedGuest } from '../guest/index.js';
import type { Scenario } from '../scenario/index.js';
import { Host } from '../tvmm/index.js';
import { NS_PER_MS, type TraceEvent } from '../sim/index.js';
import type { MemorySample, ReportData, SummaryRow } from '../report/index.js';

/** What a scenario run returns. */
export interface ScenarioRunResult {
  readonly name: string;
  readonly seed: number;
  readonly durationMs: number;
  readonly vms: readonly { name: string; host: string; kind: string; state: string; residentMiB: number; console: number }[];
  readonly measurements: Record<string, unknown>;
  readonly report: ReportData;
  readonly events: readonly TraceEvent[];
  readonly digest: string;
  readonly ok: boolean;
}

const MIB_PAGES = 256;

/** Runs a scenario; `seed` overrides the scenario's seed. */
export function runScenario(s: Scenario, opts: { seed?: number } = {}): ScenarioRunResult {
  const seed = opts.seed ?? s.seed;
  const hosts = new Map<string, Host>();
  for (const h of s.hosts) {
    const host = new Host({ seed: h.seed ?? seed, machineMiB: h.machineMiB, cpus: h.cpus });
    host.boot();
    hosts.set(h.name, host);
  }
  const guests: { spec: Scenario['vms'][number]; host: string; g: BootedGuest }[] = [];
  for (const v of s.vms) {
    const hostName = v.host ?? s.hosts[0].name;
    const host = hosts.get(hostName)!;
    const run = v.programs.filter((p) => p.startMs === 0).map((p) => [p.name, ...p.argv].join(' '));
    const g = bootGuest({ host, name: v.name, kind: v.kind, memoryMiB: v.memoryMiB, run, programs: BUILTIN_PROGRAMS });
    guests.push({ spec: v, host: hostName, g });
  }
  const samples: MemorySample[] = [];
  const stepMs = Math.max(1, Math.round(s.durationMs / 100));
  for (let t = 0; t <= s.durationMs; t += stepMs) {
    for (const host of hosts.values()) host.tvmm.run({ untilNs: t * NS_PER_MS });
    for (const { spec, g } of guests) {
      const info = g.tvmm.vm(g.vmId);
      if (info.state === 'destroyed') continue;
      samples.push({ t, vm: spec.name, residentMiB: g.host.memory.pmap(g.vmId).resident() / MIB_PAGES });
    }
  }
  const vms = guests.map(({ spec, host, g }) => ({
    name: spec.name,
    host,
    kind: spec.kind,
    state: g.tvmm.vm(g.vmId).state,
    residentMiB: g.host.memory.pmap(g.vmId).resident() / MIB_PAGES,
    console: g.tvmm.consoleLines.filter((l) => l.vm === g.vmId).length,
  }));
  const summary: SummaryRow[] = vms.map((v) => ({ label: `${v.name} (${v.kind})`, value: `${v.state}, ${v.residentMiB.toFixed(1)} MiB resident`, status: v.state === 'halted' ? 'bad' : 'ok' }));
  const first = hosts.values().next().value as Host;
  const machineMiB = s.hosts[0].machineMiB;
  return {
    name: s.name,
    seed,
    durationMs: s.durationMs,
    vms,
    measurements: { memory: { samples: samples.length } },
    report: { title: `scenario: ${s.name}`, subtitle: s.description, seed, generator: 'terracloak 0.1.0', summary, ...(s.measure.includes('memory') ? { memory: { samples, machineMiB } } : {}) },
    events: first.sim.trace.events(),
    digest: [...hosts.values()].map((h) => h.sim.trace.digest()).join(':'),
    ok: vms.every((v) => v.state !== 'halted'),
  };
}
