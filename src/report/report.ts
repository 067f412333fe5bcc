/**
 * The HTML report (issue 7): one self-contained file that opens offline — inline CSS, inline SVG
 * charts, no script, no external URL. Sections appear for the data given: summary, memory per VM
 * over time with the reclamation states (ESX OSDI'02 §5), sharing and ballooning savings,
 * interrupts with and without vIC (ATC'11), dedup savings (DeDe, ATC'09), the attack table (the
 * threat catalogue) and the attestation result (Terra). Same data → byte-identical HTML.
 */
import { z } from 'zod';
import { barChart, esc, extent, fmt, lineChart, table, type Band, type Cell } from './svg.js';

/** ESX reclamation states (free-memory thresholds 6% / 4% / 2%, Waldspurger OSDI'02 §5). */
export type ReclamationState = 'high' | 'soft' | 'hard' | 'low';

/** One sample of one VM's memory. `t` is virtual time in `memory.timeUnit` (default ms). */
export interface MemorySample {
  readonly t: number;
  readonly vm: string;
  readonly residentMiB: number;
  readonly balloonMiB?: number;
  readonly swappedMiB?: number;
  readonly sharedMiB?: number;
}

/** A period in one reclamation state, [from, to) in `memory.timeUnit`. */
export interface StateBand {
  readonly from: number;
  readonly to: number;
  readonly state: ReclamationState;
}

/** Memory over time and what reclamation saved. */
export interface MemoryData {
  readonly samples: readonly MemorySample[];
  readonly states?: readonly StateBand[];
  /** Unit of `t`, `from`, `to` (default 'ms'); charts show ms. */
  readonly timeUnit?: 'ns' | 'us' | 'ms';
  /** Machine memory, drawn as a reference line. */
  readonly machineMiB?: number;
  /** Savings per VM; when absent, taken from each VM's last sample. */
  readonly savings?: readonly { readonly vm: string; readonly sharedMiB: number; readonly balloonMiB: number; readonly swappedMiB: number }[];
}

/** One vIC measurement: at coalescing factor `cif`, with (`vic: true`) or without vIC. */
export interface InterruptRow {
  readonly cif: number;
  readonly interruptsPerCompletion: number;
  readonly addedLatencyUs: number;
  readonly vic: boolean;
  /** Optional workload label (e.g. "32 outstanding"). */
  readonly label?: string;
}

/** Dedup savings for one VM or one step. */
export interface DedupRow {
  readonly label: string;
  readonly logicalMiB: number;
  readonly uniqueMiB: number;
}

/** One row of the attack table (an AttackScenario and its AttackReport). */
export interface AttackRow {
  readonly id: string;
  readonly area: string;
  readonly attack: string;
  readonly expected: string;
  readonly outcome: 'blocked' | 'detected' | 'LEAKED';
  readonly detail: string;
}

/** The attestation result. */
export interface AttestationData {
  readonly verified: boolean;
  readonly subject?: string;
  readonly checks: readonly { readonly name: string; readonly ok: boolean; readonly detail?: string }[];
}

/** A summary row; `status` colours the value. */
export interface SummaryRow {
  readonly label: string;
  readonly value: string | number;
  readonly status?: 'ok' | 'warn' | 'bad';
}

/** Everything a report can show; every section is optional except the title. */
export interface ReportData {
  readonly title: string;
  readonly subtitle?: string;
  readonly seed?: number;
  /** Free text such as "terracloak 0.1.0" (no timestamps: reports are reproducible). */
  readonly generator?: string;
  readonly summary?: readonly SummaryRow[];
  readonly memory?: MemoryData;
  readonly interrupts?: readonly InterruptRow[];
  readonly dedup?: readonly DedupRow[];
  readonly attacks?: readonly AttackRow[];
  readonly attestation?: AttestationData;
  /** Trace statistics: event count and digest (shown in the footer). */
  readonly trace?: { readonly events: number; readonly digest: string };
  /** Plain-text notes shown at the end (escaped). */
  readonly notes?: readonly string[];
}

const num = z.number().refine(Number.isFinite, 'expected a finite number');
const nonneg = num.refine((v) => v >= 0, 'expected a number ≥ 0');
const str = z.string().max(100_000);

