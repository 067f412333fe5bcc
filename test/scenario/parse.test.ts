import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PROGRAMS } from '../../src/guest/index.js';
import { ADVERSARY_KINDS, formatScenarioIssues, MEASUREMENTS, parseScenario, scenarioFormatOf, validateScenario, type ScenarioInput } from '../../src/scenario/index.js';

const dir = fileURLToPath(new URL('../../examples/scenarios/', import.meta.url));

/** A minimal valid scenario. */
export function minimal(): ScenarioInput {
  return {
    version: 1,
    name: 'min',
    durationMs: 10,
    hosts: [{ name: 'h', machineMiB: 64 }],
    vms: [{ name: 'a', kind: 'open-box', memoryMiB: 16, programs: [{ name: 'vault', cloaked: true }] }],
  };
}

function messages(text: string, format: 'json' | 'yaml' = 'json'): string[] {
  const r = parseScenario(text, format);
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.error.map((e) => e.message);
}

describe('parseScenario', () => {
  it('accepts a minimal scenario and fills defaults', () => {
    const r = parseScenario(JSON.stringify(minimal()), 'json');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.seed).toBe(1);
    expect(r.value.measure).toEqual(['memory']);
    expect(r.value.adversaries).toEqual([]);
    expect(r.value.vms[0].shares).toBe(1000);
    expect(r.value.vms[0].programs[0]).toEqual({ name: 'vault', argv: [], cloaked: true, startMs: 0 });
  });

  it('names the field and what was expected for a wrong type (issue 7: {"hosts": "not-a-list"})', () => {
    const m = messages('{"hosts": "not-a-list"}');
    expect(m).toContain('hosts: expected an array, got string');
    expect(m).toContain('version: required: expected 1');
    expect(m).toContain('vms: required: expected an array');
  });

  it('names nested paths with indices', () => {
    const s = minimal() as Record<string, unknown>;
    s.vms = [{ name: 'a', kind: 'grey-box', memoryMiB: 16.5, programs: [{ name: 'x', argv: 'nope' }] }];
    const m = messages(JSON.stringify(s));
    expect(m).toContain('vms[0].kind: expected one of "open-box", "closed-box", got string "grey-box"');
    expect(m).toContain('vms[0].memoryMiB: expected an integer, got 16.5');
    expect(m).toContain('vms[0].programs[0].argv: expected an array, got string');
  });

  it('rejects unknown fields by name (typos do not pass silently)', () => {
    const s = { ...minimal(), hostz: [] };
    expect(messages(JSON.stringify(s))[0]).toMatch(/^\(root\): unknown field "hostz"/);
  });

  it('reports out-of-range numbers with the bound', () => {
    const s = minimal();
    const m = messages(JSON.stringify({ ...s, durationMs: 0, hosts: [{ name: 'h', machineMiB: 8 }] }));
    expect(m).toContain('durationMs: expected more than 0, got 0');
    expect(m).toContain('hosts[0].machineMiB: expected at least 16, got 8');
  });

  it('checks cross-field references', () => {
    const s = minimal();
    const m = messages(
      JSON.stringify({
        ...s,
        vms: [
          { name: 'a', host: 'nohost', kind: 'open-box', memoryMiB: 16, minMiB: 20, programs: [{ name: 'plain' }] },
          { name: 'a', kind: 'closed-box', memoryMiB: 16, maxMiB: 32 },
        ],
        adversaries: [
          { kind: 'rootkit-dump', vm: 'a', target: 'plain' },
          { kind: 'page-flip', vm: 'ghost', target: 'x' },
          { kind: 'bit-flip', vm: 'a' },
          { kind: 'mgmt-inspect', vm: 'a', atMs: 10 },
        ],
        measure: ['attestation', 'memory', 'memory'],
      }),
    );
    expect(m).toContain('vms[1].name: duplicate VM name "a"');
    expect(m).toContain('vms[0].host: expected one of the hosts [h], got "nohost"');
    expect(m).toContain('vms[0].minMiB: expected at most memoryMiB (16), got 20');
    expect(m).toContain('vms[1].maxMiB: expected at most memoryMiB (16), got 32');
    expect(m).toContain('adversaries[0].target: expected a cloaked program (rootkit-dump attacks a cloaked app), but plain is not cloaked');
    expect(m).toContain('adversaries[1].vm: expected one of the VMs [a, a], got "ghost"');
    expect(m.some((x) => x.startsWith('adversaries[2].target: expected the name of a cloaked program'))).toBe(true);
    expect(m).toContain('adversaries[3].atMs: expected less than durationMs (10), got 10');
    expect(m).toContain('measure: "attestation" needs a VM with attest: true');
    expect(m).toContain('measure: duplicate measurement "memory"');
  });

  it('refuses VMs whose minimum memory exceeds the host (admission control)', () => {
    const s = { ...minimal(), vms: [1, 2, 3, 4, 5].map((i) => ({ name: `v${i}`, kind: 'open-box', memoryMiB: 16, minMiB: 16 })) };
    expect(messages(JSON.stringify(s))).toContain(
      "hosts[0].machineMiB: the VMs' minMiB add up to 80 MiB, more than this host's 64 MiB (admission control would refuse them)",
    );
  });

  it('checks program names against a supplied library', () => {
    const r = parseScenario(JSON.stringify(minimal()), 'json', { programs: ['shell', 'idle'] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0].message).toBe('vms[0].programs[0].name: expected a built-in program (idle, shell), got "vault"');
    expect(parseScenario(JSON.stringify(minimal()), 'json', { programs: ['vault'] }).ok).toBe(true);
  });

  it('reports syntax errors for JSON and YAML', () => {
    expect(messages('{"version": 1,')[0]).toMatch(/^\(syntax\): expected valid JSON/);
    expect(messages('a: [1, 2\nb: {', 'yaml')[0]).toMatch(/^\(syntax\): expected valid YAML/);
    expect(messages('a: 1\na: 2', 'yaml')[0]).toMatch(/^\(syntax\): expected valid YAML/);
  });

  it('survives YAML alias bombs and absurd nesting', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill('*' + 'abcdefghij'[i]).join(', ')}]`)].join('\n');
    expect(messages(bomb, 'yaml')[0]).toMatch(/^\(syntax\)/);
    expect(messages('['.repeat(100_000) + ']'.repeat(100_000))[0]).toMatch(/^\(root\): expected a scenario object nested at most/);
    expect(messages('x'.repeat((1 << 20) + 1))[0]).toMatch(/^\(input\): expected at most/);
  });

  it('never throws on hostile arguments', () => {
    expect(parseScenario(42 as unknown as string, 'json').ok).toBe(false);
    expect(parseScenario('{}', 'toml' as 'json').ok).toBe(false);
    expect(validateScenario(Object.create(null)).ok).toBe(false);
    const proxy = new Proxy({}, { get() { throw new Error('boom'); }, ownKeys() { throw new Error('boom'); } });
    const r = validateScenario(proxy);
    expect(r.ok).toBe(false);
  });

  it('formats issues one per line, prefixed with the file', () => {
    const r = parseScenario('{"hosts": "not-a-list"}', 'json');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = formatScenarioIssues(r.error, 'bad.json');
    expect(text.split('\n').length).toBe(r.error.length);
    expect(text).toContain('bad.json: hosts: expected an array, got string');
  });

  it('maps file names to formats', () => {
    expect(scenarioFormatOf('a.JSON')).toBe('json');
    expect(scenarioFormatOf('a.yml')).toBe('yaml');
    expect(scenarioFormatOf('a.yaml')).toBe('yaml');
    expect(scenarioFormatOf('a.toml')).toBeUndefined();
  });
});

describe('examples/scenarios', () => {
  const files = readdirSync(dir).filter((f) => scenarioFormatOf(f)).sort();
  it('has at least five, in both formats', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(files.some((f) => f.endsWith('.json'))).toBe(true);
    expect(files.some((f) => f.endsWith('.yaml'))).toBe(true);
  });
  for (const f of files) {
    it(`${f} is valid and uses only built-in programs`, () => {
      const r = parseScenario(readFileSync(dir + f, 'utf8'), scenarioFormatOf(f)!, { programs: Object.keys(BUILTIN_PROGRAMS) });
      expect(r.ok ? [] : r.error.map((e) => e.message)).toEqual([]);
    });
  }
  it('together they cover every required story', () => {
    const all = files.map((f) => parseScenario(readFileSync(dir + f, 'utf8'), scenarioFormatOf(f)!)).map((r) => (r.ok ? r.value : undefined));
    const adversaries = new Set(all.flatMap((s) => s?.adversaries.map((a) => a.kind) ?? []));
    const measures = new Set(all.flatMap((s) => s?.measure ?? []));
    for (const m of ['memory', 'sharing', 'ballooning', 'interrupts', 'dedup', 'attacks', 'attestation'] as const) expect(measures).toContain(m);
    expect(adversaries).toContain('rootkit-dump');
    expect(all.some((s) => s?.vms.some((v) => v.kind === 'closed-box' && v.attest))).toBe(true);
    expect(all.some((s) => s?.vms.some((v) => v.programs.some((p) => p.cloaked)))).toBe(true);
    expect(ADVERSARY_KINDS.length).toBeGreaterThan(4);
    expect(MEASUREMENTS).toContain('trace');
  });
});
