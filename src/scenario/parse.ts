/**
 * Parsing scenario files: JSON or YAML text → a validated {@link Scenario}, or a list of issues
 * that each name the field path and say what was expected (`hosts: expected an array, got
 * string`). Never throws on any input: oversized, deeply nested, alias-bombed or hostile text all
 * come back as issues.
 */
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import type { Result } from '../sim/result.js';
import { ScenarioSchema, type Scenario } from './schema.js';

/** A scenario file format. */
export type ScenarioFormat = 'json' | 'yaml';

/** One problem with a scenario file. */
export interface ScenarioIssue {
  /** Field path, e.g. `vms[0].memoryMiB`; `(root)` for the whole document; `(syntax)` for parse errors. */
  readonly path: string;
  /** What was expected and what was found, e.g. `expected an array, got string`. */
  readonly expected: string;
  /** `path: expected` — ready to print. */
  readonly message: string;
}

/** Options for {@link parseScenario}. */
export interface ParseScenarioOptions {
  /** Names of the built-in programs; when given, every program name must be one of them. */
  readonly programs?: readonly string[];
}

/** Largest scenario file accepted (characters). */
export const MAX_SCENARIO_CHARS = 1 << 20;
const MAX_ISSUES = 50;
const MAX_DEPTH = 64;

const ARTICLE: Record<string, string> = {
  array: 'an array', object: 'an object', string: 'a string', number: 'a number', int: 'an integer',
  boolean: 'a boolean', null: 'null', undefined: 'a value', bigint: 'a bigint',
};

/** Describes a JSON-ish value's type for messages (`null`, `array`, `string`, …). */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isInteger(v)) return Number.isFinite(v) ? `number ${v}` : String(v);
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'string') return v.length <= 40 ? `string ${JSON.stringify(v)}` : 'string';
  return typeof v;
}

