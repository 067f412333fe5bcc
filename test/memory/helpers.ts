/** Test helpers for src/memory: a machine + manager + ESX facade, and page read/write through resolve. */
import { createSimContext, PAGE_SIZE, type Gppn, type VmId } from '../../src/sim/index.js';
import { EsxMemory, MachineMemory, MemoryManager, type EsxOptions } from '../../src/memory/index.js';

export function makeEsx(frames: number, opts: EsxOptions = {}, seed = 1) {
  const ctx = createSimContext({ seed });
  const machine = new MachineMemory(frames);
  const mm = new MemoryManager(ctx, machine);
  const esx = new EsxMemory(mm, { overheadPages: 0, ...opts });
  return { ctx, machine, mm, esx };
}

/** Writes `data` (≤ 4096 bytes) at the start of page g through the write path (breaks COW). */
export function writePage(mm: MemoryManager, vm: number, g: number, data: Uint8Array | number): void {
  const m = mm.resolve(vm as VmId, g as Gppn, true);
  const b = mm.machine.bytes(m);
  if (typeof data === 'number') b.fill(data);
  else {
    b.fill(0);
    b.set(data);
  }
}

/** Reads page g through the read path. */
export function readPage(mm: MemoryManager, vm: number, g: number): Uint8Array {
  return mm.machine.bytes(mm.resolve(vm as VmId, g as Gppn, false)).slice();
}

/** A deterministic page of content derived from `tag`. */
export function pageOf(tag: number): Uint8Array {
  const p = new Uint8Array(PAGE_SIZE);
  let x = (tag * 2654435761) >>> 0 || 1;
  for (let i = 0; i < PAGE_SIZE; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    p[i] = x & 255; p[i + 1] = (x >>> 8) & 255; p[i + 2] = (x >>> 16) & 255; p[i + 3] = x >>> 24;
  }
  return p;
}
