/**
 * Share-based allocation with the idle memory tax, working-set sampling, admission control and
 * reclamation states, after VMware ESX (Waldspurger, OSDI'02 §5–6).
 *
 * - **Targets** (§5.2, min-funding revocation): memory goes to the VM paying the most shares per
 *   page, with the adjusted ratio ρ = S / (P·(f + k(1−f))), k = 1/(1−τ). We evaluate f at the
 *   candidate allocation P from the VM's *active pages* A = f̂·resident, i.e. f = min(1, A/P), so
 *   ρ(P) = S / (min(P, A) + k·max(0, P − A)): an idle page costs k times an active one.
 *   Every VM first gets its min; the rest of the pool is handed out in chunks to the highest ρ,
 *   never beyond max.
 * - **Sampling** (§5.3): every period (30 s of VM time by default) n = 100 GPPNs are chosen
 *   uniformly at random, their cached translations are dropped (MemoryManager.invalidate), and the
 *   next miss on each counts as a touch (hooks.onMiss). f̂ = t/n. Three estimates: slow EWMA
 *   (gain 1/8), fast EWMA (gain 1/2), and the fast EWMA updated with the current period's partial
 *   count; the estimate is their max. **Our gains**: the paper gives none. 1/2 lets the fast
 *   estimate reach 94% of a step in 4 periods (2 min), so a VM that becomes active regains memory
 *   quickly; 1/8 makes the slow one lose only 12.5% per period (a half-life of ≈ 5 periods ≈ 2.6
 *   min), so a VM that goes idle is taxed gradually, matching Fig. 6's "rises fast, decays slowly".
 * - **Admission control** (§5.4): power-on needs unreserved machine memory ≥ min + overhead and
 *   unreserved swap ≥ max − min.
 * - **Reclamation states** (§6.3): high/soft/hard/low at 6/4/2/1 % free. A state is entered when
 *   free memory drops below its threshold; we climb back one state only once free memory reaches
 *   the threshold of the state above the one we go to (soft→high at ≥ 6 %, hard→soft at ≥ 4 %,
 *   low→hard at ≥ 2 %) — two percentage points of hysteresis, which the paper leaves unquantified.
 */
import { checkInt, checkNumber, TerraError, type Gppn, type SeededRng, type VmId } from '../sim/index.js';
import type { MemoryManager } from './manager.js';

/** Per-VM allocation parameters, in pages. */
export interface VmMemConfig {
  /** Guaranteed pages even under overcommit. */
  readonly min: number;
  /** Configured guest memory (the pmap size unless smaller). */
  readonly max: number;
  /** Proportional-share entitlement (> 0). */
  readonly shares: number;
}

/** Validates a config against a VM of `pages` pages; RangeError/TypeError on misuse (min > max, shares ≤ 0). */
export function checkVmConfig(cfg: unknown, pages: number): VmMemConfig {
  if (typeof cfg !== 'object' || cfg === null) throw new TypeError('config must be an object');
  const c = cfg as Record<string, unknown>;
  const max = checkInt('config.max', c.max, 1, pages);
  const min = checkInt('config.min', c.min, 0, Number.MAX_SAFE_INTEGER);
  if (min > max) throw new RangeError(`config.min (${min}) must not exceed config.max (${max})`);
  if (typeof c.shares !== 'number' || !Number.isFinite(c.shares)) throw new TypeError('config.shares must be a finite number');
  if (c.shares <= 0) throw new RangeError(`config.shares must be > 0, got ${c.shares}`);
  return Object.freeze({ min, max, shares: c.shares });
}

/** Reclamation states (ESX §6.3). */
export type ReclaimState = 'high' | 'soft' | 'hard' | 'low';

/** Free-memory thresholds as fractions of machine memory. */
export interface ReclaimThresholds {
  high: number;
  soft: number;
  hard: number;
  low: number;
}

/** The paper's defaults: 6/4/2/1 %. */
export const ESX_THRESHOLDS: Readonly<ReclaimThresholds> = Object.freeze({ high: 0.06, soft: 0.04, hard: 0.02, low: 0.01 });

/** The reclamation state machine with hysteresis. */
export class ReclaimStateMachine {
  #state: ReclaimState = 'high';
  readonly transitions: { from: ReclaimState; to: ReclaimState; free: number }[] = [];
  readonly t: ReclaimThresholds;

  /** RangeError unless 0 < low < hard < soft < high < 1. */
  constructor(t: ReclaimThresholds = ESX_THRESHOLDS) {
    for (const k of ['high', 'soft', 'hard', 'low'] as const) checkNumber(`thresholds.${k}`, t[k], 0, 1);
    if (!(t.low > 0 && t.low < t.hard && t.hard < t.soft && t.soft < t.high && t.high < 1)) throw new RangeError('thresholds must satisfy 0 < low < hard < soft < high < 1');
    this.t = Object.freeze({ ...t });
  }

  /** The current state. */
  get state(): ReclaimState {
    return this.#state;
  }

