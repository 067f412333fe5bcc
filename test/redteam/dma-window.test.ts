/**
 * Red team: the DMA window against untrusted storage (actor H: the host owns disk contents and the
 * controller's completions). A guest driver programs a transfer of `count` blocks into guest pages
 * starting at `gpa`; the TVMM must write exactly those pages. Before the defence, a backend that
 * answered a 1-block read with 3 blocks had the TVMM write the two guest pages after the window
 * (here: a page the guest never handed to the device), and a backend or controller that threw, or
 * answered with shared-memory or Proxy data, threw a raw exception into the guest kernel. Now any
 * answer that is not exactly the requested bytes is -EIO with a security event.
 */
import { describe, expect, it } from 'vitest';
import type { AsyncBlockController, BlockBackend, ControllerCompletion } from '../../src/index.js';
import { capturePlatform } from '../helpers/platform.js';

const GUARD = new Uint8Array([0xaa, 0xbb, 0xcc, 0xdd]);

function withDisk(read: BlockBackend['read']) {
  const w = capturePlatform();
  w.tvmm.attachDisk(w.id, 'd', { blocks: 16, read, write() {} });
  w.platform.phys.write(0x5000, GUARD);
  w.platform.phys.write(0x6000, GUARD);
  return w;
}

const hostile: Record<string, BlockBackend['read']> = {
  'a longer answer (3 blocks for 1)': (_l, c) => new Uint8Array((c + 2) * 4096).fill(0xee),
  'a shorter answer': () => new Uint8Array(100).fill(0xee),
  'shared memory': (_l, c) => new Uint8Array(new SharedArrayBuffer(c * 4096)),
  'not bytes': () => 'x'.repeat(4096) as unknown as Uint8Array,
  'a Proxy of bytes': (_l, c) => new Proxy(new Uint8Array(c * 4096), {}) as Uint8Array,
  'a length-lying subclass': (_l, c) => {
    const v = new Uint8Array((c + 2) * 4096).fill(0xee);
    Object.defineProperty(v, 'length', { value: c * 4096 });
    return v;
  },
  'a throw that is not a TerraError': () => {
    throw new TypeError('backend bug');
  },
};

describe('synchronous disk reads write exactly the programmed window', () => {
  for (const [what, read] of Object.entries(hostile)) {
    it(`${what}: -EIO, the pages after the window untouched, no exception into the guest`, () => {
      const w = withDisk(read);
      let r: unknown;
      expect(() => (r = w.platform.disk('d').read(0, 1, 0x4000))).not.toThrow();
      expect(r).toBe(-5);
      expect(w.platform.phys.read(0x5000, 4)).toEqual(GUARD);
      expect(w.platform.phys.read(0x6000, 4)).toEqual(GUARD);
      expect(w.host.sim.trace.securityEvents().some((e) => e.kind.startsWith('disk.'))).toBe(true);
    });
  }

  it('an honest answer is written (the check does not refuse good data)', () => {
    const w = withDisk((_l, c) => new Uint8Array(c * 4096).fill(7));
    expect(w.platform.disk('d').read(0, 1, 0x4000)).toBe(0);
    expect(w.platform.phys.read(0x4000, 2)).toEqual(new Uint8Array([7, 7]));
    expect(w.platform.phys.read(0x5000, 4)).toEqual(GUARD);
  });
});

describe('asynchronous completions from a hostile controller', () => {
  function withController(poll: () => readonly ControllerCompletion[]) {
    const w = capturePlatform();
    w.tvmm.attachDisk(w.id, 'd', { blocks: 16, read: (_l, c) => new Uint8Array(c * 4096), write() {} });
    let next = 1;
    const ctl: AsyncBlockController = { vector: 0x40, submit: () => ({ ok: true, value: next++ }), poll };
    w.tvmm.attachController(w.id, 'd', ctl);
    w.platform.phys.write(0x5000, GUARD);
    return w;
  }
  const rings: Record<string, () => readonly ControllerCompletion[]> = {
    'a ring that is not an array': () => 42 as never,
    'a poll that throws': () => {
      throw new RangeError('controller bug');
    },
    'an entry whose accessors throw': () => [new Proxy({}, { get: () => { throw new Error('trap'); } }) as ControllerCompletion],
    'shared-memory data': () => [{ tag: 1, status: 'good', data: new Uint8Array(new SharedArrayBuffer(4096)) }],
    'a longer answer': () => [{ tag: 1, status: 'good', data: new Uint8Array(3 * 4096).fill(0xee) }],
  };
  for (const [what, poll] of Object.entries(rings)) {
    it(`${what}: no exception into the guest, nothing written outside the window`, () => {
      const w = withController(poll);
      const disk = w.platform.disk('d');
      expect(disk.submit!('read', 0, 1, 0x4000)).toBe(1);
      let out: unknown;
      expect(() => (out = disk.complete!())).not.toThrow();
      expect(Array.isArray(out)).toBe(true);
      for (const c of out as { status: number }[]) expect(c.status).toBe(-5);
      expect(w.platform.phys.read(0x5000, 4)).toEqual(GUARD);
    });
  }
});
