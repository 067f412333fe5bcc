/**
 * Benchmark section `product` (issue 7's speed targets, kept out of unit tests): wall seconds of each
 * example scenario (target < 20 s each) and of rendering a 300k-sample HTML report (target < 10 s).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BUILTIN_PROGRAMS } from '../src/guest/index.js';
import { parseScenario, scenarioFormatOf } from '../src/scenario/index.js';
import { runScenario } from '../src/runner/index.js';
import { renderReport } from '../src/report/index.js';
import type { BenchSection } from './types.js';

function examples(): Record<string, number> {
  const dir = 'examples/scenarios';
  const out: Record<string, number> = {};
  for (const file of readdirSync(dir).filter((f) => scenarioFormatOf(f) !== undefined).sort()) {
    const r = parseScenario(readFileSync(join(dir, file), 'utf8'), scenarioFormatOf(file)!, { programs: Object.keys(BUILTIN_PROGRAMS) });
    if (!r.ok) throw new Error(`${file}: ${JSON.stringify(r.error)}`);
    const t0 = performance.now();
    runScenario(r.value);
    out[file] = +((performance.now() - t0) / 1000).toFixed(2);
  }
  return out;
}

function bigReport(): number {
  const samples = Array.from({ length: 300_000 }, (_, i) => ({ t: i, vm: `vm${i % 3}`, residentMiB: (i % 1000) / 10, sharedMiB: 1 }));
  const t0 = performance.now();
  renderReport({ title: 'big', memory: { samples, machineMiB: 200 } });
  return +((performance.now() - t0) / 1000).toFixed(2);
}

/** The `product` section. */
export const productBench: BenchSection = {
  name: 'product',
  run() {
    const ex = examples();
    return {
      exampleScenarioSeconds: ex,
      maxExampleScenarioSeconds: Math.max(...Object.values(ex)),
      report300kSamplesSeconds: bigReport(),
      targets: { maxExampleScenarioSeconds: 20, report300kSamplesSeconds: 10 },
    };
  },
};
