/**
 * The event log. Every mechanism records what it does here; security events are first-class
 * (`cat: 'security'`) and can be listed on their own. A running SHA-256 over the canonical JSON of
 * every event gives a digest that two runs with one seed must share byte for byte. Only the last
 * `keep` events are retained in memory; the digest and counters cover all of them.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { VirtualClock } from './clock.js';

/** Event categories. */
export type TraceCategory = 'vm' | 'vcpu' | 'mmu' | 'memory' | 'cloak' | 'attest' | 'storage' | 'io' | 'irq' | 'guest' | 'security' | 'sched' | 'mgmt';

/** One trace event. `t` is virtual ns. */
export interface TraceEvent {
  readonly seq: number;
  readonly t: number;
  readonly cat: TraceCategory;
  readonly kind: string;
  readonly vm?: number;
  readonly data?: Readonly<Record<string, string | number | boolean | null>>;
}

/** A security event: a detected attack, a refusal, a violation. */
export interface SecurityEvent extends TraceEvent {
  readonly cat: 'security';
}

type Listener = (e: TraceEvent) => void;

const enc = new TextEncoder();

/** Append-only trace with a running digest. */
export class Trace {
  #seq = 0;
  #events: TraceEvent[] = [];
  #security: SecurityEvent[] = [];
  #hashState = sha256.create();
  #listeners: Listener[] = [];
  #counts = new Map<string, number>();
  /** Canonical lines not yet hashed (hashed in batches: one update per 512 events). */
  #pending: string[] = [];

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#hashState.update(enc.encode(this.#pending.join('\n') + '\n'));
    this.#pending = [];
  }
  /** Whether ordinary (non-security) events are recorded at all; security events always are. */
  enabled = true;

  constructor(private readonly clock: VirtualClock, private readonly keep = 200_000) {}

  /** Records an event. */
  emit(cat: TraceCategory, kind: string, vm?: number, data?: Record<string, string | number | boolean | null>): void {
    if (!this.enabled && cat !== 'security') return;
    const e: TraceEvent = { seq: this.#seq++, t: this.clock.now, cat, kind, ...(vm === undefined ? {} : { vm }), ...(data ? { data } : {}) };
    this.#pending.push(JSON.stringify(e));
    if (this.#pending.length >= 512) this.#flush();
    const key = `${cat}.${kind}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    if (this.#events.length >= this.keep) this.#events.splice(0, this.#events.length - this.keep + 1);
    this.#events.push(e);
    if (cat === 'security') this.#security.push(e as SecurityEvent);
    for (const l of this.#listeners) l(e);
  }

  /** Records a security event (always recorded). */
  security(kind: string, vm?: number, data?: Record<string, string | number | boolean | null>): void {
    this.emit('security', kind, vm, data);
  }

  /** Subscribes to every future event; returns an unsubscribe function. */
  subscribe(l: Listener): () => void {
    this.#listeners.push(l);
    return () => void (this.#listeners = this.#listeners.filter((x) => x !== l));
  }

  /** The retained events (copies). */
  events(): TraceEvent[] {
    return this.#events.slice();
  }

  /** Every security event of the run. */
  securityEvents(): SecurityEvent[] {
    return this.#security.slice();
  }

  /** Count of events by "cat.kind". */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#counts.entries()].sort());
  }

  /** Total number of events emitted. */
  get length(): number {
    return this.#seq;
  }

  /** Hex SHA-256 over every event so far (canonical JSON lines). */
  digest(): string {
    this.#flush();
    return bytesToHex(this.#hashState.clone().digest());
  }
}
