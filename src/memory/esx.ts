/**
 * `EsxMemory`: one memory manager for all VMs, after VMware ESX (Waldspurger, OSDI'02). It wires
 * content-based page sharing, ballooning, share-based allocation with the idle memory tax,
 * working-set sampling, admission control, the reclamation states and host swap onto one
 * {@link MemoryManager} (and, through {@link attachEsx}, onto a TVMM: hypercalls, admission hook,
 * halting, lifecycle).
 *
 * The periodic daemon (every `tickNs` of virtual time, from the event queue):
 *   1. sampling periods (n pages per `samplePeriodNs` of VM time);
 *   2. a sharing scan (rate-limited);
 *   3. the reclamation state from free memory (6/4/2/1 %, with hysteresis);
 *   4. targets (min-funding revocation with the idle tax) for a pool that keeps free ≥ high;
 *   5. reclamation of VMs above target: balloon in soft (swap when the balloon is missing or too
 *      slow for `balloonTimeoutNs`), swap in hard and low; share before swap always.
 * In the low state a VM at or above its target that allocates is stalled until one of its own
 * pages has been paged out (ESX blocks such VMs); `blocked(vm)` reports it for the scheduler.
 */
import {
  checkBool, checkFunction, checkInt, checkNumber, checkObject, checkString, NS_PER_S, PAGE_SIZE, TerraError,
  type EventHandle, type Gppn, type VmId,
} from '../sim/index.js';
import type { MemoryManager } from './manager.js';
import { PageState } from './pmap.js';
import { PageSharing, type SharingOptions, type SharingStats } from './sharing.js';
import { HostSwap, MemorySwapStore, type SwapStats, type SwapStore } from './swap.js';
import { BalloonService, type BalloonStats } from './balloon.js';
import {
  Admission, checkVmConfig, computeTargets, ESX_THRESHOLDS, IdleSampler, ReclaimStateMachine,
  type ReclaimState, type ReclaimThresholds, type VmMemConfig,
} from './allocation.js';

/** Balloon hypercall numbers; equal to `HC.BALLOON_*` in src/tvmm/hypercalls.ts (a test checks it). */
export const BALLOON_HC = Object.freeze({ INFLATE: 16, DEFLATE: 17, TARGET: 18 });

/** Options of {@link EsxMemory}. */
export interface EsxOptions {
  /** Swap device (default: an in-memory store of `swapSlots`). */
  swapStore?: SwapStore;
  /** Slots of the default swap store (default: as many as machine frames). */
  swapSlots?: number;
  /** Idle memory tax rate τ in [0, 1) (default 0.75). */
  tau?: number;
  /** Pages sampled per period (default 100). */
  samplePages?: number;
  /** Sampling period in VM time (default 30 s). */
  samplePeriodNs?: number;
  /** Daemon period (default 1 s). */
  tickNs?: number;
  /** Per-VM overhead reserved at admission, pages (default 8192 = 32 MiB, ESX §5.4). */
  overheadPages?: number;
  /** Default min as a fraction of max for VMs admitted without a config (default 0). */
  defaultMinFraction?: number;
  /** Default shares per page of max (default 1: shares ∝ max). */
  defaultSharesPerPage?: number;
  /** Reclamation thresholds (default 6/4/2/1 %). */
  thresholds?: ReclaimThresholds;
  /** Sharing engine options. */
  sharing?: SharingOptions;
  /** Whether the daemon runs the sharing scanner (default true). */
  sharingEnabled?: boolean;
  /** Whether the daemon sets balloon targets from allocation targets (default true). */
  autoBalloon?: boolean;
  /** After this long below target the balloon is deemed uncooperative and host swap takes over (default 5 s). */
  balloonTimeoutNs?: number;
  /** Pages per clustered swap write (default 16). */
  swapClusterPages?: number;
  /** Encrypt pages on the (host-owned) swap device (default true). */
  swapEncrypt?: boolean;
  /** VM execution time for the sampler (default: the virtual clock). */
  vmTimeNs?: (vm: VmId) => number;
  /** Halts a VM (SWAP_IO_ERROR, OUT_OF_MEMORY). Default: records a security event only. */
  onHalt?: (vm: VmId, reason: string) => void;
}

