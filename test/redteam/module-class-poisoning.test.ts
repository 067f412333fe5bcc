/**
 * Red team: guest code is a module of the same program and can import terracloak itself. Before the
 * defence a guest could write `MemoryManager.prototype.resolve = …` (or patch ShadowMmu, Tvmm,
 * MachineMemory, an honest co-tenant's GuestKernel, the vSCSI controller) and run inside the TVMM
 * with the real object as `this`: every VM's frames, every VM's kernel. The index modules of
 * src/tvmm, src/memory, src/guest and src/storage now lock every class they export.
 */
import { describe, expect, it } from 'vitest';
import { Host, ShadowMmu, Tvmm, Executor, MemoryDisk, memory, guest, storage} from '../../src/index.js';

const locked: [string, { prototype: object }][] = [
  ['Host', Host], ['Tvmm', Tvmm], ['ShadowMmu', ShadowMmu], ['Executor', Executor], ['MemoryDisk', MemoryDisk],
  ['MemoryManager', memory.MemoryManager], ['MachineMemory', memory.MachineMemory], ['EsxMemory', memory.EsxMemory],
  ['GuestKernel', guest.GuestKernel], ['VirtualScsiController', storage.VirtualScsiController], ['ClusterVolume', storage.ClusterVolume],
];

describe("a guest cannot patch the library's classes", () => {
  for (const [name, C] of locked) {
    it(`${name}.prototype and ${name} are frozen`, () => {
      const key = Object.getOwnPropertyNames(C.prototype).find((k) => k !== 'constructor') ?? 'x';
      expect(() => ((C.prototype as Record<string, unknown>)[key] = () => undefined)).toThrow(TypeError);
      expect(() => Object.defineProperty(C.prototype, 'injected', { value: 1 })).toThrow(TypeError);
      expect(() => Object.defineProperty(C, Symbol.hasInstance, { value: () => true })).toThrow(TypeError);
    });
  }



  it('code holding an instance may still wrap its methods (override taming); the prototype stays shared and intact', () => {
    const d = new MemoryDisk(4);
    const orig = d.read.bind(d);
    let calls = 0;
    d.read = (lba, count) => (calls++, orig(lba, count));
    d.read(0, 1);
    expect(calls).toBe(1);
    expect(new MemoryDisk(4).read).toBe(MemoryDisk.prototype.read);
  });

  it("a guest cannot shadow the methods of its own facades either (the TVMM calls them for DMA)", () => {
    const host = new Host({ seed: 1, machineMiB: 16 });
    const tvmm = host.boot();
    let plat: import('../../src/index.js').GuestPlatform | undefined;
    const id = tvmm.createVm({ name: 'g', kind: 'open-box', memoryMiB: 2, guest: { boot(p) { plat = p; }, interrupt() {}, run: () => 'idle' } });
    tvmm.power(id, 'on');
    tvmm.run({ maxSlices: 1 });
    expect(() => Object.defineProperty(plat!.phys, 'read', { value: () => new Uint8Array(4096) })).toThrow(TypeError);
    expect(() => Object.defineProperty(plat!.kernelSpace(0), 'write', { value: () => undefined })).toThrow(TypeError);
  });
});
