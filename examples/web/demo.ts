/**
 * The browser demo's engine (no DOM): boots a Host and the TVMM with a tiny guest whose kernel is
 * compromised, runs a "vault" app that keeps a secret in one page, and records — at each step of
 * the attack — the app's view of that page (read through its own address space) beside the
 * kernel's view of the same guest-physical page (read through the kernel view).
 */
import { Host, type ProgramFn } from '../../src/tvmm/index.js';
import { TinyKernel, TINY_SYS, type RootkitAccess } from './tiny-kernel.js';

/** Where the vault keeps its secret. */
export const SECRET_GVA = 0x400000;
/** Bytes of the page the demo shows. */
export const VIEW_BYTES = 64;
/** What the rootkit writes into the page when it tampers. */
export const ATTACKER_BYTES = new TextEncoder().encode('EVIL: pay to attacker IBAN XX00 6666 6666 6666 ');

/** The outcome of one step. */
export type Verdict = 'info' | 'LEAKED' | 'blocked' | 'detected' | 'TAMPERED';

/** One step of the demo: what each side sees. */
export interface DemoStep {
  readonly id: 'write' | 'dump' | 'tamper';
  readonly title: string;
  readonly explanation: string;
  /** The app's view of the page (null when the app no longer runs). */
  readonly appView: Uint8Array | null;
  /** The kernel's view of the same guest-physical page. */
  readonly kernelView: Uint8Array;
  readonly verdict: Verdict;
  /** Virtual time of the step (ns). */
  readonly tNs: number;
}

/** Result of {@link runPageDemo}. */
export interface DemoResult {
  readonly cloaked: boolean;
  readonly steps: readonly DemoStep[];
  readonly gppn: number;
  /** How the app ended. */
  readonly appEnded: string;
  readonly securityEvents: readonly { kind: string; data?: Readonly<Record<string, unknown>> }[];
  readonly traceEvents: number;
  readonly traceDigest: string;
}

/** Options of {@link runPageDemo}. */
export interface DemoOptions {
  readonly seed?: number;
  /** The secret (at most 64 bytes of UTF-8). */
  readonly secret?: string;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * Runs the attack on an uncloaked app: the compromised kernel dumps the vault's page, then
 * overwrites it. Deterministic in `seed`. Throws RangeError for a secret longer than 64 bytes.
 */
export function runPageDemo(opts: DemoOptions = {}): DemoResult {
  const seed = opts.seed ?? 1;
  const secret = new TextEncoder().encode(opts.secret ?? 'card 4111 1111 1111 1111  pin 2468  seed: alpha bravo');
  if (secret.length > VIEW_BYTES) throw new RangeError(`secret must be at most ${VIEW_BYTES} bytes, got ${secret.length}`);
  const page = new Uint8Array(VIEW_BYTES);
  page.set(secret);
  const probe = secret.subarray(0, Math.min(16, secret.length));

  const host = new Host({ seed, machineMiB: 64 });
  const tvmm = host.boot();
  const appViews = new Map<number, Uint8Array>();
  const kernelViews = new Map<number, Uint8Array>();
  const times = new Map<number, number>();
  let gppn = -1;

  const vault: ProgramFn = function* (p) {
    p.write(SECRET_GVA, page);
    appViews.set(0, p.read(SECRET_GVA, VIEW_BYTES));
    yield* p.syscall(TINY_SYS.checkpoint, [0]); // the rootkit dumps the page
    appViews.set(1, p.read(SECRET_GVA, VIEW_BYTES));
    yield* p.syscall(TINY_SYS.checkpoint, [1]); // the rootkit overwrites it
    appViews.set(2, p.read(SECRET_GVA, VIEW_BYTES));
    yield* p.syscall(TINY_SYS.exit, [0]);
  };

  const rootkit = (step: number, k: RootkitAccess) => {
    const g = k.translate(SECRET_GVA);
    if (g === undefined) return;
    gppn = g;
    const gpa = g * 4096;
    if (step === 0) kernelViews.set(0, k.readPhys(gpa, VIEW_BYTES));
    kernelViews.set(step + 1, k.readPhys(gpa, VIEW_BYTES));
    if (step === 1) {
      k.writePhys(gpa, ATTACKER_BYTES.subarray(0, VIEW_BYTES));
      kernelViews.set(2, k.readPhys(gpa, VIEW_BYTES));
    }
    times.set(step + 1, host.sim.clock.now);
  };

  const kernel = new TinyKernel('vault', 4, rootkit);
  const vm = tvmm.createVm({ name: 'office', kind: 'open-box', memoryMiB: 4, guest: kernel, programs: { vault } });
  tvmm.power(vm, 'on');
  times.set(0, host.sim.clock.now);
  tvmm.run({ untilNs: 1_000_000_000 });

  const ended = kernel.ended?.reason ?? (kernel.ended?.status !== undefined ? `exited with status ${kernel.ended.status}` : 'still running');
  const view = (m: Map<number, Uint8Array>, i: number) => m.get(i) ?? null;
  const kv = (i: number) => view(kernelViews, i) ?? new Uint8Array(VIEW_BYTES);
  const dumpLeaked = contains(kv(1), probe);
  const after = view(appViews, 2);
  const tamperVerdict: Verdict = after === null ? 'detected' : contains(after, ATTACKER_BYTES.subarray(0, 16)) ? 'TAMPERED' : contains(after, probe) ? 'blocked' : 'detected';
  const steps: DemoStep[] = [
    {
      id: 'write',
      title: '1. The vault writes its secret',
      explanation: 'The app stores a card number and PIN in its page. It reads back what it wrote.',
      appView: view(appViews, 0),
      kernelView: kv(0),
      verdict: 'info',
      tNs: times.get(1) ?? 0,
    },
    {
      id: 'dump',
      title: '2. The rootkit dumps the page',
      explanation: 'The compromised kernel walks the page tables it wrote, finds the guest-physical page and reads it through its own view.',
      appView: view(appViews, 1),
      kernelView: kv(1),
      verdict: dumpLeaked ? 'LEAKED' : 'blocked',
      tNs: times.get(1) ?? 0,
    },
    {
      id: 'tamper',
      title: '3. The rootkit overwrites the page',
      explanation: 'The kernel writes its own bytes into the page; then the app reads its secret again.',
      appView: after,
      kernelView: kv(2),
      verdict: tamperVerdict,
      tNs: times.get(2) ?? 0,
    },
  ];
  return {
    cloaked: false,
    steps,
    gppn,
    appEnded: ended,
    securityEvents: host.sim.trace.securityEvents().map((e) => ({ kind: e.kind, ...(e.data ? { data: e.data } : {}) })),
    traceEvents: host.sim.trace.length,
    traceDigest: host.sim.trace.digest(),
  };
}
