/** `terracloak run SCENARIO`: validates a scenario file and runs it. */
import { readFileSync, writeFileSync } from 'node:fs';
import { BUILTIN_PROGRAMS } from '../guest/index.js';
import { formatScenarioIssues, parseScenario, scenarioFormatOf } from '../scenario/index.js';
import { runScenario, ScenarioRunError, type ScenarioRunResult } from '../runner/index.js';
import { renderReport } from '../report/index.js';
import { toChromeTrace, toChromeTraceRuns } from '../trace-export/index.js';
import { UsageError } from './args.js';
import { table } from './io.js';
import type { CommandResult } from './commands.js';

/** The `--json` document of a run (no timestamps: the same scenario and seed give the same bytes). */
export function runJson(r: ScenarioRunResult): string {
  return JSON.stringify({ ok: r.ok, name: r.name, seed: r.seed, durationMs: r.durationMs, vms: r.vms, measurements: r.measurements, notes: r.notes, digest: r.digest });
}

/** The trace file of a run: one Chrome trace, with a process group per host when there are several. */
export function runTrace(r: ScenarioRunResult): string {
  const metadata = { seed: r.seed, scenario: r.name };
  if (r.traceRuns.length === 1) return toChromeTrace(r.events, { metadata, vmNames: r.traceRuns[0].vmNames });
  return toChromeTraceRuns(r.traceRuns, { metadata });
}

function mib(n: unknown): string {
  return typeof n === 'number' ? n.toFixed(1) : '-';
}

