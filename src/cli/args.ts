/**
 * A small, strict argument parser for the CLI: `--flag`, `--key value`, `--key=value`,
 * positionals. Unknown flags are errors that name the flag (exit code 2).
 */

/** A usage error: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Declares a command's options: name → 'bool' | 'string' | 'int'. */
export type OptionSpec = Record<string, 'bool' | 'string' | 'int'>;

/** Parsed arguments. */
export interface Parsed {
  readonly positionals: string[];
  readonly opts: Record<string, string | number | boolean | undefined>;
}

/** Parses argv against a spec; throws UsageError naming the bad argument. */
export function parseArgs(argv: readonly string[], spec: OptionSpec): Parsed {
  const positionals: string[] = [];
  const opts: Record<string, string | number | boolean | undefined> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq >= 0 ? eq : undefined);
    const kind = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'bool') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      opts[name] = true;
      continue;
    }
    const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined || (eq < 0 && v.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    if (kind === 'int') {
      if (!/^\d{1,15}$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
      opts[name] = Number(v);
    } else opts[name] = v;
  }
  return { positionals, opts };
}
