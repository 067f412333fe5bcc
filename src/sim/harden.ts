/**
 * Hardening of the JavaScript realm the simulation runs in (an object-capability precondition, as in
 * SES `lockdown()`). Guest kernels and guest programs are JavaScript running in the same realm as the
 * TVMM; the TVMM keeps its state in private fields and closures, but it *calls* built-in methods on
 * that state: `view.subarray()` and `dst.set(view)` on machine-memory views, `map.get()` on its VM
 * table, `gen.next()` on other VMs' program generators, `new Uint8Array(slab)` for lazy slabs. If a
 * guest could replace those built-ins (TypedArray.prototype.subarray, Map.prototype.get,
 * %GeneratorPrototype%.next, globalThis.Uint8Array, an Object.prototype setter), each of those calls
 * would hand it a TVMM object — e.g. the 16 MiB slab holding every VM's frames. Freezing the
 * intrinsics closes that: afterwards a guest's attempt to patch one throws a TypeError in the guest
 * (strict mode), which is a fault of that guest only.
 *
 * Assignments that merely shadow an inherited built-in (`err.name = 'X'`, `obj.toString = f`,
 * `Foo.prototype.constructor = Foo`) must keep working after the freeze (the "override mistake":
 * ES refuses an assignment that would shadow a non-writable inherited property), so the commonly
 * shadowed properties are turned into accessors whose setter defines an own property on the
 * receiver, and refuses only an assignment to the prototype itself (SES's override taming).
 */

/** Keys commonly assigned on derived objects (taming keeps such assignments working). */
const COMMON_OVERRIDES = ['toString', 'toLocaleString', 'valueOf', 'name', 'message', 'stack', 'toJSON'] as const;

let hardened = false;

/** True once {@link hardenIntrinsics} has run in this realm. */
export function intrinsicsHardened(): boolean {
  return hardened;
}

/**
 * Global names whose bindings and values are locked (constructors and namespaces the TVMM uses).
 * `Date` is left alone: the TVMM never calls it on its state (time is virtual), and the host-clock
 * scenarios (FLT-12) stand in for the host by replacing `Date.now`.
 */
const GLOBAL_NAMES = [
  'Object', 'Function', 'Array', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
  'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Promise', 'Proxy', 'Reflect', 'JSON', 'Math', 'Atomics',
  'Number', 'String', 'Boolean', 'Symbol', 'BigInt', 'RegExp',
  'Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError',
  'TextEncoder', 'TextDecoder', 'isFinite', 'isNaN', 'parseInt', 'parseFloat',
  // The page kernel (src/memory/hash.ts): a patched Memory.prototype.buffer or Instance.prototype.exports
  // getter would hand a guest the machine's frames or a hash oracle over them.
  'WebAssembly',
] as const;

/** Objects whose own data properties are tamed wholesale (every one of them is commonly shadowed). */
function tameAll(o: object): void {
  for (const k of Reflect.ownKeys(o)) tameKey(o, k);
}

/**
 * `constructor` stays a data property everywhere: Node's util.inspect (console.log, error printing)
 * reads it by descriptor to name an object's class, and prints `{}` for anything it cannot name.
 * Code that assigns `X.prototype.constructor` on an object inheriting straight from a built-in
 * prototype fails after the freeze; define it with Object.defineProperty instead.
 */
const NEVER_TAMED = new Set<PropertyKey>(['constructor']);

function tameKey(o: object, k: PropertyKey): void {
  if (NEVER_TAMED.has(k)) return;
  const d = Object.getOwnPropertyDescriptor(o, k);
  if (!d || !('value' in d) || !d.writable || !d.configurable) return;
  const value: unknown = d.value;
  const home = o;
  Object.defineProperty(o, k, {
    get() {
      return value;
    },
    set(this: unknown, v: unknown) {
      if (this === home) throw new TypeError(`Cannot assign to ${String(k)} of a frozen intrinsic`);
      if (this === null || (typeof this !== 'object' && typeof this !== 'function')) return;
      if (Object.prototype.hasOwnProperty.call(this, k)) Reflect.set(this as object, k, v);
      else Object.defineProperty(this, k, { value: v, writable: true, enumerable: true, configurable: true });
    },
    enumerable: d.enumerable ?? false,
    configurable: false,
  });
}

/**
 * `Object.freeze` without its cost. V8 moves a frozen object's (empty) elements store to a frozen
 * elements kind, and once Object.prototype or a typed-array prototype is like that, typed-array
 * element access takes a slower path (noble's SHA-256 ran 6× slower, the demo 1.8×). Making the
 * object non-extensible and each own property non-configurable (data properties non-writable) gives
 * the same result — `Object.isFrozen` is true — but redefining a prototype's data properties turns it
 * into a dictionary-mode object, which made byte loops over typed arrays 9× slower; using it once as
 * a constructor's prototype makes V8 optimize it back to fast properties (`OptimizeAsPrototype`).
 * Bench section `harden` measures both loops before and after hardening (`npm run bench -- --only harden`).
 */
function freeze(o: object): void {
  Object.preventExtensions(o);
  for (const k of Reflect.ownKeys(o)) {
    const d = Object.getOwnPropertyDescriptor(o, k);
    if (!d || (!d.configurable && (!('value' in d) || !d.writable))) continue;
    Object.defineProperty(o, k, 'value' in d ? { value: d.value, writable: false, enumerable: d.enumerable, configurable: false } : { get: d.get, set: d.set, enumerable: d.enumerable, configurable: false });
  }
  const F = function (this: unknown) {} as unknown as { new (): unknown; prototype: object };
  F.prototype = o;
  new F();
}

