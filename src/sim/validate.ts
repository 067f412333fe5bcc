/**
 * Argument validation for every public function. No implicit coercion: a `valueOf` on an object
 * is never called, strings are not numbers, bigints are not numbers.
 */
import { ValidationRangeError, ValidationTypeError } from './errors.js';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (ArrayBuffer.isView(v)) {
    try {
      return String(TA_TAG_GET.call(v) ?? 'DataView');
    } catch {
      return 'typed array';
    }
  }
  return typeof v;
}

/** Asserts `v` is an integer number in [min, max]; throws TypeError/RangeError naming `name`. */
export function checkInt(name: string, v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number') throw new ValidationTypeError(`${name} must be an integer number, got ${describe(v)}`);
  if (!Number.isInteger(v)) throw new ValidationRangeError(`${name} must be an integer, got ${String(v)}`);
  if (Object.is(v, -0)) throw new ValidationRangeError(`${name} must not be -0`);
  if (v < min || v > max) throw new ValidationRangeError(`${name} must be in [${min}, ${max}], got ${v}`);
  return v;
}

/** Asserts `v` is a finite number in [min, max]. */
export function checkNumber(name: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number') throw new ValidationTypeError(`${name} must be a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new ValidationRangeError(`${name} must be finite, got ${String(v)}`);
  if (v < min || v > max) throw new ValidationRangeError(`${name} must be in [${min}, ${max}], got ${v}`);
  return v;
}

// The typed-array facts checkBytes relies on, read through the intrinsic accessors captured at
// load time: an own `length`/`buffer` property on the instance, a subclass overriding them, or a
// Proxy cannot make a byte array look shorter, longer, or over different memory than it is.
const TA_PROTO = Object.getPrototypeOf(Uint8Array.prototype) as object;
const taGetter = (k: string) => Object.getOwnPropertyDescriptor(TA_PROTO, k)!.get! as (this: unknown) => unknown;
const TA_BUFFER = taGetter('buffer');
const TA_OFFSET = taGetter('byteOffset');
const TA_LENGTH = taGetter('length');
const TA_TAG_GET = Object.getOwnPropertyDescriptor(TA_PROTO, Symbol.toStringTag)!.get! as (this: unknown) => unknown;
const SAB_BYTES = typeof SharedArrayBuffer === 'undefined' ? undefined : (Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength')!.get! as (this: unknown) => number);
const AB_BYTES = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get! as (this: unknown) => number;
const AB_DETACHED = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'detached')?.get as ((this: unknown) => boolean) | undefined;
const AB_RESIZABLE = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'resizable')?.get as ((this: unknown) => boolean) | undefined;

/** What a byte array really is (intrinsic accessors only), or undefined when it is not a Uint8Array. */
function bytesOf(v: unknown): { buffer: ArrayBufferLike; offset: number; length: number; shared: boolean } | undefined {
  try {
    if (TA_TAG_GET.call(v) !== 'Uint8Array') return undefined;
    const buffer = TA_BUFFER.call(v) as ArrayBufferLike;
    // ArrayBuffer's byteLength getter throws on a SharedArrayBuffer: probe with it, so the common
    // case (a plain buffer) never throws (an exception per call cost 13 % of the demo's time).
    let shared = false;
    try {
      AB_BYTES.call(buffer);
    } catch {
      shared = SAB_BYTES !== undefined;
      if (shared) SAB_BYTES!.call(buffer); // neither kind of buffer: throws, so not a byte array
    }
    return { buffer, offset: TA_OFFSET.call(v) as number, length: TA_LENGTH.call(v) as number, shared };
  } catch {
    return undefined;
  }
}

/**
 * True when the view's buffer was detached (transferred). `ArrayBuffer.prototype.detached` is
 * missing before Node 21, and a detached view reports length 0 like an empty one, so a zero-length
 * buffer is probed: constructing a view over a detached buffer throws.
 */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (AB_DETACHED) return AB_DETACHED.call(buffer);
  if (AB_BYTES.call(buffer) !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/**
 * Asserts `v` is a Uint8Array (Node's Buffer is accepted: it is a Uint8Array subclass) over a
 * non-shared, non-detached, non-resizable buffer, optionally of an exact length or a length range.
 * Returns a plain Uint8Array view of exactly those bytes (a new view object, same memory): whatever
 * the caller does with it — `.slice()` to copy, `.length`, `.subarray()` — runs the intrinsic
 * methods on the real length, never a subclass's or an own property's (a Buffer's own `slice` is a
 * view, not a copy; an own `length` could claim 32 bytes for an empty array).
 */
export function checkBytes(name: string, v: unknown, len?: number | { min?: number; max?: number }): Uint8Array {
  const b = bytesOf(v);
  if (!b) throw new ValidationTypeError(`${name} must be a Uint8Array, got ${describe(v)}`);
  if (b.shared) throw new ValidationTypeError(`${name} must not be backed by a SharedArrayBuffer`);
  if (isDetached(b.buffer)) throw new ValidationTypeError(`${name} is backed by a detached buffer`);
  if (AB_RESIZABLE && AB_RESIZABLE.call(b.buffer)) throw new ValidationTypeError(`${name} must not be backed by a resizable buffer`);
  if (typeof len === 'number' && b.length !== len)
    throw new ValidationRangeError(`${name} must be ${len} bytes, got ${b.length}`);
  if (typeof len === 'object') {
    if (len.min !== undefined && b.length < len.min) throw new ValidationRangeError(`${name} must be at least ${len.min} bytes, got ${b.length}`);
    if (len.max !== undefined && b.length > len.max) throw new ValidationRangeError(`${name} must be at most ${len.max} bytes, got ${b.length}`);
  }
  return new Uint8Array(b.buffer, b.offset, b.length);
}

/** Asserts `v` is a string, optionally non-empty and at most `max` characters. */
export function checkString(name: string, v: unknown, opts: { nonEmpty?: boolean; max?: number } = {}): string {
  if (typeof v !== 'string') throw new ValidationTypeError(`${name} must be a string, got ${describe(v)}`);
  if (opts.nonEmpty && v.length === 0) throw new ValidationRangeError(`${name} must not be empty`);
  if (opts.max !== undefined && v.length > opts.max) throw new ValidationRangeError(`${name} must be at most ${opts.max} characters`);
  return v;
}

/** Asserts `v` is one of the listed literal values. */
export function checkOneOf<const T extends readonly (string | number | boolean)[]>(name: string, v: unknown, allowed: T): T[number] {
  if (!allowed.includes(v as T[number]))
    throw new (typeof v === 'string' || typeof v === 'number' ? ValidationRangeError : ValidationTypeError)(
      `${name} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${typeof v === 'string' ? JSON.stringify(v) : describe(v)}`,
    );
  return v as T[number];
}

/** Asserts `v` is a boolean. */
export function checkBool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ValidationTypeError(`${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/** Asserts `v` is a plain object (not null, not an array) and returns it. */
export function checkObject(name: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v))
    throw new ValidationTypeError(`${name} must be an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

/** Asserts `v` is a function. */
export function checkFunction(name: string, v: unknown): (...a: never[]) => unknown {
  if (typeof v !== 'function') throw new ValidationTypeError(`${name} must be a function, got ${describe(v)}`);
  return v as (...a: never[]) => unknown;
}

/** Returns a copy of validated bytes (inputs are copied on entry, threats §0.4.6). */
export function copyBytes(name: string, v: unknown, len?: number | { min?: number; max?: number }): Uint8Array {
  return checkBytes(name, v, len).slice();
}
