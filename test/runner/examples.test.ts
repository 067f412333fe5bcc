/**
 * Every example scenario runs (smoke, each under 20 s of wall time), produces the sections its
 * `measure` asks for, and is deterministic: the same scenario and seed give the same JSON and the
 * same trace file, byte for byte.
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
      const t0 = performance.now();
      const a = runScenario(s);
      firstRuns.set(file, a);
      expect(performance.now() - t0).toBeLessThan(20_000);
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
});
