/**
 * Every example scenario runs, produces the sections its `measure` asks for, and is deterministic:
 * the same scenario and seed give the same JSON and the same trace file, byte for byte. (Their wall
 * time, target < 20 s each, is measured by `npm run bench -- --only product`, not here.)
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_PROGRAMS } from '../../src/guest/index.js';
import { parseScenario, scenarioFormatOf, type Scenario } from '../../src/scenario/index.js';
import { runScenario } from '../../src/runner/index.js';
import { runJson, runText, runTrace } from '../../src/cli/run-scenario.js';
import { renderReport } from '../../src/report/index.js';

const DIR = 'examples/scenarios';
const files = readdirSync(DIR).filter((f) => scenarioFormatOf(f) !== undefined).sort();

function load(file: string): Scenario {
  const r = parseScenario(readFileSync(join(DIR, file), 'utf8'), scenarioFormatOf(file)!, { programs: Object.keys(BUILTIN_PROGRAMS) });
  if (!r.ok) throw new Error(`${file}: ${JSON.stringify(r.error)}`);
  return r.value;
}

const firstRuns = new Map<string, ReturnType<typeof runScenario>>();
/** The first run of an example (the determinism test stores it; later tests reuse it). */
const runOf = (file: string) => firstRuns.get(file) ?? runScenario(load(file));

describe('example scenarios', () => {
  it('there are at least five', () => expect(files.length).toBeGreaterThanOrEqual(5));

  for (const file of files) {
    it(`${file}: runs, measures what it asks for, and is deterministic`, () => {
      const s = load(file);
      const a = runScenario(s);
      firstRuns.set(file, a);
      for (const m of s.measure) expect(a.measurements, `measurement ${m}`).toHaveProperty(m);
      expect(Object.keys(a.measurements).sort()).toEqual([...s.measure].sort());
      if (s.measure.includes('memory')) {
        expect(a.report.memory!.samples.length).toBeGreaterThan(0);
        expect(new Set(a.report.memory!.samples.map((x) => x.vm))).toEqual(new Set(s.vms.map((v) => v.name)));
      }
      if (s.measure.includes('attacks')) expect(a.report.attacks!.length).toBeGreaterThan(0);
      if (s.measure.includes('attestation')) expect(a.report.attestation).toBeDefined();
      if (s.measure.includes('trace')) expect(a.report.trace!.events).toBeGreaterThan(0);
      if (s.measure.includes('dedup')) expect(a.report.dedup!.length).toBeGreaterThan(0);
      if (s.measure.includes('interrupts')) expect(a.report.interrupts!.length).toBeGreaterThan(0);
      expect(runText(a)).toContain(s.name);
      const html = renderReport(a.report); // validates the report data
      if (s.measure.includes('memory')) expect(html).toContain('<svg');
      const b = runScenario(s);
      expect(runJson(b)).toBe(runJson(a));
      expect(runTrace(b)).toBe(runTrace(a));
    }, 60_000);
  }

  it('cloaked-vault: every cloaking adversary is blocked or detected', () => {
    const r = runOf('cloaked-vault.yaml');
    const rows = r.report.attacks!;
    expect(rows.map((x) => x.id).sort()).toEqual(['bit-flip', 'first-touch-inject', 'mgmt-inspect', 'page-flip', 'page-replay', 'register-tamper', 'rootkit-dump', 'swap-substitute', 'syscall-lie']);
    for (const row of rows) expect(row.outcome, `${row.id}: ${row.detail}`).not.toBe('LEAKED');
    expect(r.ok).toBe(true);
  });

  it('attested-closed-box: the quote verifies, inspection is refused, disk tampering is detected', () => {
    const r = runOf('attested-closed-box.yaml');
    expect(r.report.attestation!.verified).toBe(true);
    const by = Object.fromEntries(r.report.attacks!.map((x) => [x.id, x]));
    expect(by['mgmt-inspect'].outcome).toBe('blocked');
    expect(by['mgmt-inspect'].detail).toContain('ISOLATION_VIOLATION');
    expect(by['disk-tamper'].outcome).toBe('detected');
  });

  it('memory-overcommit: sharing and ballooning reclaim memory; the balloon hog is held to its allocation', () => {
    const r = runOf('memory-overcommit.json');
    const sharing = r.measurements.sharing as { savedMiB: number }[];
    expect(sharing[0].savedMiB).toBeGreaterThan(0);
    const balloon = r.measurements.ballooning as { vm: string; peakBalloonMiB: number }[];
    expect(balloon.filter((b) => b.vm !== 'idle').some((b) => b.peakBalloonMiB > 0)).toBe(true);
    expect(balloon.find((b) => b.vm === 'idle')!.peakBalloonMiB).toBe(0); // the hog runs no balloon driver
    expect(r.report.attacks!.find((x) => x.id === 'balloon-hog')!.outcome).toBe('blocked');
    expect(r.report.memory!.states!.length).toBeGreaterThan(0);
  }, 60_000);

  it('vdi-dedup: every desktop writes its profile; on each host DeDe passes ran and the volume holds fewer unique than logical MiB', () => {
    const r = runOf('vdi-dedup.yaml');
    expect(r.ok).toBe(true);
    expect(r.events.filter((e) => e.kind === 'console' && (e.data as { line: string }).line === 'file-io: profile.dat 1048576 bytes ok')).toHaveLength(3); // host-a's trace
    const d = r.measurements.dedup as { hosts: { host: string; passes: number; sharedBlocks: number; fsck: { ok: boolean } }[]; rows: { host: string; vm: string | null; logicalMiB: number; uniqueMiB: number }[] };
    expect(d.hosts.map((h) => h.host)).toEqual(['host-a', 'host-b']);
    for (const h of d.hosts) {
      expect(h.passes).toBe(12); // every 100 ms of 1200, and the final pass
      expect(h.sharedBlocks).toBeGreaterThan(0);
      expect(h.fsck.ok).toBe(true);
      const all = d.rows.find((x) => x.host === h.host && x.vm === null)!;
      expect(all.uniqueMiB).toBeLessThan(all.logicalMiB - 1);
    }
  });

  it('vic-under-load: both writes complete through the controller, and vIC delivers fewer interrupts than completions', () => {
    const r = runOf('vic-under-load.json');
    expect(r.ok).toBe(true);
    const rows = r.measurements.interrupts as { vm: string; vic: boolean; completions: number; interrupts: number; interruptsPerCompletion: number }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ vm: 'db', vic: true, completions: 768 }); // 2 MiB + 1 MiB of 4 KiB writes
    expect(rows[0].interrupts).toBeLessThan(rows[0].completions);
    expect(rows[0].interruptsPerCompletion).toBeGreaterThanOrEqual(1 / 8); // maxCif 8
  });
});