/** Per-VM metrics (ESX + peers.md §3.5 names). */
export interface EsxVmStats {
  config: VmMemConfig;
  /** Pages the allocator wants this VM to hold. */
  target: number;
  /** GPPNs with a frame (shared ones included: ESX allocation). */
  resident: number;
  sharedPpns: number;
  ballooned: number;
  swapped: number;
  /** Working-set estimates (fractions) and active pages. */
  activeFraction: number;
  slow: number;
  fast: number;
  fastCurrent: number;
  balloon: BalloonStats;
  blocked: boolean;
  /** Virtual ns this VM was stalled in synchronous reclamation (a PSI-like "memory some" total). */
  stallNs: number;
  /** Pages of this VM paged out synchronously while it (or another VM) allocated. */
  syncReclaimedPages: number;
}

/** Global metrics. */
export interface EsxStats {
  state: ReclaimState;
  machineFrames: number;
  freeFrames: number;
  freeFraction: number;
  tau: number;
  sharing: SharingStats;
  swap: SwapStats;
  admission: ReturnType<Admission['stats']>;
  transitions: number;
  ticks: number;
  balloonSwapFallbacks: number;
  syncReclaims: number;
  oomHalts: number;
  samplerTouches: number;
}

interface VmRec {
  cfg: VmMemConfig;
  reserved: boolean;
  target: number;
  resident: number;
  allocsSinceTick: number;
  periodStart: number;
  deficitSince: number;
  stallNs: number;
  syncReclaimed: number;
}

/** The ESX memory scheduler over one memory manager. */
export class EsxMemory {
  readonly mm: MemoryManager;
  readonly sharing: PageSharing;
  readonly balloon: BalloonService;
  readonly swap: HostSwap;
  readonly sampler: IdleSampler;
  readonly admission: Admission;
  readonly reclaim: ReclaimStateMachine;
  readonly #vms = new Map<number, VmRec>();
  #pending: VmMemConfig | undefined;
  #tau: number;
  readonly #periodNs: number;
  readonly #tickNs: number;
  readonly #defaultMin: number;
  readonly #sharesPerPage: number;
  readonly #scan: boolean;
  autoBalloon: boolean;
  readonly #balloonTimeout: number;
  readonly #vmTime: (vm: VmId) => number;
  #onHalt: (vm: VmId, reason: string) => void;
  #timer: EventHandle | undefined;
  #keepTicking: () => boolean = () => true;
  #inReclaim = false;
  #s = { ticks: 0, balloonSwapFallbacks: 0, syncReclaims: 0, oomHalts: 0 };

