/**
 * Random small valid scenarios (fast-check) either run to a result with every requested
 * measurement or fail with a ScenarioRunError naming a field — never with any other exception —
 * and run deterministically.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ADVERSARY_KINDS, MEASUREMENTS, validateScenario, type ScenarioInput } from '../../src/scenario/index.js';
import { runScenario, ScenarioRunError } from '../../src/runner/index.js';

const PROGRAMS: readonly [string, string[]][] = [
  ['compute', ['100']], ['syscall-heavy', ['5']], ['memhog', ['1', 'dup', '5']], ['idle', ['2']], ['file-io', ['f.bin', '4']], ['fork-exec', []],
];

const program = fc.record({
  p: fc.constantFrom(...PROGRAMS),
  cloaked: fc.boolean(),
  startMs: fc.integer({ min: 0, max: 15 }),
});

const scenarioArb = fc.record({
  seed: fc.integer({ min: 0, max: 1000 }),
  hosts: fc.integer({ min: 1, max: 2 }),
  storage: fc.option(fc.record({
    dedup: fc.boolean(),
    dedupIntervalMs: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
    vic: fc.option(fc.record({ enabled: fc.boolean(), maxCif: fc.integer({ min: 1, max: 64 }) }), { nil: undefined }),
  }), { nil: undefined }),
  vms: fc.array(fc.record({
    host: fc.integer({ min: 0, max: 1 }),
    kind: fc.constantFrom('open-box' as const, 'closed-box' as const),
    memoryMiB: fc.integer({ min: 1, max: 24 }),
    image: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    attest: fc.boolean(),
    disk: fc.boolean(),
    diskImage: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    encrypted: fc.option(fc.boolean(), { nil: undefined }),
    programs: fc.array(program, { maxLength: 2 }),
  }), { minLength: 1, maxLength: 3 }),
  adversaries: fc.array(fc.record({ kind: fc.constantFrom(...ADVERSARY_KINDS), vm: fc.nat(), target: fc.nat(), atMs: fc.integer({ min: 0, max: 15 }) }), { maxLength: 3 }),
  measure: fc.subarray([...MEASUREMENTS]),
});

describe('runner fuzz', () => {
  it('valid random scenarios run or fail with a ScenarioRunError, deterministically', () => {
    let ran = 0;
    fc.assert(
      fc.property(scenarioArb, (g) => {
        const storage = g.storage && { dedup: g.storage.dedup, ...(g.storage.dedupIntervalMs !== undefined ? { dedupIntervalMs: g.storage.dedupIntervalMs } : {}), ...(g.storage.vic ? { vic: g.storage.vic } : {}) };
        const hosts = Array.from({ length: g.hosts }, (_, i) => ({ name: `h${i}`, machineMiB: 64, ...(storage ? { storage } : {}) }));
        const vms = g.vms.map((v, i) => ({
          name: `v${i}`, host: `h${Math.min(v.host, g.hosts - 1)}`, kind: v.kind, memoryMiB: v.memoryMiB,
          ...(v.image ? { image: v.image } : {}), attest: v.attest && v.image !== undefined,
          disks: v.disk ? [{ name: 'd', sizeMiB: 1, ...(v.diskImage ? { image: v.diskImage } : {}), ...(v.encrypted !== undefined ? { encrypted: v.encrypted } : {}) }] : [],
          programs: v.programs.map((p, j) => ({ name: p.p[0], argv: p.p[1], cloaked: p.cloaked, startMs: j === 0 ? 0 : p.startMs })).filter((p, j, a) => a.findIndex((q) => q.name === p.name) === j),
        }));
        const adversaries = g.adversaries.map((a) => {
          const vm = vms[a.vm % vms.length];
          const t = vm.programs.length ? vm.programs[a.target % vm.programs.length] : undefined;
          return { kind: a.kind, vm: vm.name, atMs: a.atMs, ...(t ? { target: t.name } : {}) };
        });
        const input: ScenarioInput = { version: 1, name: 'fuzz', seed: g.seed, durationMs: 20, hosts, vms, adversaries, measure: g.measure };
        const v = validateScenario(input);
        if (!v.ok) return; // the parser's own fuzz test covers invalid input
        let a;
        try {
          a = runScenario(v.value);
        } catch (e) {
          expect(e).toBeInstanceOf(ScenarioRunError);
          expect((e as ScenarioRunError).path).toMatch(/^(vms|adversaries|measure|hosts)/);
          return;
        }
        ran++;
        expect(Object.keys(a.measurements).sort()).toEqual([...v.value.measure].sort());
        expect(runScenario(v.value).digest).toBe(a.digest);
      }),
      { numRuns: 30, seed: 42 },
    );
    expect(ran).toBeGreaterThan(5);
  }, 120_000);
});