/** The human-readable output: the VM table, then each measurement, then the attack table and notes. */
export function runText(r: ScenarioRunResult): string {
  const out: string[] = [`scenario ${r.name} (seed ${r.seed}, ${r.durationMs} virtual ms): ${r.ok ? 'ok' : 'NOT ok'}`, ''];
  out.push(table(['vm', 'host', 'kind', 'state', 'resident MiB', 'programs'], r.vms.map((v) => [v.name, v.host, v.kind, v.state + (v.haltReason ? ` (${v.haltReason})` : ''), v.residentMiB.toFixed(1), v.programs.join(', ') || '-'])));
  const m = r.measurements as Record<string, unknown>;
  if (m.memory) {
    const mem = m.memory as { machineMiB: number; vms: { vm: string; peak: { resident: number; balloon: number; swapped: number; shared: number } | null }[]; hosts: { host: string; state: string; transitions: number }[] };
    out.push('', `memory (${mem.machineMiB} MiB machine; ${mem.hosts.map((h) => `${h.host}: ${h.state}, ${h.transitions} state transitions`).join('; ')})`);
    out.push(table(['vm', 'peak resident MiB', 'peak shared MiB', 'peak balloon MiB', 'peak swapped MiB'], mem.vms.map((v) => [v.vm, mib(v.peak?.resident), mib(v.peak?.shared), mib(v.peak?.balloon), mib(v.peak?.swapped)])));
  }
  if (m.sharing) {
    const sh = m.sharing as { host: string; enabled: boolean; pages_shared: number; pages_sharing: number; savedMiB: number; cow_breaks: number }[];
    out.push('', 'sharing', table(['host', 'enabled', 'shared frames', 'pages saved', 'MiB saved', 'COW breaks'], sh.map((h) => [h.host, String(h.enabled), String(h.pages_shared), String(h.pages_sharing), mib(h.savedMiB), String(h.cow_breaks)])));
  }
  if (m.ballooning) {
    const b = m.ballooning as { vm: string; enabled: boolean; ballooned: number; swapped: number; target: number; peakBalloonMiB: number; peakSwappedMiB: number }[];
    out.push('', 'ballooning', table(['vm', 'enabled', 'peak balloon MiB', 'peak swapped MiB', 'target pages'], b.map((v) => [v.vm, String(v.enabled), mib(v.peakBalloonMiB), mib(v.peakSwappedMiB), String(v.target)])));
  }
  if (m.dedup) {
    const d = m.dedup as { hosts: { host: string; enabled: boolean; passes: number; sharedBlocks: number }[]; rows: { host: string; vm: string | null; logicalMiB: number; uniqueMiB: number }[] };
    out.push('', `dedup (${d.hosts.map((h) => `${h.host}: ${h.enabled ? `${h.passes} DeDe passes, ${h.sharedBlocks} blocks shared` : 'DeDe off'}`).join('; ') || 'no disks'})`);
    out.push(table(['host', 'vm', 'logical MiB', 'unique MiB'], d.rows.map((x) => [x.host, x.vm ?? '(all VM disks)', x.logicalMiB.toFixed(2), x.uniqueMiB.toFixed(2)])));
  }
  if (m.interrupts) {
    const rows = m.interrupts as { host: string; vm: string; disk: string; vic: boolean; completions: number; interrupts: number; interruptsPerCompletion: number; addedLatencyUs: number }[];
    out.push('', 'interrupts', rows.length ? table(['vm', 'disk', 'vIC', 'completions', 'interrupts', 'per completion', 'added µs'], rows.map((x) => [`${x.vm} (${x.host})`, x.disk, x.vic ? 'on' : 'off', String(x.completions), String(x.interrupts), x.interruptsPerCompletion.toFixed(2), x.addedLatencyUs.toFixed(1)])) : '(no interrupt-driven disks)');
  }
  if (m.attestation) {
    const a = m.attestation as { vm: string; verified: boolean; checks: { name: string; ok: boolean }[] }[];
    out.push('', 'attestation', table(['vm', 'verified', 'checks'], a.map((x) => [x.vm, x.verified ? 'yes' : 'NO', x.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'}`).join(', ')])));
  }
  if (m.trace) {
    const t = m.trace as { events: number; digest: string };
    out.push('', `trace: ${t.events} events, digest ${t.digest.slice(0, 16)}…`);
  }
  if (m.attacks) {
    const rows = m.attacks as { id: string; area: string; outcome: string; detail: string }[];
    out.push('', 'attacks', rows.length ? table(['attack', 'area', 'outcome', 'evidence'], rows.map((x) => [x.id, x.area, x.outcome, x.detail])) : '(none)');
  }
  if (r.notes.length) out.push('', 'notes:', ...r.notes.map((n) => `  - ${n}`));
  return out.join('\n');
}

/** Runs a scenario file. Invalid files exit 2 with every problem named by its field path. */
export async function cmdRun(file: string, opts: { seed?: number; report?: string; trace?: string; json?: boolean }): Promise<CommandResult> {
  const format = scenarioFormatOf(file);
  if (!format) throw new UsageError(`scenario file must end in .json, .yaml or .yml: ${file}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = parseScenario(text, format, { programs: Object.keys(BUILTIN_PROGRAMS) });
  if (!parsed.ok) {
    if (opts.json) return { exitCode: 2, stdout: JSON.stringify({ ok: false, file, errors: parsed.error }) };
    throw new UsageError(formatScenarioIssues(parsed.error, file));
  }
  let r: ScenarioRunResult;
  try {
    r = runScenario(parsed.value, opts.seed === undefined ? {} : { seed: opts.seed });
  } catch (e) {
    if (!(e instanceof ScenarioRunError)) throw e;
    if (opts.json) return { exitCode: 2, stdout: JSON.stringify({ ok: false, file, errors: [{ path: e.path, message: e.message }] }) };
    throw new UsageError(`${file}: ${e.message}`);
  }
  if (opts.report) writeFileSync(opts.report, renderReport(r.report));
  if (opts.trace) writeFileSync(opts.trace, runTrace(r));
  const exitCode = r.ok ? 0 : 1;
  if (opts.json) return { exitCode, stdout: runJson(r) };
  return { exitCode, stdout: runText(r) };
}