  /** Builds every mechanism over `mm` and installs the resolve hooks; TypeError/RangeError on bad options. */
  constructor(mm: MemoryManager, opts: EsxOptions = {}) {
    checkObject('options', opts);
    this.mm = mm;
    const frames = mm.machine.frames;
    const rng = mm.ctx.rng.fork('esx-memory');
    this.#tau = opts.tau === undefined ? 0.75 : checkNumber('tau', opts.tau, 0, 0.99);
    this.#periodNs = opts.samplePeriodNs === undefined ? 30 * NS_PER_S : checkInt('samplePeriodNs', opts.samplePeriodNs, 1);
    this.#tickNs = opts.tickNs === undefined ? NS_PER_S : checkInt('tickNs', opts.tickNs, 1);
    this.#defaultMin = opts.defaultMinFraction === undefined ? 0 : checkNumber('defaultMinFraction', opts.defaultMinFraction, 0, 1);
    this.#sharesPerPage = opts.defaultSharesPerPage === undefined ? 1 : checkNumber('defaultSharesPerPage', opts.defaultSharesPerPage, Number.MIN_VALUE);
    this.#scan = opts.sharingEnabled === undefined ? true : checkBool('sharingEnabled', opts.sharingEnabled);
    this.autoBalloon = opts.autoBalloon === undefined ? true : checkBool('autoBalloon', opts.autoBalloon);
    this.#balloonTimeout = opts.balloonTimeoutNs === undefined ? 5 * NS_PER_S : checkInt('balloonTimeoutNs', opts.balloonTimeoutNs, 0);
    this.#vmTime = opts.vmTimeNs === undefined ? () => mm.ctx.clock.now : (checkFunction('vmTimeNs', opts.vmTimeNs) as (vm: VmId) => number);
    this.#onHalt = opts.onHalt === undefined ? (vm, reason) => mm.ctx.trace.security('memory.halt-requested', vm, { reason }) : (checkFunction('onHalt', opts.onHalt) as (vm: VmId, r: string) => void);
    const store = opts.swapStore ?? new MemorySwapStore(opts.swapSlots === undefined ? frames : checkInt('swapSlots', opts.swapSlots, 1, 2 ** 26));
    this.sharing = new PageSharing(mm, rng.fork('sharing'), opts.sharing ?? {});
    this.balloon = new BalloonService(mm);
    this.swap = new HostSwap(mm, store, rng.fork('swap'), {
      clusterPages: opts.swapClusterPages ?? 16,
      encrypt: opts.swapEncrypt === undefined ? true : checkBool('swapEncrypt', opts.swapEncrypt),
      shareFirst: (vm, g) => this.sharing.tryShare(vm, g) === 'merged',
      onHalt: (vm, r) => this.#onHalt(vm, r),
    });
    this.sampler = new IdleSampler(mm, rng.fork('sampler'), opts.samplePages ?? 100);
    this.admission = new Admission(frames, store.slots, opts.overheadPages === undefined ? 8192 : checkInt('overheadPages', opts.overheadPages, 0));
    this.reclaim = new ReclaimStateMachine(opts.thresholds ?? ESX_THRESHOLDS);
    mm.hooks = {
      ...mm.hooks,
      swapIn: (vm, g) => this.swap.swapIn(vm, g),
      swapRelease: (vm, g) => this.swap.releasePage(vm, g),
      balloonPop: (vm, g) => this.balloon.pop(vm, g),
      beforeAlloc: (vm) => this.#beforeAlloc(vm),
      onMiss: (vm, g) => this.sampler.onMiss(vm, g),
    };
    mm.onVm((vm, ev, pages) => (ev === 'add' ? this.#added(vm, pages) : this.#removed(vm)));
    for (const vm of mm.vms()) this.#added(vm, mm.pmap(vm).pages);
  }

  /** Replaces the halt callback (attachEsx points it at the TVMM). */
  setHaltHandler(fn: (vm: VmId, reason: string) => void): void {
    this.#onHalt = checkFunction('fn', fn) as (vm: VmId, reason: string) => void;
  }

  #defaultCfg(pages: number): VmMemConfig {
    return Object.freeze({ min: Math.floor(pages * this.#defaultMin), max: pages, shares: pages * this.#sharesPerPage });
  }

  /**
   * Admission control for a VM about to be created with `pages` pages (installed as `tvmm.admit`):
   * throws TerraError('ADMISSION_DENIED') and changes nothing when min + overhead or max − min do
   * not fit; otherwise the reservation is bound to the next VM the memory manager registers.
   */
  admit(pages: number, cfg?: { min: number; max?: number; shares?: number }): void {
    checkInt('pages', pages, 1);
    const c = cfg === undefined ? this.#defaultCfg(pages) : checkVmConfig({ max: pages, shares: pages * this.#sharesPerPage, ...checkObject('config', cfg) }, pages);
    // An earlier admission not yet bound to a VM (its creation failed after admit) is released.
    const prev = this.#pending;
    if (prev) this.admission.release(prev);
    try {
      this.admission.reserve(c);
    } catch (e) {
      if (prev) this.admission.reserve(prev);
      throw e;
    }
    this.#pending = c;
  }

  /** Creates a VM directly on the memory manager (no TVMM), with admission. Returns its id. */
  addVm(vm: VmId, pages: number, cfg?: { min: number; max?: number; shares?: number }): VmId {
    checkInt('vm', vm, 0, 0xfffd);
    if (this.mm.hasVm(vm)) throw new RangeError(`vm ${vm} exists`);
    this.admit(pages, cfg);
    this.mm.addVm(vm, pages);
    return vm;
  }

  /** Removes a VM created with {@link addVm} (frees frames and swap slots, releases its reservation). */
  removeVm(vm: VmId): void {
    this.mm.removeVm(vm);
    this.forget(vm);
  }

  /** Releases a VM's reservation and per-VM state (the VM was destroyed). */
  forget(vm: VmId): void {
    const r = this.#vms.get(vm);
    if (!r) return;
    if (r.reserved) this.admission.release(r.cfg);
    this.#vms.delete(vm);
    this.balloon.removeVm(vm);
    this.sampler.removeVm(vm);
  }

  #added(vm: VmId, pages: number): void {
    const old = this.#vms.get(vm);
    if (old && !this.#pending) {
      // Power cycle: same VM, same reservation; sampling restarts.
      this.sampler.removeVm(vm);
      this.#startSampling(vm, old);
      return;
    }
    let cfg = this.#pending;
    let reserved = true;
    this.#pending = undefined;
    if (!cfg) {
      cfg = this.#defaultCfg(pages);
      reserved = false;
      this.mm.ctx.trace.emit('memory', 'admission.unreserved', vm, { pages });
    }
    const r: VmRec = { cfg, reserved, target: cfg.max, resident: 0, allocsSinceTick: 0, periodStart: 0, deficitSince: -1, stallNs: 0, syncReclaimed: 0 };
    this.#vms.set(vm, r);
    this.#startSampling(vm, r);
  }

  #startSampling(vm: VmId, r: VmRec): void {
    r.periodStart = this.#vmTime(vm);
    this.sampler.startPeriod(vm);
  }

  #removed(vm: VmId): void {
    this.swap.releaseVm(vm);
  }

  #rec(vm: VmId): VmRec {
    const r = this.#vms.get(checkInt('vm', vm, 0, 0xffff));
    if (!r || !this.mm.hasVm(vm)) throw new TerraError('NOT_FOUND', `no such vm ${vm}`);
    return r;
  }

