/**
 * The flagship demo (issue 7): the whole story in stages — Terra partitions and attestation,
 * Overshadow cloaking under a compromised kernel, ESX memory overcommit, DeDe and vIC. Each stage
 * runs on its own seeded host; the demo's trace is the concatenation of the stages' traces.
 */
import type { ReportData } from '../report/index.js';
import type { TraceEvent } from '../sim/index.js';
import { partitionStage } from './partition.js';
import { attestStage } from './attest.js';
import { memoryStage } from './memory.js';
import { cloakStage } from './cloak.js';
import { storageStage } from './storage.js';
import type { DemoSummaryRow, StageResult } from './types.js';

export type { DemoSummaryRow, StageResult } from './types.js';

/** The stages, in narrative order. */
export const DEMO_STAGES: readonly { id: string; run: (seed: number) => StageResult | Promise<StageResult> }[] = [
  { id: 'partition', run: partitionStage },
  { id: 'attest', run: attestStage },
  { id: 'cloak', run: cloakStage },
  { id: 'memory', run: memoryStage },
  { id: 'storage', run: storageStage },
];

/** The demo's result. */
export interface DemoResult {
  readonly seed: number;
  readonly stages: readonly StageResult[];
  readonly summary: readonly DemoSummaryRow[];
  readonly ok: boolean;
  readonly report: ReportData;
  /** Events of every stage, each stage's events tagged with its stage index as `pid` offset by the trace exporter. */
  readonly traces: readonly { stage: string; events: readonly TraceEvent[]; digest: string }[];
}

/** Runs every stage with `seed`; `onStage` reports progress. */
export async function runDemo(seed: number, onStage?: (id: string, i: number, n: number) => void): Promise<DemoResult> {
  const stages: StageResult[] = [];
  for (let i = 0; i < DEMO_STAGES.length; i++) {
    onStage?.(DEMO_STAGES[i].id, i, DEMO_STAGES.length);
    stages.push(await DEMO_STAGES[i].run(seed));
  }
  const summary = stages.flatMap((s) => s.summary);
  const ok = summary.every((r) => r.ok);
  const report: ReportData = {
    title: 'terracloak demo',
    subtitle: 'Terra partitions and attestation · Overshadow cloaking · ESX memory · DeDe · vIC',
    seed,
    generator: 'terracloak 0.1.0',
    ...Object.assign({}, ...stages.map((s) => ({ ...s.report, summary: undefined }))),
    summary: summary.map((r) => ({ label: `${r.stage}: ${r.mechanism}`, value: r.result, status: r.ok ? ('ok' as const) : ('bad' as const) })),
    notes: stages.flatMap((s) => [`${s.title}`, ...s.lines.map((l) => `  ${l}`)]),
  };
  return { seed, stages, summary, ok, report: JSON.parse(JSON.stringify(report)) as ReportData, traces: stages.map((s) => ({ stage: s.id, events: s.events, digest: s.traceDigest })) };
}
