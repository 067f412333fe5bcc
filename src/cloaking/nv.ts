/**
 * The TVMM's persistent state for cloaking (Overshadow ASPLOS'08 §3.5 "managing protection
 * metadata"; Terra SOSP'03 §4.5 secure counters; threats.md §0.4.4 freshness rooted in TVMM-held
 * monotonic counters, CLK-22 and CLK-26). The store holds the TVMM cloaking secret (as sealed
 * storage would) and named monotonic counters with per-slot write atomicity. It survives VM
 * reboots and TVMM crashes (model C2); the guest never reaches it.
 */
import { checkBytes, checkInt, checkString, TerraError } from '../sim/index.js';

/** A persistent store for the cloaking secret and monotonic counters. */
export interface CloakNvStore {
  /** The 32-byte cloaking secret, or undefined before first use. */
  getSecret(): Uint8Array | undefined;
  /** Sets the secret once (TerraError INVALID_STATE when already set). */
  setSecret(secret: Uint8Array): void;
  /** The current value of counter `name` (0 when never advanced). */
  counter(name: string): number;
  /** Advances counter `name` by one, persisting it before returning the new value. */
  advance(name: string): number;
}

/** An in-memory NV store; `snapshot()`/`fromSnapshot()` model what survives a power loss. */
export class MemoryNvStore implements CloakNvStore {
  #secret: Uint8Array | undefined;
  readonly #counters = new Map<string, number>();
  /** Counter writes so far (stats). */
  writes = 0;

  /** Creates a store, optionally with a 32-byte secret. */
  constructor(secret?: Uint8Array) {
    if (secret !== undefined) this.#secret = checkBytes('secret', secret, 32).slice();
  }
  getSecret(): Uint8Array | undefined {
    return this.#secret?.slice();
  }
  setSecret(secret: Uint8Array): void {
    checkBytes('secret', secret, 32);
    if (this.#secret) throw new TerraError('INVALID_STATE', 'the cloaking secret is already set');
    this.#secret = secret.slice();
  }
  counter(name: string): number {
    return this.#counters.get(checkString('name', name, { nonEmpty: true, max: 512 })) ?? 0;
  }
  advance(name: string): number {
    const v = this.counter(name) + 1;
    checkInt('counter', v, 1, 2 ** 32 - 1);
    this.#counters.set(name, v);
    this.writes++;
    return v;
  }
  /** A copy of the persistent state (what a power loss leaves). */
  snapshot(): { secret?: Uint8Array; counters: [string, number][] } {
    return { ...(this.#secret ? { secret: this.#secret.slice() } : {}), counters: [...this.#counters.entries()] };
  }
  /** Rebuilds a store from {@link snapshot} output. */
  static fromSnapshot(s: { secret?: Uint8Array; counters: [string, number][] }): MemoryNvStore {
    const m = new MemoryNvStore(s.secret);
    for (const [k, v] of s.counters) m.#counters.set(checkString('counter name', k, { nonEmpty: true }), checkInt('counter', v, 0, 2 ** 32 - 1));
    return m;
  }
}
