/**
 * Red team: hostile scenario files for `terracloak run`. Prototype-pollution keys (`__proto__`,
 * `constructor.prototype`) in JSON and YAML, YAML merge keys, and names that collide with
 * Object.prototype members (`constructor`, `toString`, `hasOwnProperty`) used as host, VM and
 * program names. Expected (and found): the strict schema refuses unknown keys with a named issue,
 * nothing reaches Object.prototype, and the runner treats the names as plain strings (a built-in
 * lookup is own-property only), refusing an unknown program with ScenarioRunError, never a TypeError.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario, validateScenario } from '../../src/scenario/index.js';
import { runScenario, ScenarioRunError } from '../../src/runner/index.js';

const base = {
  version: 1, name: 'pollute', durationMs: 5,
  hosts: [{ name: 'h', machineMiB: 64 }],
  vms: [{ name: 'v', kind: 'open-box', memoryMiB: 8 }],
};

function clean(): void {
  const probe = {} as Record<string, unknown>;
  for (const k of ['polluted', 'x', 'isAdmin', 'kind', 'machineMiB']) expect(probe[k], k).toBeUndefined();
  expect(Object.keys(Object.prototype)).toEqual([]);
}

describe('scenario files cannot pollute prototypes', () => {
  const jsonAttacks: Record<string, string> = {
    'root __proto__': JSON.stringify(base).replace('{', '{"__proto__":{"polluted":true},'),
    'host __proto__': JSON.stringify(base).replace('"name":"h"', '"__proto__":{"polluted":true},"name":"h"'),
    'vm __proto__ carrying a kind': JSON.stringify(base).replace('"name":"v"', '"__proto__":{"isAdmin":true,"kind":"closed-box"},"name":"v"'),
    'constructor.prototype': JSON.stringify({ ...base, constructor: { prototype: { polluted: true } } }),
    'memory __proto__': JSON.stringify({ ...base, hosts: [{ name: 'h', machineMiB: 64, memory: JSON.parse('{"__proto__":{"x":1}}') }] }),
  };
  for (const [what, text] of Object.entries(jsonAttacks)) {
    it(`JSON: ${what} is an unknown field, and nothing is polluted`, () => {
      const r = parseScenario(text, 'json');
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.some((i) => /unknown field/.test(i.expected))).toBe(true);
      clean();
    });
  }

  it('YAML: __proto__ keys and merge keys are refused or inert', () => {
    const yamls = [
      'version: 1\nname: p\ndurationMs: 5\n__proto__:\n  polluted: true\nhosts: [{name: h, machineMiB: 64}]\nvms: [{name: v, kind: open-box, memoryMiB: 8}]\n',
      'version: 1\nname: p\ndurationMs: 5\nbase: &b {polluted: true}\nhosts:\n  - <<: *b\n    name: h\n    machineMiB: 64\nvms: [{name: v, kind: open-box, memoryMiB: 8}]\n',
      'version: 1\nname: p\ndurationMs: 5\nhosts: [{name: h, machineMiB: 64, "__proto__": {machineMiB: 999999}}]\nvms: [{name: v, kind: open-box, memoryMiB: 8}]\n',
    ];
    for (const y of yamls) {
      const r = parseScenario(y, 'yaml');
      expect(r.ok, y).toBe(false);
      clean();
    }
  });

  it('an already-parsed object with an own __proto__ key is refused by validateScenario', () => {
    const v = JSON.parse(JSON.stringify(base).replace('{', '{"__proto__":{"polluted":true},'));
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    const r = validateScenario(v);
    expect(r.ok).toBe(false);
    clean();
  });

  it('Object.prototype member names as host, VM and program names: plain strings, never a TypeError', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const s = validateScenario({
        ...base,
        hosts: [{ name, machineMiB: 64 }],
        vms: [{ name, kind: 'open-box', memoryMiB: 8, host: name, programs: [{ name }] }],
      });
      expect(s.ok, name).toBe(true);
      if (!s.ok) continue;
      let err: unknown;
      try {
        runScenario(s.value);
      } catch (e) {
        err = e;
      }
      // `name` is not a built-in program: refused by name, as a scenario error.
      expect(err, name).toBeInstanceOf(ScenarioRunError);
      expect((err as ScenarioRunError).path).toBe('vms[0].programs[0].name');
      clean();
    }
  });
});
