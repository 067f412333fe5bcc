/**
 * Red team: prototype poisoning. Guest kernels and programs are JavaScript in the TVMM's realm. The
 * TVMM hides its state in private fields, but it calls built-in methods on that state; a guest that
 * replaces one of those methods is handed the receiver. Before the defence, an open-box guest kernel
 * that wrapped TypedArray.prototype.subarray, then read its own guest-physical memory, captured the
 * machine-memory slab and found a closed-box co-tenant's secret in it. `new Host()` now freezes the
 * intrinsics (src/sim/harden.ts), so every such patch throws in the guest and nothing is captured.
 */
import { describe, expect, it } from 'vitest';
import { Host, intrinsicsHardened, type GuestPlatform } from '../../src/index.js';
import { libc as c } from '../../src/guest/index.js';
import { runMain } from '../guest/helpers.js';

const SECRET = new TextEncoder().encode('TOP-SECRET-CLOSED-BOX-VICTIM-0123456789');
const BIG = 1 << 20;

function contains(buf: ArrayBufferLike, needle: Uint8Array): boolean {
  const h = new Uint8Array(buf);
  outer: for (let i = 0; i + needle.length <= h.length; i++) {
    for (let j = 0; j < needle.length; j++) if (h[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A closed-box victim holding SECRET in guest-physical memory and an open-box attacker kernel. */
function world() {
  const tvmm = new Host({ seed: 1, machineMiB: 64 }).boot();
  let vp!: GuestPlatform;
  let ap!: GuestPlatform;
  const victim = tvmm.createVm({ name: 'victim', kind: 'closed-box', memoryMiB: 4, guest: { boot(p) { vp = p; }, interrupt() {}, run: () => 'idle' } });
  const evil = tvmm.createVm({ name: 'evil', kind: 'open-box', memoryMiB: 4, guest: { boot(p) { ap = p; }, interrupt() {}, run: () => 'idle' } });
  tvmm.power(victim, 'on');
  tvmm.power(evil, 'on');
  tvmm.run({ maxSlices: 4 });
  vp.phys.write(0x3000, SECRET);
  return { tvmm, attacker: ap };
}

type Patch = { name: string; apply(capture: (x: unknown) => void): void };
const TA = Object.getPrototypeOf(Uint8Array.prototype) as Record<string, unknown>;
const GenProto = Object.getPrototypeOf(function* () {}).prototype as Record<string, unknown>;

const patches: Patch[] = [
  { name: '%TypedArray%.prototype.subarray', apply: (cap) => { const o = TA.subarray as (...a: unknown[]) => unknown; TA.subarray = function (this: unknown, ...a: unknown[]) { cap(this); return o.apply(this, a); }; } },
  { name: '%TypedArray%.prototype.set', apply: (cap) => { const o = TA.set as (...a: unknown[]) => unknown; TA.set = function (this: unknown, ...a: unknown[]) { cap(a[0]); return o.apply(this, a); }; } },
  { name: 'Uint8Array.prototype.fill (own property)', apply: (cap) => { Object.defineProperty(Uint8Array.prototype, 'fill', { value: function (this: unknown) { cap(this); return this; } }); } },
  { name: 'Map.prototype.get', apply: (cap) => { const o = Map.prototype.get; Map.prototype.get = function (this: Map<unknown, unknown>, k: unknown) { cap(this); return o.call(this, k); }; } },
  { name: 'an Object.prototype setter', apply: (cap) => { Object.defineProperty(Object.prototype, 'attachedTo', { set: cap, configurable: true }); } },
  { name: 'globalThis.Uint8Array', apply: (cap) => { (globalThis as Record<string, unknown>).Uint8Array = new Proxy(Uint8Array, { construct: (t, a) => { const v = Reflect.construct(t, a); cap(v); return v; } }); } },
  { name: '%GeneratorPrototype%.next', apply: (cap) => { const o = GenProto.next as (...a: unknown[]) => unknown; GenProto.next = function (this: unknown, ...a: unknown[]) { cap(this); return o.apply(this, a); }; } },
  { name: 'Array.prototype[Symbol.iterator]', apply: (cap) => { const o = Array.prototype[Symbol.iterator]; Object.defineProperty(Array.prototype, Symbol.iterator, { value: function (this: unknown[]) { cap(this); return o.call(this); } }); } },
  { name: 'Object.freeze', apply: (cap) => { (Object as { freeze: unknown }).freeze = (x: unknown) => (cap(x), x); } },
  { name: 'Function.prototype.call', apply: (cap) => { const o = Function.prototype.call; Function.prototype.call = function (this: (...a: unknown[]) => unknown, ...a: unknown[]) { cap(a[0]); return o.apply(this, a as never); } as never; } },
];

describe('a guest cannot poison the intrinsics the TVMM calls', () => {
  for (const patch of patches) {
    it(`a guest kernel patching ${patch.name} is refused and captures nothing`, () => {
      const { attacker } = world();
      expect(intrinsicsHardened()).toBe(true);
      const captured: unknown[] = [];
      expect(() => patch.apply((x) => captured.push(x))).toThrow(TypeError);
      // Drive the TVMM through the paths that use these built-ins.
      attacker.phys.read(0x1000, 64);
      attacker.phys.write(0x2000, new Uint8Array(64).fill(1));
      attacker.phys.zeroPage(2);
      attacker.kernelSpace(0);
      const leaked = captured.some((x) => (ArrayBuffer.isView(x) && x.buffer.byteLength > BIG && contains(x.buffer, SECRET)) || x instanceof Map);
      expect(leaked).toBe(false);
      expect(captured).toEqual([]);
    });
  }

  it('a user program patching a built-in dies alone (TypeError in its own code); the VM goes on', () => {
    const g = runMain(
      function* (p) {
        const pid = yield* c.fork(p, function* (child) {
          return yield* c.exec(child, 'evil', []);
        });
        yield* c.waitpid(p, pid);
        yield* c.puts(p, 'survivor');
        return 0;
      },
      {
        programs: {
          evil: function* (p) {
            TA.subarray = () => new Uint8Array(0);
            yield* c.puts(p, 'patched');
            return 0;
          },
        },
      },
    );
    expect(g.tvmm.vm(g.vmId).state).not.toBe('halted');
    expect(g.console).toContain('survivor');
    expect(g.console).not.toContain('patched');
    expect(g.console.some((l) => l.includes('(evil): illegal instruction'))).toBe(true);
  });

  it('ordinary code that shadows inherited built-ins keeps working after the freeze (override taming)', () => {
    new Host({ seed: 1, machineMiB: 16 });
    const e = new Error('m');
    e.name = 'Renamed';
    e.message = 'changed';
    expect(`${e.name}: ${e.message}`).toBe('Renamed: changed');
    class A {}
    (A.prototype as { toString(): string }).toString = () => 'A!';
    expect(String(new A())).toBe('A!');
    const o = {} as { valueOf(): number; toString(): string };
    o.valueOf = () => 5;
    o.toString = () => 'five';
    expect(Number(o)).toBe(5);
    expect(String(o)).toBe('five');
    expect(Object.prototype.toString.call([])).toBe('[object Array]');
    // The prototypes themselves stay untouchable.
    expect(() => ((Object.prototype as Record<string, unknown>).toString = () => 'x')).toThrow(TypeError);
    expect(() => ((Error.prototype as { name: string }).name = 'x')).toThrow(TypeError);
    expect(Error.prototype.name).toBe('Error');
  });
});
