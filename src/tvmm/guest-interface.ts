/**
 * The guest interface: what the TVMM hands a guest OS, and what a guest OS implements
 * (DESIGN.md §1, §4). Everything here is a facade over TVMM internals held in private fields or
 * closures: no property reachable from these objects leads to a machine frame, a pmap, cloak
 * metadata or a key (a test walks them).
 *
 * Execution model: user programs are generator functions over a {@link Proc}. They are executed by
 * the TVMM ("the CPU"), never by the guest kernel: the kernel creates threads, resumes them, and
 * gets control back at traps (system call, unresolved fault, exit, preemption point) with the
 * trap frame, exactly as a real kernel regains control from user mode. A kernel can therefore do
 * what a real one can (edit page tables and its memory, choose syscall results, edit saved user
 * registers, schedule, deliver signals) and nothing more: it cannot run code inside a user address
 * space in user mode.
 */
import type { RegisterName } from './vcpu.js';
import type { GuestAttestationPort } from '../attestation/index.js';

/** An opaque thread handle issued by the TVMM. */
export type ThreadId = number;

/** Memory as seen through one address space (kernel-mode facade for a guest page-table root). */
export interface GuestMemory {
  load8(gva: number): number;
  load32(gva: number): number;
  store8(gva: number, v: number): void;
  store32(gva: number, v: number): void;
  /** Reads `len` bytes (a fresh copy). */
  read(gva: number, len: number): Uint8Array;
  /** Writes bytes (copied). */
  write(gva: number, data: Uint8Array): void;
}

/** Guest-physical memory as the kernel sees it (the kernel view: cloaked pages read as ciphertext). */
export interface PhysMemory {
  readonly pages: number;
  load32(gpa: number): number;
  store32(gpa: number, v: number): void;
  read(gpa: number, len: number): Uint8Array;
  write(gpa: number, data: Uint8Array): void;
  /** Zeroes one guest-physical page. */
  zeroPage(gppn: number): void;
}

/** Why a thread returned control to the kernel. */
export type TrapKind = 'syscall' | 'fault' | 'exit' | 'preempt' | 'killed';

/** The trap frame shown to the kernel (a copy; the kernel may edit registers through the platform). */
export interface TrapInfo {
  readonly kind: TrapKind;
  readonly tid: ThreadId;
  /** Saved user registers as the kernel is allowed to see them (r0 = syscall number on 'syscall'). */
  readonly regs: Readonly<Record<RegisterName, number>>;
  /** For 'fault': the faulting address and access. */
  readonly fault?: { readonly gva: number; readonly write: boolean; readonly reason: string };
  /** For 'exit' / 'killed': the status or reason. */
  readonly status?: number;
  readonly reason?: string;
}

/** The user program's view of its process: memory in its own address space and traps. */
export interface Proc {
  load8(gva: number): number;
  load32(gva: number): number;
  store8(gva: number, v: number): void;
  store32(gva: number, v: number): void;
  read(gva: number, len: number): Uint8Array;
  /** Reads `out.length` bytes at `gva` into the program's own buffer (no allocation). */
  readInto(gva: number, out: Uint8Array): void;
  write(gva: number, data: Uint8Array): void;
  /**
   * Traps into the kernel with a system call: number and up to 5 register arguments. Returns the
   * value the kernel leaves in r0. `cont` is the continuation for calls that start new control flow
   * (fork's child body, a signal handler); the TVMM keeps it, the kernel never sees it.
   */
  syscall(nr: number, args?: readonly number[], cont?: ProgramFn): Generator<TrapRequest, number, number>;
  /** Charges `ns` of compute to virtual time and offers a preemption point. */
  compute(ns: number): Generator<TrapRequest, void, number>;
  /** The thread's arguments (set at creation). */
  readonly argv: readonly string[];
  /** Environment values set by the creator (e.g. the shim's configuration). */
  readonly env: Readonly<Record<string, string>>;
}

/** What a program yields (opaque to programs; produced by Proc methods). */
export interface TrapRequest {
  readonly kind: 'syscall' | 'preempt';
  readonly nr?: number;
  readonly args?: readonly number[];
  readonly cont?: ProgramFn;
}

/** A guest program: a generator over its process; its return value is the exit status. */
export type ProgramFn = (p: Proc) => Generator<TrapRequest, number | void, number>;

/** Options for creating a thread. */
export interface ThreadSpec {
  /** Guest page-table root (GPPN) of the thread's address space. */
  readonly root: number;
  /** Program name in the VM's program table (the "text" the loader mapped). */
  readonly program: string;
  readonly argv?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Initial stack pointer and program counter (informational registers). */
  readonly sp?: number;
  readonly pc?: number;
}

