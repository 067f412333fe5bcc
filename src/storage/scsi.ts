/**
 * A per-VM virtual SCSI controller with vIC interrupt coalescing (Ahmad, Gulati, Mashtizadeh,
 * "vIC: Interrupt Coalescing for Virtual Machine Storage Device IO", USENIX ATC'11; VMware patents
 * US 8,478,924 and US 9,336,165). Commands enter a bounded per-VM queue (threats ISO-08: back-pressure
 * with BUSY beyond the queue depth), complete after a latency from the cost model (`diskIo` +
 * `diskPerByte` × bytes, as events on the virtual clock), land in a guest-visible completion ring,
 * and are signalled through an injected {@link InterruptSink}.
 *
 * vIC (papers-systems.md §2.2): the delivery ratio R = delivered/received interrupts is set from
 * the commands in flight (CIF); coalescing is off while CIF ≤ `cifThreshold` or the IOPS estimate is
 * below `iopsThreshold`; no timer drives coalescing: a coalesced completion is covered by a later
 * completion's interrupt (there is one, since CIF > threshold ≥ 1 at coalescing time). The IPI gate
 * defers an interrupt that would need an IPI within `ipiGateNs` of the previous delivery; the
 * completion stays visible in the ring and the deferred notification goes out when the gate opens.
 *
 * Liveness backstop (threats FLT-09, not part of vIC): while signalled completions sit unpolled for
 * `resignalNs`, the controller raises the interrupt again. Duplicates are harmless: `poll()` hands
 * each completion to the guest exactly once.
 */
import {
  TerraError,
  checkBool,
  checkBytes,
  checkInt,
  checkNumber,
  checkObject,
  checkOneOf,
  err,
  ok,
  type EventHandle,
  type Result,
  type SimContext,
} from '../sim/index.js';
import type { ClusterVolume } from './volume.js';

/** Sector size of virtual disks. */
export const SECTOR_SIZE = 512;

/** Where the controller delivers interrupts (the TVMM wires it to the guest kernel). */
export interface InterruptSink {
  raise(vector: number): void;
}

/**
 * A fault-injecting sink (threats FLT-09): drops a fraction `drop` and duplicates a fraction
 * `duplicate` of interrupts before passing them to `inner`, drawing from the seeded `rng`.
 * Returns the sink and its counters.
 */
export function faultyInterruptSink(
  inner: InterruptSink,
  rng: { float(): number },
  opts: { drop?: number; duplicate?: number } = {},
): { sink: InterruptSink; counts: { raised: number; dropped: number; duplicated: number } } {
  checkObject('inner', inner);
  if (typeof inner.raise !== 'function') throw new TypeError('inner.raise must be a function');
  checkObject('rng', rng);
  if (typeof rng.float !== 'function') throw new TypeError('rng.float must be a function');
  checkObject('opts', opts);
  const drop = opts.drop === undefined ? 0 : checkNumber('drop', opts.drop, 0, 1);
  const dup = opts.duplicate === undefined ? 0 : checkNumber('duplicate', opts.duplicate, 0, 1);
  const counts = { raised: 0, dropped: 0, duplicated: 0 };
  return {
    counts,
    sink: {
      raise(vector: number) {
        counts.raised++;
        const r = rng.float();
        if (r < drop) {
          counts.dropped++;
          return;
        }
        inner.raise(vector);
        if (r >= 1 - dup) {
          counts.duplicated++;
          inner.raise(vector);
        }
      },
    },
  };
}

/** A sector-addressed device behind a controller. */
export interface BlockDevice {
  /** Capacity in 512-byte sectors. */
  readonly sectors: number;
  /** Reads `count` sectors at `lba` (fresh bytes). RangeError outside the device. */
  read(lba: number, count: number): Uint8Array;
  /** Writes whole sectors at `lba`. RangeError outside the device or for a partial sector. */
  write(lba: number, data: Uint8Array): void;
}

function checkIo(sectors: number, lba: unknown, count: unknown): [number, number] {
  const l = checkInt('lba', lba, 0, Math.max(0, sectors - 1));
  const c = checkInt('count', count, 1, sectors - l);
  return [l, c];
}