  /**
   * Sets a VM's {min, max, shares} in pages. RangeError/TypeError on misuse (min > max, shares ≤ 0,
   * max beyond the VM's size); TerraError('ADMISSION_DENIED') when the new reservation does not fit
   * memory or swap. A refused call changes nothing.
   */
  setVmConfig(vm: VmId, cfg: { min: number; max: number; shares: number }): VmMemConfig {
    const r = this.#rec(vm);
    const c = checkVmConfig(cfg, this.mm.pmap(vm).pages);
    if (r.reserved) this.admission.reserve(c, r.cfg);
    else this.admission.reserve(c);
    r.cfg = c;
    r.reserved = true;
    this.mm.ctx.trace.emit('mgmt', 'mem.config', vm, { min: c.min, max: c.max, shares: c.shares });
    return c;
  }

  /** The idle memory tax rate τ. */
  get tau(): number {
    return this.#tau;
  }
  /** Sets τ in [0, 0.99] (RangeError otherwise); takes effect at the next target computation. */
  setTau(tau: number): void {
    this.#tau = checkNumber('tau', tau, 0, 0.99);
  }

  /** Puts a VM in a named sharing domain (inter-VM sharing only within one; default: none). */
  setSharingDomain(vm: VmId, domain: string | undefined): void {
    this.#rec(vm);
    if (domain !== undefined) checkString('domain', domain, { nonEmpty: true, max: 128 });
    this.sharing.setDomain(vm, domain);
  }

  /** Sets a VM's balloon target directly (management override; disable autoBalloon to keep it). */
  setBalloonTarget(vm: VmId, pages: number): void {
    this.#rec(vm);
    this.balloon.setTarget(vm, pages);
  }

