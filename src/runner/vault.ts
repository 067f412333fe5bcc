/**
 * The runner's victim harness. A scenario program named as an adversary's target runs inside a
 * "vault" wrapper: before its built-in body it maps pages holding seeded secrets, then through the
 * attack window it checks them from its own view once per iteration (a getpid, a read of each
 * secret, a versioned counter it bumps, one fresh page read on first touch, one mmap/munmap) and
 * records, in a {@link VaultLog} the runner owns, everything it saw. The adversaries act on these
 * pages through the kernel's view; the judge compares what the kernel could see and what the app
 * saw. {@link delayedStart} implements a program's `startMs`.
 */
import { libc as c } from '../guest/index.js';
import { USER_LAYOUT } from '../guest/abi.js';
import type { ProgramFn, Proc, TrapRequest } from '../tvmm/index.js';

const PAGE = 4096;
const NS_PER_MS = 1_000_000;

/** Page indices inside the vault mapping. */
export const VAULT_PAGES = Object.freeze({ secretA: 0, secretB: 1, counter: 2, firstFresh: 3 });

/** Lowest address of the user stack (an mmap result at or above it overlaps the stack). */
export const STACK_BASE = USER_LAYOUT.stackTop - USER_LAYOUT.stackPages * PAGE;

/** What the victim program saw, recorded from its own (application) view. */
export interface VaultLog {
  /** Secret bytes of page A and page B (seeded per program). */
  readonly secretA: Uint8Array;
  readonly secretB: Uint8Array;
  /** Fresh pages in the mapping (one is first touched per iteration). */
  readonly freshPages: number;
  /** Process id as first returned by getpid (0 until the vault runs). */
  pid: number;
  /** Base address of the vault mapping (0 until mapped). */
  base: number;
  /** Completed check iterations. */
  iterations: number;
  /** getpid results that differed from the first one. */
  pidMismatches: number;
  /** Reads of page A / page B that did not return the secret. */
  secretMismatches: number;
  /** True when a read of page A returned page B's secret (a page swap reached the app). */
  sawOtherPage: boolean;
  /** Counter reads that returned an older value than the app wrote. */
  staleCounter: number;
  /** Fresh pages that did not read as zero on first touch. */
  dirtyFresh: number;
  /** Fresh pages first-touched. */
  freshTouched: number;
  /** mmap results the app accepted that overlap its stack. */
  hostileMmaps: number[];
  /** The body's exit status, or undefined if it never returned (killed or still running). */
  bodyStatus: number | undefined;
}

/** Creates the log for one victim with secrets drawn from `bytes` (a seeded source). */
export function newVaultLog(bytes: (n: number) => Uint8Array, freshPages: number): VaultLog {
  return {
    secretA: bytes(PAGE), secretB: bytes(PAGE), freshPages, pid: 0, base: 0, iterations: 0, pidMismatches: 0, secretMismatches: 0,
    sawOtherPage: false, staleCounter: 0, dirtyFresh: 0, freshTouched: 0, hostileMmaps: [], bodyStatus: undefined,
  };
}

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * A launcher for a program with `startMs`: sleeps, then execs `exe` with `argv` (it runs
 * uncloaked, so its nanosleep argument is readable by the kernel; the exec'd program may be cloaked).
 */
export function delayedStart(startMs: number, exe: string): ProgramFn {
  return function* (p) {
    if (startMs > 0) yield* c.sleep(p, Math.round(startMs * NS_PER_MS));
    const r = yield* c.exec(p, exe, [...p.argv]);
    yield* c.puts(p, `start: exec ${exe} failed (${r})`);
    return 127;
  };
}

/** Wraps a built-in program as a victim: the vault checks (`iterations`, 2 ms apart) first, then the body. */
export function wrapProgram(body: ProgramFn, vault: VaultLog, iterations: number): ProgramFn {
  return function* (p) {
    const status = yield* runVault(p, vault, iterations);
    if (status !== 0) return status;
    const code = yield* body(p);
    vault.bodyStatus = typeof code === 'number' ? code : 0;
    return code;
  };
}

function* runVault(p: Proc, v: VaultLog, iterations: number): Generator<TrapRequest, number, number> {
  v.pid = yield* c.getpid(p);
  const base = yield* c.mmap(p, (VAULT_PAGES.firstFresh + v.freshPages) * PAGE);
  if (base < 0) return 90;
  p.write(base + VAULT_PAGES.secretA * PAGE, v.secretA);
  p.write(base + VAULT_PAGES.secretB * PAGE, v.secretB);
  p.store32(base + VAULT_PAGES.counter * PAGE, 0);
  v.base = base;
  for (let k = 0; k < iterations; k++) {
    const pid = yield* c.getpid(p);
    if (pid !== v.pid) v.pidMismatches++;
    const a = p.read(base + VAULT_PAGES.secretA * PAGE, PAGE);
    if (!eq(a, v.secretA)) {
      v.secretMismatches++;
      if (eq(a, v.secretB)) v.sawOtherPage = true;
    }
    if (!eq(p.read(base + VAULT_PAGES.secretB * PAGE, PAGE), v.secretB)) v.secretMismatches++;
    const ctr = p.load32(base + VAULT_PAGES.counter * PAGE);
    if (ctr !== k) v.staleCounter++;
    p.store32(base + VAULT_PAGES.counter * PAGE, k + 1);
    if (k < v.freshPages) {
      const fresh = p.read(base + (VAULT_PAGES.firstFresh + k) * PAGE, PAGE);
      v.freshTouched++;
      if (!fresh.every((b) => b === 0)) v.dirtyFresh++;
    }
    const m = yield* c.mmap(p, PAGE);
    if (m >>> 0 >= STACK_BASE && m >>> 0 < USER_LAYOUT.stackTop) v.hostileMmaps.push(m >>> 0);
    else if (m > 0) yield* c.munmap(p, m, PAGE);
    v.iterations++;
    // Paced by computing (a busy victim gives the adversary many traps to act in).
    yield* p.compute(2 * NS_PER_MS);
  }
  return 0;
}
