import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { crashTrial, prepareChild } from '../storage/crash-harness.js';

describe('crash consistency, slow suite (≥ 200 SIGKILL trials)', () => {
  const { dir, script } = prepareChild();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  it('200 trials: every acknowledged write survives, the checker finds nothing', async () => {
    let passes = 0, acked = 0;
    for (let seed = 100; seed < 300; seed++) {
      const r = await crashTrial(dir, script, seed);
      expect(r.mismatches, `seed ${seed}`).toEqual([]);
      expect(r.findings, `seed ${seed}`).toEqual([]);
      passes += r.passes;
      acked += r.acked;
    }
    expect(passes).toBeGreaterThan(200);
    expect(acked).toBeGreaterThan(10_000);
  }, 600_000);
});
