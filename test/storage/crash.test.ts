import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { crashTrial, prepareChild } from './crash-harness.js';

describe('crash consistency (SIGKILL of a child running writes and DeDe passes)', () => {
  const { dir, script } = prepareChild();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const seed of [1, 2, 3, 4]) {
    it(`trial seed ${seed}: acknowledged writes survive and the checker finds nothing`, async () => {
      const r = await crashTrial(dir, script, seed);
      expect(r.acked).toBeGreaterThan(0);
      expect(r.mismatches).toEqual([]);
      expect(r.findings).toEqual([]);
    });
  }
});