  /** Counters: the state and how many transitions of each kind happened. */
  stats(): { state: ReclaimState; transitions: number; byKind: Record<string, number> } {
    const byKind: Record<string, number> = {};
    for (const t of this.transitions) byKind[`${t.from}->${t.to}`] = (byKind[`${t.from}->${t.to}`] ?? 0) + 1;
    return { state: this.#state, transitions: this.transitions.length, byKind };
  }

  /**
   * Feeds the free fraction; returns the (possibly new) state.
   *   high ──free<soft──► soft ──free<hard──► hard ──free<low──► low
   *   soft ──free≥high──► high; hard ──free≥soft──► soft; low ──free≥hard──► hard
   * (a drop may skip states; a climb goes up as far as the free fraction allows).
   */
  update(free: number): ReclaimState {
    checkNumber('free', free, 0, 1);
    const t = this.t;
    const from = this.#state;
    let s = from;
    // Down: enter the lowest state whose threshold is crossed.
    const down: ReclaimState = free < t.low ? 'low' : free < t.hard ? 'hard' : free < t.soft ? 'soft' : 'high';
    const rank = { high: 0, soft: 1, hard: 2, low: 3 } as const;
    if (rank[down] > rank[s]) s = down;
    else {
      // Up with hysteresis.
      for (;;) {
        if (s === 'low' && free >= t.hard) s = 'hard';
        else if (s === 'hard' && free >= t.soft) s = 'soft';
        else if (s === 'soft' && free >= t.high) s = 'high';
        else break;
      }
    }
    if (s !== from) this.transitions.push({ from, to: s, free });
    this.#state = s;
    return s;
  }
}

/** Gains of the sampler's EWMAs (ours; the paper gives none — see the file comment). */
export const SAMPLER_GAINS = Object.freeze({ slow: 1 / 8, fast: 1 / 2 });

interface SampleState {
  sampled: Uint8Array;
  n: number;
  touched: number;
  slow: number;
  fast: number;
  periods: number;
}

/** Working-set estimation by statistical sampling (ESX §5.3), per VM. */
export class IdleSampler {
  readonly #mm: MemoryManager;
  readonly #rng: SeededRng;
  readonly n: number;
  readonly #vms = new Map<number, SampleState>();
  readonly gains: { slow: number; fast: number };
  /** Total sampling faults (re-touches counted). */
  touches = 0;

  /** `n` pages per period (default 100); RangeError on bad values. */
  constructor(mm: MemoryManager, rng: SeededRng, n = 100, gains: { slow: number; fast: number } = SAMPLER_GAINS) {
    this.#mm = mm;
    this.#rng = rng;
    this.n = checkInt('n', n, 1, 1 << 20);
    checkNumber('gains.slow', gains.slow, 0, 1);
    checkNumber('gains.fast', gains.fast, 0, 1);
    this.gains = { ...gains };
  }

  #st(vm: VmId): SampleState {
    let s = this.#vms.get(vm);
    if (!s) {
      // A new VM is assumed fully active until measured (it has just booted).
      this.#vms.set(vm, (s = { sampled: new Uint8Array(this.#mm.pmap(vm).pages), n: 0, touched: 0, slow: 1, fast: 1, periods: 0 }));
    }
    return s;
  }

  /** Starts a sampling period: picks n random GPPNs and drops their cached translations. */
  startPeriod(vm: VmId): void {
    const s = this.#st(vm);
    s.sampled.fill(0);
    s.touched = 0;
    const pages = s.sampled.length;
    const n = Math.min(this.n, pages);
    let picked = 0;
    while (picked < n) {
      const g = this.#rng.int(pages);
      if (s.sampled[g]) continue;
      s.sampled[g] = 1;
      picked++;
      this.#mm.invalidate(vm, g as Gppn);
    }
    s.n = n;
  }

  /** hooks.onMiss: a sampled page touched for the first time this period counts once. */
  onMiss(vm: VmId, g: Gppn): void {
    const s = this.#vms.get(vm);
    if (s && s.sampled[g] === 1) {
      s.sampled[g] = 2;
      s.touched++;
      this.touches++;
    }
  }

  /** Ends a period: folds t/n into the EWMAs. */
  endPeriod(vm: VmId): void {
    const s = this.#st(vm);
    if (s.n === 0) return;
    const f = s.touched / s.n;
    s.slow += this.gains.slow * (f - s.slow);
    s.fast += this.gains.fast * (f - s.fast);
    s.periods++;
  }

  /** The three estimates and their max (the active fraction f̂ used by the tax). */
  estimate(vm: VmId): { slow: number; fast: number; fastCurrent: number; active: number; periods: number } {
    const s = this.#st(vm);
    const cur = s.n ? s.touched / s.n : 0;
    const fastCurrent = s.fast + this.gains.fast * Math.max(0, cur - s.fast);
    return { slow: s.slow, fast: s.fast, fastCurrent, active: Math.max(s.slow, s.fast, fastCurrent), periods: s.periods };
  }