const ReportSchema = z.object({
  title: str,
  subtitle: str.optional(),
  seed: num.optional(),
  generator: str.optional(),
  summary: z.array(z.object({ label: str, value: z.union([str, num]), status: z.enum(['ok', 'warn', 'bad']).optional() })).optional(),
  memory: z
    .object({
      samples: z.array(z.object({ t: num, vm: str, residentMiB: nonneg, balloonMiB: nonneg.optional(), swappedMiB: nonneg.optional(), sharedMiB: nonneg.optional() })),
      states: z.array(z.object({ from: num, to: num, state: z.enum(['high', 'soft', 'hard', 'low']) })).optional(),
      timeUnit: z.enum(['ns', 'us', 'ms']).optional(),
      machineMiB: nonneg.optional(),
      savings: z.array(z.object({ vm: str, sharedMiB: nonneg, balloonMiB: nonneg, swappedMiB: nonneg })).optional(),
    })
    .optional(),
  interrupts: z.array(z.object({ cif: nonneg, interruptsPerCompletion: nonneg, addedLatencyUs: nonneg, vic: z.boolean(), label: str.optional() })).optional(),
  dedup: z.array(z.object({ label: str, logicalMiB: nonneg, uniqueMiB: nonneg })).optional(),
  attacks: z.array(z.object({ id: str, area: str, attack: str, expected: str, outcome: z.enum(['blocked', 'detected', 'LEAKED']), detail: str })).optional(),
  attestation: z.object({ verified: z.boolean(), subject: str.optional(), checks: z.array(z.object({ name: str, ok: z.boolean(), detail: str.optional() })) }).optional(),
  trace: z.object({ events: nonneg, digest: str }).optional(),
  notes: z.array(str).optional(),
});

/** Colours of the reclamation-state bands. */
export const STATE_COLORS: Readonly<Record<ReclamationState, string>> = { high: '#2e7d32', soft: '#f9a825', hard: '#ef6c00', low: '#c62828' };

const CSS = `
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1b2a41;color:#fff;padding:20px 32px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85}
main{max-width:980px;margin:0 auto;padding:8px 32px 40px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;margin:18px 0;padding:12px 20px}
h2{font-size:17px;margin:6px 0 10px}
figure.chart{margin:8px 0;overflow-x:auto}
svg{font:11px system-ui,sans-serif;max-width:100%;height:auto}
svg .chart-title{font-size:13px;font-weight:600}
svg .axis line,svg .axis path{stroke:#555}
svg .grid{stroke:#e3e6ea}
svg .axis-label{font-size:11px;fill:#333}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{border-bottom:1px solid #e6e8eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.detail{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-word;white-space:pre-wrap}
.ok,.blocked,.detected{color:#1b5e20;font-weight:600}
.warn{color:#8a5a00;font-weight:600}
.bad,.LEAKED{color:#b71c1c;font-weight:700}
.verdict{font-size:16px;font-weight:700}
.empty{color:#667;font-style:italic}
footer{color:#667;font-size:12px;margin-top:20px}
code{font-family:ui-monospace,Menlo,Consolas,monospace}
`;

const TO_MS: Record<'ns' | 'us' | 'ms', number> = { ns: 1e-6, us: 1e-3, ms: 1 };

function section(id: string, title: string, body: string): string {
  return `<section id="${esc(id)}"><h2>${esc(title)}</h2>${body}</section>`;
}

function byVm<T extends { vm: string }>(rows: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    let a = m.get(r.vm);
    if (!a) m.set(r.vm, (a = []));
    a.push(r);
  }
  return m;
}