  /** True when the VM is blocked in the low state (above target while memory is critically low). */
  blocked(vm: VmId): boolean {
    const r = this.#rec(vm);
    return this.reclaim.state === 'low' && r.resident + r.allocsSinceTick >= r.target;
  }

  /** The reclamation state. */
  get state(): ReclaimState {
    return this.reclaim.state;
  }

  // ------------------------------------------------------------------ hypercalls

  /** BALLOON_* hypercall handler body for the calling VM (kernel mode only, else −EPERM). */
  hypercall(nr: number, caller: { vm: VmId; mode: 'kernel' | 'user' }, args: readonly number[]): number {
    if (caller.mode !== 'kernel') return -1;
    if (!this.#vms.has(caller.vm)) return -22;
    if (nr === BALLOON_HC.TARGET) return this.balloon.hcTarget(caller.vm, args);
    if (nr === BALLOON_HC.INFLATE) return this.balloon.hcInflate(caller.vm, args);
    if (nr === BALLOON_HC.DEFLATE) return this.balloon.hcDeflate(caller.vm, args);
    return -38;
  }

  // ------------------------------------------------------------------ the daemon

  /** Starts the periodic daemon on the event queue (idempotent); `keepTicking` stops rescheduling when false. */
  start(keepTicking?: () => boolean): void {
    if (keepTicking) this.#keepTicking = checkFunction('keepTicking', keepTicking) as () => boolean;
    if (this.#timer) return;
    const loop = () => {
      this.#timer = undefined;
      this.tick();
      if (this.#keepTicking()) this.#timer = this.mm.ctx.events.after(this.#tickNs, 'esx.tick', loop);
    };
    this.#timer = this.mm.ctx.events.after(this.#tickNs, 'esx.tick', loop);
  }

  /** Stops the daemon. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** One daemon step (see the file comment). Experiments may call it directly. */
  tick(): void {
    this.#s.ticks++;
    for (const [id, r] of this.#vms) {
      const vm = id as VmId;
      if (!this.mm.hasVm(vm)) continue;
      const t = this.#vmTime(vm);
      if (t - r.periodStart >= this.#periodNs) {
        this.sampler.endPeriod(vm);
        this.#startSampling(vm, r);
      }
    }
    if (this.#scan) this.sharing.scan();
    this.#refreshResident();
    this.#updateState();
    this.#computeTargets();
    this.#reclaim();
    this.#updateState();
  }

  #refreshResident(): void {
    for (const [id, r] of this.#vms) {
      if (!this.mm.hasVm(id as VmId)) continue;
      r.resident = this.mm.pmap(id as VmId).resident();
      r.allocsSinceTick = 0;
    }
  }

  #updateState(): ReclaimState {
    const m = this.mm.machine;
    const before = this.reclaim.state;
    const s = this.reclaim.update(m.free / m.frames);
    if (s !== before) this.mm.ctx.trace.emit('memory', 'reclaim.state', undefined, { from: before, to: s, free: m.free });
    return s;
  }

  /** Recomputes every VM's target now (also done each tick). */
  recomputeTargets(): void {
    this.#refreshResident();
    this.#computeTargets();
  }

  #computeTargets(): void {
    const frames = this.mm.machine.frames;
    // Targets drive free memory above the high threshold (ESX §6.3). A VM's allocation counts every
    // mapped page, shared ones included (Fig. 8's aggregate allocation exceeds machine memory), so the
    // pool is the frames plus the pages sharing saves: otherwise the savings would sit free and no VM
    // would ever be below its target again.
    const pool = Math.max(0, frames - Math.ceil(frames * this.reclaim.t.high) + this.sharing.savedPages());
    const inputs = [...this.#vms.entries()]
      .filter(([id]) => this.mm.hasVm(id as VmId))
      .map(([id, r]) => {
        const e = this.sampler.estimate(id as VmId);
        // The sampler draws from all of the VM's physical pages (§5.3), so f̂ is a fraction of them,
        // not of the resident ones (which would understate a ballooned or swapped VM's activity).
        return { vm: id as VmId, min: r.cfg.min, max: r.cfg.max, shares: r.cfg.shares, activePages: Math.round(e.active * this.mm.pmap(id as VmId).pages) };
      });
    const t = computeTargets(inputs, pool, this.#tau);
    for (const [id, v] of t) this.#vms.get(id)!.target = v;
  }

  #reclaim(): void {
    const state = this.reclaim.state;
    const now = this.mm.ctx.clock.now;
    for (const [id, r] of this.#vms) {
      const vm = id as VmId;
      if (!this.mm.hasVm(vm)) continue;
      // A VM above its max is reclaimed in every state (max is a hard limit, ESX §5.1); otherwise
      // reclamation starts only when the host leaves the high state.
      const overMax = r.resident - r.cfg.max;
      const excess = state === 'high' ? overMax : r.resident - r.target;
      if (this.autoBalloon) {
        const cur = this.balloon.actual(vm);
        // In high no reclamation is performed (§6.3): a balloon may deflate toward the target but
        // never inflate beyond what it already holds.
        const want = state === 'high' && overMax <= 0 ? Math.min(cur, Math.max(0, cur + r.resident - r.target)) : Math.max(0, cur + excess);
        this.balloon.setTarget(vm, want);
      }
      const bt = this.balloon.target(vm), ba = this.balloon.actual(vm);
      if (ba < bt) {
        if (r.deficitSince < 0) r.deficitSince = now;
      } else r.deficitSince = -1;
      if (excess <= 0) continue;
      let swapPages = 0;
      if (state === 'hard' || state === 'low') swapPages = excess;
      else if (r.deficitSince >= 0 && now - r.deficitSince >= this.#balloonTimeout) {
        // Soft state, but the balloon is missing or too slow: fall back to host swap (MEM-07).
        swapPages = Math.min(excess, bt - ba);
        this.#s.balloonSwapFallbacks++;
      }
      if (swapPages > 0) r.resident -= this.swap.pageOut(vm, swapPages);
    }
  }

  #beforeAlloc(vm: VmId): void {
    const m = this.mm.machine;
    const r = this.#vms.get(vm);
    if (r) r.allocsSinceTick++;
    if (this.#inReclaim) return;
    const low = this.reclaim.state === 'low' && r !== undefined && r.resident + r.allocsSinceTick > r.target;
    if (m.free > 0 && !low) return;
    this.#inReclaim = true;
    try {
      // Stall the allocating VM while pages are reclaimed synchronously (share before swap).
      let victim: VmId = vm;
      if (!low) {
        let worst = -Infinity;
        for (const [id, v] of this.#vms) {
          if (!this.mm.hasVm(id as VmId)) continue;
          const over = v.resident + v.allocsSinceTick - v.target;
          if (over > worst) {
            worst = over;
            victim = id as VmId;
          }
        }
      }
      this.#s.syncReclaims++;
      let got = this.swap.pageOut(victim, 16);
      if (got === 0 && victim !== vm) got = this.swap.pageOut(vm, 16);
      if (got > 0) {
        this.mm.ctx.clock.advance(this.mm.ctx.costs.swapPage);
        if (r) r.stallNs += this.mm.ctx.costs.swapPage;
      }
      const rv = this.#vms.get(victim);
      if (rv) {
        rv.resident -= got;
        rv.syncReclaimed += got;
      }
    } finally {
      this.#inReclaim = false;
    }
    if (m.free === 0) {
      this.#s.oomHalts++;
      this.#onHalt(vm, 'OUT_OF_MEMORY');
      throw new TerraError('OUT_OF_MEMORY', `machine memory exhausted and nothing reclaimable for vm ${vm}`, { vm, reason: 'OUT_OF_MEMORY' });
    }
  }

  // ------------------------------------------------------------------ stats

  /** Per-VM metrics (TerraError('NOT_FOUND') for an unknown VM). */
  vmStats(vm: VmId): EsxVmStats {
    const r = this.#rec(vm);
    const p = this.mm.pmap(vm);
    let resident = 0, shared = 0, ballooned = 0, swapped = 0;
    for (let g = 0; g < p.pages; g++) {
      const st = p.state[g];
      if (st & PageState.PRESENT) resident++;
      if (st & PageState.SHARED) shared++;
      if (st & PageState.BALLOONED) ballooned++;
      if (st & PageState.SWAPPED) swapped++;
    }
    const e = this.sampler.estimate(vm);
    return {
      config: r.cfg, target: r.target, resident, sharedPpns: shared, ballooned, swapped,
      activeFraction: e.active, slow: e.slow, fast: e.fast, fastCurrent: e.fastCurrent,
      balloon: this.balloon.stats(vm), blocked: this.blocked(vm), stallNs: r.stallNs, syncReclaimedPages: r.syncReclaimed,
    };
  }

  /** Global metrics. */
  stats(): EsxStats {
    const m = this.mm.machine;
    return {
      state: this.reclaim.state,
      machineFrames: m.frames,
      freeFrames: m.free,
      freeFraction: m.free / m.frames,
      tau: this.#tau,
      sharing: this.sharing.stats(),
      swap: this.swap.stats(),
      admission: this.admission.stats(),
      transitions: this.reclaim.transitions.length,
      ...this.#s,
      samplerTouches: this.sampler.touches,
    };
  }
}

/** What {@link attachEsx} needs from a TVMM (structural, so src/memory does not import src/tvmm). */
export interface EsxTvmmLike {
  readonly memory: MemoryManager;
  admit?: (pages: number) => void;
  registerHypercall(nr: number, name: string, fn: (caller: { vm: VmId; mode: 'kernel' | 'user' }, args: readonly number[]) => number): void;
  halt(vm: VmId, reason: string): void;
  onLifecycle(fn: (vm: VmId, state: string) => void): void;
  vms(): readonly { id: VmId; state: string }[];
  internalVm?(vm: VmId): { cpuNs: number };
}

/**
 * Wires an {@link EsxMemory} onto a TVMM: registers BALLOON_TARGET/INFLATE/DEFLATE, installs
 * admission control as `tvmm.admit`, halts VMs through `tvmm.halt`, releases reservations on
 * destroy, and starts the daemon (it keeps ticking while any VM is running, so drive the TVMM with
 * `run({ untilNs })`). Throws RangeError if the balloon hypercalls are already registered.
 */
export function attachEsx(tvmm: EsxTvmmLike, opts: EsxOptions = {}): EsxMemory {
  checkObject('tvmm', tvmm);
  const esx = new EsxMemory(tvmm.memory, {
    ...opts,
    ...(opts.vmTimeNs || !tvmm.internalVm ? {} : { vmTimeNs: (vm: VmId) => vmCpu(tvmm, vm) }),
  });
  esx.setHaltHandler((vm, reason) => {
    try {
      tvmm.halt(vm, reason);
    } catch (e) {
      if (!(e instanceof TerraError)) throw e;
    }
    if (opts.onHalt) opts.onHalt(vm, reason);
  });
  for (const [nr, name] of [[BALLOON_HC.TARGET, 'balloon.target'], [BALLOON_HC.INFLATE, 'balloon.inflate'], [BALLOON_HC.DEFLATE, 'balloon.deflate']] as const)
    tvmm.registerHypercall(nr, name, (caller, args) => esx.hypercall(nr, caller, args));
  tvmm.admit = (pages) => esx.admit(pages);
  tvmm.onLifecycle((vm, state) => {
    if (state === 'destroyed') esx.forget(vm);
  });
  esx.start(() => tvmm.vms().some((v) => v.state === 'running'));
  return esx;
}

function vmCpu(tvmm: EsxTvmmLike, vm: VmId): number {
  try {
    return tvmm.internalVm!(vm).cpuNs;
  } catch (e) {
    if (e instanceof TerraError) return 0; // not yet registered (admission) or destroyed
    throw e;
  }
}

/** Bytes of `pages` pages (helper for reports). */
export function pagesToMiB(pages: number): number {
  return (pages * PAGE_SIZE) / (1024 * 1024);
}
