/** `terracloak run SCENARIO`: validates a scenario file and runs it. */
import { readFileSync, writeFileSync } from 'node:fs';
import { BUILTIN_PROGRAMS } from '../guest/index.js';
import { formatScenarioIssues, parseScenario, scenarioFormatOf } from '../scenario/index.js';
import { runScenario } from '../runner/index.js';
import { renderReport } from '../report/index.js';
import { toChromeTrace } from '../trace-export/index.js';
import { UsageError } from './args.js';
import { table } from './io.js';
import type { CommandResult } from './commands.js';

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
  const r = runScenario(parsed.value, opts.seed === undefined ? {} : { seed: opts.seed });
  if (opts.report) writeFileSync(opts.report, renderReport(r.report));
  if (opts.trace) writeFileSync(opts.trace, toChromeTrace(r.events, { metadata: { seed: r.seed, scenario: r.name } }));
  const exitCode = r.ok ? 0 : 1;
  if (opts.json) return { exitCode, stdout: JSON.stringify({ ok: r.ok, name: r.name, seed: r.seed, durationMs: r.durationMs, vms: r.vms, measurements: r.measurements, digest: r.digest }) };
  return {
    exitCode,
    stdout: [`scenario ${r.name} (seed ${r.seed}, ${r.durationMs} virtual ms)`, '', table(['vm', 'host', 'kind', 'state', 'resident MiB'], r.vms.map((v) => [v.name, v.host, v.kind, v.state, v.residentMiB.toFixed(1)]))].join('\n'),
  };
}
