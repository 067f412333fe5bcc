// Attack: a hostile block device under a protected disk answers reads with the wrong size, with
// something that is not bytes, or with a view of its own storage that it rewrites afterwards.
import { describe, expect, it } from 'vitest';
import { TerraError, createSimContext } from '../../src/sim/index.js';
import { MemoryBlockDevice, ProtectedDisk, type BlockDevice } from '../../src/attestation/index.js';
import { P } from './helpers.js';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof TerraError) return e.code;
    return `threw ${(e as Error).name}`;
  }
  return 'OK';
};

function hostile(inner: MemoryBlockDevice, answer: (lba: number, count: number, real: Uint8Array) => unknown): BlockDevice & { on: boolean } {
  const d = {
    on: false,
    blockSize: inner.blockSize,
    blocks: inner.blocks,
    read: (lba: number, count: number) => {
      const real = inner.read(lba, count);
      return (d.on ? answer(lba, count, real) : real) as Uint8Array;
    },
    write: (lba: number, data: Uint8Array) => inner.write(lba, data),
  };
  return d;
}

describe('protected disk over a hostile block device', () => {
  for (const cls of ['encrypted', 'integrity', 'raw'] as const) {
    it(`${cls}: short, long and non-byte answers are IO_ERROR`, () => {
      const ctx = createSimContext({ seed: 1 });
      const key = new Uint8Array(32).fill(2);
      for (const answer of [
        (_l: number, _c: number, r: Uint8Array) => r.subarray(0, r.length - 1),
        (_l: number, _c: number, r: Uint8Array) => new Uint8Array(r.length + 512),
        () => 'bytes',
        () => null,
      ]) {
        const dev = hostile(new MemoryBlockDevice(512, 32), answer);
        const d = ProtectedDisk.format(ctx, P, dev, { cls, key, diskId: 'h' });
        d.write(2, new Uint8Array(512).fill(7));
        dev.on = true;
        expect(code(() => d.read(2, 1))).toBe('IO_ERROR');
        dev.on = false;
        expect(d.read(2, 1)[0]).toBe(7);
      }
    });
  }

  it('opening over a device that answers the metadata read short is IO_ERROR', () => {
    const ctx = createSimContext({ seed: 1 });
    const opts = { cls: 'encrypted' as const, key: new Uint8Array(32).fill(2), diskId: 'h' };
    const dev = hostile(new MemoryBlockDevice(512, 32), (_l, _c, r) => r.subarray(0, 100));
    ProtectedDisk.format(ctx, P, dev, opts);
    dev.on = true;
    expect(code(() => ProtectedDisk.open(ctx, P, dev, opts))).toBe('IO_ERROR');
    dev.on = false;
    expect(code(() => ProtectedDisk.open(ctx, P, dev, opts))).toBe('OK');
  });

  it('a device that keeps the buffer it returned and rewrites it later cannot change what was read', () => {
    const ctx = createSimContext({ seed: 1 });
    let last: Uint8Array | undefined;
    const dev = hostile(new MemoryBlockDevice(512, 32), (_l, _c, r) => (last = r));
    const d = ProtectedDisk.format(ctx, P, dev, { cls: 'integrity', key: new Uint8Array(32).fill(2), diskId: 'h' });
    d.write(0, new Uint8Array(512).fill(9));
    dev.on = true;
    const out = d.read(0, 1);
    last!.fill(0x66);
    expect(out.every((b) => b === 9)).toBe(true);
  });
});
