/** An experiment that reproduces the shape of a paper's measurement, with the paper's number beside ours. */
export interface Experiment {
  /** Stable id, e.g. `esx-balloon`, `dede-savings`, `terra-boot`. */
  readonly id: string;
  readonly title: string;
  /** Short paper reference, e.g. "Waldspurger, OSDI'02 §3.2 Fig. 2". */
  readonly paper: string;
  /** Runs with a fixed seed; returns the paper's numbers and ours (JSON-serialisable). */
  run(opts: { seed: number; quick?: boolean }): ExperimentResult | Promise<ExperimentResult>;
}

/** What `terracloak experiments run <id> --json` prints. */
export interface ExperimentResult {
  readonly id: string;
  readonly paper: Record<string, unknown>;
  readonly ours: Record<string, unknown>;
  /** One or two sentences on every difference and why. */
  readonly notes?: string;
}
