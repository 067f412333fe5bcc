/**
 * The discrete event queue: a binary heap ordered by (time, sequence number), so events at the same
 * virtual time run in the order they were scheduled and one seed gives one trace.
 */
import { checkFunction, checkInt } from './validate.js';
import type { VirtualClock } from './clock.js';

interface Ev {
  t: number;
  seq: number;
  fn: () => void;
  label: string;
  cancelled: boolean;
}

/** A handle to cancel a scheduled event. */
export interface EventHandle {
  cancel(): void;
  readonly time: number;
}

/** Deterministic event queue driving the virtual clock. */
export class EventQueue {
  #heap: Ev[] = [];
  #seq = 0;
  constructor(private readonly clock: VirtualClock) {}

  /** Number of pending (possibly cancelled) events. */
  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `fn` at absolute virtual time `t` (≥ now). */
  at(t: number, label: string, fn: () => void): EventHandle {
    checkInt('t', t, this.clock.now);
    checkFunction('fn', fn);
    const ev: Ev = { t, seq: this.#seq++, fn, label, cancelled: false };
    this.#push(ev);
    return { cancel: () => void (ev.cancelled = true), time: t };
  }

  /** Schedules `fn` after `delay` ns. */
  after(delay: number, label: string, fn: () => void): EventHandle {
    checkInt('delay', delay);
    return this.at(this.clock.now + delay, label, fn);
  }

  /** Time of the next live event, or undefined. */
  peekTime(): number | undefined {
    while (this.#heap.length && this.#heap[0].cancelled) this.#pop();
    return this.#heap[0]?.t;
  }

  /** Runs the next event (advancing the clock to it); returns false when none is left. */
  runNext(): boolean {
    while (this.#heap.length) {
      const ev = this.#pop();
      if (ev.cancelled) continue;
      this.clock.advanceTo(Math.max(ev.t, this.clock.now));
      ev.fn();
      return true;
    }
    return false;
  }

  /** Runs every event with time ≤ `t`, then moves the clock to `t`. */
  runUntil(t: number): void {
    checkInt('t', t);
    for (;;) {
      const next = this.peekTime();
      if (next === undefined || next > t) break;
      this.runNext();
    }
    if (t > this.clock.now) this.clock.advanceTo(t);
  }

  #less(a: Ev, b: Ev): boolean {
    return a.t < b.t || (a.t === b.t && a.seq < b.seq);
  }
  #push(ev: Ev): void {
    const h = this.#heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  #pop(): Ev {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l], h[m])) m = l;
        if (r < h.length && this.#less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
