/**
 * Red team: byte-array validation that trusted what the array said about itself. `checkBytes` read
 * `v.length` and `v.buffer` as properties, and callers copied with `v.slice()`. An own `length`
 * property made a 3-block array pass as 1 block (dma-window.test.ts: the TVMM then wrote guest pages
 * past the DMA window) or an empty array pass as a 32-byte nonce; a subclass's `slice` ran inside
 * the TVMM and chose what the "copy" was; Node's Buffer.prototype.slice returns a view, so a
 * Buffer's "copy" aliased the caller's memory. Now the facts come from the intrinsic accessors and
 * checkBytes returns a plain Uint8Array view of exactly the real bytes.
 */
import { describe, expect, it } from 'vitest';
import { checkBytes, copyBytes, ValidationRangeError, ValidationTypeError } from '../../src/index.js';
import { capturePlatform } from '../helpers/platform.js';

describe('checkBytes believes only the intrinsic typed-array facts', () => {
  it('an own length property cannot make an empty array pass as 32 bytes', () => {
    const v = new Uint8Array(0);
    Object.defineProperty(v, 'length', { value: 32 });
    expect(() => checkBytes('nonce', v, 32)).toThrow(ValidationRangeError);
    const big = new Uint8Array(3 * 4096);
    Object.defineProperty(big, 'length', { value: 4096 });
    expect(() => checkBytes('block', big, 4096)).toThrow(ValidationRangeError);
  });

  it("a subclass's slice/subarray/length never run when the TVMM copies", () => {
    let ran = 0;
    class Evil extends Uint8Array {
      override slice(): Uint8Array<ArrayBuffer> {
        ran++;
        return new Uint8Array(1 << 20);
      }
      override subarray(): Uint8Array<ArrayBuffer> {
        ran++;
        return new Uint8Array(0);
      }
      override get length(): number {
        ran++;
        return 1;
      }
    }
    const e = new Evil(8).fill(5);
    const copy = checkBytes('data', e).slice();
    expect(ran).toBe(0);
    expect(copy).toEqual(new Uint8Array(8).fill(5));
    expect(Object.getPrototypeOf(copy)).toBe(Uint8Array.prototype);
    // End to end: the kernel view writes exactly the 8 real bytes.
    const w = capturePlatform();
    w.platform.phys.write(0x1000, e as unknown as Uint8Array);
    expect(ran).toBe(0);
    expect(w.platform.phys.read(0x1000, 9)).toEqual(new Uint8Array([5, 5, 5, 5, 5, 5, 5, 5, 0]));
  });

  it("a Buffer's copy is a copy (Buffer.prototype.slice is a view)", () => {
    if (typeof Buffer === 'undefined') return;
    const buf = Buffer.from([1, 2, 3, 4]);
    const a = checkBytes('data', buf).slice();
    const b = copyBytes('data', buf);
    buf[0] = 99;
    expect(a[0]).toBe(1);
    expect(b[0]).toBe(1);
  });

  it('Proxies, resizable and shared buffers are validation errors, not raw TypeErrors', () => {
    expect(() => checkBytes('x', new Proxy(new Uint8Array(4), {}))).toThrow(ValidationTypeError);
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer;
    let rab: ArrayBuffer | undefined;
    try {
      rab = new Resizable(8, { maxByteLength: 64 });
    } catch {
      rab = undefined;
    }
    if (rab && (rab as { resizable?: boolean }).resizable) expect(() => checkBytes('x', new Uint8Array(rab!))).toThrow(ValidationTypeError);
    expect(() => checkBytes('x', new Uint8Array(new SharedArrayBuffer(4)))).toThrow(ValidationTypeError);
    const fake = Object.create(Uint8Array.prototype) as Uint8Array;
    expect(() => checkBytes('x', fake)).toThrow(ValidationTypeError);
    const ab = new ArrayBuffer(8);
    const view = new Uint8Array(ab);
    structuredClone(ab, { transfer: [ab] });
    expect(() => checkBytes('x', view)).toThrow(ValidationTypeError);
  });
});
