/**
 * Scenario fields do at run time what the schema says: memory policy (sharing, ballooning, idle
 * tax, scan rate), VM shape (vcpus, images with a shared identity, attestation), delayed program
 * starts, and the catalogue fallback of the `attacks` measurement.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario, type Scenario, type ScenarioInput } from '../../src/scenario/index.js';
import { runScenario } from '../../src/runner/index.js';

function scenario(input: ScenarioInput): Scenario {
  const r = validateScenario(input);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

type Host = ScenarioInput['hosts'][number];
const dupVms = (n: number): ScenarioInput['vms'] =>
  Array.from({ length: n }, (_, i) => ({ name: `v${i}`, kind: 'open-box' as const, memoryMiB: 16, image: 'base', programs: [{ name: 'memhog', argv: ['8', 'dup', '150'] }] }));

function memRun(host: Partial<Host>, measure: ScenarioInput['measure'] = ['sharing', 'ballooning', 'memory']) {
  return runScenario(scenario({ version: 1, name: 'm', seed: 2, durationMs: 200, hosts: [{ name: 'h', machineMiB: 64, ...host }], vms: dupVms(3), measure }));
}

describe('scenario fields at run time', () => {
  it('memory.sharing: on merges the identical pages, off merges none', () => {
    const on = (memRun({}).measurements.sharing as { pages_sharing: number }[])[0];
    const off = (memRun({ memory: { sharing: false } }).measurements.sharing as { pages_sharing: number; enabled: boolean }[])[0];
    expect(on.pages_sharing).toBeGreaterThan(1000);
    expect(off.pages_sharing).toBe(0);
    expect(off.enabled).toBe(false);
  });

  it('memory.scanPagesPerSec: a slow scanner shares less in the same time; 0 stops it', () => {
    const fast = (memRun({ memory: { scanPagesPerSec: 200_000 } }).measurements.sharing as { pages_sharing: number }[])[0];
    const slow = (memRun({ memory: { scanPagesPerSec: 2_000 } }).measurements.sharing as { pages_sharing: number }[])[0];
    const none = (memRun({ memory: { scanPagesPerSec: 0 } }).measurements.sharing as { pages_sharing: number }[])[0];
    expect(slow.pages_sharing).toBeLessThan(fast.pages_sharing);
    expect(slow.pages_sharing).toBeLessThanOrEqual(2_000 * 0.2);
    expect(none.pages_sharing).toBe(0);
  });

  it('memory.ballooning: off means no balloon driver in the guests; memory.idleTax sets τ; cpus reach the host', () => {
    const r = memRun({ cpus: 3, memory: { ballooning: false, idleTax: 0.5 } });
    for (const b of r.measurements.ballooning as { driver: unknown; enabled: boolean }[]) {
      expect(b.driver).toBeNull();
      expect(b.enabled).toBe(false);
    }
    const host = (r.measurements.memory as { hosts: { idleTax: number; cpus: number }[] }).hosts[0];
    expect(host.idleTax).toBe(0.5);
    expect(host.cpus).toBe(3);
    const on = memRun({});
    expect((on.measurements.ballooning as { driver: unknown }[]).every((b) => b.driver !== null)).toBe(true);
  });

  it('vcpus reach the VM; VMs built from one image share an identity, another image does not', () => {
    const r = runScenario(scenario({
      version: 1, name: 'img', durationMs: 20, hosts: [{ name: 'h', machineMiB: 64 }],
      vms: [
        { name: 'a', kind: 'closed-box', memoryMiB: 8, vcpus: 2, image: 'golden', attest: true },
        { name: 'b', kind: 'closed-box', memoryMiB: 8, image: 'golden', attest: true },
        { name: 'c', kind: 'closed-box', memoryMiB: 8, image: 'other', attest: true },
      ],
      measure: ['attestation'],
    }));
    expect(r.vms.find((v) => v.name === 'a')!.vcpus).toBe(2);
    const att = r.measurements.attestation as { vm: string; identity: string; verified: boolean }[];
    expect(att.every((a) => a.verified)).toBe(true);
    const id = Object.fromEntries(att.map((a) => [a.vm, a.identity]));
    expect(id.a).toBe(id.b);
    expect(id.c).not.toBe(id.a);
  });

  it('programs[].startMs: the program starts no earlier than startMs (virtual)', () => {
    const r = runScenario(scenario({
      version: 1, name: 'late', durationMs: 80, hosts: [{ name: 'h', machineMiB: 64 }],
      vms: [{ name: 'v', kind: 'open-box', memoryMiB: 8, programs: [{ name: 'compute', argv: ['64'] }, { name: 'compute', argv: ['128'], startMs: 30 }] }],
      measure: ['trace'],
    }));
    const lines = r.events.filter((e) => e.kind === 'console' && /compute: \d+ iterations/.test(String((e.data as { line?: string })?.line)));
    expect(lines).toHaveLength(2);
    const early = lines.find((e) => String((e.data as { line: string }).line).includes('64 iterations'))!;
    const late = lines.find((e) => String((e.data as { line: string }).line).includes('128 iterations'))!;
    expect(early.t).toBeLessThan(30e6);
    expect(late.t).toBeGreaterThanOrEqual(30e6);
  });

  it('attacks with no adversary staged: the catalogue scenarios of the relevant areas run, and a note says so', () => {
    const r = runScenario(scenario({
      version: 1, name: 'cat', durationMs: 20, hosts: [{ name: 'h', machineMiB: 64 }],
      vms: [{ name: 'v', kind: 'open-box', memoryMiB: 16, programs: [{ name: 'compute', cloaked: true }] }],
      measure: ['attacks'],
    }));
    const ids = r.report.attacks!.map((a) => a.id);
    expect(ids).toContain('CLK-01');
    expect(ids.every((id) => id.startsWith('CLK-'))).toBe(true);
    expect(r.notes.some((n) => n.includes('threat-catalogue'))).toBe(true);
  }, 30_000);

  it('seed: the scenario seed drives the run (the sharing scanner samples pages at random); the same seed gives the same result', () => {
    const s = scenario({ version: 1, name: 'seeded', seed: 4, durationMs: 120, hosts: [{ name: 'h', machineMiB: 64, memory: { scanPagesPerSec: 20_000 } }], vms: dupVms(2), measure: ['sharing', 'memory'] });
    const json = (seed: number) => JSON.stringify(runScenario(s, { seed }).measurements);
    const a = json(4);
    expect(JSON.stringify(runScenario(s).measurements)).toBe(a);
    expect(json(5)).not.toBe(a);
  });
});
