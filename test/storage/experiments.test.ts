import { describe, expect, it } from 'vitest';
import { storageExperiments, generateCorpus, dedupSavings, linkedCloneSavings, DEFAULT_CORPUS } from '../../src/experiments/storage.js';
import { createSimContext } from '../../src/sim/index.js';

describe('storage experiments', () => {
  it('corpus: savings fall with block size; linked clones save less than 4 KiB dedup; deterministic', () => {
    const gen = () => generateCorpus(createSimContext({ seed: 4 }).rng.fork('c'), { ...DEFAULT_CORPUS, vms: 10, blocks: 2048 });
    const { disks, imageOf, images } = gen();
    const s = [1, 4, 16, 64, 256].map((b) => dedupSavings(disks, b).savings);
    for (let i = 1; i < s.length; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1]);
    expect(linkedCloneSavings(disks, imageOf, images)).toBeLessThan(s[0]);
    expect(gen().disks[3]).toEqual(disks[3]);
  });

  it('every experiment runs in quick mode and reports paper and ours', async () => {
    const ids = storageExperiments.map((e) => e.id);
    expect(ids).toEqual(expect.arrayContaining(['dede-savings', 'dede-refcounts', 'dede-overhead', 'dede-monitor', 'dede-layout', 'dede-rate', 'dede-bootstorm', 'vic-headline', 'vic-ipi']));
    for (const e of storageExperiments.filter((x) => x.id === 'dede-savings' || x.id === 'vic-ipi')) {
      const r = await e.run({ seed: 1, quick: true });
      expect(r.id).toBe(e.id);
      expect(Object.keys(r.ours).length).toBeGreaterThan(0);
    }
    const sav = await storageExperiments[0].run({ seed: 1, quick: true });
    const chk = (sav.ours as { engineCheck: { analysis4KiB: number; engine4KiB: number } }).engineCheck;
    expect(chk.engine4KiB).toBeCloseTo(chk.analysis4KiB, 2);
  });
});
