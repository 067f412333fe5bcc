/** The flagship demo is a sequence of stages, each showing one mechanism end to end. */
import type { ReportData } from '../report/index.js';
import type { TraceEvent } from '../sim/index.js';

/** One row of the demo's summary table. */
export interface DemoSummaryRow {
  readonly stage: string;
  readonly mechanism: string;
  readonly result: string;
  readonly ok: boolean;
}

/** What a stage returns. */
export interface StageResult {
  readonly id: string;
  readonly title: string;
  /** The narrative, one line each. */
  readonly lines: readonly string[];
  readonly summary: readonly DemoSummaryRow[];
  /** Data for the stage's machine-readable summary (`--json`). */
  readonly data: Record<string, unknown>;
  /** Parts of the HTML report this stage contributes. */
  readonly report: Partial<Omit<ReportData, 'title'>>;
  /** Trace events of the stage's host(s), for `--trace`. */
  readonly events: readonly TraceEvent[];
  readonly traceDigest: string;
}
