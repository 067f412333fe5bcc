/**
 * Each adversary kind against a cloaked target is blocked or detected; the same attack against the
 * same program run UNcloaked is judged LEAKED — so the judge can fail, and its verdict comes from
 * evidence (what the kernel read, what the app saw), not from the configuration.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateScenario, type AdversaryKind, type Scenario, type ScenarioInput } from '../../src/scenario/index.js';
import { runScenario, ScenarioRunError } from '../../src/runner/index.js';
import { cmdRun } from '../../src/cli/run-scenario.js';
import { UsageError } from '../../src/cli/args.js';
import type { AttackRow } from '../../src/report/index.js';

function scenario(input: ScenarioInput): Scenario {
  const r = validateScenario(input);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

/** One VM running a cloaked compute job attacked by `kind` at 10 ms; `cloaked: false` bypasses the schema's rule to prove the judge can say LEAKED. */
function attack(kind: AdversaryKind, cloaked: boolean, vm: Partial<ScenarioInput['vms'][number]> = {}): AttackRow {
  const s = scenario({
    version: 1, name: 'adv', seed: 3, durationMs: 50,
    hosts: [{ name: 'h', machineMiB: 128 }],
    vms: [{ name: 'v', kind: 'open-box', memoryMiB: 32, programs: [{ name: 'compute', argv: ['200'], cloaked: true }], ...vm }],
    adversaries: [{ kind, vm: 'v', target: 'compute', atMs: 10 }],
    measure: ['attacks'],
  });
  const copy = structuredClone(s);
  copy.vms[0].programs[0].cloaked = cloaked;
  const rows = runScenario(copy).report.attacks!;
  expect(rows).toHaveLength(1);
  return rows[0];
}

const KERNEL_KINDS: readonly [AdversaryKind, 'blocked' | 'detected'][] = [
  ['rootkit-dump', 'blocked'],
  ['bit-flip', 'detected'],
  ['page-replay', 'detected'],
  ['page-flip', 'detected'],
  ['swap-substitute', 'detected'],
  ['first-touch-inject', 'blocked'],
  ['register-tamper', 'blocked'],
  ['syscall-lie', 'detected'],
  ['mgmt-inspect', 'blocked'],
];

describe('staged adversaries', () => {
  for (const [kind, expected] of KERNEL_KINDS) {
    it(`${kind}: ${expected} against a cloaked target, LEAKED against the same program uncloaked`, () => {
      const c = attack(kind, true);
      expect(c.outcome, c.detail).toBe(expected);
      const u = attack(kind, false);
      expect(u.outcome, u.detail).toBe('LEAKED');
    });
  }

  it('rootkit-dump against an uncloaked program finds the secret plaintext in the kernel view', () => {
    expect(attack('rootkit-dump', false).detail).toContain('contains its secret plaintext');
  });

  it('mgmt-inspect: a closed-box VM refuses inspection (audit event), an open-box VM without a cloaked target is read', () => {
    const closed = attack('mgmt-inspect', false, { kind: 'closed-box' });
    expect(closed.outcome).toBe('blocked');
    expect(closed.detail).toContain('ISOLATION_VIOLATION');
    const s = scenario({ version: 1, name: 'm', durationMs: 20, hosts: [{ name: 'h', machineMiB: 64 }], vms: [{ name: 'v', kind: 'open-box', memoryMiB: 16 }], adversaries: [{ kind: 'mgmt-inspect', vm: 'v', atMs: 5 }], measure: ['attacks'] });
    const r = runScenario(s);
    expect(r.report.attacks![0].outcome).toBe('LEAKED');
    expect(r.ok).toBe(false);
  });

  it('disk-tamper: detected on a sealed (encrypted) disk, LEAKED on a raw one', () => {
    const run = (encrypted: boolean) => runScenario(scenario({
      version: 1, name: 'd', durationMs: 20, hosts: [{ name: 'h', machineMiB: 64 }],
      vms: [{ name: 'v', kind: 'closed-box', memoryMiB: 16, disks: [{ name: 'data', sizeMiB: 2, encrypted }] }],
      adversaries: [{ kind: 'disk-tamper', vm: 'v', atMs: 5 }], measure: ['attacks'],
    })).report.attacks![0];
    expect(run(true).outcome).toBe('detected');
    expect(run(false).outcome).toBe('LEAKED');
  });

  it('balloon-hog: the hog runs no balloon driver and is held to its max by the memory manager', () => {
    const r = runScenario(scenario({
      version: 1, name: 'b', durationMs: 400, hosts: [{ name: 'h', machineMiB: 48 }],
      vms: [
        { name: 'hog', kind: 'open-box', memoryMiB: 32, maxMiB: 24, programs: [{ name: 'idle', argv: ['300'] }] },
        { name: 'work', kind: 'open-box', memoryMiB: 32, programs: [{ name: 'memhog', argv: ['20', 'unique', '200'] }] },
      ],
      adversaries: [{ kind: 'balloon-hog', vm: 'hog', atMs: 50 }], measure: ['attacks', 'ballooning'],
    }));
    const row = r.report.attacks![0];
    expect(row.outcome, row.detail).toBe('blocked');
    const hog = (r.measurements.ballooning as { vm: string; driver: unknown; peakBalloonMiB: number }[]).find((b) => b.vm === 'hog')!;
    expect(hog.driver).toBeNull();
    expect(hog.peakBalloonMiB).toBe(0);
  });

  it('a scenario the runner cannot run as written fails with the field path', () => {
    const s = scenario({ version: 1, name: 'x', durationMs: 20, hosts: [{ name: 'h', machineMiB: 64 }], vms: [{ name: 'v', kind: 'open-box', memoryMiB: 16 }], adversaries: [{ kind: 'syscall-lie', vm: 'v', atMs: 1 }] });
    expect(() => runScenario(s)).toThrow(ScenarioRunError);
    expect(() => runScenario(s)).toThrow(/adversaries\[0\]\.target/);
  });
});

describe('terracloak run (CLI level)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'terracloak-runner-'));

  it('a wrong field exits 2 naming it, in text and in --json', async () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ version: 1, name: 'bad', durationMs: 10, hosts: 'not-a-list', vms: [] }));
    await expect(cmdRun(f, {})).rejects.toThrow(UsageError);
    await expect(cmdRun(f, {})).rejects.toThrow(/hosts/);
    const j = await cmdRun(f, { json: true });
    expect(j.exitCode).toBe(2);
    expect(JSON.parse(j.stdout).errors.map((e: { path: string }) => e.path)).toContain('hosts');
  });

  it('a run error exits 2 with its path; a good file exits 0 with the same JSON for the same --seed', async () => {
    const bad = join(dir, 'lie.yaml');
    writeFileSync(bad, 'version: 1\nname: lie\ndurationMs: 10\nhosts: [{ name: h, machineMiB: 64 }]\nvms: [{ name: v, kind: open-box, memoryMiB: 16 }]\nadversaries: [{ kind: syscall-lie, vm: v }]\n');
    const r = await cmdRun(bad, { json: true });
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout).errors[0].path).toBe('adversaries[0].target');
    const a = await cmdRun('examples/scenarios/attested-closed-box.yaml', { json: true, seed: 9 });
    const b = await cmdRun('examples/scenarios/attested-closed-box.yaml', { json: true, seed: 9 });
    expect(a.exitCode).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(JSON.parse(a.stdout).seed).toBe(9);
  });
});
