import { describe, expect, it } from 'vitest';
import { Host, MemoryDisk, Vcpu } from '../../src/tvmm/index.js';
import { MachineMemory } from '../../src/memory/index.js';
import { capturePlatform } from '../helpers/platform.js';

const BAD_NUMBERS: unknown[] = [-1, -0, 0.5, NaN, Infinity, -Infinity, 2 ** 53, '1', 1n, null, {}, []];
const guest = { boot() {}, interrupt() {}, run: () => 'idle' as const };

function noCoercion(fn: (v: unknown) => unknown): void {
  let called = false;
  const evil = { valueOf() { called = true; return 1; }, toString() { called = true; return '1'; } };
  expect(() => fn(evil)).toThrow(TypeError);
  expect(called).toBe(false);
}

describe('bad input to public constructors and methods', () => {
  it('Host options', () => {
    for (const v of BAD_NUMBERS) {
      expect(() => new Host({ seed: v as number })).toThrow(v === '1' || v === 1n || v === null || typeof v === 'object' ? TypeError : RangeError);
      expect(() => new Host({ machineMiB: v as number })).toThrow();
    }
    expect(() => new Host(null as never)).toThrow(TypeError);
    noCoercion((v) => new Host({ seed: v as number }));
  });

  it('MachineMemory and Vcpu', () => {
    for (const v of BAD_NUMBERS) expect(() => new MachineMemory(v as number)).toThrow();
    expect(() => new MachineMemory(0)).toThrow(RangeError);
    const c = new Vcpu(0);
    expect(() => c.set('r99' as never, 1)).toThrow(RangeError);
    expect(() => c.set('r0', -1)).toThrow(RangeError);
    expect(() => c.set('r0', 2 ** 32)).toThrow(RangeError);
    expect(() => c.restore(new Uint32Array(3))).toThrow(TypeError);
  });

  it('createVm rejects every malformed spec and changes nothing', () => {
    const tvmm = new Host({ machineMiB: 16 }).boot();
    const bad: unknown[] = [
      undefined, null, 1, 'vm',
      { name: 'a', kind: 'Closed', memoryMiB: 1, guest },
      { name: 'a', kind: 'box', memoryMiB: 1, guest },
      { name: 'a', kind: 'open-box', memoryMiB: 0, guest },
      { name: 'a', kind: 'open-box', memoryMiB: -1, guest },
      { name: 'a', kind: 'open-box', memoryMiB: 2 ** 40, guest },
      { name: 'a', kind: 'open-box', memoryMiB: 1.5, guest },
      { name: 'a', kind: 'open-box', memoryMiB: 1, guest: {} },
      { name: 'a', kind: 'open-box', memoryMiB: 1, guest, vcpus: 0 },
      { name: 'a', kind: 'open-box', memoryMiB: 1, guest, programs: { p: 1 } },
      { name: 42, kind: 'open-box', memoryMiB: 1, guest },
    ];
    for (const s of bad) expect(() => tvmm.createVm(s as never), JSON.stringify(s)).toThrow(/must|spec/);
    expect(tvmm.vms()).toEqual([]);
    const id = tvmm.createVm({ name: 'a', kind: 'open-box', memoryMiB: 1, guest });
    expect(() => tvmm.createVm({ name: 'a', kind: 'open-box', memoryMiB: 1, guest })).toThrow(RangeError);
    expect(tvmm.vms()).toHaveLength(1);
    for (const v of BAD_NUMBERS) expect(() => tvmm.vm(v as never)).toThrow();
    expect(() => tvmm.vm(999 as never)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => tvmm.power(id, 'explode' as never)).toThrow(RangeError);
    expect(() => tvmm.power(id, 'suspend')).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(tvmm.vm(id).state).toBe('created');
  });

  it('devices: unknown ids, double attach, self-connect', () => {
    const tvmm = new Host({ machineMiB: 16 }).boot();
    const id = tvmm.createVm({ name: 'a', kind: 'open-box', memoryMiB: 1, guest });
    tvmm.createDevice('nic', 'n1');
    expect(() => tvmm.createDevice('nic', 'n1')).toThrow(RangeError);
    expect(() => tvmm.createDevice('gpu' as never, 'g')).toThrow(RangeError);
    expect(() => tvmm.attach('nope', id)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    tvmm.attach('n1', id);
    expect(() => tvmm.attach('n1', id)).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(() => tvmm.connect('n1', 'n1')).toThrow(RangeError);
    expect(() => tvmm.attachDisk(id, 'd', { blocks: -1 } as never)).toThrow();
    expect(tvmm.vm(id).devices).toEqual(['n1']);
  });

  it('the guest platform rejects out-of-range and unaligned guest input', () => {
    const { platform: p } = capturePlatform();
    for (const v of BAD_NUMBERS) {
      expect(() => p.phys.load32(v as number)).toThrow();
      expect(() => p.kernelSpace(v as number)).toThrow();
      expect(() => p.setTimer(v as number, 1)).toThrow();
    }
    expect(() => p.phys.load32(p.phys.pages * 4096)).toThrow(RangeError);
    expect(() => p.phys.load32(4094)).toThrow(RangeError); // crosses a page
    expect(() => p.phys.write(0, [1, 2] as never)).toThrow(TypeError);
    expect(() => p.createThread({ root: 0, program: 'missing' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => p.resume(12345)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => p.entropy(1e9)).toThrow(RangeError);
    expect(p.hypercall(9999, [])).toBeLessThan(0);
    expect(p.hypercall(1, ['x' as never])).toBeLessThan(0);
  });

  it('disks: LBAs out of range, zero-length and misaligned IO', () => {
    const d = new MemoryDisk(8);
    expect(() => d.read(8, 1)).toThrow(RangeError);
    expect(() => d.read(0, 0)).toThrow(RangeError);
    expect(() => d.read(-1, 1)).toThrow(RangeError);
    expect(() => d.write(0, new Uint8Array(100))).toThrow(RangeError);
    expect(() => d.write(7, new Uint8Array(8192))).toThrow(RangeError);
    expect(d.writtenBlocks()).toEqual([]);
    const { platform: p, tvmm, id } = capturePlatform();
    tvmm.attachDisk(id, 'd0', d);
    const disk = p.disk('d0');
    expect(() => disk.read(0, 1, 100)).toThrow(RangeError);
    expect(() => disk.read(0, 1, p.memoryPages * 4096)).toThrow(RangeError);
    p.phys.write(8192, new Uint8Array(4096).fill(7));
    expect(disk.write(2, 1, 8192)).toBe(0);
    expect(d.peek(2)[0]).toBe(7);
    expect(disk.read(2, 1, 4 * 4096)).toBe(0);
    expect(p.phys.read(4 * 4096, 1)[0]).toBe(7);
  });
});
