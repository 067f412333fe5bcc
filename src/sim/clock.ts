/**
 * The virtual clock, in nanoseconds. Only the scheduler and event loop advance it; nothing in the
 * simulation reads wall-clock time.
 */
import { checkInt } from './validate.js';
import { invariantError } from './errors.js';

/** A monotonic virtual clock in integer nanoseconds. */
export class VirtualClock {
  #now = 0;
  /** Current virtual time in ns. */
  get now(): number {
    return this.#now;
  }
  /** Advances the clock by `ns` (≥ 0). */
  advance(ns: number): void {
    this.#now += ns;
  }
  /** Moves the clock to `t`; throws if that would go backwards. */
  advanceTo(t: number): void {
    checkInt('t', t);
    if (t < this.#now) throw invariantError(`virtual clock cannot go backwards (${t} < ${this.#now})`);
    this.#now = t;
  }
}

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;