function kindName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Formats a path as `a.b[0].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else {
      const k = String(p);
      s += /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? (s ? '.' : '') + k : `[${JSON.stringify(k)}]`;
    }
  }
  return s;
}

function at(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(v, p as PropertyKey)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p as PropertyKey];
  }
  return v;
}

function show(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
}

function describeIssue(i: z.core.$ZodIssue, input: unknown): string {
  const value = at(input, i.path);
  switch (i.code) {
    case 'invalid_type': {
      const exp = ARTICLE[i.expected] ?? i.expected;
      if (value === undefined && !hasKey(input, i.path)) return `required: expected ${exp}`;
      return `expected ${exp}, got ${i.expected === 'int' && typeof value === 'number' ? `${value}` : kindName(value)}`;
    }
    case 'invalid_value':
      if (value === undefined && !hasKey(input, i.path)) return `required: expected ${i.values.map(show).join(' or ')}`;
      return i.values.length === 1 ? `expected ${show(i.values[0])}, got ${kindOf(value)}` : `expected one of ${i.values.map(show).join(', ')}, got ${kindOf(value)}`;
    case 'too_small': {
      const min = Number(i.minimum);
      if (i.origin === 'array') return `expected at least ${min} item${min === 1 ? '' : 's'}, got ${Array.isArray(value) ? value.length : 0}`;
      if (i.origin === 'string') return `expected at least ${min} character${min === 1 ? '' : 's'}`;
      return `expected ${i.inclusive === false ? 'more than' : 'at least'} ${min}, got ${show(value)}`;
    }
    case 'too_big': {
      const max = Number(i.maximum);
      if (i.origin === 'array') return `expected at most ${max} items, got ${Array.isArray(value) ? value.length : '?'}`;
      if (i.origin === 'string') return `expected at most ${max} characters`;
      return `expected ${i.inclusive === false ? 'less than' : 'at most'} ${max}, got ${show(value)}`;
    }
    case 'unrecognized_keys':
      return `unknown field${i.keys.length === 1 ? '' : 's'} ${i.keys.map((k) => JSON.stringify(k)).join(', ')} (check the spelling; see docs/scenarios.md)`;
    case 'invalid_format':
      return i.message.startsWith('expected') ? `${i.message}, got ${show(value)}` : `expected ${i.format}, got ${show(value)}`;
    case 'custom':
      return i.message;
    default:
      return i.message;
  }
}

function hasKey(root: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return true;
  const parent = at(root, path.slice(0, -1));
  return parent !== null && typeof parent === 'object' && Object.prototype.hasOwnProperty.call(parent, path[path.length - 1] as PropertyKey);
}

function issue(path: string, expected: string): ScenarioIssue {
  return { path, expected, message: `${path}: ${expected}` };
}

function depthOk(v: unknown): boolean {
  // Iterative walk: no recursion, so no stack overflow on adversarial nesting.
  const stack: [unknown, number][] = [[v, 0]];
  let visited = 0;
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (++visited > 2_000_000) return false;
    if (x === null || typeof x !== 'object') continue;
    if (d > MAX_DEPTH) return false;
    for (const c of Object.values(x as object)) stack.push([c, d + 1]);
  }
  return true;
}

/** Validates an already-parsed value (e.g. from JSON.parse) as a scenario. Never throws. */
export function validateScenario(value: unknown, opts: ParseScenarioOptions = {}): Result<Scenario, ScenarioIssue[]> {
  try {
    if (!depthOk(value)) return { ok: false, error: [issue('(root)', `expected a scenario object nested at most ${MAX_DEPTH} levels deep`)] };
    const r = ScenarioSchema.safeParse(value);
    if (!r.success) {
      const seen = new Set<string>();
      const out: ScenarioIssue[] = [];
      for (const i of r.error.issues) {
        const it = issue(formatPath(i.path), describeIssue(i, value));
        if (seen.has(it.message)) continue;
        seen.add(it.message);
        out.push(it);
        if (out.length >= MAX_ISSUES) break;
      }
      return { ok: false, error: out };
    }
    const programs = opts.programs;
    if (programs !== undefined) {
      const known = new Set(programs);
      const bad: ScenarioIssue[] = [];
      r.data.vms.forEach((vm, i) =>
        vm.programs.forEach((p, j) => {
          if (!known.has(p.name)) bad.push(issue(formatPath(['vms', i, 'programs', j, 'name']), `expected a built-in program (${[...known].sort().join(', ')}), got ${JSON.stringify(p.name)}`));
        }),
      );
      if (bad.length) return { ok: false, error: bad.slice(0, MAX_ISSUES) };
    }
    return { ok: true, value: r.data };
  } catch (e) {
    return { ok: false, error: [issue('(root)', `could not validate: ${e instanceof Error ? e.message : String(e)}`)] };
  }
}

/**
 * Parses scenario text in `format` and validates it. Returns `{ ok: true, value }` or
 * `{ ok: false, error: ScenarioIssue[] }`; never throws, whatever `text` and `format` are.
 */
export function parseScenario(text: string, format: ScenarioFormat, opts: ParseScenarioOptions = {}): Result<Scenario, ScenarioIssue[]> {
  try {
    if (typeof text !== 'string') return { ok: false, error: [issue('(input)', `expected the scenario text as a string, got ${kindName(text)}`)] };
    if (format !== 'json' && format !== 'yaml') return { ok: false, error: [issue('(input)', `expected format "json" or "yaml", got ${show(format)}`)] };
    if (text.length > MAX_SCENARIO_CHARS) return { ok: false, error: [issue('(input)', `expected at most ${MAX_SCENARIO_CHARS} characters, got ${text.length}`)] };
    let value: unknown;
    if (format === 'json') {
      try {
        value = JSON.parse(text);
      } catch (e) {
        return { ok: false, error: [issue('(syntax)', `expected valid JSON: ${e instanceof Error ? e.message : String(e)}`)] };
      }
    } else {
      const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
      if (doc.errors.length) {
        return { ok: false, error: doc.errors.slice(0, MAX_ISSUES).map((e) => issue('(syntax)', `expected valid YAML: ${e.message.split('\n')[0]}`)) };
      }
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (e) {
        return { ok: false, error: [issue('(syntax)', `expected valid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`)] };
      }
    }
    return validateScenario(value, opts);
  } catch (e) {
    return { ok: false, error: [issue('(input)', `could not parse: ${e instanceof Error ? e.message : String(e)}`)] };
  }
}

/** The format implied by a file name (`.json`, `.yaml`, `.yml`), or undefined. */
export function scenarioFormatOf(fileName: string): ScenarioFormat | undefined {
  if (typeof fileName !== 'string') return undefined;
  const f = fileName.toLowerCase();
  if (f.endsWith('.json')) return 'json';
  if (f.endsWith('.yaml') || f.endsWith('.yml')) return 'yaml';
  return undefined;
}

/** Formats issues for a terminal: one `FILE: path: expected …` line each (no stack traces). */
export function formatScenarioIssues(issues: readonly ScenarioIssue[], file?: string): string {
  if (!Array.isArray(issues)) throw new TypeError('issues must be an array');
  return issues.map((i) => (file ? `${file}: ${i.message}` : i.message)).join('\n');
}