function memorySection(m: MemoryData): string {
  const k = TO_MS[m.timeUnit ?? 'ms'];
  const vms = byVm(m.samples);
  let body = '';
  if (m.samples.length === 0) body += '<p class="empty">No memory samples.</p>';
  else {
    const bands: Band[] = (m.states ?? []).filter((b) => b.to > b.from).map((b) => ({ from: b.from * k, to: b.to * k, label: `${b.state} state`, color: STATE_COLORS[b.state] }));
    const series = [...vms.entries()].map(([vm, rows]) => ({ name: vm, points: rows.map((r) => [r.t * k, r.residentMiB] as const) }));
    const [t0, t1] = extent(m.samples.map((s) => s.t * k));
    if (m.machineMiB !== undefined) series.push({ name: 'machine memory', points: [[t0, m.machineMiB], [t1, m.machineMiB]] });
    body += lineChart({ id: 'memory-resident', title: 'Resident memory per VM over time (shaded: reclamation state)', xLabel: 'virtual time (ms)', yLabel: 'resident (MiB)', series, bands });
    // Totals of ballooned, swapped and shared memory over time.
    const byTime = new Map<number, MemorySample[]>();
    for (const s of m.samples) {
      let a = byTime.get(s.t);
      if (!a) byTime.set(s.t, (a = []));
      a.push(s);
    }
    const times = [...byTime.keys()].sort((a, b) => a - b);
    const total = (f: (s: MemorySample) => number | undefined) =>
      times.map((t) => [t * k, byTime.get(t)!.reduce((a, s) => a + (f(s) ?? 0), 0)] as const);
    const rec = [
      { name: 'ballooned', points: total((s) => s.balloonMiB) },
      { name: 'swapped', points: total((s) => s.swappedMiB) },
      { name: 'shared', points: total((s) => s.sharedMiB) },
    ].filter((s) => s.points.some((p) => p[1] > 0));
    if (rec.length) body += lineChart({ id: 'memory-reclaimed', title: 'Memory reclaimed over time (all VMs)', xLabel: 'virtual time (ms)', yLabel: 'memory (MiB)', series: rec, bands });
  }
  const savings =
    m.savings ??
    [...vms.entries()].map(([vm, rows]) => {
      const last = rows.reduce((a, b) => (b.t >= a.t ? b : a));
      return { vm, sharedMiB: last.sharedMiB ?? 0, balloonMiB: last.balloonMiB ?? 0, swappedMiB: last.swappedMiB ?? 0 };
    });
  if (savings.length && savings.some((s) => s.sharedMiB + s.balloonMiB + s.swappedMiB > 0)) {
    body += barChart({
      id: 'memory-savings',
      title: 'Sharing and ballooning savings per VM (end of run)',
      xLabel: 'VM',
      yLabel: 'memory (MiB)',
      categories: savings.map((s) => s.vm),
      series: [
        { name: 'shared (page sharing)', values: savings.map((s) => s.sharedMiB) },
        { name: 'ballooned', values: savings.map((s) => s.balloonMiB) },
        { name: 'swapped (host)', values: savings.map((s) => s.swappedMiB) },
      ],
      mode: 'stacked',
    });
  }
  if (savings.length)
    body += table('memory-savings', ['VM', 'shared (MiB)', 'ballooned (MiB)', 'swapped (MiB)', 'reclaimed (MiB)'], savings.map((s) => [s.vm, s.sharedMiB, s.balloonMiB, s.swappedMiB, s.sharedMiB + s.balloonMiB + s.swappedMiB]));
  return section('memory', 'Memory', body);
}

function interruptSection(rows: readonly InterruptRow[]): string {
  if (rows.length === 0) return section('interrupts', 'Interrupts (vIC)', '<p class="empty">No measurements.</p>');
  const key = (r: InterruptRow) => (r.label ? `${r.label} · CIF ${fmt(r.cif)}` : `CIF ${fmt(r.cif)}`);
  const cats = [...new Set([...rows].sort((a, b) => a.cif - b.cif || (a.label ?? '').localeCompare(b.label ?? '')).map(key))];
  const val = (vic: boolean, f: (r: InterruptRow) => number) => cats.map((c) => rows.find((r) => r.vic === vic && key(r) === c)).map((r) => (r ? f(r) : 0));
  let body = barChart({
    id: 'interrupt-rate',
    title: 'Interrupts per IO completion, with and without vIC',
    xLabel: 'coalescing interrupt factor (CIF)',
    yLabel: 'interrupts / completion',
    categories: cats,
    series: [
      { name: 'without vIC', values: val(false, (r) => r.interruptsPerCompletion) },
      { name: 'with vIC', values: val(true, (r) => r.interruptsPerCompletion) },
    ],
    mode: 'grouped',
  });
  if (rows.some((r) => r.addedLatencyUs > 0))
    body += barChart({
      id: 'interrupt-latency',
      title: 'Latency added by coalescing',
      xLabel: 'coalescing interrupt factor (CIF)',
      yLabel: 'added latency (µs)',
      categories: cats,
      series: [
        { name: 'without vIC', values: val(false, (r) => r.addedLatencyUs) },
        { name: 'with vIC', values: val(true, (r) => r.addedLatencyUs) },
      ],
      mode: 'grouped',
    });
  body += table('interrupts', ['workload', 'CIF', 'vIC', 'interrupts / completion', 'added latency (µs)'], rows.map((r) => [r.label ?? '', r.cif, r.vic ? 'on' : 'off', r.interruptsPerCompletion, r.addedLatencyUs]));
  return section('interrupts', 'Interrupts (vIC)', body);
}

