/**
 * A virtual CPU: an explicit register file and a privilege mode (DESIGN.md §4). The register
 * convention of the simulated ISA: r0 carries the system-call number in and the result out; r1–r5
 * carry arguments; sp, pc and flags are named. On a trap of a cloaked process the TVMM saves the
 * whole file into the protected thread context and shows the kernel only what the shim exposes.
 */
import { checkInt, checkOneOf } from '../sim/index.js';

/** Register names, in register-file order. */
export const REGISTERS = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'r12', 'sp', 'pc', 'flags'] as const;
export type RegisterName = (typeof REGISTERS)[number];
export const REG = Object.freeze(Object.fromEntries(REGISTERS.map((r, i) => [r, i])) as Record<RegisterName, number>);
export const NREGS = REGISTERS.length;

/** Privilege mode of a vCPU. */
export type Mode = 'user' | 'kernel';

/** A virtual CPU. */
export class Vcpu {
  /** The register file (32-bit registers). */
  readonly regs = new Uint32Array(NREGS);
  mode: Mode = 'kernel';
  /** Guest page-table root (GPPN) currently loaded ("CR3"). */
  root = 0;
  /** Counters. */
  traps = 0;
  constructor(readonly index: number) {}

  /** Reads a register by name. */
  get(r: RegisterName): number {
    return this.regs[REG[checkOneOf('register', r, REGISTERS)]];
  }
  /** Writes a register by name (value must be a 32-bit unsigned integer). */
  set(r: RegisterName, v: number): void {
    this.regs[REG[checkOneOf('register', r, REGISTERS)]] = checkInt('value', v, 0, 0xffffffff);
  }
  /** A copy of the register file. */
  snapshot(): Uint32Array {
    return this.regs.slice();
  }
  /** Replaces the register file from a snapshot. */
  restore(s: Uint32Array): void {
    if (!(s instanceof Uint32Array) || s.length !== NREGS) throw new TypeError(`register snapshot must be a Uint32Array(${NREGS})`);
    this.regs.set(s);
  }
}