/**
 * Freezes the realm's intrinsics (constructors, prototypes, namespaces, the hidden iterator and
 * generator prototypes, %TypedArray%) and locks their global bindings. Idempotent; called by
 * `new Host()`. The `Error` constructor itself stays extensible (`Error.stackTraceLimit`, V8's
 * `captureStackTrace`) but its prototype is frozen.
 */
export function hardenIntrinsics(): void {
  if (hardened) return;
  const g = globalThis as unknown as Record<string, unknown>;
  const roots: unknown[] = [];
  for (const name of GLOBAL_NAMES) if (g[name] !== undefined) roots.push(g[name]);
  const TypedArray = Object.getPrototypeOf(Uint8Array) as object;
  const gen = function* () {};
  const GeneratorFunction = Object.getPrototypeOf(gen) as { prototype: object; constructor: unknown };
  const iterProto = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object;
  roots.push(
    TypedArray,
    GeneratorFunction,
    GeneratorFunction.prototype,
    GeneratorFunction.constructor,
    iterProto,
    Object.getPrototypeOf([][Symbol.iterator]()),
    Object.getPrototypeOf(new Map()[Symbol.iterator]()),
    Object.getPrototypeOf(new Set()[Symbol.iterator]()),
    Object.getPrototypeOf(''[Symbol.iterator]()),
    Object.getPrototypeOf(/x/g[Symbol.matchAll]('')),
    Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(async function* () {}),
  );

  // Override taming first (while the objects are still configurable).
  tameAll(Object.prototype);
  const protos = new Set<object>();
  for (const r of roots) {
    if ((typeof r === 'function' || typeof r === 'object') && r !== null) {
      const p = (r as { prototype?: unknown }).prototype;
      if (typeof p === 'object' && p !== null) protos.add(p);
      if (typeof r === 'object') protos.add(r);
    }
  }
  for (const p of protos) for (const k of COMMON_OVERRIDES) tameKey(p, k);

  // Transitive freeze of everything reachable from the roots through own properties and prototypes.
  const ErrorCtor = Error as unknown;
  const seen = new Set<unknown>();
  const stack: unknown[] = [...roots, Object.prototype, Function.prototype];
  while (stack.length) {
    const o = stack.pop();
    if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) continue;
    if (o === globalThis) continue;
    seen.add(o);
    stack.push(Object.getPrototypeOf(o));
    for (const k of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (!d) continue;
      if ('value' in d) stack.push(d.value);
      else stack.push(d.get, d.set);
    }
    if (o !== ErrorCtor) freeze(o);
  }
  // The Error constructor: freeze everything but the V8 stack-trace hooks.
  for (const k of Reflect.ownKeys(Error)) {
    if (k === 'stackTraceLimit' || k === 'prepareStackTrace' || k === 'captureStackTrace') continue;
    const d = Object.getOwnPropertyDescriptor(Error, k)!;
    if (d.configurable) Object.defineProperty(Error, k, { ...d, configurable: false, ...('value' in d ? { writable: false } : {}) });
  }

  // Lock the global bindings, so `new Uint8Array(...)` inside the TVMM always means the real one.
  for (const name of GLOBAL_NAMES) {
    const d = Object.getOwnPropertyDescriptor(globalThis, name);
    if (d && d.configurable) Object.defineProperty(globalThis, name, { value: g[name], writable: false, enumerable: d.enumerable ?? false, configurable: false });
  }
  hardened = true;
}

/**
 * Locks a class the TVMM hands instances of to guests (or throws at them): its prototype and the
 * constructor itself become frozen. Guest kernels of every VM share these classes, so a guest that
 * replaced `Object.getPrototypeOf(platform.phys).read` would run its code with *another VM's*
 * facade as `this` (and could call the original on it: that VM's memory); one that defined
 * `Symbol.hasInstance` on TerraError would decide how the TVMM classifies exceptions. Called at
 * module load for each such class, whether or not the realm is hardened.
 */
export function lockClass(C: abstract new (...a: never[]) => unknown): void {
  const proto = C.prototype as object;
  // Methods stay shadowable on an instance (`obj.method = wrapper` — code that holds the instance
  // may wrap it, as experiments do), only the shared prototype is immutable: override taming.
  for (const k of Reflect.ownKeys(proto)) {
    if (k === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, k);
    if (d && 'value' in d && typeof d.value === 'function' && d.writable && d.configurable) tameKey(proto, k);
  }
  freeze(proto);
  freeze(C);
}

/**
 * Locks every class among a module namespace's exports (see {@link lockClass}). Guest kernels and
 * programs are modules of the same program and can import terracloak themselves: without this, a
 * guest that wrote `MemoryManager.prototype.resolve = …` would run inside the TVMM with the memory
 * manager as `this` (every VM's frames). Plain functions and data are left alone.
 */
export function lockExportedClasses(ns: Record<string, unknown>): void {
  for (const v of Object.values(ns)) {
    if (typeof v !== 'function') continue;
    const proto = (v as { prototype?: unknown }).prototype;
    if (typeof proto !== 'object' || proto === null) continue;
    if (Object.getOwnPropertyDescriptor(proto, 'constructor')?.value !== v) continue;
    if (!/^class[\s{]/.test(Function.prototype.toString.call(v))) continue;
    lockClass(v as abstract new (...a: never[]) => unknown);
  }
}
