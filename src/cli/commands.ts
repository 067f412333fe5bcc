/** The `experiments` and `attacks` commands over the registries. */
import { ATTACKS, type AttackReport } from '../attacks/index.js';
import { EXPERIMENTS, findExperiment } from '../experiments/index.js';
import { colour, progress, progressDone, table } from './io.js';
import { UsageError } from './args.js';

/** What a command returns: the exit code and what to print on stdout. */
export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
}

/** `terracloak experiments list|run`. */
export async function cmdExperiments(positionals: string[], opts: { json?: boolean; seed?: number; quick?: boolean }): Promise<CommandResult> {
  const [sub, id] = positionals;
  if (sub === 'list' || sub === undefined) {
    const rows = EXPERIMENTS.map((e) => ({ id: e.id, title: e.title, paper: e.paper }));
    return { exitCode: 0, stdout: opts.json ? JSON.stringify(rows) : table(['id', 'title', 'paper'], rows.map((r) => [r.id, r.title, r.paper])) };
  }
  if (sub === 'run') {
    if (!id) throw new UsageError('experiments run needs an experiment id (see `terracloak experiments list`)');
    const targets = id === 'all' ? EXPERIMENTS : [findExperiment(id)].filter((e) => e !== undefined);
    if (targets.length === 0) throw new UsageError(`unknown experiment ${JSON.stringify(id)}; known: ${EXPERIMENTS.map((e) => e.id).join(', ')}`);
    const results = [];
    for (const e of targets) {
      progress(`running ${e.id}…`);
      results.push(await e.run({ seed: opts.seed ?? 1, quick: opts.quick ?? false }));
    }
    progressDone();
    if (opts.json) return { exitCode: 0, stdout: JSON.stringify(id === 'all' ? results : results[0]) };
    const text = results
      .map((r) => [colour('bold', r.id), `  paper: ${JSON.stringify(r.paper)}`, `  ours:  ${JSON.stringify(r.ours)}`, ...(r.notes ? [`  notes: ${r.notes}`] : [])].join('\n'))
      .join('\n\n');
    return { exitCode: 0, stdout: text };
  }
  throw new UsageError(`unknown experiments subcommand ${JSON.stringify(sub)} (use list or run)`);
}

/** `terracloak attacks [--only IDS] [--json]`: runs the threat catalogue scenarios; exit 1 if any leaks. */
export async function cmdAttacks(opts: { json?: boolean; only?: string; seed?: number }): Promise<CommandResult> {
  let list = ATTACKS;
  if (opts.only) {
    const want = opts.only.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
    const unknown = want.filter((w) => !ATTACKS.some((a) => a.id.toUpperCase() === w));
    if (unknown.length) throw new UsageError(`unknown scenario id(s): ${unknown.join(', ')}`);
    list = ATTACKS.filter((a) => want.includes(a.id.toUpperCase()));
  }
  const rows: { id: string; area: string; attack: string; expected: string; outcome: string; detail: string }[] = [];
  for (const a of list) {
    progress(`${a.id}…`);
    let r: AttackReport;
    try {
      r = await a.run(opts.seed ?? 1);
    } catch (e) {
      r = { outcome: 'LEAKED', detail: `scenario failed to run: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
    }
    rows.push({ id: a.id, area: a.area, attack: a.attack, expected: a.expected, outcome: r.outcome, detail: r.detail });
  }
  progressDone();
  const bad = rows.filter((r) => r.outcome !== 'blocked' && r.outcome !== 'detected');
  const exitCode = bad.length ? 1 : 0;
  if (opts.json) return { exitCode, stdout: JSON.stringify(rows.map(({ id, area, outcome, detail }) => ({ id, area, outcome, detail }))) };
  const paint = (o: string) => (o === 'LEAKED' ? colour('red', o) : colour('green', o));
  const text = table(['id', 'area', 'attack', 'expected', 'outcome'], rows.map((r) => [r.id, r.area, r.attack, r.expected, paint(r.outcome)]));
  return { exitCode, stdout: `${text}\n\n${rows.length - bad.length}/${rows.length} scenarios blocked or detected${bad.length ? `; LEAKED: ${bad.map((b) => b.id).join(', ')}` : ''}` };
}