  /** Forgets a VM. */
  removeVm(vm: VmId): void {
    this.#vms.delete(vm);
  }

  /** Counters: VMs sampled, completed periods, sampling faults counted. */
  stats(): { vms: number; periods: number; touches: number; samplePages: number } {
    let periods = 0;
    for (const s of this.#vms.values()) periods += s.periods;
    return { vms: this.#vms.size, periods, touches: this.touches, samplePages: this.n };
  }
}

/** One VM's input to {@link computeTargets}. */
export interface TargetInput {
  readonly vm: VmId;
  readonly min: number;
  readonly max: number;
  readonly shares: number;
  /** Active pages (f̂ × the VM's physical pages: the sampler draws from all of them). */
  readonly activePages: number;
}

/** The adjusted shares-per-page ratio ρ at allocation P (ESX §5.2). */
export function adjustedRatio(shares: number, pages: number, activePages: number, tau: number): number {
  const k = 1 / (1 - tau);
  const a = Math.min(pages, activePages);
  const denom = a + k * Math.max(0, pages - activePages);
  return denom <= 0 ? Infinity : shares / denom;
}

/**
 * Per-VM target allocations for a pool of `pool` pages: min first, then chunks to the highest
 * adjusted ratio ρ (ties → lower VM id), never beyond max. τ in [0, 1).
 */
export function computeTargets(inputs: readonly TargetInput[], pool: number, tau: number, chunk?: number): Map<VmId, number> {
  checkInt('pool', pool, 0);
  checkNumber('tau', tau, 0, 0.999);
  const out = new Map<VmId, number>();
  let left = pool;
  for (const v of inputs) {
    out.set(v.vm, v.min);
    left -= v.min;
  }
  if (left <= 0) return out;
  const step = chunk ?? Math.max(1, Math.floor(pool / 1024));
  for (;;) {
    let best: TargetInput | undefined;
    let bestRho = -1;
    for (const v of inputs) {
      const p = out.get(v.vm)!;
      if (p >= v.max) continue;
      const rho = adjustedRatio(v.shares, p + 1, v.activePages, tau);
      if (rho > bestRho) {
        bestRho = rho;
        best = v;
      }
    }
    if (!best || left <= 0) break;
    const give = Math.min(step, left, best.max - out.get(best.vm)!);
    out.set(best.vm, out.get(best.vm)! + give);
    left -= give;
  }
  return out;
}

/** Admission bookkeeping (ESX §5.4): Σ(min + overhead) ≤ memory, Σ(max − min) ≤ swap. */
export class Admission {
  readonly memoryPages: number;
  readonly swapPages: number;
  readonly overheadPages: number;
  #reservedMem = 0;
  #reservedSwap = 0;
  refusals = 0;

  /** Pools in pages; RangeError on negative or non-integer values. */
  constructor(memoryPages: number, swapPages: number, overheadPages: number) {
    this.memoryPages = checkInt('memoryPages', memoryPages, 0);
    this.swapPages = checkInt('swapPages', swapPages, 0);
    this.overheadPages = checkInt('overheadPages', overheadPages, 0);
  }

  /** Throws TerraError('ADMISSION_DENIED') (changing nothing) unless the reservation fits; `replacing` is the VM's old config. */
  check(cfg: VmMemConfig, replacing?: VmMemConfig): void {
    const mem = this.#reservedMem - (replacing ? replacing.min + this.overheadPages : 0) + cfg.min + this.overheadPages;
    const swap = this.#reservedSwap - (replacing ? replacing.max - replacing.min : 0) + cfg.max - cfg.min;
    if (mem > this.memoryPages) {
      this.refusals++;
      throw new TerraError('ADMISSION_DENIED', `min + overhead needs ${mem} reserved pages, machine has ${this.memoryPages}`, { need: mem, have: this.memoryPages });
    }
    if (swap > this.swapPages) {
      this.refusals++;
      throw new TerraError('ADMISSION_DENIED', `max − min needs ${swap} swap pages, swap has ${this.swapPages}`, { need: swap, have: this.swapPages });
    }
  }

  /** Records a reservation (after {@link check}). */
  reserve(cfg: VmMemConfig, replacing?: VmMemConfig): void {
    this.check(cfg, replacing);
    if (replacing) this.release(replacing);
    this.#reservedMem += cfg.min + this.overheadPages;
    this.#reservedSwap += cfg.max - cfg.min;
  }

  /** Releases a reservation. */
  release(cfg: VmMemConfig): void {
    this.#reservedMem -= cfg.min + this.overheadPages;
    this.#reservedSwap -= cfg.max - cfg.min;
  }

  /** Reserved totals. */
  stats(): { reservedMemory: number; reservedSwap: number; memoryPages: number; swapPages: number; refusals: number } {
    return { reservedMemory: this.#reservedMem, reservedSwap: this.#reservedSwap, memoryPages: this.memoryPages, swapPages: this.swapPages, refusals: this.refusals };
  }
}
