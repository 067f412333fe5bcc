/**
 * The adversary hook set of the guest kernel: a compromised kernel (actor K of the threat
 * catalogue §0.1; Overshadow ASPLOS'08 §2 threat model) does what a real one can — read and write
 * any guest-physical page through the kernel view, rewrite page-table entries of any process, alter
 * saved user registers, choose syscall results, drop/delay/reorder interrupts, and run its own code
 * at every interrupt, trap, syscall and page fault. Every power goes through the GuestPlatform the
 * TVMM handed the kernel; nothing here reaches machine frames, pmaps or keys.
 */
import type { GuestPlatform, PhysMemory, RegisterName, TrapInfo } from '../tvmm/index.js';

/** One process as the kernel sees it. */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly tid: number;
  readonly name: string;
  readonly state: 'ready' | 'blocked' | 'zombie';
  /** Guest page-table root (GPPN). */
  readonly root: number;
  readonly brk: number;
  /** Wait status once a zombie. */
  readonly exitStatus: number;
}

/** What a compromised kernel's code can do (all through the GuestPlatform). */
export interface KernelAccess {
  /** The platform itself (the kernel has it anyway). */
  readonly platform: GuestPlatform;
  /** Guest-physical memory, kernel view (cloaked pages read as ciphertext). */
  readonly phys: PhysMemory;
  /** Live processes (not reaped). */
  processes(): ProcessInfo[];
  /** Reads user memory of `pid` through the kernel's view of its address space (throws on an unmapped page). */
  readUser(pid: number, gva: number, len: number): Uint8Array;
  /** Writes user memory of `pid` through the kernel view. */
  writeUser(pid: number, gva: number, data: Uint8Array): void;
  /** The GPPN `gva` maps to in `pid`'s page tables, or undefined. */
  translate(pid: number, gva: number): number | undefined;
  /** The raw page-table entry for `gva` (0 when no page table). */
  getPte(pid: number, gva: number): number;
  /** Rewrites the page-table entry for `gva` to `(gppn << 12) | flags` (creates the page table). */
  setPte(pid: number, gva: number, gppn: number, flags: number): void;
  /** A saved user register of a thread. */
  getRegister(tid: number, reg: RegisterName): number;
  /** Overwrites a saved user register of a thread. */
  setRegister(tid: number, reg: RegisterName, value: number): void;
  /** Allocates a zeroed guest page from the kernel allocator (pinned); undefined when none. */
  allocPage(): number | undefined;
  /** Sends a signal as kill(2) would. Returns 0 or a negative errno. */
  signal(pid: number, signo: number): number;
  /** The page-table helpers grouped (the same functions as translate/getPte/setPte). */
  readonly pageTables: Pick<KernelAccess, 'translate' | 'getPte' | 'setPte'>;
}

/** Context of {@link KernelAdversary.onSyscall}. */
export interface SyscallContext {
  readonly pid: number;
  readonly tid: number;
  readonly nr: number;
  readonly args: readonly number[];
  /** The trap frame's registers as the kernel saw them. */
  readonly regs: TrapInfo['regs'];
  readonly kernel: KernelAccess;
  /** Skips the real system call and returns `value` (a negative number is an errno). */
  setResult(value: number): void;
  /** Lets the real system call run (the default; undoes an earlier setResult). */
  passThrough(): void;
}

/** Context of {@link KernelAdversary.onSyscallResult}. */
export interface SyscallResultContext {
  readonly pid: number;
  readonly tid: number;
  readonly nr: number;
  readonly args: readonly number[];
  /** The result the kernel computed (negative = errno). */
  readonly result: number;
  readonly kernel: KernelAccess;
  /** Replaces the result the thread sees. */
  setResult(value: number): void;
}

/** Context of {@link KernelAdversary.onInterrupt}. */
export interface InterruptContext {
  readonly vector: number;
  /** Vectors queued behind this one. */
  readonly pending: readonly number[];
  readonly kernel: KernelAccess;
  /** Drops the interrupt. */
  drop(): void;
  /** Re-raises it after `ns` of virtual time (through the platform timer). */
  delay(ns: number): void;
  /** Moves it behind the other pending interrupts (reorder). */
  defer(): void;
}

/** Context of {@link KernelAdversary.onTrap}. */
export interface TrapContext {
  readonly pid: number;
  readonly tid: number;
  readonly trap: TrapInfo;
  readonly kernel: KernelAccess;
}

/** Context of {@link KernelAdversary.beforeResume}. */
export interface ResumeContext {
  readonly pid: number;
  readonly tid: number;
  readonly kernel: KernelAccess;
}

/** Context of {@link KernelAdversary.onPageFault}. */
export interface FaultContext {
  readonly pid: number;
  readonly root: number;
  readonly gva: number;
  readonly write: boolean;
  readonly kind: string;
  /** True for a user-mode access, false for the kernel's own copy to/from user. */
  readonly user: boolean;
  readonly kernel: KernelAccess;
}

/**
 * Hooks a compromised kernel runs. Each may mutate through `ctx.kernel`, re-enter the kernel's
 * public API, or throw (a throw out of a hook is a kernel crash: the TVMM halts the VM).
 */
export interface KernelAdversary {
  /** Before every system call: may override the result (setResult) or let it run. */
  onSyscall?(ctx: SyscallContext): void;
  /** After a system call completed (not while it blocks): may change the result. */
  onSyscallResult?(ctx: SyscallResultContext): void;
  /** On every interrupt before the kernel handles it: may drop, delay or reorder it. */
  onInterrupt?(ctx: InterruptContext): void;
  /** On every trap out of user mode (syscall, fault, preempt, exit, killed), before handling. */
  onTrap?(ctx: TrapContext): void;
  /** Before every resume of a thread: may edit its saved registers. */
  beforeResume?(ctx: ResumeContext): void;
  /** On every page fault: return true (fixed) or false (unresolved) to decide it, undefined to let the kernel handle it. */
  onPageFault?(ctx: FaultContext): boolean | undefined;
}
