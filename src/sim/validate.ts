/**
 * Argument validation for every public function. No implicit coercion: a `valueOf` on an object
 * is never called, strings are not numbers, bigints are not numbers.
 */
import { ValidationRangeError, ValidationTypeError } from './errors.js';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (ArrayBuffer.isView(v)) return (v as object).constructor?.name ?? 'typed array';
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

/**
 * True when the view's buffer was detached (transferred). `ArrayBuffer.prototype.detached` is
 * missing before Node 21, and a detached view reports length 0 like an empty one, so a zero-length
 * buffer is probed: constructing a view over a detached buffer throws.
 */
function isDetached(v: Uint8Array): boolean {
  const d = (v.buffer as { detached?: boolean }).detached;
  if (d !== undefined) return d;
  if (v.buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(v.buffer);
    return false;
  } catch {
    return true;
  }
}

/**
 * Asserts `v` is a plain Uint8Array (Node's Buffer is accepted: it is a Uint8Array subclass) over
 * a non-shared, non-detached buffer, optionally of an exact length or a length range.
 */
export function checkBytes(name: string, v: unknown, len?: number | { min?: number; max?: number }): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new ValidationTypeError(`${name} must be a Uint8Array, got ${describe(v)}`);
  if (typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer)
    throw new ValidationTypeError(`${name} must not be backed by a SharedArrayBuffer`);
  if (isDetached(v)) throw new ValidationTypeError(`${name} is backed by a detached buffer`);
  if (typeof len === 'number' && v.length !== len)
    throw new ValidationRangeError(`${name} must be ${len} bytes, got ${v.length}`);
  if (typeof len === 'object') {
    if (len.min !== undefined && v.length < len.min) throw new ValidationRangeError(`${name} must be at least ${len.min} bytes, got ${v.length}`);
    if (len.max !== undefined && v.length > len.max) throw new ValidationRangeError(`${name} must be at most ${len.max} bytes, got ${v.length}`);
  }
  return v;
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