/** The platform the TVMM gives a guest kernel. */
export interface GuestPlatform {
  /** This VM's public id. */
  readonly vmId: number;
  /** Guest-physical pages. */
  readonly memoryPages: number;
  readonly vcpuCount: number;
  /** Guest-physical memory, kernel view. */
  readonly phys: PhysMemory;
  /** Virtual time now (ns). */
  now(): number;
  /** A kernel-mode view of an address space (the kernel's copy_from_user / copy_to_user path). */
  kernelSpace(root: number): GuestMemory;
  /** Registers a page-fault handler for user and kernel accesses: return true when fixed (retry). */
  onPageFault(handler: (root: number, gva: number, write: boolean, kind: string, user: boolean) => boolean): void;
  /** Tells the MMU an address space is gone (drops its cached translations). */
  releaseAddressSpace(root: number): void;
  /** Creates a user thread running `spec.program`; returns its handle. */
  createThread(spec: ThreadSpec): ThreadId;
  /** Creates the child of a fork: runs the continuation the parent passed to its fork syscall. */
  forkThread(parent: ThreadId, childRoot: number): ThreadId;
  /** Replaces a thread's program (exec). */
  execThread(tid: ThreadId, spec: ThreadSpec): void;
  /** Runs a thread in user mode until it traps. */
  resume(tid: ThreadId): TrapInfo;
  /** Sets the saved user register the kernel writes results into (and any other, as a real kernel can). */
  setRegister(tid: ThreadId, reg: RegisterName, value: number): void;
  /** Reads a saved user register. */
  getRegister(tid: ThreadId, reg: RegisterName): number;
  /**
   * Makes the thread run the signal handler continuation it registered under `handlerId` (via a
   * syscall with a continuation) before it continues.
   */
  deliverSignal(tid: ThreadId, handlerId: number, signo: number): void;
  /**
   * Registers the continuation the thread passed with its current system call (e.g. `signal`) as a
   * signal handler and returns its handler id for {@link GuestPlatform.deliverSignal}. Throws
   * TerraError('INVALID_STATE') when that syscall carried no continuation.
   */
  registerSignalHandler(tid: ThreadId): number;
  /** Destroys a thread. */
  destroyThread(tid: ThreadId): void;
  /** Arms the one-shot timer: an interrupt on `vector` after `delayNs`. */
  setTimer(delayNs: number, vector: number): void;
  /** Hypercall from the kernel (kernel identity). Returns a number result (negative = error). */
  hypercall(nr: number, args: readonly number[]): number;
  /** Device entropy (recorded in the trace, so a run can be replayed). */
  entropy(n: number): Uint8Array;
  /** The VM's console (recorded). */
  console(line: string): void;
  /** Names of the programs available to exec (the VM's installed program table). */
  programs(): readonly string[];
  /** Terra's attestation interface for this VM (GET-ID, ENDORSE, quotes, sealing); NOT_FOUND without an attested image. */
  attestation(): GuestAttestationPort;
  /** Names of the block devices attached to this VM. */
  disks(): readonly string[];
  /** A block device: DMA between disk blocks and guest-physical memory (kernel view). */
  disk(name: string): GuestDisk;
}

/** A block device as the guest kernel's driver sees it: 4 KiB blocks, DMA to and from guest-physical pages. */
export interface GuestDisk {
  readonly name: string;
  readonly blocks: number;
  /** Reads `count` blocks at `lba` into guest-physical memory at page-aligned `gpa`. Returns 0 or a negative errno. */
  read(lba: number, count: number, gpa: number): number;
  /** Writes `count` blocks at `lba` from guest-physical memory at page-aligned `gpa`. Returns 0 or a negative errno. */
  write(lba: number, count: number, gpa: number): number;
  /**
   * Interrupt-driven IO, present only when the TVMM attached an asynchronous controller to this
   * disk (`Tvmm.attachController`): the vector its completion interrupts arrive on.
   */
  readonly vector?: number;
  /**
   * Queues a transfer of `count` blocks at `lba` to or from page-aligned `gpa` and returns at once:
   * a tag ≥ 1, or a negative errno (-16 EBUSY when the controller's queue is full, -5 EIO when the VM
   * is not running). A write's bytes are taken from guest memory now; a read's land in guest memory
   * when {@link GuestDisk.complete} hands back its completion. Present only with a controller.
   */
  submit?(op: 'read' | 'write', lba: number, count: number, gpa: number): number;
  /**
   * Polls the completion ring (the driver calls it from its interrupt handler; also safe without an
   * interrupt): finished transfers, oldest first, each exactly once, with status 0 or -5 (EIO).
   * Present only with a controller.
   */
  complete?(): readonly { readonly tag: number; readonly status: number }[];
}

/** What a guest OS implements. */
export interface GuestOs {
  /** Called once at power-on with the platform. */
  boot(platform: GuestPlatform): void;
  /** Delivers a virtual interrupt. */
  interrupt(vector: number): void;
  /**
   * Runs for up to `budgetNs` of virtual time (the kernel schedules its threads). Returns
   * 'runnable' when it has more work, 'idle' when waiting for an interrupt or timer, 'halted' when
   * the guest shut down.
   */
  run(budgetNs: number): 'runnable' | 'idle' | 'halted';
}
