/**
 * The trusted VMM (Terra SOSP'03 §3–4): partitions the machine into open-box and closed-box VMs,
 * owns every VM's memory path (shadow MMU over the shared memory manager), runs guest OSes on a
 * deterministic scheduler, dispatches hypercalls, and exposes Terra's management interface
 * (CREATE-VM, CREATE-DEVICE, CONNECT/DISCONNECT, ATTACH/DETACH, ON/OFF, SUSPEND/RESUME) with the
 * partition policy: the management VM may inspect an open-box VM; a closed-box VM refuses it with
 * TerraError('ISOLATION_VIOLATION') and an audit event.
 */
import {
  checkBool, checkBytes, checkFunction, checkInt, checkObject, checkOneOf, checkString, describeThrown, isGenuineInvariant, isInstance, NS_PER_MS, PAGE_SIZE, TerraError,
  type Gppn, type SimContext, type VmId,
} from '../sim/index.js';
import { PageState, type MachineMemory, type MemoryManager } from '../memory/index.js';
import { KERNEL_DOMAIN, ShadowMmu } from './mmu.js';
import { Executor, type Caller, type ExecHooks } from './exec.js';
import { KernelSpace, PhysView } from './facades.js';
import { HCERR, type HypercallHandler } from './hypercalls.js';
import { nextState, type VmAction } from './lifecycle.js';
import { Vm, VM_KINDS, type VmInfo, type VmKind } from './vm.js';
import { REGISTERS, REG, type RegisterName } from './vcpu.js';
import { AddressSpaceBudget, addressSpaceCap, MAX_THREADS_PER_VM } from './spaces.js';
import { BLOCK_SIZE, CONTROLLER_SECTOR, checkIo, type AsyncBlockController, type BlockBackend, type ControllerCompletion } from './disk.js';
import type { AttestationService } from '../attestation/index.js';
import type { GuestOs, GuestPlatform, ProgramFn, ThreadSpec } from './guest-interface.js';

/** What CREATE-VM takes. */
export interface VmSpec {
  readonly name: string;
  readonly kind: VmKind;
  /** Guest memory in MiB (or give `pages`). */
  readonly memoryMiB?: number;
  readonly pages?: number;
  readonly vcpus?: number;
  /** The guest OS to run. */
  readonly guest: GuestOs;
  /** The VM's installed programs (its "disk image" of executables). */
  readonly programs?: Readonly<Record<string, ProgramFn>>;
  /** An attestable VM image (src/attestation image format): measured at creation, its identity is what quotes report. */
  readonly image?: Uint8Array;
  /** A debug VM (reported in quotes; verifiers refuse it by default). */
  readonly debug?: boolean;
}

/** A device created through CREATE-DEVICE. */
export interface DeviceInfo {
  readonly id: string;
  readonly type: 'disk' | 'nic' | 'serial' | 'balloon';
  readonly attachedTo?: VmId;
  readonly connectedTo?: string;
}

/** Result of {@link Tvmm.run}. */
export interface RunSummary {
  readonly startNs: number;
  readonly endNs: number;
  readonly slices: number;
  readonly reason: 'until' | 'all-idle' | 'all-halted' | 'max-slices';
}

/**
 * A guest's hypercall arguments as a frozen array of integers, read exactly once each (so a Proxy's
 * traps or an accessor run once, before any handler sees anything), or undefined when the value is
 * not an array of at most 8 integers (holes included) or reading it throws.
 */
function snapshotArgs(args: unknown): readonly number[] | undefined {
  try {
    if (!Array.isArray(args)) return undefined;
    const n: unknown = args.length;
    if (typeof n !== 'number' || n > 8) return undefined;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!(i in args)) return undefined;
      const a: unknown = args[i];
      if (typeof a !== 'number' || !Number.isInteger(a)) return undefined;
      out.push(a);
    }
    return Object.freeze(out);
  } catch {
    return undefined;
  }
}

/**
 * True when `data` is a plain Uint8Array of exactly `len` bytes over ordinary (not shared, not
 * detached) memory: what a device may DMA into guest memory. Never throws.
 */
function validDma(data: unknown, len: number): data is Uint8Array {
  try {
    checkBytes('data', data, len);
    return true;
  } catch {
    return false;
  }
}

/** Scheduler time slice (virtual ns). */
export const TIME_SLICE_NS = NS_PER_MS;
/** Most one-shot timers a VM may have armed at once (GuestPlatform.setTimer refuses more with TerraError('BUSY')). */
export const MAX_TIMERS_PER_VM = 4096;
/** Console text a VM may leave in `Tvmm.consoleLines` per boot (characters); later lines are dropped (one security event). */
export const MAX_CONSOLE_CHARS_PER_VM = 4 * 1024 * 1024;
/** Maximum VMs per TVMM (VM ids are 16-bit; 0xfffe/0xffff are reserved owners). */
export const MAX_VMS = 4096;

/** The trusted virtual machine monitor. */
export class Tvmm {
  readonly mmu: ShadowMmu;
  readonly #vms = new Map<number, Vm>();
  readonly #devices = new Map<string, { id: string; type: DeviceInfo['type']; attachedTo?: VmId; connectedTo?: string }>();
  readonly #hypercalls = new Map<number, { name: string; fn: HypercallHandler }>();
  #nextId = 1;
  #execHooks: ExecHooks | undefined;
  #rr = 0;
  /** Listeners for VM lifecycle changes (engines release per-VM state). */
  readonly #lifecycle: ((vm: VmId, state: string) => void)[] = [];
  readonly management: ManagementInterface;
  readonly stats = { hypercalls: 0, hypercallErrors: 0, interrupts: 0, slices: 0 };