function dedupSection(rows: readonly DedupRow[]): string {
  if (rows.length === 0) return section('dedup', 'Deduplication (DeDe)', '<p class="empty">No measurements.</p>');
  for (const r of rows) if (r.uniqueMiB > r.logicalMiB) throw new RangeError(`dedup row ${JSON.stringify(r.label)}: uniqueMiB (${r.uniqueMiB}) exceeds logicalMiB (${r.logicalMiB})`);
  const logical = rows.reduce((a, r) => a + r.logicalMiB, 0);
  const unique = rows.reduce((a, r) => a + r.uniqueMiB, 0);
  let body = barChart({
    id: 'dedup-savings',
    title: 'Disk space: unique blocks and space saved by deduplication',
    xLabel: 'VM or step',
    yLabel: 'space (MiB)',
    categories: rows.map((r) => r.label),
    series: [
      { name: 'stored (unique)', values: rows.map((r) => r.uniqueMiB) },
      { name: 'saved by dedup', values: rows.map((r) => r.logicalMiB - r.uniqueMiB) },
    ],
    mode: 'stacked',
  });
  body += table(
    'dedup',
    ['VM or step', 'logical (MiB)', 'stored (MiB)', 'saved (MiB)', 'saved (%)'],
    [
      ...rows.map((r): Cell[] => [r.label, r.logicalMiB, r.uniqueMiB, r.logicalMiB - r.uniqueMiB, r.logicalMiB ? (100 * (r.logicalMiB - r.uniqueMiB)) / r.logicalMiB : 0]),
      [{ text: 'total', cls: 'ok' }, logical, unique, logical - unique, logical ? (100 * (logical - unique)) / logical : 0],
    ],
  );
  return section('dedup', 'Deduplication (DeDe)', body);
}

function attackSection(rows: readonly AttackRow[]): string {
  const leaked = rows.filter((r) => r.outcome === 'LEAKED').length;
  const verdict = rows.length === 0 ? '<p class="empty">No attacks were run.</p>' : `<p class="verdict ${leaked ? 'bad' : 'ok'}">${esc(`${rows.length - leaked} of ${rows.length} attacks stopped${leaked ? `, ${leaked} LEAKED` : ''}`)}</p>`;
  const counts = (['blocked', 'detected', 'LEAKED'] as const).map((o) => rows.filter((r) => r.outcome === o).length);
  let body = verdict;
  if (rows.length)
    body += barChart({
      id: 'attack-outcomes',
      title: 'Attack outcomes',
      xLabel: 'outcome',
      yLabel: 'attacks (count)',
      categories: ['blocked', 'detected', 'LEAKED'],
      series: [{ name: 'attacks', values: counts }],
      mode: 'grouped',
      height: 240,
    });
  body += table(
    'attacks',
    ['id', 'area', 'attack', 'expected', 'outcome', 'detail'],
    rows.map((r) => [r.id, r.area, r.attack, r.expected, { text: r.outcome, cls: r.outcome }, { text: r.detail, cls: 'detail' }]),
  );
  return section('attacks', 'Attacks', body);
}

function attestationSection(a: AttestationData): string {
  let body = `<p class="verdict ${a.verified ? 'ok' : 'bad'}">${esc(a.verified ? 'verified' : 'NOT verified')}${a.subject ? ` — ${esc(a.subject)}` : ''}</p>`;
  body += table('attestation', ['check', 'result', 'detail'], a.checks.map((c) => [c.name, { text: c.ok ? 'ok' : 'FAILED', cls: c.ok ? 'ok' : 'bad' }, { text: c.detail ?? '', cls: 'detail' }]));
  return section('attestation', 'Attestation (Terra)', body);
}

/**
 * Renders a report as one self-contained HTML document (no script, no external resource).
 * Throws TypeError/RangeError naming the field when `data` is malformed (e.g. a non-finite number).
 */
export function renderReport(data: ReportData): string {
  const r = ReportSchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0];
    const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new TypeError(`report data${path}: ${i.message}`);
  }
  const d = data;
  const parts: string[] = [];
  const sub = [d.subtitle, d.seed !== undefined ? `seed ${fmt(d.seed)}` : undefined].filter((x) => x !== undefined).join(' · ');
  if (d.summary?.length)
    parts.push(section('summary', 'Summary', table('summary', ['measure', 'value'], d.summary.map((s) => [s.label, s.status ? { text: s.value, cls: s.status } : s.value]))));
  if (d.attestation) parts.push(attestationSection(d.attestation));
  if (d.attacks) parts.push(attackSection(d.attacks));
  if (d.memory) parts.push(memorySection(d.memory));
  if (d.interrupts) parts.push(interruptSection(d.interrupts));
  if (d.dedup) parts.push(dedupSection(d.dedup));
  if (d.notes?.length) parts.push(section('notes', 'Notes', `<ul>${d.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`));
  const footer = [
    d.generator ? esc(d.generator) : 'terracloak',
    'a deterministic simulation: virtual time, seeded randomness',
    d.trace ? `trace: ${esc(fmt(d.trace.events))} events, digest <code>${esc(d.trace.digest)}</code>` : undefined,
  ].filter(Boolean);
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<title>${esc(d.title)}</title><style>${CSS}</style></head><body>` +
    `<header><h1>${esc(d.title)}</h1>${sub ? `<p>${esc(sub)}</p>` : ''}</header><main>` +
    parts.join('\n') +
    `<footer>${footer.join(' · ')}</footer></main></body></html>\n`
  );
}
