/**
 * User-mode execution: the TVMM runs guest programs (generator functions) in user mode on behalf
 * of the guest kernel, and returns control to the kernel at traps with the trap frame (DESIGN.md
 * §4). The kernel never holds a program's {@link Proc}: it cannot act inside a user address space
 * in user mode, only through the kernel view. Cloaking hooks in here (Overshadow's secure control
 * transfer: save the thread context, scrub what the kernel sees, restore on resume).
 */
import { checkBytes, checkInt, describeThrown, isGenuineInvariant, isInstance, lockClass, TerraError, type SimContext, type VmId } from '../sim/index.js';
import { GuestFault, KERNEL_DOMAIN, type DomainId, type MmuContext, type ShadowMmu } from './mmu.js';
import { NREGS, REG, REGISTERS, type RegisterName, type Vcpu } from './vcpu.js';
import type { Proc, ProgramFn, ThreadId, TrapInfo, TrapRequest } from './guest-interface.js';

/** Hooks the cloaking engine installs on user execution. */
export interface ExecHooks {
  /** The cloaking domain of a thread's user context (KERNEL_DOMAIN = uncloaked). */
  domainOf(vm: VmId, tid: ThreadId): DomainId;
  /** Wraps the program's Proc (the shim). */
  wrapProc?(vm: VmId, tid: ThreadId, proc: Proc, user: UserChannel): Proc;
  /** At a trap out of user mode: may save the real registers and replace what the kernel sees. */
  onTrap?(vm: VmId, tid: ThreadId, regs: Uint32Array, kind: string): void;
  /** Before resuming user mode: may restore registers from a protected context. */
  onResume?(vm: VmId, tid: ThreadId, regs: Uint32Array): void;
  /** A thread ended. */
  onExit?(vm: VmId, tid: ThreadId): void;
  /** Fork: the child inherits protection state from the parent. */
  onFork?(vm: VmId, parent: ThreadId, child: ThreadId): void;
}

/** The user-mode channel of one thread (for the shim): hypercalls with this thread's identity. */
export interface UserChannel {
  readonly vm: VmId;
  readonly tid: ThreadId;
  /** The program the thread runs (the loader decides whether to cloak it). */
  readonly program: string;
  /** The thread's live register file while it runs in user mode (the shim's CPU state). */
  readonly regs: Uint32Array;
  hypercall(nr: number, args: readonly number[]): number;
}

/** Identity of a hypercall's caller, derived by the TVMM (never from arguments). */
export interface Caller {
  readonly vm: VmId;
  readonly mode: 'kernel' | 'user';
  readonly tid?: ThreadId;
  readonly root?: number;
  readonly domain: DomainId;
}

interface Frame {
  /**
   * The program's generator, created on the frame's first run (inside the executor's guard, so a
   * program function that throws or returns a non-generator kills its thread, never the caller).
   */
  gen?: Generator<TrapRequest, number | void, number>;
  /** The program function the frame starts (kept until its first run). */
  start?: ProgramFn;
  /** For signal frames: the registers to restore when the handler returns. */
  savedRegs?: Uint32Array;
}

/** A user thread (TVMM-internal). */
export interface ThreadRec {
  readonly tid: ThreadId;
  readonly vm: VmId;
  root: number;
  program: string;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  regs: Uint32Array;
  frames: Frame[];
  /** Continuation passed with the last syscall (fork child body or a signal handler). */
  lastCont?: ProgramFn;
  handlers: Map<number, ProgramFn>;
  nextHandler: number;
  pendingSignals: { handlerId: number; signo: number }[];
  state: 'ready' | 'dead';
  started: boolean;
  ctx?: MmuContext;
  proc?: Proc;
  /** Cached cloaking domain, refreshed at every resume and after every user hypercall. */
  domain: DomainId;
  /** Bumped at exec and at death: a Proc or user channel of an older incarnation is dead. */
  incarnation: number;
}

/** Thrown inside a program's generator when the kernel kills it or a violation terminates it. */
export class ThreadKilled extends Error {
  override readonly name = 'ThreadKilled';
}