  constructor(
    readonly sim: SimContext,
    readonly machine: MachineMemory,
    readonly memory: MemoryManager,
    /** Terra's attestation service (GET-ID, ENDORSE, quotes, sealing); VMs created with an image are registered with it. */
    readonly attestation?: AttestationService,
  ) {
    this.mmu = new ShadowMmu(sim, machine, memory);
    this.management = new ManagementInterface(this);
    sim.trace.emit('vm', 'tvmm.boot', undefined, { frames: machine.frames });
  }

  // ---------------------------------------------------------------- VMs

  /** CREATE-VM: validates the spec and creates a VM in state 'created'. */
  createVm(spec: VmSpec): VmId {
    checkObject('spec', spec);
    const name = checkString('spec.name', spec.name, { nonEmpty: true, max: 64 });
    const kind = checkOneOf('spec.kind', spec.kind, VM_KINDS);
    let pages: number;
    if (spec.pages !== undefined) pages = checkInt('spec.pages', spec.pages, 16, 2 ** 20);
    else pages = (checkInt('spec.memoryMiB', spec.memoryMiB, 1, 4096) * 1024 * 1024) / PAGE_SIZE;
    const vcpus = spec.vcpus === undefined ? 1 : checkInt('spec.vcpus', spec.vcpus, 1, 64);
    const guest = checkObject('spec.guest', spec.guest) as unknown as GuestOs;
    for (const f of ['boot', 'interrupt', 'run'] as const) checkFunction(`spec.guest.${f}`, guest[f]);
    const programs = new Map<string, ProgramFn>();
    if (spec.programs !== undefined) {
      for (const [k, v] of Object.entries(checkObject('spec.programs', spec.programs))) programs.set(k, checkFunction(`spec.programs.${k}`, v) as ProgramFn);
    }
    if (this.#vms.size >= MAX_VMS) throw new TerraError('ADMISSION_DENIED', `at most ${MAX_VMS} VMs`);
    for (const v of this.#vms.values()) if (v.name === name && v.state !== 'destroyed') throw new RangeError(`a VM named ${JSON.stringify(name)} exists`);
    const image = spec.image === undefined ? undefined : checkBytes('spec.image', spec.image, { min: 1 }).slice();
    const debug = spec.debug === undefined ? false : checkBool('spec.debug', spec.debug);
    if (image && !this.attestation) throw new TerraError('INVALID_STATE', 'this TVMM has no attestation service for an attested image');
    this.admit?.(pages);
    const id = this.#nextId++ as VmId;
    // Measure the image first (it may be malformed: then nothing is created).
    if (image) this.attestation!.registerVm(id, { image, mode: kind === 'closed-box' ? 'closed' : 'open', debug });
    const vm = new Vm(id, name, kind, pages, vcpus, guest, programs);
    this.memory.addVm(id, pages);
    this.mmu.addVm(id);
    vm.executor = new Executor(
      this.sim,
      this.mmu,
      id,
      programs,
      (root, user) => (gva, write, kind) => this.#pageFault(vm, root, gva, write, kind, user),
      (caller, nr, args) => this.#dispatch(caller, nr, args),
    );
    if (this.#execHooks) vm.executor.hooks = this.#execHooks;
    vm.executor.vcpu = vm.vcpus[0];
    this.#vms.set(id, vm);
    this.sim.trace.emit('mgmt', 'create-vm', id, { name, kind, pages });
    return id;
  }

  #attested(id: VmId): boolean {
    try {
      this.attestation?.getId(id);
      return this.attestation !== undefined;
    } catch {
      return false;
    }
  }

  /** Optional admission control installed by the memory allocator (throws to refuse). */
  admit?: (pages: number) => void;

  #vm(id: unknown): Vm {
    const v = this.#vms.get(checkInt('vm', id, 0, 0xffff));
    if (!v || v.state === 'destroyed') throw new TerraError('NOT_FOUND', `no such vm ${String(id)}`);
    return v;
  }

  /** Public info for a VM. */
  vm(id: VmId): VmInfo {
    return this.#vm(id).info();
  }

  /** Every VM's info. */
  vms(): VmInfo[] {
    return [...this.#vms.values()].filter((v) => v.state !== 'destroyed').map((v) => v.info());
  }

  /** Subscribes to lifecycle changes. */
  onLifecycle(fn: (vm: VmId, state: string) => void): void {
    this.#lifecycle.push(checkFunction('fn', fn) as (vm: VmId, state: string) => void);
  }

  /** ON/OFF/SUSPEND/RESUME/DESTROY: applies a lifecycle action; TerraError('INVALID_STATE') when not allowed. */
  power(id: VmId, action: VmAction): VmInfo {
    const vm = this.#vm(id);
    const a = checkOneOf('action', action, ['on', 'off', 'suspend', 'resume', 'destroy'] as const);
    const next = nextState(vm.state, a);
    if (!next) throw new TerraError('INVALID_STATE', `cannot ${a} a VM that is ${vm.state}`, { vm: id, state: vm.state });
    if (a === 'on' && vm.state === 'off') {
      // Power cycle: fresh memory and threads.
      this.memory.removeVm(id);
      this.mmu.removeVm(id);
      this.memory.addVm(id, vm.pages);
      this.mmu.addVm(id);
      vm.executor.threads.clear();
      vm.booted = false;
      vm.idle = false;
      vm.pendingIrqs.length = 0;
      vm.haltReason = undefined;
      // Commands of the previous boot still in a controller complete into nothing (never into the new memory).
      for (const c of this.#controllers.get(id)?.values() ?? []) c.pending.clear();
    }
    vm.state = next;
    this.sim.trace.emit('mgmt', a, id);
    if (next === 'destroyed') {
      this.#controllers.delete(id);
      if (this.#attested(id)) this.attestation!.unregisterVm(id);
      this.memory.removeVm(id);
      this.mmu.removeVm(id);
      for (const d of this.#devices.values()) if (d.attachedTo === id) delete d.attachedTo;
    }
    if (a === 'off') this.mmu.haltVm(id);
    for (const l of this.#lifecycle) l(id, next);
    return vm.info();
  }

  /** Halts a VM with a reason (security violation, guest fault): no further guest execution. */
  halt(id: VmId, reason: string): void {
    const vm = this.#vm(id);
    checkString('reason', reason, { nonEmpty: true, max: 200 });
    if (vm.state === 'halted') return;
    if (!nextState(vm.state, 'halt')) throw new TerraError('INVALID_STATE', `cannot halt a VM that is ${vm.state}`);
    vm.state = 'halted';
    vm.haltReason = reason;
    this.mmu.haltVm(id);
    this.sim.trace.security('vm.halt', id, { reason });
    for (const l of this.#lifecycle) l(id, 'halted');
  }

  // ---------------------------------------------------------------- devices (Terra CREATE-DEVICE, ATTACH, CONNECT)

  /** CREATE-DEVICE. */
  createDevice(type: DeviceInfo['type'], id: string): DeviceInfo {
    checkOneOf('type', type, ['disk', 'nic', 'serial', 'balloon'] as const);
    checkString('id', id, { nonEmpty: true, max: 64 });
    if (this.#devices.has(id)) throw new RangeError(`device ${JSON.stringify(id)} exists`);
    this.#devices.set(id, { id, type });
    this.sim.trace.emit('mgmt', 'create-device', undefined, { id, type });
    return this.device(id);
  }
  /** Device info. */
  device(id: string): DeviceInfo {
    const d = this.#devices.get(checkString('id', id));
    if (!d) throw new TerraError('NOT_FOUND', `no such device ${JSON.stringify(id)}`);
    return Object.freeze({ ...d });
  }
  /** ATTACH a device to a VM. */
  attach(id: string, vmId: VmId): void {
    const d = this.#devices.get(checkString('id', id));
    if (!d) throw new TerraError('NOT_FOUND', `no such device ${JSON.stringify(id)}`);
    const vm = this.#vm(vmId);
    if (d.attachedTo !== undefined) throw new TerraError('INVALID_STATE', `device ${id} is attached to vm ${d.attachedTo}`);
    d.attachedTo = vm.id;
    vm.devices.add(id);
    this.sim.trace.emit('mgmt', 'attach', vm.id, { device: id });
  }
  /** DETACH a device. */
  detach(id: string): void {
    const d = this.#devices.get(checkString('id', id));
    if (!d) throw new TerraError('NOT_FOUND', `no such device ${JSON.stringify(id)}`);
    if (d.attachedTo === undefined) throw new TerraError('INVALID_STATE', `device ${id} is not attached`);
    this.#vms.get(d.attachedTo)?.devices.delete(id);
    this.sim.trace.emit('mgmt', 'detach', d.attachedTo, { device: id });
    delete d.attachedTo;
  }
  /** CONNECT two NICs. */
  connect(a: string, b: string): void {
    const da = this.#devices.get(checkString('a', a));
    const db = this.#devices.get(checkString('b', b));
    if (!da || !db) throw new TerraError('NOT_FOUND', 'no such device');
    if (da.type !== 'nic' || db.type !== 'nic') throw new TerraError('INVALID_STATE', 'only NICs connect');
    if (da === db) throw new RangeError('a NIC cannot connect to itself');
    if (da.connectedTo || db.connectedTo) throw new TerraError('INVALID_STATE', 'already connected');
    da.connectedTo = b;
    db.connectedTo = a;
    this.sim.trace.emit('mgmt', 'connect', undefined, { a, b });
  }
  /** DISCONNECT a NIC. */
  disconnect(a: string): void {
    const da = this.#devices.get(checkString('a', a));
    if (!da) throw new TerraError('NOT_FOUND', 'no such device');
    if (!da.connectedTo) throw new TerraError('INVALID_STATE', 'not connected');
    const db = this.#devices.get(da.connectedTo)!;
    delete da.connectedTo;
    delete db.connectedTo;
    this.sim.trace.emit('mgmt', 'disconnect', undefined, { a });
  }

  // ---------------------------------------------------------------- hypercalls, interrupts, hooks

  /** Registers a hypercall handler (engines call this; one handler per number). */
  registerHypercall(nr: number, name: string, fn: HypercallHandler): void {
    checkInt('nr', nr, 0, 0xffff);
    checkString('name', name, { nonEmpty: true });
    checkFunction('fn', fn);
    if (this.#hypercalls.has(nr)) throw new RangeError(`hypercall ${nr} is registered`);
    this.#hypercalls.set(nr, { name, fn });
  }

  #dispatch(caller: Caller, nr: number, rawArgs: readonly number[]): number {
    this.stats.hypercalls++;
    this.sim.clock.advance(this.sim.costs.hypercall);
    const h = typeof nr === 'number' ? this.#hypercalls.get(nr) : undefined;
    // The handler gets a frozen copy read once here, never the guest's array: a Proxy or getter
    // cannot show the check one value and the handler another (TOCTOU), and a hole is refused
    // instead of reaching the handler as undefined.
    const args = h ? snapshotArgs(rawArgs) : undefined;
    if (!h || !args) {
      this.stats.hypercallErrors++;
      this.sim.trace.emit('vm', 'hypercall.invalid', caller.vm, { nr: typeof nr === 'number' ? nr : -1 });
      return h ? HCERR.EINVAL : HCERR.ENOSYS;
    }
    try {
      return h.fn(caller, args);
    } catch (e) {
      this.stats.hypercallErrors++;
      if (isInstance(e, TerraError)) {
        if (e.code === 'ISOLATION_VIOLATION') this.sim.trace.security('hypercall.refused', caller.vm, { nr, code: e.code });
        return e.code === 'ISOLATION_VIOLATION' ? HCERR.EPERM : HCERR.EINVAL;
      }
      if (isInstance(e, TypeError) || isInstance(e, RangeError)) return HCERR.EINVAL;
      throw e;
    }
  }

  /** Installs the user-execution hooks (the cloaking engine). */
  setExecHooks(h: ExecHooks): void {
    this.#execHooks = h;
    for (const v of this.#vms.values()) v.executor.hooks = h;
  }

  /** Queues a virtual interrupt for a VM (delivered at its next scheduling point). */
  raiseInterrupt(vmId: VmId, vector: number): void {
    checkInt('vector', vector, 0, 255);
    const vm = this.#vms.get(checkInt('vm', vmId, 0, 0xffff));
    if (!vm) throw new TerraError('NOT_FOUND', `no such vm ${String(vmId)}`);
    if (vm.state === 'destroyed' || vm.state === 'off') {
      // A device completing after its VM was powered off or destroyed (IO was in flight): the
      // interrupt has no one to go to. Dropped and recorded, never an exception out of the scheduler.
      this.sim.trace.emit('irq', 'drop', vmId, { vector, state: vm.state });
      return;
    }
    vm.pendingIrqs.push(vector);
    vm.idle = false;
    this.stats.interrupts++;
    this.sim.trace.emit('irq', 'raise', vmId, { vector });
  }

  #pageFault(vm: Vm, root: number, gva: number, write: boolean, kind: string, user: boolean): boolean {
    const h = this.#faultHandlers.get(vm.id);
    if (!h || vm.state !== 'running') return false;
    this.sim.clock.advance(this.sim.costs.guestFault);
    this.sim.trace.emit('mmu', 'guest-fault', vm.id, { gva, write, kind, user });
    return h(root, gva, write, kind, user);
  }
  readonly #faultHandlers = new Map<number, (root: number, gva: number, write: boolean, kind: string, user: boolean) => boolean>();

  // ---------------------------------------------------------------- the guest platform

  #platform(vm: Vm): GuestPlatform {
    const tvmm = this;
    const sim = this.sim;
    const ex = vm.executor;
    const phys = new PhysView(this.memory, this.mmu, vm.id, () => vm.state === 'halted');
    const entropyRng = sim.rng.fork(`vm/${vm.id}/entropy`);
    const spaces = new Map<number, KernelSpace>();
    const checkRoot = (root: unknown): number => checkInt('root', root, 0, vm.pages - 1);
    // Shadowed address spaces are TVMM memory: bounded per VM, recycled when not in use (spaces.ts).
    const budget = new AddressSpaceBudget(
      addressSpaceCap(vm.pages),
      () => {
        const live = new Set<number>();
        for (const t of ex.threads.values()) if (t.state !== 'dead') live.add(t.root);
        return live;
      },
      (root) => {
        spaces.delete(root);
        tvmm.mmu.dropRoot(vm.id, root as Gppn);
      },
      (what, root) => sim.trace.emit('mmu', `address-space.${what}`, vm.id, { root }),
    );
    let armedTimers = 0;
    let consoleChars = 0;
    let consoleDropped = 0;
    const threadRoom = (): void => {
      if (ex.threads.size >= MAX_THREADS_PER_VM) throw new TerraError('OUT_OF_MEMORY', `the VM has ${MAX_THREADS_PER_VM} threads, the most the TVMM holds for it`);
    };
    const spec = (s: ThreadSpec) => {
      checkObject('spec', s);
      return {
        root: checkRoot(s.root),
        program: checkString('spec.program', s.program, { nonEmpty: true }),
        argv: s.argv === undefined ? [] : [...s.argv].map((a, i) => checkString(`spec.argv[${i}]`, a)),
        env: s.env === undefined ? {} : Object.fromEntries(Object.entries(checkObject('spec.env', s.env)).map(([k, v]) => [k, checkString(`spec.env.${k}`, v)])),
        sp: s.sp === undefined ? 0 : checkInt('spec.sp', s.sp, 0, 0xffffffff),
        pc: s.pc === undefined ? 0 : checkInt('spec.pc', s.pc, 0, 0xffffffff),
      };
    };
    const p: GuestPlatform = {
      vmId: vm.id,
      memoryPages: vm.pages,
      vcpuCount: vm.vcpus.length,
      phys,
      now: () => sim.clock.now,
      kernelSpace(root) {
        const r = checkRoot(root);
        budget.admit(r);
        let s = spaces.get(r);
        if (!s) {
          const getCtx = () => {
            // A recycled root is re-admitted before its context is rebuilt (a held KernelSpace keeps working).
            if (!budget.has(r)) budget.admit(r);
            const c = tvmm.mmu.context(vm.id, r as Gppn, KERNEL_DOMAIN, false);
            c.faultHandler ??= (gva, write, kind) => tvmm.#pageFault(vm, r, gva, write, kind, false);
            return c;
          };
          s = new KernelSpace(getCtx);
          spaces.set(r, s);
        }
        return s;
      },
      onPageFault(h) {
        tvmm.#faultHandlers.set(vm.id, checkFunction('handler', h) as never);
      },
      releaseAddressSpace(root) {
        const r = checkRoot(root);
        spaces.delete(r);
        budget.release(r);
        tvmm.mmu.dropRoot(vm.id, r as Gppn);
      },
      createThread: (s) => {
        const v = spec(s);
        threadRoom();
        budget.admit(v.root);
        return ex.create(v.root, v.program, v.argv, v.env, v.sp, v.pc);
      },
      forkThread: (parent, childRoot) => {
        const pt = checkInt('parent', parent, 1);
        const r = checkRoot(childRoot);
        ex.get(pt);
        threadRoom();
        budget.admit(r);
        return ex.fork(pt, r);
      },
      execThread: (tid, s) => {
        const v = spec(s);
        const t = checkInt('tid', tid, 1);
        ex.get(t);
        budget.admit(v.root);
        ex.exec(t, v.root, v.program, v.argv, v.env);
      },
      resume: (tid) => {
        if (vm.state !== 'running') throw new TerraError('VM_HALTED', `vm ${vm.id} is ${vm.state}`);
        return ex.resume(checkInt('tid', tid, 1));
      },
      setRegister: (tid, reg, value) => {
        const t = ex.get(checkInt('tid', tid, 1));
        t.regs[REG[checkOneOf('reg', reg, REGISTERS)]] = checkInt('value', value, 0, 0xffffffff);
      },
      getRegister: (tid, reg) => ex.get(checkInt('tid', tid, 1)).regs[REG[checkOneOf('reg', reg, REGISTERS) as RegisterName]],
      deliverSignal: (tid, handlerId, signo) => ex.signal(checkInt('tid', tid, 1), checkInt('handlerId', handlerId, 1), checkInt('signo', signo, 1, 64)),
      registerSignalHandler: (tid) => ex.registerHandler(checkInt('tid', tid, 1)),
      destroyThread: (tid) => ex.destroy(checkInt('tid', tid, 1)),
      setTimer(delayNs, vector) {
        checkInt('delayNs', delayNs, 1);
        checkInt('vector', vector, 0, 255);
        // Armed timers are TVMM events: bounded per VM (a flood of them would be host memory and,
        // firing together, one unbounded interrupt storm).
        if (armedTimers >= MAX_TIMERS_PER_VM) throw new TerraError('BUSY', `the VM has ${MAX_TIMERS_PER_VM} timers armed`);
        if (delayNs > Number.MAX_SAFE_INTEGER - sim.clock.now) throw new RangeError('delayNs reaches beyond the end of virtual time');
        sim.events.after(delayNs, `timer vm${vm.id}`, () => {
          armedTimers--;
          // A timer armed by an earlier boot (the VM was power-cycled since) has no one to go to.
          if (tvmm.#platforms.get(vm.id) !== p) return;
          if (vm.state === 'running' || vm.state === 'suspended') tvmm.raiseInterrupt(vm.id, vector);
        });
        armedTimers++;
      },
      hypercall: (nr, args) => tvmm.#dispatch({ vm: vm.id, mode: 'kernel', domain: KERNEL_DOMAIN }, nr, args),
      entropy(n) {
        checkInt('n', n, 0, 65536);
        const b = entropyRng.bytes(n);
        sim.trace.emit('io', 'entropy', vm.id, { n });
        return b;
      },
      console(line) {
        checkString('line', line, { max: 4096 });
        // Console text is kept in TVMM memory for the life of the TVMM: bounded per VM, so a guest
        // printing in a loop cannot grow the host's memory without limit (the rest is counted).
        if (consoleChars + line.length > MAX_CONSOLE_CHARS_PER_VM) {
          if (consoleDropped++ === 0) sim.trace.security('console.quota', vm.id, { limit: MAX_CONSOLE_CHARS_PER_VM });
          return;
        }
        consoleChars += line.length;
        sim.trace.emit('guest', 'console', vm.id, { line });
        tvmm.consoleLines.push({ vm: vm.id, t: sim.clock.now, line });
      },
      programs: () => Object.freeze([...vm.programs.keys()].sort()),
      attestation() {
        if (!tvmm.#attested(vm.id)) throw new TerraError('NOT_FOUND', 'this VM was created without an attestable image');
        return tvmm.attestation!.portFor(vm.id);
      },
      disks: () => Object.freeze([...tvmm.#disks.get(vm.id)?.keys() ?? []].sort()),
      disk(name) {
        checkString('name', name);
        const backend = tvmm.#disks.get(vm.id)?.get(name);
        if (!backend) throw new TerraError('NOT_FOUND', `no disk ${JSON.stringify(name)} on this VM`);
        const dma = (lba: number, count: number, gpa: number, toDisk: boolean): number => {
          const io = checkIo(backend.blocks, lba, count);
          checkInt('gpa', gpa, 0, vm.pages * PAGE_SIZE - 1);
          if (gpa % PAGE_SIZE !== 0) throw new RangeError('gpa must be page-aligned');
          if (gpa + io.count * PAGE_SIZE > vm.pages * PAGE_SIZE) throw new RangeError('DMA beyond the VM memory');
          if (vm.state !== 'running') return -5;
          sim.clock.advance(sim.costs.diskIo + sim.costs.diskPerByte * io.count * BLOCK_SIZE);
          sim.trace.emit('io', toDisk ? 'disk.write' : 'disk.read', vm.id, { disk: name, lba: io.lba, count: io.count });
          try {
            if (toDisk) backend.write(io.lba, tvmm.#dmaSource(vm.id, phys, gpa, io.count));
            else {
              // The backend is outside the TCB (the host's storage): its answer must be exactly the
              // requested blocks, or the DMA would write guest pages outside the window the driver
              // programmed (a longer answer overwrote the pages after it).
              const data: unknown = backend.read(io.lba, io.count);
              if (!validDma(data, io.count * BLOCK_SIZE)) {
                sim.trace.security('disk.bad-transfer', vm.id, { disk: name, lba: io.lba, count: io.count });
                return -5;
              }
              phys.write(gpa, data);
            }
            return 0;
          } catch (e) {
            if (isGenuineInvariant(e)) throw e;
            // Whatever the backend threw (an integrity failure, a bug, a hostile value) is an IO error for the guest.
            sim.trace.security('disk.io-error', vm.id, { disk: name, code: isInstance(e, TerraError) ? e.code : 'BACKEND_FAULT' });
            return -5;
          }
        };
        const ctl = tvmm.#controllers.get(vm.id)?.get(name);
        return Object.freeze({
          name,
          blocks: backend.blocks,
          read: (lba: number, count: number, gpa: number) => dma(lba, count, gpa, false),
          write: (lba: number, count: number, gpa: number) => dma(lba, count, gpa, true),
          ...(ctl ? tvmm.#asyncDisk(vm, phys, name, backend.blocks, ctl) : {}),
        });
      },
    };
    return Object.freeze(p);
  }

  readonly #disks = new Map<number, Map<string, BlockBackend>>();
  /** Asynchronous controllers by VM and disk name, with the guest DMA targets of their commands in flight. */
  readonly #controllers = new Map<number, Map<string, { c: AsyncBlockController; pending: Map<number, { op: 'read' | 'write'; gpa: number; count: number }> }>>();

  /**
   * The interrupt-driven half of a guest disk (see GuestDisk.submit/complete): commands go to the
   * controller in 512-byte sectors; a write's bytes are taken from guest memory at submission (the
   * same DMA source as the synchronous path, so cloaked pages leave encrypted); a read's bytes are
   * DMA'd into the guest page when the driver polls its completion. Issuing costs one VMM exit of
   * virtual CPU time; the device latency runs on the virtual clock in the controller, overlapping
   * with the guest's other work.
   */
  #asyncDisk(vm: Vm, phys: PhysView, name: string, blocks: number, ctl: { c: AsyncBlockController; pending: Map<number, { op: 'read' | 'write'; gpa: number; count: number }> }) {
    const sim = this.sim;
    const spb = BLOCK_SIZE / CONTROLLER_SECTOR;
    return {
      vector: ctl.c.vector,
      submit: (op: 'read' | 'write', lba: number, count: number, gpa: number): number => {
        const o = checkOneOf('op', op, ['read', 'write'] as const);
        const io = checkIo(blocks, lba, count);
        checkInt('gpa', gpa, 0, vm.pages * PAGE_SIZE - 1);
        if (gpa % PAGE_SIZE !== 0) throw new RangeError('gpa must be page-aligned');
        if (gpa + io.count * PAGE_SIZE > vm.pages * PAGE_SIZE) throw new RangeError('DMA beyond the VM memory');
        if (vm.state !== 'running') return -5;
        sim.clock.advance(sim.costs.exit);
        const data = o === 'write' ? this.#dmaSource(vm.id, phys, gpa, io.count) : undefined;
        const r = ctl.c.submit({ op: o, lba: io.lba * spb, count: io.count * spb, ...(data ? { data } : {}) });
        if (!r.ok) return -16;
        const tag = r.value;
        if (!Number.isInteger(tag) || tag < 1 || ctl.pending.has(tag)) return -5;
        ctl.pending.set(tag, { op: o, gpa, count: io.count });
        sim.trace.emit('io', `disk.submit.${o}`, vm.id, { disk: name, lba: io.lba, count: io.count, tag });
        return tag;
      },
      complete: (): readonly { tag: number; status: number }[] => {
        const out: { tag: number; status: number }[] = [];
        // The controller is the host's: a malformed ring (not an array, entries with throwing
        // accessors, data over shared or detached memory) is an IO error, never an exception into
        // the guest's interrupt handler.
        let ring: unknown;
        try {
          ring = ctl.c.poll();
        } catch (e) {
          if (isGenuineInvariant(e)) throw e;
          ring = undefined;
        }
        if (!Array.isArray(ring)) {
          sim.trace.security('disk.bad-completion', vm.id, { disk: name });
          return out;
        }
        for (const c of ring as unknown[]) {
          let tag: unknown, st: unknown, data: unknown;
          try {
            ({ tag, status: st, data } = c as ControllerCompletion);
          } catch {
            sim.trace.security('disk.bad-completion', vm.id, { disk: name });
            continue;
          }
          if (typeof tag !== 'number') continue;
          const p = ctl.pending.get(tag);
          if (!p) continue; // not issued through this VM's platform
          ctl.pending.delete(tag);
          let status = st === 'good' ? 0 : -5;
          if (status === 0 && p.op === 'read') {
            if (!validDma(data, p.count * BLOCK_SIZE) || vm.state !== 'running') status = -5;
            else phys.write(p.gpa, data);
          }
          sim.trace.emit('io', status < 0 ? 'disk.io-error' : 'disk.complete', vm.id, { disk: name, tag });
          out.push({ tag, status });
        }
        return out;
      },
    };
  }

  /**
   * Puts an asynchronous controller (e.g. src/storage's VirtualScsiController with vIC) in front of
   * disk `name` of a VM, which must already be attached with {@link attachDisk} (the synchronous path
   * stays for the guest's boot-time and synchronous IO). The guest driver then sees
   * `GuestDisk.vector/submit/complete`. The controller raises its completion interrupts itself: wire
   * its sink to `tvmm.raiseInterrupt(vm, controller.vector)`. Attach before the VM boots (the guest
   * kernel looks its disks up at boot). NOT_FOUND without the disk; RangeError if it already has one.
   */
  attachController(vmId: VmId, name: string, controller: AsyncBlockController): void {
    const vm = this.#vm(vmId);
    checkString('name', name, { nonEmpty: true, max: 64 });
    if (!this.#disks.get(vm.id)?.has(name)) throw new TerraError('NOT_FOUND', `no disk ${JSON.stringify(name)} on vm ${vmId}`);
    checkObject('controller', controller);
    checkInt('controller.vector', controller.vector, 0, 255);
    checkFunction('controller.submit', controller.submit);
    checkFunction('controller.poll', controller.poll);
    let m = this.#controllers.get(vm.id);
    if (!m) this.#controllers.set(vm.id, (m = new Map()));
    if (m.has(name)) throw new RangeError(`disk ${JSON.stringify(name)} of vm ${vmId} already has a controller`);
    m.set(name, { c: controller, pending: new Map() });
    this.sim.trace.emit('mgmt', 'attach-controller', vm.id, { name, vector: controller.vector });
  }

  /**
   * The bytes a disk write DMA reads from guest memory: the kernel view, except that a page holding
   * cloaked plaintext is encrypted into a separate buffer by the cloak hook (Overshadow's virtual
   * DMA: the app keeps using its page).
   */
  #dmaSource(vm: VmId, phys: PhysView, gpa: number, count: number): Uint8Array {
    const dma = this.mmu.cloak?.dmaSource;
    if (!dma) return phys.read(gpa, count * BLOCK_SIZE);
    const out = new Uint8Array(count * BLOCK_SIZE);
    const state = this.memory.pmap(vm).state;
    for (let i = 0; i < count; i++) {
      const g = gpa / PAGE_SIZE + i;
      const enc = state[g] & PageState.CLOAKED ? dma(vm, g as Gppn) : undefined;
      out.set(enc ?? phys.read((g * PAGE_SIZE), PAGE_SIZE), i * PAGE_SIZE);
    }
    return out;
  }

  /** Attaches a block backend to a VM as disk `name` (ATTACH of a disk device). */
  attachDisk(vmId: VmId, name: string, backend: BlockBackend): void {
    const vm = this.#vm(vmId);
    checkString('name', name, { nonEmpty: true, max: 64 });
    checkObject('backend', backend);
    checkInt('backend.blocks', backend.blocks, 1);
    checkFunction('backend.read', backend.read);
    checkFunction('backend.write', backend.write);
    let m = this.#disks.get(vm.id);
    if (!m) this.#disks.set(vm.id, (m = new Map()));
    if (m.has(name)) throw new RangeError(`vm ${vmId} already has a disk ${JSON.stringify(name)}`);
    m.set(name, backend);
    vm.devices.add(`disk:${name}`);
    this.sim.trace.emit('mgmt', 'attach-disk', vm.id, { name, blocks: backend.blocks });
  }

  /** Detaches disk `name` from a VM. */
  detachDisk(vmId: VmId, name: string): void {
    const vm = this.#vm(vmId);
    const m = this.#disks.get(vm.id);
    if (!m?.delete(checkString('name', name))) throw new TerraError('NOT_FOUND', `no disk ${JSON.stringify(name)} on vm ${vmId}`);
    this.#controllers.get(vm.id)?.delete(name);
    vm.devices.delete(`disk:${name}`);
  }

  /** Everything guests printed on their consoles. */
  readonly consoleLines: { vm: VmId; t: number; line: string }[] = [];

  /** Registers a handler for thread registration by signal (exposed to the guest kernel via the executor). */
  registerSignalHandler(vmId: VmId, tid: number): number {
    return this.#vm(vmId).executor.registerHandler(tid);
  }

  // ---------------------------------------------------------------- scheduler

  #bootIfNeeded(vm: Vm): void {
    if (vm.booted) return;
    vm.booted = true;
    const platform = this.#platform(vm);
    this.#platforms.set(vm.id, platform);
    if (this.#guestCall(vm, 'boot', () => vm.guest.boot(platform))) this.sim.trace.emit('vm', 'boot', vm.id);
  }

  /**
   * Runs guest kernel code (boot, an interrupt handler): a throw out of it is a guest crash that
   * halts that VM with a reason, never an exception out of the scheduler that would stop every
   * other VM. Returns false when the guest crashed.
   */
  #guestCall(vm: Vm, what: string, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      const reason = `guest crashed in ${what}: ${describeThrown(e)}`.slice(0, 200);
      if (vm.state === 'running') this.halt(vm.id, reason);
      return false;
    }
  }
  readonly #platforms = new Map<number, GuestPlatform>();

  /**
   * Runs the machine: round-robins running VMs in time slices, delivering interrupts and events,
   * until virtual time `untilNs`, or until every VM is idle with no pending event, or `maxSlices`.
   */
  run(opts: { untilNs?: number; maxSlices?: number } = {}): RunSummary {
    checkObject('opts', opts);
    const startNs = this.sim.clock.now;
    const until = opts.untilNs === undefined ? Number.MAX_SAFE_INTEGER : checkInt('untilNs', opts.untilNs, 0);
    const maxSlices = opts.maxSlices === undefined ? 10_000_000 : checkInt('maxSlices', opts.maxSlices, 1);
    let slices = 0;
    for (;;) {
      this.sim.events.runUntil(this.sim.clock.now);
      if (this.sim.clock.now >= until) return { startNs, endNs: this.sim.clock.now, slices, reason: 'until' };
      if (slices >= maxSlices) return { startNs, endNs: this.sim.clock.now, slices, reason: 'max-slices' };
      const running = [...this.#vms.values()].filter((v) => v.state === 'running');
      if (running.length === 0 && this.sim.events.peekTime() === undefined)
        return { startNs, endNs: this.sim.clock.now, slices, reason: 'all-halted' };
      let progressed = false;
      for (let k = 0; k < running.length; k++) {
        const vm = running[(this.#rr + k) % running.length];
        if (vm.state !== 'running') continue;
        this.#bootIfNeeded(vm);
        // Interrupt delivery is bounded by the time slice like guest execution: a storm of pending
        // interrupts (hundreds of timers armed for one instant) cannot hold the CPU for longer than a
        // slice per turn; the rest stay pending for the VM's next turn.
        const irqStart = this.sim.clock.now;
        while (vm.pendingIrqs.length && vm.state === 'running' && this.sim.clock.now - irqStart < TIME_SLICE_NS) {
          const v = vm.pendingIrqs.shift()!;
          this.sim.clock.advance(this.sim.costs.interrupt);
          this.sim.trace.emit('irq', 'deliver', vm.id, { vector: v });
          this.#guestCall(vm, 'interrupt', () => vm.guest.interrupt(v));
          vm.idle = false;
        }
        if (vm.idle || vm.state !== 'running') continue;
        const t0 = this.sim.clock.now;
        let r: 'runnable' | 'idle' | 'halted';
        try {
          r = vm.guest.run(Math.min(TIME_SLICE_NS, Math.max(1, until - t0)));
        } catch (e) {
          const reason = `guest crashed: ${describeThrown(e)}`.slice(0, 200);
          if (vm.state === 'running') this.halt(vm.id, reason);
          r = 'halted';
        }
        vm.cpuNs += this.sim.clock.now - t0;
        slices++;
        this.stats.slices++;
        if (r === 'halted' && vm.state === 'running') {
          vm.state = 'off';
          this.mmu.haltVm(vm.id);
          this.sim.trace.emit('vm', 'shutdown', vm.id);
          for (const l of this.#lifecycle) l(vm.id, 'off');
        }
        vm.idle = r === 'idle';
        if (r === 'runnable') progressed = true;
        if (this.sim.clock.now === t0 && r === 'runnable') this.sim.clock.advance(1);
      }
      this.#rr++;
      if (!progressed) {
        const next = this.sim.events.peekTime();
        const anyIrq = running.some((v) => v.pendingIrqs.length > 0);
        if (anyIrq) continue;
        if (next === undefined) {
          const anyRunning = [...this.#vms.values()].some((v) => v.state === 'running');
          return { startNs, endNs: this.sim.clock.now, slices, reason: anyRunning ? 'all-idle' : 'all-halted' };
        }
        this.sim.events.runUntil(Math.min(Math.max(next, this.sim.clock.now), until));
      }
    }
  }

  /** TVMM-internal: the VM record, for engines composed by the TVMM (never handed to guests). */
  internalVm(id: VmId): Vm {
    return this.#vm(id);
  }
}

/**
 * The management VM's interface (Terra §4.3). It administers every VM but may inspect only
 * open-box ones: a request on a closed-box VM is refused with TerraError('ISOLATION_VIOLATION')
 * and an audit (security) event.
 */
export class ManagementInterface {
  readonly #tvmm: Tvmm;
  constructor(tvmm: Tvmm) {
    this.#tvmm = tvmm;
  }
  #inspectable(id: VmId, what: string): void {
    const info = this.#tvmm.vm(id);
    if (info.kind === 'closed-box') {
      this.#tvmm.sim.trace.security('mgmt.inspect.refused', id, { what });
      throw new TerraError('ISOLATION_VIOLATION', `vm ${id} is closed-box: ${what} refused`, { vm: id, what });
    }
    this.#tvmm.sim.trace.emit('mgmt', 'inspect', id, { what });
  }
  /** Lists VMs (public info). */
  list(): VmInfo[] {
    return this.#tvmm.vms();
  }
  /** Reads guest-physical memory of an open-box VM (as its kernel would see it). */
  readMemory(id: VmId, gpa: number, len: number): Uint8Array {
    checkInt('gpa', gpa, 0);
    checkInt('len', len, 0, 1 << 20);
    this.#inspectable(id, 'memory');
    const vm = this.#tvmm.internalVm(id);
    if (gpa + len > vm.pages * PAGE_SIZE) throw new RangeError('read beyond the VM memory');
    const view = new PhysView(this.#tvmm.memory, this.#tvmm.mmu, id, () => false);
    return view.read(gpa, len);
  }
  /** Reads the registers of an open-box VM's vCPU. */
  readRegisters(id: VmId, vcpu = 0): Record<RegisterName, number> {
    checkInt('vcpu', vcpu, 0, 63);
    this.#inspectable(id, 'registers');
    const vm = this.#tvmm.internalVm(id);
    if (vcpu >= vm.vcpus.length) throw new RangeError(`vm ${id} has ${vm.vcpus.length} vCPUs`);
    const regs = vm.vcpus[vcpu].regs;
    return Object.fromEntries(REGISTERS.map((r, i) => [r, regs[i]])) as Record<RegisterName, number>;
  }
  /** Lists the threads of an open-box VM with their saved registers (debugging). */
  threads(id: VmId): { tid: number; program: string; regs: Record<RegisterName, number> }[] {
    this.#inspectable(id, 'threads');
    const vm = this.#tvmm.internalVm(id);
    return [...vm.executor.threads.values()]
      .filter((t) => t.state !== 'dead')
      .map((t) => ({ tid: t.tid, program: t.program, regs: Object.fromEntries(REGISTERS.map((r, i) => [r, t.regs[i]])) as Record<RegisterName, number> }));
  }
  /** Power actions are allowed on every VM (administration, not inspection). */
  power(id: VmId, action: VmAction): VmInfo {
    return this.#tvmm.power(id, action);
  }
}
