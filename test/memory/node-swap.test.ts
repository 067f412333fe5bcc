import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSwapStore, attachEsxNode } from '../../src/memory/node.js';
import { Host } from '../../src/tvmm/index.js';
import type { Gppn, VmId } from '../../src/sim/index.js';
import { makeEsx, pageOf, readPage, writePage } from './helpers.js';

describe('host swap to a real file (node:fs)', () => {
  it('clustered page-out lands in the file, swap-in restores bytes, the slot is scrubbed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-swap-'));
    try {
      const store = new FileSwapStore(join(dir, 'swap.bin'), 64);
      const { mm, esx } = makeEsx(128, { swapStore: store, sharingEnabled: false, swapEncrypt: false });
      esx.addVm(1 as VmId, 16);
      for (let g = 0; g < 16; g++) writePage(mm, 1, g, pageOf(g + 1));
      expect(esx.swap.pageOut(1 as VmId, 16)).toBe(16);
      const slot = esx.swap.slotOf(1 as VmId, 3 as Gppn);
      const file = readFileSync(join(dir, 'swap.bin'));
      expect(Buffer.compare(file.subarray(slot * 4096, slot * 4096 + 4096), Buffer.from(pageOf(4)))).toBe(0);
      for (let g = 0; g < 16; g++) expect(readPage(mm, 1, g)).toEqual(pageOf(g + 1));
      const after = readFileSync(join(dir, 'swap.bin'));
      expect(after.subarray(slot * 4096, slot * 4096 + 4096).every((b) => b === 0)).toBe(true);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('attachEsxNode defaults to a swap file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-swap-'));
    try {
      const host = new Host({ seed: 2, machineMiB: 8 });
      const esx = attachEsxNode(host.boot(), { overheadPages: 0, swapPath: join(dir, 's.bin') });
      expect(esx.swap.store.slots).toBe(2048);
      expect(readFileSync(join(dir, 's.bin')).length).toBe(2048 * 4096);
      esx.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