/** A TerraError's code read defensively (a program may throw a subclass with a getter): a string, or 'killed'. */
function codeOf(e: TerraError): string {
  try {
    const c: unknown = e.code;
    return typeof c === 'string' ? c.slice(0, 64) : 'killed';
  } catch {
    return 'killed';
  }
}

/** Largest syscall number (as {@link Proc.syscall} accepts). */
const MAX_NR = 0xffff;

/**
 * Reads what a program yielded into a fresh, validated request. A program is arbitrary code: it may
 * yield something no Proc method produced (getters, Proxies, objects with valueOf, non-function
 * continuations). Each field is read exactly once and checked without coercion; anything else
 * throws a TypeError, which the executor turns into the death of that thread (an illegal
 * instruction), never into an exception out of the kernel's resume() nor a coercion callback.
 */
function readRequest(v: unknown): { kind: 'syscall'; nr: number; args: number[]; cont: ProgramFn | undefined } | { kind: 'preempt' } {
  if (typeof v !== 'object' || v === null) throw new TypeError('a program yielded something that is not a trap request');
  const o = v as Record<string, unknown>;
  const kind = o.kind;
  if (kind === 'preempt') return { kind };
  if (kind !== 'syscall') throw new TypeError('a program yielded a trap request of an unknown kind');
  const nr = o.nr;
  const rawArgs = o.args;
  const cont = o.cont;
  if (typeof nr !== 'number' || !Number.isInteger(nr) || nr < 0 || nr > MAX_NR) throw new TypeError('a program yielded a malformed system call number');
  if (cont !== undefined && typeof cont !== 'function') throw new TypeError('a program yielded a continuation that is not a function');
  const args: number[] = [];
  if (rawArgs !== undefined) {
    if (!Array.isArray(rawArgs)) throw new TypeError('a program yielded system call arguments that are not an array');
    const n: unknown = rawArgs.length;
    if (typeof n !== 'number' || n > 5) throw new TypeError('a program yielded more than 5 system call arguments');
    for (let i = 0; i < n; i++) {
      const a: unknown = rawArgs[i];
      if (typeof a !== 'number' || (a >>> 0) !== a) throw new TypeError('a program yielded a system call argument that is not a 32-bit unsigned integer');
      args.push(a);
    }
  }
  return { kind, nr, args, cont: cont as ProgramFn | undefined };
}

/** Starts a frame's program: the generator it returns, or a TypeError for anything else. */
function startFrame(f: Frame, proc: Proc): Generator<TrapRequest, number | void, number> {
  const fn = f.start!;
  f.start = undefined;
  const g: unknown = fn(proc);
  if (typeof g !== 'object' || g === null || typeof (g as { next?: unknown }).next !== 'function' || typeof (g as { return?: unknown }).return !== 'function')
    throw new TypeError('a program function must return a generator');
  f.gen = g as Generator<TrapRequest, number | void, number>;
  return f.gen;
}

/** Ends a frame's generator (its finally blocks run); a frame never started has nothing to end. A throw out of program code is swallowed. */
function endFrame(f: Frame): void {
  f.start = undefined;
  const g = f.gen;
  if (!g) return;
  try {
    g.return(0);
  } catch {
    /* a program's finally block may throw (or the generator is running); the frame is gone either way */
  }
}

// Programs and kernels see these exceptions; neither may redefine them (e.g. Symbol.hasInstance).
lockClass(ThreadKilled);
lockClass(GuestFault);

