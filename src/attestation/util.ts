/**
 * Shared helpers of the attestation engine (Terra, Garfinkel et al., SOSP'03): strict
 * deterministic CBOR (RFC 8949 §4.2 via cborg), typed attestation errors, fault injection at named
 * crash points (threat model C1/C2), and byte helpers.
 */
import { decode, encode } from 'cborg';
import { SimulatedCrash, TerraError, checkBytes, checkString, type SimContext, type TerraErrorCode } from '../sim/index.js';
import { toHex } from '../crypto/index.js';

const DECODE_OPTS = {
  strict: true,
  useMaps: true,
  rejectDuplicateMapKeys: true,
  allowUndefined: false,
  allowIndefinite: false,
  allowNaN: false,
  allowInfinity: false,
  allowBigInt: false,
} as const;

/** Deterministic CBOR encoding (cborg defaults: shortest integers, sorted map keys, no indefinite lengths). */
export function cborEncode(v: unknown): Uint8Array {
  return encode(v);
}

/**
 * Strict CBOR decoding: one item, no trailing bytes, no tags, no duplicate keys, no undefined,
 * no indefinite lengths, and the input must be the canonical (re-encoded) form. Throws
 * TerraError('MALFORMED') naming `what` otherwise.
 */
export function cborDecode(bytes: Uint8Array, what: string): unknown {
  let v: unknown;
  try {
    v = decode(bytes, DECODE_OPTS);
  } catch (e) {
    throw new TerraError('MALFORMED', `${what}: invalid CBOR (${(e as Error).message})`, { what });
  }
  let re: Uint8Array;
  try {
    re = encode(v);
  } catch {
    throw new TerraError('MALFORMED', `${what}: undecodable CBOR value`, { what });
  }
  if (!sameBytes(re, bytes)) throw new TerraError('MALFORMED', `${what}: CBOR is not in deterministic encoding`, { what });
  return v;
}

/** Non-constant-time equality for public values. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A typed attestation failure: TerraError('ATTESTATION_ERROR') with `detail.check` naming the failed check. */
export function attestationError(check: string, message: string, extra: Record<string, string | number | boolean> = {}): TerraError {
  return new TerraError('ATTESTATION_ERROR', `${check}: ${message}`, { check, ...extra });
}

/** Raises `err` after recording it as a security event. */
export function raise(ctx: SimContext, err: TerraError, vm?: number): never {
  const data: Record<string, string | number | boolean | null> = { code: err.code };
  for (const [k, v] of Object.entries(err.detail)) data[k] = v;
  ctx.trace.security(`attest.${err.code.toLowerCase()}`, vm, data);
  throw err;
}

/** Creates a TerraError with a code and records it as a security event, then throws it. */
export function fail(ctx: SimContext, code: TerraErrorCode, message: string, detail: Record<string, string | number | boolean> = {}, vm?: number): never {
  raise(ctx, new TerraError(code, message, detail), vm);
}

/** Fault injection at named crash points: `arm(point)` makes the next `hit(point)` throw SimulatedCrash. */
export class FaultInjector {
  readonly #armed = new Map<string, number>();
  readonly #seen = new Set<string>();
  /** Arms `point` to crash on its `nth` next hit (1 = the next one). */
  arm(point: string, nth = 1): void {
    checkString('point', point, { nonEmpty: true });
    this.#armed.set(point, nth);
  }
  /** Disarms every point. */
  clear(): void {
    this.#armed.clear();
  }
  /** Called by mechanisms at a crash point; throws SimulatedCrash when armed. */
  hit(point: string): void {
    this.#seen.add(point);
    const n = this.#armed.get(point);
    if (n === undefined) return;
    if (n <= 1) {
      this.#armed.delete(point);
      throw new SimulatedCrash(point);
    }
    this.#armed.set(point, n - 1);
  }
  /** Every crash point reached so far (for enumerating them in tests). */
  seen(): string[] {
    return [...this.#seen].sort();
  }
}

/** Type-checks adversarial bytes (TypeError for a non-Uint8Array: caller misuse) but reports an oversize input as TerraError('MALFORMED'), since its size is the adversary's choice. */
export function checkInput(what: string, v: unknown, max: number): Uint8Array {
  const b = checkBytes(what, v);
  if (b.length > max) throw new TerraError('MALFORMED', `${what}: ${b.length} bytes exceeds the limit of ${max}`, { what });
  return b;
}

/** Hex helper re-exported for the attestation modules. */
export const hex = toHex;

/** UTF-8 bytes. */
export function te(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Reads a CBOR map entry with an expected JS type, or throws MALFORMED. */
export function mapGet<T>(m: Map<unknown, unknown>, key: number | string, what: string, kind: 'bytes' | 'int' | 'string' | 'bool' | 'array' | 'map', optional = false): T {
  const v = m.get(key);
  if (v === undefined) {
    if (optional) return undefined as T;
    throw new TerraError('MALFORMED', `${what}: missing field ${String(key)}`, { what, field: String(key) });
  }
  const ok =
    (kind === 'bytes' && v instanceof Uint8Array) ||
    (kind === 'int' && typeof v === 'number' && Number.isSafeInteger(v)) ||
    (kind === 'string' && typeof v === 'string') ||
    (kind === 'bool' && typeof v === 'boolean') ||
    (kind === 'array' && Array.isArray(v)) ||
    (kind === 'map' && v instanceof Map);
  if (!ok) throw new TerraError('MALFORMED', `${what}: field ${String(key)} must be ${kind}`, { what, field: String(key) });
  return v as T;
}

/** Throws MALFORMED unless every key of `m` is in `allowed`. */
export function onlyKeys(m: Map<unknown, unknown>, allowed: readonly (number | string)[], what: string): void {
  for (const k of m.keys())
    if (!allowed.includes(k as number | string)) throw new TerraError('MALFORMED', `${what}: unknown field ${String(k)}`, { what, field: String(k) });
}