/** A virtual disk: a file on a cluster volume, addressed in sectors, written as `host`. */
export class VirtualDisk implements BlockDevice {
  readonly sectors: number;
  /** Opens file `ino` of `volume` as a disk; `host` must hold its lock to write. */
  constructor(readonly volume: ClusterVolume, readonly host: number, readonly ino: number) {
    checkInt('host', host, 1, 0x7fffffff);
    const size = volume.info(ino).size;
    if (size % SECTOR_SIZE !== 0 || size === 0) throw new RangeError('virtual disk size must be a positive multiple of 512');
    this.sectors = size / SECTOR_SIZE;
  }
  /** Reads `count` sectors at `lba`. */
  read(lba: number, count: number): Uint8Array {
    const [l, c] = checkIo(this.sectors, lba, count);
    return this.volume.readAt(this.ino, l * SECTOR_SIZE, c * SECTOR_SIZE);
  }
  /** Writes whole sectors at `lba`; misaligned lengths are RangeErrors. */
  write(lba: number, data: Uint8Array): void {
    checkBytes('data', data);
    if (data.length === 0 || data.length % SECTOR_SIZE !== 0) throw new RangeError(`data must be a positive multiple of ${SECTOR_SIZE} bytes, got ${data.length}`);
    const [l] = checkIo(this.sectors, lba, data.length / SECTOR_SIZE);
    this.volume.writeAt(this.host, this.ino, l * SECTOR_SIZE, data);
  }
}

/** An in-memory sparse disk (for experiments and tests that do not need a volume). */
export class RamDisk implements BlockDevice {
  readonly #data = new Map<number, Uint8Array>();
  /** A disk of `sectors` sectors. */
  constructor(readonly sectors: number) {
    checkInt('sectors', sectors, 1, 2 ** 40);
  }
  /** Reads `count` sectors at `lba`. */
  read(lba: number, count: number): Uint8Array {
    const [l, c] = checkIo(this.sectors, lba, count);
    const out = new Uint8Array(c * SECTOR_SIZE);
    for (let i = 0; i < c; i++) {
      const s = this.#data.get(l + i);
      if (s) out.set(s, i * SECTOR_SIZE);
    }
    return out;
  }
  /** Writes whole sectors at `lba`. */
  write(lba: number, data: Uint8Array): void {
    checkBytes('data', data);
    if (data.length === 0 || data.length % SECTOR_SIZE !== 0) throw new RangeError(`data must be a positive multiple of ${SECTOR_SIZE} bytes`);
    const [l, c] = checkIo(this.sectors, lba, data.length / SECTOR_SIZE);
    for (let i = 0; i < c; i++) this.#data.set(l + i, data.slice(i * SECTOR_SIZE, (i + 1) * SECTOR_SIZE));
  }
}

/**
 * vIC parameters. Sources: papers-systems.md §2.3. Only `ipiGateNs` is from a VMware document;
 * every other default is ours (the ATC'11 body was not available), chosen as explained per field.
 */
export interface VicParams {
  /** vIC on/off. */
  enabled: boolean;
  /** No coalescing while CIF ≤ this (patent US 8,478,924 claim: "CIF does not exceed a threshold"). Default 4 [U: recollection; ours]. */
  cifThreshold: number;
  /** No coalescing while the IOPS estimate is below this ("trickle IO", vSphere 4.0 note). Default 2000 [U; ours]. */
  iopsThreshold: number;
  /** IOPS estimation epoch, measured lazily at completions (no timer). Default 200 ms [U; ours]. */
  epochNs: number;
  /** CIF per coalescing step: R = 1 / min(maxCoalesce, max(1, ⌊CIF / cifPerStep⌋)). Default 4 (ours: "small integer fractions"). */
  cifPerStep: number;
  /** Largest coalescing factor (R ≥ 1/maxCoalesce). Default 8 (ours). */
  maxCoalesce: number;
  /** IPI gate: no IPI within this long of the previous delivery. 100 µs [S: vSphere 4.0 performance note]. */
  ipiGateNs: number;
  /** Also deliver pending completions when the guest issues a command (a VMM exit anyway). Default false (ours). */
  flushOnIssue: boolean;
}

/** Default vIC parameters (see {@link VicParams} for the source of each). */
export const DEFAULT_VIC: Readonly<VicParams> = Object.freeze({
  enabled: true,
  cifThreshold: 4,
  iopsThreshold: 2000,
  epochNs: 200_000_000,
  cifPerStep: 4,
  maxCoalesce: 8,
  ipiGateNs: 100_000,
  flushOnIssue: false,
});

