import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseScenario, validateScenario } from '../../src/scenario/index.js';

const valid = {
  version: 1,
  name: 'fuzz',
  seed: 3,
  durationMs: 100,
  hosts: [{ name: 'h', machineMiB: 256, memory: { sharing: true }, storage: { dedup: true, vic: { maxCif: 4 } } }],
  vms: [
    { name: 'a', kind: 'open-box', memoryMiB: 32, minMiB: 8, disks: [{ name: 'd', sizeMiB: 4 }], programs: [{ name: 'vault', cloaked: true, argv: ['x'] }] },
    { name: 'b', kind: 'closed-box', memoryMiB: 32, attest: true },
  ],
  adversaries: [{ kind: 'rootkit-dump', vm: 'a', target: 'vault', atMs: 5 }],
  measure: ['memory', 'attacks', 'attestation'],
};

/** Checks the result shape: ok with a value, or a non-empty list of path-naming messages. */
function wellFormed(r: ReturnType<typeof parseScenario>): void {
  if (r.ok) {
    expect(typeof r.value.name).toBe('string');
    return;
  }
  expect(r.error.length).toBeGreaterThan(0);
  for (const e of r.error) {
    expect(typeof e.path).toBe('string');
    expect(e.path.length).toBeGreaterThan(0);
    expect(e.message).toBe(`${e.path}: ${e.expected}`);
    expect(e.message).not.toMatch(/\n\s+at /); // never a stack trace
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Replaces the value at a random path of `v` with `x` (or deletes the key when x is undefined). */
function mutate(v: Json, steps: number[], x: Json | undefined): Json {
  if (steps.length === 0 || v === null || typeof v !== 'object') return x === undefined ? null : x;
  const [s, ...rest] = steps;
  if (Array.isArray(v)) {
    if (v.length === 0) return x ?? null;
    const i = s % v.length;
    const c = v.slice();
    if (rest.length === 0 && x === undefined) c.splice(i, 1);
    else c[i] = mutate(c[i], rest, x);
    return c;
  }
  const keys = Object.keys(v).sort();
  if (keys.length === 0) return x ?? null;
  const k = keys[s % keys.length];
  const c = { ...v };
  if (rest.length === 0 && x === undefined) delete c[k];
  else c[k] = mutate(c[k], rest, x);
  return c;
}

describe('parseScenario never crashes (fast-check, fixed seeds)', () => {
  it('random strings as JSON and YAML', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400, unit: 'binary' }), fc.constantFrom('json' as const, 'yaml' as const), (s, f) => wellFormed(parseScenario(s, f))),
      { seed: 7, numRuns: 1500 },
    );
  });

  it('YAML-ish strings built from YAML syntax characters', () => {
    const tok = fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '&x', '*x', '!!', '|', '>', '"', "'", '#', '?', ',', '%YAML 1.2', '---', '<<', '  ');
    fc.assert(fc.property(fc.array(tok, { maxLength: 80 }), (t) => wellFormed(parseScenario(t.join(''), 'yaml'))), { seed: 11, numRuns: 1500 });
  });

  it('random JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        wellFormed(parseScenario(JSON.stringify(v), 'json'));
        wellFormed(validateScenario(v));
      }),
      { seed: 13, numRuns: 1000 },
    );
  });

  it('mutated valid scenarios give path-naming errors (or stay valid)', () => {
    expect(validateScenario(valid).ok).toBe(true);
    const replacement = fc.oneof(
      fc.constant(undefined),
      fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
      fc.constantFrom<Json>(-1, 0, 1e308, 0.5, '', 'open-box', [], {}, null, true, '__proto__'),
    );
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 5 }), replacement, fc.constantFrom('json' as const, 'yaml' as const), (path, x, f) => {
        const m = mutate(valid as unknown as Json, path, x);
        const text = f === 'json' ? JSON.stringify(m) : stringify(m);
        const r = parseScenario(text, f);
        wellFormed(r);
        if (!r.ok) expect(r.error.some((e) => e.path !== '(syntax)')).toBe(true);
      }),
      { seed: 17, numRuns: 2000 },
    );
  });

  it('objects with hostile keys', () => {
    for (const k of ['__proto__', 'constructor', 'prototype', 'toString', '']) {
      const r = parseScenario(`{"${k}": {"polluted": true}, "version": 1}`, 'json');
      wellFormed(r);
      expect(r.ok).toBe(false);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });
});
