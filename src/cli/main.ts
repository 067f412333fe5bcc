#!/usr/bin/env node
/**
 * The `terracloak` command line. Subcommands each take `--help` and `--json`.
 * Exit codes: 0 success; 1 the command ran and found a failure (a check failed, an attack leaked,
 * a verification failed); 2 usage error (bad flag, missing argument, invalid input file);
 * 3 internal error (a bug: please report it).
 */
import { parseArgs, UsageError, type OptionSpec } from './args.js';
import type { CommandResult } from './commands.js';

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: OptionSpec;
  run(positionals: string[], opts: Record<string, string | number | boolean | undefined>): Promise<CommandResult>;
}

const COMMANDS: Record<string, Command> = {
  demo: {
    summary: 'the flagship demo: attestation, cloaking under a compromised kernel, memory overcommit, dedup, vIC',
    usage: 'terracloak demo [--seed N] [--report FILE.html] [--trace FILE.json] [--json]',
    options: { seed: 'int', report: 'string', trace: 'string', json: 'bool' },
    async run(_p, o) {
      const { cmdDemo } = await import('./demo.js');
      return cmdDemo({ seed: o.seed as number | undefined, report: o.report as string | undefined, trace: o.trace as string | undefined, json: o.json === true });
    },
  },
  run: {
    summary: 'run a scenario file (JSON or YAML)',
    usage: 'terracloak run SCENARIO.(json|yaml) [--seed N] [--report FILE.html] [--trace FILE.json] [--json]',
    options: { seed: 'int', report: 'string', trace: 'string', json: 'bool' },
    async run(p, o) {
      if (p.length !== 1) throw new UsageError('run needs exactly one scenario file');
      const { cmdRun } = await import('./run-scenario.js');
      return cmdRun(p[0], { seed: o.seed as number | undefined, report: o.report as string | undefined, trace: o.trace as string | undefined, json: o.json === true });
    },
  },
  experiments: {
    summary: "reproduce the papers' experiments: list, or run <id|all>",
    usage: 'terracloak experiments list [--json]\nterracloak experiments run <id|all> [--seed N] [--quick] [--json]',
    options: { json: 'bool', seed: 'int', quick: 'bool' },
    async run(p, o) {
      const { cmdExperiments } = await import('./commands.js');
      return cmdExperiments(p, { json: o.json === true, seed: o.seed as number | undefined, quick: o.quick === true });
    },
  },
  attacks: {
    summary: 'run the threat-catalogue scenarios (exit 1 if any leaks)',
    usage: 'terracloak attacks [--only ID,ID] [--seed N] [--json]',
    options: { json: 'bool', only: 'string', seed: 'int' },
    async run(_p, o) {
      const { cmdAttacks } = await import('./commands.js');
      return cmdAttacks({ json: o.json === true, only: o.only as string | undefined, seed: o.seed as number | undefined });
    },
  },
};

/** Registers a command (used by area modules that add CLI commands). */
export function registerCommand(name: string, c: Command): void {
  COMMANDS[name] = c;
}

function help(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'terracloak — a simulated trusted VMM (Terra, Overshadow, ESX memory, DeDe, vIC)',
    '',
    'usage: terracloak <command> [options]   (terracloak <command> --help for more)',
    '',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`),
    '',
    'exit codes: 0 ok, 1 a check failed, 2 usage error, 3 internal error',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[], out = (s: string) => process.stdout.write(s), err = (s: string) => process.stderr.write(s)): Promise<number> {
  await import('./extra-commands.js');
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    out('terracloak 0.1.0\n');
    return 0;
  }
  const cmd = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    err(`terracloak: unknown command ${JSON.stringify(name)}\n\n${help()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out(`${cmd.usage}\n\n${cmd.summary}\n`);
    return 0;
  }
  try {
    const { positionals, opts } = parseArgs(rest, cmd.options);
    const r = await cmd.run(positionals, opts);
    if (r.stdout) out(r.stdout.endsWith('\n') ? r.stdout : r.stdout + '\n');
    return r.exitCode;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`terracloak ${name}: ${e.message}\nusage: ${cmd.usage}\n`);
      return 2;
    }
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    err(`terracloak ${name}: internal error: ${msg}\n`);
    if (process.env.TERRACLOAK_DEBUG && e instanceof Error) err(`${e.stack}\n`);
    return 3;
  }
}

const isMain = process.argv[1] !== undefined && /(?:cli[\\/]main\.(?:ts|js)|bin[\\/]terracloak(?:\.js)?)$/.test(process.argv[1]);
if (isMain) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
