/**
 * The page kernel behind content-based page sharing: the WebAssembly SIMD hash and compare give
 * exactly the JavaScript reference's results (in place on a machine's frames and on copies), the
 * hash sees every word of the page, the generated module matches its generator, and the sharing
 * engine's open-addressing index behaves like a Map.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createFrameKernel, createPageKernel, hashPageJs, MachineMemory, MemoryManager, PageSharing, pagesEqual, type Hash64 } from '../../src/memory/index.js';
import { HashIndex } from '../../src/memory/hash-index.js';
import { createSimContext, PAGE_SIZE, type Gppn, type VmId } from '../../src/sim/index.js';
import { Host } from '../../src/tvmm/index.js';

const W = PAGE_SIZE / 4;
const page = fc.uint8Array({ minLength: PAGE_SIZE, maxLength: PAGE_SIZE });
const h = (): Hash64 => ({ lo: 0, hi: 0 });

describe('page kernel', () => {
  it('runs as WebAssembly SIMD here, and a JS kernel can be forced', () => {
    expect(createPageKernel().backend).toBe('wasm-simd');
    expect(createPageKernel('js').backend).toBe('js');
    expect(new MachineMemory(64).kernel).not.toBeNull();
    expect(new MachineMemory(64, { pageKernel: false }).kernel).toBeNull();
  });

  it('WebAssembly, copy-in and in-place hashes equal the JavaScript reference', () => {
    const wasm = createPageKernel();
    const js = createPageKernel('js');
    const fk = createFrameKernel(4)!;
    const frames = new Int32Array(fk.buffer, 0, 4 * W);
    fc.assert(
      fc.property(page, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (bytes, salt) => {
        const words = new Int32Array(bytes.buffer);
        const ref = hashPageJs(words, 0, salt, h());
        wasm.load(0, words, 0);
        js.load(0, words, 0);
        frames.set(words, 2 * W);
        expect(wasm.hash(0, salt, h())).toEqual(ref);
        expect(js.hash(0, salt, h())).toEqual(ref);
        expect(fk.hashFrame(2, salt, h())).toEqual(ref);
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it('every single-bit flip, and every swap of two adjacent words, changes the hash', () => {
    const fk = createFrameKernel(2)!;
    const f = new Int32Array(fk.buffer, 0, 2 * W);
    for (let i = 0; i < W; i++) f[i] = Math.imul(i, 0x9e3779b1);
    const base = fk.hashFrame(0, 7, h());
    const seen = new Set<string>([`${base.lo}:${base.hi}`]);
    for (let bit = 0; bit < PAGE_SIZE * 8; bit++) {
      f[bit >>> 5] ^= 1 << (bit & 31);
      const x = fk.hashFrame(0, 7, h());
      f[bit >>> 5] ^= 1 << (bit & 31);
      seen.add(`${x.lo}:${x.hi}`);
    }
    expect(seen.size).toBe(PAGE_SIZE * 8 + 1);
    for (let i = 0; i + 1 < W; i++) {
      [f[i], f[i + 1]] = [f[i + 1], f[i]];
      const x = fk.hashFrame(0, 7, h());
      [f[i], f[i + 1]] = [f[i + 1], f[i]];
      expect(`${x.lo}:${x.hi}`).not.toBe(`${base.lo}:${base.hi}`);
    }
    // Salts separate equal pages (sharing domains).
    expect(fk.hashFrame(0, 8, h())).not.toEqual(base);
  });

  it('pairs of bit flips in the same lanes, steps apart, do not cancel (no structured collisions)', () => {
    // A bare multiply-and-rotate round failed this: a flip of bit 30 of word 0 was cancelled by a
    // flip of bit 11 of word 32 (the lane's next word).
    const fk = createFrameKernel(1)!;
    const f = new Int32Array(fk.buffer, 0, W);
    for (let i = 0; i < W; i++) f[i] = Math.imul(i, 0x9e3779b1);
    const words = [0, 32, 64, 16, 48, 4, 992, 1008, 1023, 991, 500, 532];
    const flips = words.flatMap((w) => Array.from({ length: 32 }, (_, b) => [w, b] as const));
    const seen = new Set<string>();
    let n = 0;
    for (let i = 0; i < flips.length; i++) {
      for (let j = i; j < flips.length; j++) {
        const [w1, b1] = flips[i], [w2, b2] = flips[j];
        f[w1] ^= 1 << b1;
        if (j !== i) f[w2] ^= 1 << b2;
        const x = fk.hashFrame(0, 3, h());
        f[w1] ^= 1 << b1;
        if (j !== i) f[w2] ^= 1 << b2;
        seen.add(`${x.lo}:${x.hi}`);
        n++;
      }
    }
    expect(seen.size).toBe(n);
  });

  it('compares equal pages equal and a page differing in any one byte unequal, in every kernel', () => {
    const fk = createFrameKernel(3)!;
    const f8 = new Uint8Array(fk.buffer, 0, 3 * PAGE_SIZE);
    const f32 = new Int32Array(fk.buffer, 0, 3 * W);
    const wasm = createPageKernel();
    const js = createPageKernel('js');
    fc.assert(
      fc.property(page, fc.nat(PAGE_SIZE - 1), fc.integer({ min: 1, max: 255 }), (bytes, at, delta) => {
        f8.set(bytes, 0);
        f8.set(bytes, PAGE_SIZE);
        expect(fk.framesEqual(0, 1)).toBe(true);
        f8[PAGE_SIZE + at] ^= delta;
        expect(fk.framesEqual(0, 1)).toBe(false);
        for (const k of [wasm, js]) {
          k.load(0, f32, 0);
          k.load(1, f32, W);
          expect(k.equal()).toBe(false);
          expect(k.isZero(0)).toBe(bytes.every((b) => b === 0));
        }
        expect(pagesEqual(f32, 0, f32, W)).toBe(false);
        f8.fill(0, 2 * PAGE_SIZE);
        expect(fk.frameIsZero(2)).toBe(true);
        f8[2 * PAGE_SIZE + at] = delta;
        expect(fk.frameIsZero(2)).toBe(false);
      }),
      { seed: 12, numRuns: 100 },
    );
  });

  it('a machine with the in-place kernel and one with plain slabs share exactly the same pages', () => {
    const run = (pageKernel: boolean) => {
      const ctx = createSimContext({ seed: 5 });
      const machine = new MachineMemory(600, { pageKernel });
      const mm = new MemoryManager(ctx, machine);
      const rng = ctx.rng.fork('content');
      const pool = [rng.bytes(PAGE_SIZE), rng.bytes(PAGE_SIZE), new Uint8Array(PAGE_SIZE)];
      for (const vm of [1, 2] as VmId[]) {
        mm.addVm(vm, 256);
        for (let g = 0; g < 256; g++) {
          const m = mm.resolve(vm, g as Gppn, true);
          const r = rng.int(4);
          machine.bytes(m).set(r < 3 ? pool[r] : rng.bytes(PAGE_SIZE));
        }
      }
      const s = new PageSharing(mm, ctx.rng.fork('scan'));
      s.setDomain(1 as VmId, 'd');
      s.setDomain(2 as VmId, 'd');
      for (let i = 0; i < 6; i++) s.scan(256);
      const st = s.stats();
      const maps = [1, 2].map((v) => Array.from(mm.pmap(v as VmId).mpn));
      return { st: { ...st, metadataBytes: 0, general_profit: 0 }, maps, used: machine.stats().used };
    };
    const a = run(true), b = run(false);
    expect(a.st.merges).toBeGreaterThan(100);
    expect(a).toEqual(b);
  });

  it('a guest cannot reach the kernel through patched globals: WebAssembly is frozen, and atob is not used', async () => {
    new Host({ seed: 1, machineMiB: 8 }); // hardens the realm
    expect(Object.isFrozen(WebAssembly)).toBe(true);
    expect(Object.isFrozen(WebAssembly.Memory.prototype)).toBe(true);
    expect(Object.isFrozen(WebAssembly.Instance.prototype)).toBe(true);
    expect(() => Object.defineProperty(WebAssembly.Memory.prototype, 'buffer', { get: () => null })).toThrow(TypeError);
    const realAtob = globalThis.atob;
    globalThis.atob = () => 'not the kernel';
    try {
      vi.resetModules(); // a fresh copy of hash.ts compiles the module again, under the patched atob
      const fresh = await import('../../src/memory/hash.js');
      const fk = fresh.createFrameKernel(2)!;
      expect(fk).not.toBeNull();
      const f = new Int32Array(fk.buffer, 0, W);
      for (let i = 0; i < W; i++) f[i] = i * 7;
      expect(fk.hashFrame(0, 9, h())).toEqual(hashPageJs(f, 0, 9, h()));
    } finally {
      globalThis.atob = realAtob;
    }
  });

  it('the committed module is what scripts/build-wasm.mjs generates', () => {
    expect(() => execFileSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});

describe('HashIndex (the sharing table)', () => {
  it('behaves like a Map under any sequence of set, get and delete', () => {
    const key = fc.integer({ min: -40, max: 40 }).map((k) => k * 0x10001); // many equal low bits: long probe runs
    const op = fc.oneof(
      fc.tuple(fc.constant('set' as const), key, fc.nat(1000)),
      fc.tuple(fc.constant('del' as const), key, fc.constant(0)),
      fc.tuple(fc.constant('get' as const), key, fc.constant(0)),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const idx = new HashIndex(16);
        const ref = new Map<number, number>();
        for (const [o, k, v] of ops) {
          if (o === 'set') {
            idx.set(k, v);
            ref.set(k, v);
          } else if (o === 'del') expect(idx.delete(k)).toBe(ref.delete(k));
          else expect(idx.get(k)).toBe(ref.get(k) ?? -1);
          expect(idx.size).toBe(ref.size);
        }
        for (const [k, v] of ref) expect(idx.get(k)).toBe(v);
        idx.deleteWhere((k) => k % 3 === 0);
        for (const [k, v] of ref) expect(idx.get(k)).toBe(k % 3 === 0 ? -1 : v);
      }),
      { seed: 13, numRuns: 300 },
    );
  });
});
