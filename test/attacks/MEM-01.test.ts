import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { mem01World, secretPage } from '../../src/attacks/memory.js';

describe('MEM-01 · cloaked plaintext never enters content-based sharing', () => {
  it('is blocked (catalogue outcome) and listed in the registry', async () => {
    const r = await findAttack('MEM-01')!.run(11);
    expect(r.outcome).toBe('blocked');
  });
  it('two runs, one secret changed: the attacker-observable trace is identical, and no cloaked frame is shared or indexed', () => {
    const P = secretPage(5, 'P'), Q = secretPage(5, 'Q');
    const a = mem01World(5, P, P);
    const b = mem01World(5, Q, P);
    expect(a.sharedCloaked + a.indexedCloaked + b.sharedCloaked + b.indexedCloaked).toBe(0);
    expect(a.observed).toEqual(b.observed);
    expect(a.global).toEqual(b.global);
    // The harness can see a difference when there is one: the uncloaked pages did get scanned and merged.
    expect(a.global.pagesScanned).toBeGreaterThan(1000);
    expect(a.global.merges).toBeGreaterThan(0);
  });
  it('control: if the same pages were not cloaked, the two worlds would differ (the harness detects leaks)', () => {
    const P = secretPage(5, 'P'), Q = secretPage(5, 'Q');
    const a = mem01World(5, P, P, false);
    const b = mem01World(5, Q, P, false);
    expect(a.observed).not.toEqual(b.observed);
  });
});