/** A command from the guest's block driver. */
export interface ScsiCommand {
  readonly op: 'read' | 'write';
  readonly lba: number;
  readonly count: number;
  /** Write payload: `count` × 512 bytes (copied on submit). */
  readonly data?: Uint8Array;
}

/** A completion as the guest sees it. */
export interface Completion {
  readonly tag: number;
  readonly op: 'read' | 'write';
  readonly lba: number;
  readonly count: number;
  /** `good`, or `check-condition` with a sense code. */
  readonly status: 'good' | 'check-condition';
  readonly sense?: 'ILLEGAL_REQUEST' | 'MEDIUM_ERROR';
  /** Read data (fresh copy). */
  readonly data?: Uint8Array;
  /** Virtual time the device completed it. */
  readonly completedAt: number;
}

/** Options for {@link VirtualScsiController}. */
export interface ControllerOptions {
  vmId: number;
  device: BlockDevice;
  sink: InterruptSink;
  /** Interrupt vector (default 0x40). */
  vector?: number;
  /** Per-VM queue depth cap Q (default 32, ISO-08). */
  queueDepth?: number;
  /** vIC parameters (partial overrides of {@link DEFAULT_VIC}). */
  vic?: Partial<VicParams>;
  /** Whether the VM's vCPU runs on another pCPU than the completing one (IPI needed). Default false. */
  remoteVcpu?: boolean;
  /** Liveness backstop: re-raise after this long without a poll (default 2 ms; 0 disables). */
  resignalNs?: number;
  /** Extra random device latency in [0, jitterNs] (out-of-order completion; seeded). Default 0. */
  jitterNs?: number;
}

/** Controller counters. */
export interface ControllerStats {
  submitted: number;
  refusedBusy: number;
  completed: number;
  errors: number;
  interrupts: number;
  ipis: number;
  ipiDeferred: number;
  coalesced: number;
  resignals: number;
  polled: number;
  seenWithoutInterrupt: number;
  /** Σ (time the guest was told or saw − device completion time), ns. */
  addedLatencyNs: number;
  maxInFlight: number;
}

interface Pending {
  tag: number;
  cmd: ScsiCommand;
  data: Uint8Array | undefined;
}

interface RingEntry {
  c: Completion;
  signalled: boolean;
}

