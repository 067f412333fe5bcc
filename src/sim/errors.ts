/**
 * The three kinds of failure (DESIGN.md §7):
 * - caller misuse → {@link ValidationTypeError} / {@link ValidationRangeError} (subclasses of the
 *   built-in TypeError / RangeError, so `instanceof TypeError` holds);
 * - adversarial or expected outcomes → {@link TerraError} with a literal `code`, also recorded as a
 *   security event by whoever raises it;
 * - a broken internal invariant → {@link InvariantError}.
 */
import { lockClass } from './harden.js';

/** Codes of typed (expected or adversarial) outcomes. */
export type TerraErrorCode =
  | 'ISOLATION_VIOLATION'
  | 'INTEGRITY_VIOLATION'
  | 'REPLAY_DETECTED'
  | 'ALIAS_DETECTED'
  | 'CONTEXT_TAMPER'
  | 'IAGO_VIOLATION'
  | 'DOMAIN_TERMINATED'
  | 'VM_HALTED'
  | 'INVALID_STATE'
  | 'NOT_FOUND'
  | 'ADMISSION_DENIED'
  | 'OUT_OF_MEMORY'
  | 'ATTESTATION_ERROR'
  | 'UNSEAL_ERROR'
  | 'ROLLBACK_DETECTED'
  | 'MALFORMED'
  | 'GUEST_FAULT'
  | 'IO_ERROR'
  | 'CORRUPT'
  | 'BUSY'
  | 'STALE_HANDLE';

/** A typed, expected failure: adversarial input detected, policy refusal, wrong state. */
export class TerraError extends Error {
  override readonly name: string = 'TerraError';
  constructor(
    readonly code: TerraErrorCode,
    message: string,
    readonly detail: Readonly<Record<string, string | number | boolean>> = {},
  ) {
    super(message);
  }
}

/** Misuse by the caller: a value of the wrong type. */
export class ValidationTypeError extends TypeError {
  override readonly name = 'ValidationTypeError';
  readonly code = 'VALIDATION' as const;
}

/** Misuse by the caller: a value outside its allowed range. */
export class ValidationRangeError extends RangeError {
  override readonly name = 'ValidationRangeError';
  readonly code = 'VALIDATION' as const;
}

/** InvariantErrors terracloak itself raised (through {@link invariantError}); see {@link isGenuineInvariant}. */
const genuineInvariants = new WeakSet<object>();
let minting = false;

/**
 * A broken internal invariant: a bug in terracloak, never the caller's fault. terracloak raises them
 * through {@link invariantError}; an instance anyone else constructs (the class is public, and a guest
 * program can throw one) is not genuine, so the executor treats it as the program's own fault.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
  constructor(message?: string) {
    super(message);
    if (minting) genuineInvariants.add(this);
  }
}

/** A genuine InvariantError (terracloak's own; only code inside terracloak calls this). */
export function invariantError(message: string): InvariantError {
  minting = true;
  try {
    return new InvariantError(message);
  } finally {
    minting = false;
  }
}

/** True when `e` is an InvariantError terracloak raised, not one a guest forged. */
export function isGenuineInvariant(e: unknown): boolean {
  return typeof e === 'object' && e !== null && genuineInvariants.has(e);
}

/** Thrown by fault injection at a named crash point (threat model C1). */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
  constructor(readonly point: string) {
    super(`simulated crash at ${point}`);
  }
}

// Guests receive these errors and can reach the classes: no guest may redefine them for the others.
for (const C of [TerraError, ValidationTypeError, ValidationRangeError, InvariantError, SimulatedCrash]) lockClass(C);

/** Throws an InvariantError when `cond` is false. */
export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw invariantError(message);
}

/** True when `e` is a caller-misuse error raised by terracloak's validators. */
export function isValidationError(e: unknown): e is ValidationTypeError | ValidationRangeError {
  return e instanceof ValidationTypeError || e instanceof ValidationRangeError;
}

/**
 * `e instanceof C` that never throws: a value thrown by guest code may be a Proxy whose
 * getPrototypeOf trap throws, which would turn the check itself into an exception out of the
 * handler meant to contain it. Such a value is an instance of nothing.
 */
export function isInstance<T>(e: unknown, C: abstract new (...a: never[]) => T): e is T {
  try {
    return e instanceof C;
  } catch {
    return false;
  }
}

/**
 * A short description of anything thrown (`Name: message`), for halt reasons and traces. Never
 * throws and never runs more than the thrown value's own accessors once each: a hostile value
 * (Proxy, throwing getters, non-string name/message) is described as 'non-error thrown'.
 */
export function describeThrown(e: unknown, max = 200): string {
  try {
    if (!isInstance(e, Error)) return 'non-error thrown';
    const err = e as Error;
    const name: unknown = err.name;
    const message: unknown = err.message;
    if (typeof name !== 'string' || typeof message !== 'string') return 'non-error thrown';
    return `${name}: ${message}`.slice(0, max);
  } catch {
    return 'non-error thrown';
  }
}