/** Creates the Proc object a program sees. Internals live in closure scope only. */
export function makeProc(
  t: ThreadRec,
  getCtx: () => MmuContext,
  sim: SimContext,
  hypercall: (nr: number, args: readonly number[]) => number,
): Proc {
  const argv = Object.freeze([...t.argv]);
  const env = Object.freeze({ ...t.env });
  // This Proc belongs to one incarnation of the thread: after exec (a new image) or the thread's
  // death, code of the old image that is still running — e.g. because the kernel exec'ed or killed
  // the thread from inside its own page-fault handler — must not act in the new image's address
  // space and cloaking domain. Every access checks the incarnation first.
  const inc = t.incarnation;
  const gone = (): never => {
    throw new ThreadKilled('this program image was replaced or its thread is gone');
  };
  const ctx = (): MmuContext => (t.incarnation === inc ? getCtx() : gone());
  const checkAddr = (a: number): number => {
    if (typeof a !== 'number' || (a >>> 0) !== a) bad(a);
    return a;
  };
  // The thread's current MMU context is kept valid by the executor (set at every resume and after
  // every user hypercall), so each access is one property read and the TLB probe.
  // Never coerces: an object argument's valueOf/toString/Symbol.toPrimitive is not called (the
  // typeof test comes first, and the message describes the value without converting it).
  const bad = (a: unknown, what = 'address'): never => {
    if (typeof a !== 'number') throw new TypeError(`${what} must be a 32-bit unsigned integer, got ${a === null ? 'null' : typeof a}`);
    throw new RangeError(`${what} must be a 32-bit unsigned integer, got ${a}`);
  };
  const byte = (v: number): number => (typeof v === 'number' && (v & 0xff) === v ? v : bad(v, 'byte value'));
  const word = (v: number): number => (typeof v === 'number' && (v >>> 0) === v ? v : bad(v, 'value'));
  // load8/32 and store8/32 spell out ctx()'s test inline: routed through ctx() the access bench's
  // load ratio fell from 0.28 to 0.25 (V8 does not inline the closure with its throwing arm).
  const proc: Proc & { hypercall(nr: number, args: readonly number[]): number } = {
    load8: (a) => (typeof a === 'number' && (a >>> 0) === a ? (t.incarnation === inc ? t.ctx ?? getCtx() : gone()).load8(a) : bad(a)),
    load32: (a) => (typeof a === 'number' && (a >>> 0) === a ? (t.incarnation === inc ? t.ctx ?? getCtx() : gone()).load32(a) : bad(a)),
    store8: (a, v) => (typeof a === 'number' && (a >>> 0) === a ? (t.incarnation === inc ? t.ctx ?? getCtx() : gone()).store8(a, byte(v)) : bad(a)),
    store32: (a, v) => (typeof a === 'number' && (a >>> 0) === a ? (t.incarnation === inc ? t.ctx ?? getCtx() : gone()).store32(a, word(v)) : bad(a)),
    read: (a, len) => ctx().read(checkAddr(a), checkInt('len', len, 0, 1 << 26)),
    readInto: (a, out) => {
      if (!(out instanceof Uint8Array)) checkBytes('out', out);
      ctx().read(checkAddr(a), out.length, out);
    },
    write: (a, data) => ctx().write(checkAddr(a), checkBytes('data', data).slice()),
    *syscall(nr: number, args: readonly number[] = [], cont?: ProgramFn) {
      checkInt('nr', nr, 0, 0xffff);
      if (!Array.isArray(args) || args.length > 5) throw new RangeError('syscall takes at most 5 register arguments');
      for (const a of args) checkInt('syscall argument', a, 0, 0xffffffff);
      return yield { kind: 'syscall', nr, args: [...args], ...(cont ? { cont } : {}) };
    },
    *compute(ns: number) {
      checkInt('ns', ns, 0);
      sim.clock.advance(ns);
      yield { kind: 'preempt' };
    },
    hypercall: (nr, args) => (t.incarnation === inc ? hypercall(nr, args) : gone()),
    argv,
    env,
  };
  return Object.freeze(proc);
}

/** Runs user threads for one VM. */
export class Executor {
  readonly threads = new Map<number, ThreadRec>();
  #nextTid = 1;
  hooks: ExecHooks | undefined;
  /** The vCPU user threads run on: it holds the running thread's registers in user mode and the trap frame the kernel sees after a trap. */
  vcpu: Vcpu | undefined;