/** The per-VM virtual SCSI controller. */
export class VirtualScsiController {
  readonly vmId: number;
  readonly vic: Readonly<VicParams>;
  readonly queueDepth: number;
  readonly #ctx: SimContext;
  readonly #device: BlockDevice;
  readonly #sink: InterruptSink;
  readonly #vector: number;
  readonly #remote: boolean;
  readonly #resignalNs: number;
  readonly #jitter: number;
  readonly #rng;
  #nextTag = 1;
  #inFlight = 0;
  #ring: RingEntry[] = [];
  #lastDelivery = -Infinity;
  #deferred: EventHandle | undefined;
  #resignal: EventHandle | undefined;
  #paused = false;
  #epochStart = 0;
  #epochCompletions = 0;
  #iops = 0;
  #received = 0;
  #delivered = 0;
  readonly #stats: ControllerStats = {
    submitted: 0, refusedBusy: 0, completed: 0, errors: 0, interrupts: 0, ipis: 0, ipiDeferred: 0, coalesced: 0,
    resignals: 0, polled: 0, seenWithoutInterrupt: 0, addedLatencyNs: 0, maxInFlight: 0,
  };

  /** Creates a controller; TypeError/RangeError on bad options. */
  constructor(ctx: SimContext, opts: ControllerOptions) {
    checkObject('ctx', ctx);
    checkObject('opts', opts);
    this.#ctx = ctx;
    this.vmId = checkInt('vmId', opts.vmId, 0, 0xffffffff);
    checkObject('device', opts.device);
    if (typeof opts.device.read !== 'function' || typeof opts.device.write !== 'function') throw new TypeError('device must implement read/write');
    this.#device = opts.device;
    checkObject('sink', opts.sink);
    if (typeof opts.sink.raise !== 'function') throw new TypeError('sink.raise must be a function');
    this.#sink = opts.sink;
    this.#vector = opts.vector === undefined ? 0x40 : checkInt('vector', opts.vector, 0, 255);
    this.queueDepth = opts.queueDepth === undefined ? 32 : checkInt('queueDepth', opts.queueDepth, 1, 4096);
    this.#remote = opts.remoteVcpu === undefined ? false : checkBool('remoteVcpu', opts.remoteVcpu);
    this.#resignalNs = opts.resignalNs === undefined ? 2_000_000 : checkInt('resignalNs', opts.resignalNs, 0);
    this.#jitter = opts.jitterNs === undefined ? 0 : checkInt('jitterNs', opts.jitterNs, 0);
    const v = { ...DEFAULT_VIC };
    if (opts.vic !== undefined) {
      checkObject('vic', opts.vic);
      for (const [k, val] of Object.entries(opts.vic)) {
        if (!(k in DEFAULT_VIC)) throw new RangeError(`vic: unknown parameter ${JSON.stringify(k)}`);
        if (k === 'enabled' || k === 'flushOnIssue') (v as Record<string, unknown>)[k] = checkBool(`vic.${k}`, val);
        else (v as Record<string, unknown>)[k] = checkInt(`vic.${k}`, val, k === 'iopsThreshold' || k === 'ipiGateNs' ? 0 : 1);
      }
    }
    this.vic = Object.freeze(v);
    this.#rng = ctx.rng.fork(`scsi/${this.vmId}`);
  }

  /** The completion interrupt vector (the TVMM's AsyncBlockController shape). */
  get vector(): number {
    return this.#vector;
  }

  /** Commands in flight (CIF). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Completions in the ring not yet polled. */
  get ringSize(): number {
    return this.#ring.length;
  }

  /**
   * Queues a command. Returns the tag, or err(TerraError('BUSY')) when CIF has reached the queue
   * depth (back-pressure; nothing changes). Malformed commands (LBA out of range, zero count,
   * payload not count × 512 bytes) are accepted and complete with `check-condition` /
   * `ILLEGAL_REQUEST`, as a real controller would; a non-object command is a TypeError.
   */
  submit(cmd: ScsiCommand): Result<number> {
    checkObject('cmd', cmd);
    const op = checkOneOf('cmd.op', cmd.op, ['read', 'write'] as const);
    if (this.#inFlight >= this.queueDepth) {
      this.#stats.refusedBusy++;
      return err(new TerraError('BUSY', `queue depth ${this.queueDepth} reached`, { vm: this.vmId }));
    }
    let data: Uint8Array | undefined;
    if (op === 'write' && cmd.data !== undefined) data = checkBytes('cmd.data', cmd.data).slice();
    const lba = typeof cmd.lba === 'number' ? cmd.lba : NaN;
    const count = typeof cmd.count === 'number' ? cmd.count : NaN;
    const tag = this.#nextTag++;
    this.#inFlight++;
    this.#stats.submitted++;
    this.#stats.maxInFlight = Math.max(this.#stats.maxInFlight, this.#inFlight);
    const p: Pending = { tag, cmd: { op, lba, count }, data };
    const bytes = Number.isInteger(count) && count > 0 ? count * 512 : 0;
    const c = this.#ctx.costs;
    const lat = Math.round(c.diskIo + c.diskPerByte * bytes) + (this.#jitter ? this.#rng.int(this.#jitter + 1) : 0);
    this.#ctx.events.after(lat, `scsi.complete.${this.vmId}`, () => this.#complete(p));
    if (this.vic.flushOnIssue && this.#ring.some((e) => !e.signalled)) this.#deliver();
    return ok(tag);
  }

  #complete(p: Pending): void {
    const now = this.#ctx.clock.now;
    const { op, lba, count } = p.cmd;
    let status: Completion['status'] = 'good';
    let sense: Completion['sense'];
    let data: Uint8Array | undefined;
    const valid = Number.isInteger(lba) && Number.isInteger(count) && lba >= 0 && count >= 1 && lba + count <= this.#device.sectors && (op === 'read' || p.data?.length === count * SECTOR_SIZE);
    if (!valid) {
      status = 'check-condition';
      sense = 'ILLEGAL_REQUEST';
    } else {
      try {
        if (op === 'read') data = this.#device.read(lba, count);
        else this.#device.write(lba, p.data!);
      } catch (e) {
        if (!(e instanceof TerraError)) throw e;
        status = 'check-condition';
        sense = 'MEDIUM_ERROR';
      }
    }
    if (status !== 'good') this.#stats.errors++;
    const cifAt = this.#inFlight;
    this.#inFlight--;
    this.#stats.completed++;
    this.#ring.push({ c: { tag: p.tag, op, lba, count, status, ...(sense ? { sense } : {}), ...(data ? { data } : {}), completedAt: now }, signalled: false });
    // IOPS estimate per epoch, updated lazily at completions (no timer).
    if (now - this.#epochStart >= this.vic.epochNs) {
      this.#iops = (this.#epochCompletions * 1e9) / Math.max(1, now - this.#epochStart);
      this.#epochStart = now;
      this.#epochCompletions = 0;
      this.#received = 0;
      this.#delivered = 0;
    }
    this.#epochCompletions++;
    this.#received++;
    const v = this.vic;
    if (!v.enabled || cifAt <= v.cifThreshold || this.#iops < v.iopsThreshold) {
      this.#deliver();
      return;
    }
    const k = Math.min(v.maxCoalesce, Math.max(1, Math.floor(cifAt / v.cifPerStep)));
    if ((this.#delivered + 1) * k <= this.#received) this.#deliver();
    else this.#stats.coalesced++;
  }

  /** Posts one interrupt covering every unsignalled completion (subject to the IPI gate and pause). */
  #deliver(): void {
    if (this.#paused) return;
    const now = this.#ctx.clock.now;
    if (!this.#ring.some((e) => !e.signalled)) return;
    if (this.#remote && now - this.#lastDelivery < this.vic.ipiGateNs) {
      if (!this.#deferred) {
        this.#stats.ipiDeferred++;
        this.#deferred = this.#ctx.events.at(Math.ceil(this.#lastDelivery + this.vic.ipiGateNs), `scsi.ipi.${this.vmId}`, () => {
          this.#deferred = undefined;
          this.#deliver();
        });
      }
      return;
    }
    this.#deferred?.cancel();
    this.#deferred = undefined;
    for (const e of this.#ring) if (!e.signalled) {
      e.signalled = true;
      this.#stats.addedLatencyNs += now - e.c.completedAt;
    }
    this.#delivered++;
    this.#lastDelivery = now;
    this.#stats.interrupts++;
    if (this.#remote) this.#stats.ipis++;
    this.#ctx.trace.emit('irq', 'scsi.interrupt', this.vmId, { vector: this.#vector, ring: this.#ring.length });
    this.#armResignal();
    this.#sink.raise(this.#vector);
  }

  #armResignal(): void {
    if (this.#resignalNs === 0 || this.#resignal) return;
    this.#resignal = this.#ctx.events.after(this.#resignalNs, `scsi.resignal.${this.vmId}`, () => {
      this.#resignal = undefined;
      if (this.#paused || !this.#ring.some((e) => e.signalled)) return;
      this.#stats.resignals++;
      this.#stats.interrupts++;
      this.#armResignal();
      this.#sink.raise(this.#vector);
    });
  }

  /**
   * The guest driver takes up to `max` completions from the ring (oldest first), each exactly
   * once; completions not yet signalled are included (the patent's "accessible without an interrupt").
   */
  poll(max = Infinity): Completion[] {
    if (max !== Infinity) checkInt('max', max, 1);
    const now = this.#ctx.clock.now;
    const take = this.#ring.splice(0, Math.min(max, this.#ring.length));
    for (const e of take) {
      if (!e.signalled) {
        this.#stats.seenWithoutInterrupt++;
        this.#stats.addedLatencyNs += now - e.c.completedAt;
      }
    }
    this.#stats.polled += take.length;
    if (!this.#ring.some((e) => e.signalled)) {
      this.#resignal?.cancel();
      this.#resignal = undefined;
    }
    return take.map((e) => ({ ...e.c, ...(e.c.data ? { data: e.c.data.slice() } : {}) }));
  }

  /** Guest end-of-interrupt: nothing to do beyond the ring (kept for driver symmetry); returns ring size. */
  ack(): number {
    return this.#ring.length;
  }

  /** Pauses interrupt delivery (VM paused): completions still land in the ring (threats STO-09). */
  pause(): void {
    this.#paused = true;
  }

  /** Resumes; every completion that arrived while paused is signalled now. */
  resume(): void {
    this.#paused = false;
    this.#deliver();
  }

  /** The current IOPS estimate. */
  get iopsEstimate(): number {
    return this.#iops;
  }

  /** Counters (a copy). */
  stats(): ControllerStats {
    return { ...this.#stats };
  }
}

