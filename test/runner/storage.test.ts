/**
 * Storage in the scenario runner: VM disks on a per-host cluster volume (linked clones of a base
 * image, Terra-encrypted for closed-box VMs), DeDe passes from `storage.dedup`, vIC controllers
 * from `storage.vic`, and the `dedup` and `interrupts` measurements they produce.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario, type Scenario, type ScenarioInput } from '../../src/scenario/index.js';
import { runScenario, ScenarioRunError } from '../../src/runner/index.js';
import { runJson, runText } from '../../src/cli/run-scenario.js';

function scenario(input: ScenarioInput): Scenario {
  const r = validateScenario(input);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

interface DedupM {
  hosts: { host: string; enabled: boolean; passes: number; sharedBlocks: number; fsck: { ok: boolean; findings: number } }[];
  rows: { host: string; vm: string | null; disks: string[]; logicalMiB: number; uniqueMiB: number }[];
}
interface IrqRow { vm: string; disk: string; vic: boolean; maxCoalesce: number; completions: number; interrupts: number; coalesced: number; interruptsPerCompletion: number; addedLatencyUs: number }

type Vm = ScenarioInput['vms'][number];
type Storage = NonNullable<ScenarioInput['hosts'][number]['storage']>;

const desk = (name: string, extra: Partial<Vm> = {}): Vm => ({
  name, kind: 'open-box', memoryMiB: 32, image: 'gold',
  disks: [{ name: 'sys', sizeMiB: 8, image: 'gold' }],
  programs: [{ name: 'file-io', argv: ['profile.dat', '32'] }],
  ...extra,
});

function run(vms: Vm[], storage: Storage | undefined, measure: ScenarioInput['measure'], opts: { durationMs?: number; seed?: number } = {}) {
  return runScenario(scenario({
    version: 1, name: 'st', seed: opts.seed ?? 3, durationMs: opts.durationMs ?? 700,
    hosts: [{ name: 'h', machineMiB: 256, ...(storage ? { storage } : {}) }], vms, measure,
  }));
}

const consoleOf = (r: ReturnType<typeof runScenario>) => r.events.filter((e) => e.kind === 'console').map((e) => String((e.data as { line: string }).line));
const volumeRow = (d: DedupM) => d.rows.find((x) => x.vm === null)!;

describe('storage in the scenario runner', () => {
  it('dedup: linked clones of one image hold fewer unique than logical MiB; DeDe passes run on the interval and at the end', () => {
    const r = run([desk('d1'), desk('d2'), desk('d3')], { dedup: true, dedupIntervalMs: 200 }, ['dedup']);
    expect(r.ok).toBe(true);
    expect(consoleOf(r).filter((l) => l === 'file-io: profile.dat 32768 bytes ok')).toHaveLength(3);
    const d = r.measurements.dedup as DedupM;
    expect(d.hosts[0]).toMatchObject({ host: 'h', enabled: true, passes: 4, fsck: { ok: true, findings: 0 } }); // 200, 400, 600 ms + the final pass
    expect(d.hosts[0].sharedBlocks).toBeGreaterThan(0);
    expect(d.rows.map((x) => x.vm)).toEqual(['d1', 'd2', 'd3', null]);
    const all = volumeRow(d);
    expect(all.logicalMiB).toBeGreaterThan(0);
    expect(all.uniqueMiB).toBeLessThan(all.logicalMiB);
    expect(r.report.dedup!.map((x) => x.label)).toEqual(['h/d1', 'h/d2', 'h/d3', 'h: all VM disks']);
    expect(runText(r)).toContain('(all VM disks)');
    // DeDe off: the same VMs share only what the clones still share; no passes, and DeDe's shares are missing.
    const off = run([desk('d1'), desk('d2'), desk('d3')], { dedup: false }, ['dedup']);
    const offD = off.measurements.dedup as DedupM;
    expect(offD.hosts[0]).toMatchObject({ enabled: false, passes: 0, sharedBlocks: 0 });
    expect(volumeRow(offD).uniqueMiB).toBeGreaterThan(all.uniqueMiB);
    expect(off.notes.some((n) => n.startsWith('dedup: host h has no storage.dedup'))).toBe(true);
  });

  it('dedup: distinct data (closed-box VMs: own trust domains, Terra-encrypted disks) shares nothing, unique equals logical', () => {
    const vms: Vm[] = ['c1', 'c2'].map((name) => ({ name, kind: 'closed-box', memoryMiB: 32, disks: [{ name: 'root', sizeMiB: 2 }], programs: [{ name: 'file-io', argv: ['secret.bin', '16'] }] }));
    const r = run(vms, { dedup: true }, ['dedup']);
    expect(consoleOf(r).filter((l) => l === 'file-io: secret.bin 16384 bytes ok')).toHaveLength(2); // reads back through the encryption
    const d = r.measurements.dedup as DedupM;
    expect(d.hosts[0].passes).toBe(1);
    expect(d.hosts[0].sharedBlocks).toBe(0);
    for (const row of d.rows) {
      expect(row.logicalMiB).toBeGreaterThan(0);
      expect(row.uniqueMiB).toBe(row.logicalMiB);
    }
  });

  it('interrupts: vIC on coalesces under load (fewer interrupts than completions); off delivers one per completion; maxCif is the coalescing cap', () => {
    const db: Vm = { name: 'db', kind: 'open-box', memoryMiB: 64, disks: [{ name: 'data', sizeMiB: 16 }], programs: [{ name: 'file-io', argv: ['t.bin', '1024'] }] };
    const on = run([db], { vic: { enabled: true, maxCif: 4, timerUs: 200 } }, ['interrupts'], { durationMs: 400 });
    const off = run([db], { vic: { enabled: false, maxCif: 4, timerUs: 200 } }, ['interrupts'], { durationMs: 400 });
    const rOn = (on.measurements.interrupts as IrqRow[])[0];
    const rOff = (off.measurements.interrupts as IrqRow[])[0];
    expect(rOn).toMatchObject({ vm: 'db', disk: 'data', vic: true, maxCoalesce: 4 });
    expect(rOn.completions).toBeGreaterThanOrEqual(256); // 1 MiB of 4 KiB writes
    expect(rOn.interruptsPerCompletion).toBeLessThan(1);
    expect(rOn.interruptsPerCompletion).toBeGreaterThanOrEqual(1 / 4); // never beyond the cap
    expect(rOn.addedLatencyUs).toBeGreaterThan(0);
    expect(rOff).toMatchObject({ vic: false, coalesced: 0, addedLatencyUs: 0 });
    expect(rOff.interrupts).toBe(rOff.completions);
    expect(on.report.interrupts![0]).toMatchObject({ vic: true, interruptsPerCompletion: rOn.interruptsPerCompletion });
    for (const r of [on, off]) expect(consoleOf(r)).toContain('file-io: t.bin 1048576 bytes ok');
    expect(on.notes.some((n) => n.includes('timerUs') && n.includes('no counterpart'))).toBe(true);
  });

  it('interrupts: an encrypted root disk stays on the synchronous path (no controller, a note); without vIC there are no rows', () => {
    const sealed: Vm = { name: 'vault', kind: 'closed-box', memoryMiB: 32, disks: [{ name: 'root', sizeMiB: 2 }], programs: [{ name: 'file-io', argv: ['s.bin', '8'] }] };
    const r = run([sealed], { vic: { enabled: true, maxCif: 8, timerUs: 200 } }, ['interrupts']);
    expect(r.measurements.interrupts).toEqual([]);
    expect(r.notes.some((n) => n.startsWith('vault: storage.vic: the encrypted root disk root stays on the synchronous disk path'))).toBe(true);
    const plain = run([desk('d1')], undefined, ['interrupts']);
    expect(plain.measurements.interrupts).toEqual([]);
    expect(plain.notes.some((n) => n.startsWith('interrupts: no VM has an interrupt-driven disk'))).toBe(true);
  });

  it('disks: the first disk is the guest root (fs on the volume) unless named swap; a closed-box image disk is encrypted, not a clone', () => {
    const r = run([
      { name: 's', kind: 'open-box', memoryMiB: 16, disks: [{ name: 'swap', sizeMiB: 1 }, { name: 'data', sizeMiB: 1 }] },
      { name: 'f', kind: 'open-box', memoryMiB: 16, disks: [{ name: 'sys', sizeMiB: 2 }] },
      { name: 'c', kind: 'closed-box', memoryMiB: 16, disks: [{ name: 'sys', sizeMiB: 2, image: 'gold' }] },
    ], undefined, ['dedup']);
    const lines = consoleOf(r);
    expect(lines).toContain('kernel: 4096 pages, fs ram, swap 255 slots'); // 1 MiB swap disk = 256 slots, slot 0 unused
    expect(lines.filter((l) => l.includes('fs formatted'))).toHaveLength(2);
    expect(r.notes.some((n) => n.startsWith('c/sys: encrypted, so not a linked clone of image gold'))).toBe(true);
    expect((r.measurements.dedup as DedupM).rows.find((x) => x.vm === 's')!.disks).toEqual(['swap', 'data']);
  });

  it('linked clones of one image must have its size (a ScenarioRunError names the field)', () => {
    const bad = () => run([desk('d1'), desk('d2', { disks: [{ name: 'sys', sizeMiB: 16, image: 'gold' }] })], undefined, ['dedup']);
    expect(bad).toThrow(ScenarioRunError);
    expect(bad).toThrow(/^vms\[1\]\.disks\[0\]\.sizeMiB: linked clones of image gold must all be 8 MiB/);
  });

  it('disk sizes the volume cannot hold, or an encrypted disk too large to format, fail naming the field', () => {
    const big = () => run([desk('d1', { disks: [{ name: 'sys', sizeMiB: 961 }] })], undefined, ['dedup']);
    expect(big).toThrow(/^vms\[0\]\.disks\[0\]\.sizeMiB: a disk is a file on the host's cluster volume, at most 960 MiB, got 961/);
    const sealed = () => run([{ name: 'c', kind: 'closed-box', memoryMiB: 16, disks: [{ name: 'sys', sizeMiB: 65 }] }], undefined, ['dedup']);
    expect(sealed).toThrow(/^vms\[0\]\.disks\[0\]\.sizeMiB: an encrypted disk .* at most 64 MiB, got 65/);
    expect(() => run([{ name: 'c', kind: 'closed-box', memoryMiB: 16, disks: [{ name: 'sys', sizeMiB: 65, encrypted: false }] }], undefined, ['dedup'], { durationMs: 20 })).not.toThrow();
  });

  it('long VM and disk names with dots (64 characters each) get distinct volume files', () => {
    const long = (c: string) => `${c}.${'x'.repeat(62)}`;
    const r = run([
      { name: long('a'), kind: 'open-box', memoryMiB: 16, disks: [{ name: long('b'), sizeMiB: 1 }], programs: [{ name: 'file-io', argv: ['f', '8'] }] },
      { name: 'a', kind: 'open-box', memoryMiB: 16, disks: [{ name: 'x', sizeMiB: 1 }, { name: long('c'), sizeMiB: 1 }], programs: [{ name: 'file-io', argv: ['f', '8'] }] },
    ], { dedup: true }, ['dedup'], { durationMs: 400 });
    expect(consoleOf(r).filter((l) => l === 'file-io: f 8192 bytes ok')).toHaveLength(2);
    expect((r.measurements.dedup as DedupM).rows.map((x) => x.disks.length)).toEqual([1, 2, 3]);
  });

  it('is deterministic: the same seed gives the same JSON and trace digest', () => {
    const vms = [desk('d1'), desk('d2', { disks: [{ name: 'sys', sizeMiB: 8, image: 'gold' }], programs: [{ name: 'file-io', argv: ['big.dat', '256'] }] })];
    const storage: Storage = { dedup: true, dedupIntervalMs: 150, vic: { enabled: true, maxCif: 8, timerUs: 200 } };
    const a = run(vms, storage, ['dedup', 'interrupts', 'trace'], { seed: 9 });
    const b = run(vms, storage, ['dedup', 'interrupts', 'trace'], { seed: 9 });
    expect(runJson(b)).toBe(runJson(a));
    expect(b.digest).toBe(a.digest);
    expect((a.measurements.interrupts as IrqRow[]).length).toBe(2);
  });
});