  constructor(
    readonly sim: SimContext,
    readonly mmu: ShadowMmu,
    readonly vm: VmId,
    readonly programs: Map<string, ProgramFn>,
    readonly faultHandlerFor: (root: number, user: boolean) => (gva: number, write: boolean, kind: string) => boolean,
    readonly userHypercall: (caller: Caller, nr: number, args: readonly number[]) => number,
  ) {}

  #domain(t: ThreadRec): DomainId {
    return this.hooks ? this.hooks.domainOf(this.vm, t.tid) : KERNEL_DOMAIN;
  }

  /** Re-reads a thread's cloaking domain from the hooks (at resume and after user hypercalls). */
  refreshDomain(t: ThreadRec): void {
    t.domain = this.#domain(t);
    this.contextOf(t);
  }

  /** The user-mode MMU context of a thread (domain chosen by the TVMM's hooks). */
  contextOf(t: ThreadRec): MmuContext {
    const c = t.ctx;
    if (c !== undefined && !c.dead && c.root === t.root && c.domain === t.domain) {
      return c;
    }
    const n = this.mmu.context(this.vm, t.root as never, t.domain, true);
    const handler = this.faultHandlerFor(t.root, true);
    const hooks = this.hooks;
    // A fault out of a cloaked context is a secure control transfer too: the kernel's handler runs
    // with the registers saved and scrubbed, and sees only the page-aligned address (Overshadow).
    n.faultHandler = t.domain === KERNEL_DOMAIN || !hooks?.onTrap ? handler : (gva, write, kind) => {
      hooks.onTrap!(this.vm, t.tid, t.regs, 'fault');
      try {
        return handler((gva & ~0xfff) >>> 0, write, kind);
      } finally {
        hooks.onResume?.(this.vm, t.tid, t.regs);
      }
    };
    t.ctx = n;
    return n;
  }

  #makeProc(t: ThreadRec): Proc {
    const inc = t.incarnation;
    const channel: UserChannel = {
      vm: this.vm,
      tid: t.tid,
      program: t.program,
      regs: t.regs,
      hypercall: (nr, args) => {
        if (t.incarnation !== inc) throw new ThreadKilled('this program image was replaced or its thread is gone');
        const r = this.userHypercall({ vm: this.vm, mode: 'user', tid: t.tid, root: t.root, domain: this.#domain(t) }, nr, args);
        this.refreshDomain(t);
        return r;
      },
    };
    const base = makeProc(t, () => this.contextOf(t), this.sim, channel.hypercall);
    return this.hooks?.wrapProc ? this.hooks.wrapProc(this.vm, t.tid, base, channel) : base;
  }

  /** Creates a thread. */
  create(root: number, program: string, argv: readonly string[], env: Readonly<Record<string, string>>, sp = 0, pc = 0): ThreadId {
    const fn = this.programs.get(program);
    if (!fn) throw new TerraError('NOT_FOUND', `no program named ${JSON.stringify(program)}`);
    const t: ThreadRec = {
      tid: this.#nextTid++,
      vm: this.vm,
      root,
      program,
      argv,
      env,
      regs: new Uint32Array(NREGS),
      frames: [],
      handlers: new Map(),
      nextHandler: 1,
      pendingSignals: [],
      state: 'ready',
      started: false,
      domain: KERNEL_DOMAIN,
      incarnation: 0,
    };
    t.regs[REG.sp] = sp >>> 0;
    t.regs[REG.pc] = pc >>> 0;
    this.threads.set(t.tid, t);
    t.proc = this.#makeProc(t);
    t.frames.push({ start: fn });
    this.sim.trace.emit('guest', 'thread.create', this.vm, { tid: t.tid, program });
    return t.tid;
  }

  /** Fork: the child runs the continuation the parent passed with its fork syscall. */
  fork(parentTid: ThreadId, childRoot: number): ThreadId {
    const p = this.get(parentTid);
    const cont = p.lastCont;
    if (!cont) throw new TerraError('INVALID_STATE', 'the parent has no fork continuation (fork must be the last syscall)');
    p.lastCont = undefined;
    const t: ThreadRec = {
      tid: this.#nextTid++,
      vm: this.vm,
      root: childRoot,
      program: p.program,
      argv: p.argv,
      env: p.env,
      regs: p.regs.slice(),
      frames: [],
      handlers: new Map(p.handlers),
      nextHandler: p.nextHandler,
      pendingSignals: [],
      state: 'ready',
      started: true,
      domain: KERNEL_DOMAIN,
      incarnation: 0,
    };
    this.threads.set(t.tid, t);
    this.hooks?.onFork?.(this.vm, parentTid, t.tid);
    t.proc = this.#makeProc(t);
    t.frames.push({ start: cont });
    t.regs[REG.r0] = 0;
    this.sim.trace.emit('guest', 'thread.fork', this.vm, { parent: parentTid, tid: t.tid });
    return t.tid;
  }

  /** Exec: replaces the program of a thread. */
  exec(tid: ThreadId, root: number, program: string, argv: readonly string[], env: Readonly<Record<string, string>>): void {
    const t = this.get(tid);
    const fn = this.programs.get(program);
    if (!fn) throw new TerraError('NOT_FOUND', `no program named ${JSON.stringify(program)}`);
    t.incarnation++;
    for (const f of t.frames) endFrame(f);
    t.root = root;
    t.program = program;
    t.argv = argv;
    t.env = env;
    t.regs.fill(0);
    t.handlers.clear();
    t.pendingSignals = [];
    t.ctx = undefined;
    t.started = false;
    t.proc = this.#makeProc(t);
    t.frames = [{ start: fn }];
  }

  /** The thread record (TerraError NOT_FOUND for an unknown or dead handle). */
  get(tid: ThreadId): ThreadRec {
    const t = this.threads.get(tid);
    if (!t || t.state === 'dead') throw new TerraError('NOT_FOUND', `no such thread ${tid}`);
    return t;
  }

  /** Destroys a thread. */
  destroy(tid: ThreadId): void {
    const t = this.threads.get(tid);
    if (!t) throw new TerraError('NOT_FOUND', `no such thread ${tid}`);
    this.#kill(t);
    this.threads.delete(tid);
  }

  #kill(t: ThreadRec): void {
    if (t.state === 'dead') return;
    t.state = 'dead';
    t.incarnation++;
    for (const f of t.frames.reverse()) endFrame(f);
    t.frames = [];
    this.hooks?.onExit?.(this.vm, t.tid);
  }

  /** Queues a signal handler run for the thread. */
  signal(tid: ThreadId, handlerId: number, signo: number): void {
    const t = this.get(tid);
    if (!t.handlers.has(handlerId)) throw new TerraError('NOT_FOUND', `thread ${tid} has no handler ${handlerId}`);
    t.pendingSignals.push({ handlerId, signo });
  }

  /** Registers the continuation of the last syscall as a signal handler; returns its id. */
  registerHandler(tid: ThreadId): number {
    const t = this.get(tid);
    if (!t.lastCont) throw new TerraError('INVALID_STATE', 'no handler continuation with the last syscall');
    const id = t.nextHandler++;
    t.handlers.set(id, t.lastCont);
    t.lastCont = undefined;
    return id;
  }

  #trap(t: ThreadRec, kind: TrapInfo['kind'], extra: Partial<TrapInfo> = {}): TrapInfo {
    this.sim.trace.emit('vcpu', 'trap', this.vm, kind === 'syscall' ? { tid: t.tid, kind, nr: t.regs[REG.r0] } : { tid: t.tid, kind });
    this.hooks?.onTrap?.(this.vm, t.tid, t.regs, kind);
    if (this.vcpu) {
      this.vcpu.regs.set(t.regs);
      this.vcpu.mode = 'kernel';
      this.vcpu.traps++;
    }
    const regs = {} as Record<RegisterName, number>;
    for (let i = 0; i < NREGS; i++) regs[REGISTERS[i]] = t.regs[i];
    Object.freeze(regs);
    return Object.freeze({ kind, tid: t.tid, regs, ...extra });
  }

  /** Runs the thread in user mode until it traps. */
  resume(tid: ThreadId): TrapInfo {
    const t = this.get(tid);
    this.refreshDomain(t);
    this.hooks?.onResume?.(this.vm, t.tid, t.regs);
    if (this.vcpu) {
      this.vcpu.regs.set(t.regs);
      this.vcpu.mode = 'user';
      this.vcpu.root = t.root;
    }
    // Pending signals: push the handler frames (the registers are saved and restored around them).
    while (t.pendingSignals.length) {
      const s = t.pendingSignals.shift()!;
      const h = t.handlers.get(s.handlerId)!;
      t.frames.push({ start: h, savedRegs: t.regs.slice() });
      t.regs[REG.r1] = s.signo;
      t.started = false;
    }
    let input = t.regs[REG.r0];
    if (!t.started) {
      t.started = true;
      input = 0;
    }
    for (;;) {
      const f = t.frames[t.frames.length - 1];
      if (!f) {
        this.#kill(t);
        return this.#trap(t, 'exit', { status: 0 });
      }
      let done: boolean;
      let value: unknown;
      let req: ReturnType<typeof readRequest> | undefined;
      try {
        const r = (f.gen ?? startFrame(f, t.proc!)).next(input);
        // Everything a program hands back is read once, inside the guard, and validated.
        done = r.done === true;
        value = r.value;
        if (!done) req = readRequest(value);
      } catch (e) {
        // `e` may be anything program code threw (a Proxy, an object with throwing getters): it is
        // classified with checks that cannot throw and described without trusting its accessors.
        if (isInstance(e, GuestFault)) {
          this.#kill(t);
          this.sim.trace.emit('guest', 'thread.fault', this.vm, { tid: t.tid, gva: e.gva, kind: e.kind });
          return this.#trap(t, 'fault', { fault: { gva: e.gva, write: e.write, reason: e.kind } });
        }
        if (isInstance(e, TerraError) || isInstance(e, ThreadKilled)) {
          this.#kill(t);
          const reason = isInstance(e, TerraError) ? codeOf(e) : 'killed';
          this.sim.trace.emit('guest', 'thread.killed', this.vm, { tid: t.tid, reason });
          return this.#trap(t, 'killed', { reason: reason === 'killed' ? describeThrown(e).replace(/^ThreadKilled: /, '') : reason });
        }
        // A broken invariant of terracloak's own halts the VM; an InvariantError the program forged
        // (the class is public) is just another exception out of program code.
        if (isGenuineInvariant(e)) throw e;
        // Any other exception out of program code is the program's own fault (an "illegal
        // instruction"): the thread dies, the VM and the kernel go on.
        this.#kill(t);
        const reason = `exception: ${describeThrown(e)}`.slice(0, 200);
        this.sim.trace.emit('guest', 'thread.exception', this.vm, { tid: t.tid, reason });
        return this.#trap(t, 'killed', { reason });
      }
      if (done) {
        t.frames.pop();
        if (f.savedRegs) {
          // Return from a signal handler (sigreturn): restore the interrupted registers.
          t.regs.set(f.savedRegs);
          input = t.regs[REG.r0];
          continue;
        }
        const status = typeof value === 'number' ? value >>> 0 : 0;
        this.#kill(t);
        this.sim.trace.emit('guest', 'thread.exit', this.vm, { tid: t.tid, status });
        return this.#trap(t, 'exit', { status });
      }
      if (req!.kind === 'syscall') {
        const q = req as Extract<ReturnType<typeof readRequest>, { kind: 'syscall' }>;
        t.regs[REG.r0] = q.nr;
        for (let i = 0; i < 5; i++) t.regs[REG.r1 + i] = q.args[i] ?? 0;
        t.lastCont = q.cont;
        this.sim.clock.advance(this.sim.costs.syscall);
        return this.#trap(t, 'syscall');
      }
      return this.#trap(t, 'preempt');
    }
  }
}
