/** `terracloak demo`: runs the flagship demo, prints the narrative and summary, writes the report and trace. */
import { writeFileSync } from 'node:fs';
import { runDemo } from '../demo/index.js';
import { renderReport } from '../report/index.js';
import { toChromeTraceRuns } from '../trace-export/index.js';
import { colour, progress, progressDone, table } from './io.js';
import type { CommandResult } from './commands.js';

/** Runs the demo. */
export async function cmdDemo(opts: { seed?: number; report?: string; trace?: string; json?: boolean }): Promise<CommandResult> {
  const seed = opts.seed ?? 1;
  const r = await runDemo(seed, (id, i, n) => progress(`demo: stage ${i + 1}/${n} (${id})…`));
  progressDone();
  if (opts.report) writeFileSync(opts.report, renderReport({ ...r.report, trace: { events: r.traces.reduce((n, t) => n + t.events.length, 0), digest: r.traces.map((t) => t.digest).join('').slice(0, 64) } }));
  if (opts.trace) writeFileSync(opts.trace, toChromeTraceRuns(r.traces.map((t) => ({ name: t.stage, events: t.events })), { layout: 'sequential', metadata: { seed, generator: 'terracloak demo' } }));
  const exitCode = r.ok ? 0 : 1;
  if (opts.json) {
    return {
      exitCode,
      stdout: JSON.stringify({
        seed,
        ok: r.ok,
        summary: r.summary,
        stages: r.stages.map((s) => ({ id: s.id, title: s.title, ...s.data })),
        ...(opts.report ? { report: opts.report } : {}),
        ...(opts.trace ? { trace: opts.trace } : {}),
      }),
    };
  }
  const parts: string[] = [colour('bold', `terracloak demo (seed ${seed})`), ''];
  r.stages.forEach((s, i) => {
    parts.push(colour('bold', `${i + 1}. ${s.title}`));
    for (const l of s.lines) parts.push(`   ${l}`);
    parts.push('');
  });
  parts.push(colour('bold', 'Summary'));
  parts.push(table(['stage', 'mechanism', 'result', 'ok'], r.summary.map((s) => [s.stage, s.mechanism, s.result, s.ok ? colour('green', 'yes') : colour('red', 'NO')])));
  if (opts.report) parts.push('', `report: ${opts.report}`);
  if (opts.trace) parts.push(`trace:  ${opts.trace} (open in https://ui.perfetto.dev)`);
  return { exitCode, stdout: parts.join('\n') };
}
