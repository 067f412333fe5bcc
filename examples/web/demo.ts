/**
 * The browser demo's engine (no DOM): boots a Host and the TVMM with the guest kernel, whose
 * kernel is compromised (its adversary hooks act at every getpid), and runs a "vault" app that
 * keeps a secret in one stack page. At each step of the attack it records the app's view of that
 * page (read through its own address space) beside the kernel's view of the same guest-physical
 * page (read through the kernel view). With `cloaked: true` the vault runs under Overshadow
 * cloaking (src/cloaking): the kernel sees ciphertext and its tampering is detected.
 */
import { attachCloaking, guest, GuestKernel, Host, traceExport, type ProgramFn } from '../../src/index.js';

const { SYS, USER_LAYOUT } = guest;
const { toChromeTrace } = traceExport;
type SyscallContext = guest.SyscallContext;

/** Where the vault keeps its secret: the first heap page (it grows the heap by one page with brk). */
export const SECRET_GVA = USER_LAYOUT.heapBase;
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
  /** The run's trace as Chrome trace-event JSON (open it in Perfetto). */
  readonly chromeTrace: string;
}

/** Options of {@link runPageDemo}. */
export interface DemoOptions {
  readonly seed?: number;
  /** The secret (at most 64 bytes of UTF-8). */
  readonly secret?: string;
  /** Run the vault under Overshadow cloaking (default false). */
  readonly cloaked?: boolean;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * Runs the attack: the compromised kernel dumps the vault's page, then overwrites it; with
 * `cloaked` the vault is cloaked. Deterministic in `seed`. Throws RangeError for a secret longer
 * than 64 bytes.
 */
export function runPageDemo(opts: DemoOptions = {}): DemoResult {
  const seed = opts.seed ?? 1;
  const secret = new TextEncoder().encode(opts.secret ?? 'card 4111 1111 1111 1111  pin 2468  seed: alpha bravo');
  if (secret.length > VIEW_BYTES) throw new RangeError(`secret must be at most ${VIEW_BYTES} bytes, got ${secret.length}`);
  const page = new Uint8Array(VIEW_BYTES);
  page.set(secret);
  const probe = secret.subarray(0, Math.min(16, secret.length));

  const cloaked = opts.cloaked ?? false;
  const host = new Host({ seed, machineMiB: 64 });
  const tvmm = host.boot();
  if (cloaked) attachCloaking(tvmm, { cloakPrograms: ['vault'] });
  const appViews = new Map<number, Uint8Array>();
  const kernelViews = new Map<number, Uint8Array>();
  const times = new Map<number, number>();
  let gppn = -1;

  const vault: ProgramFn = function* (p) {
    const brk = yield* p.syscall(SYS.brk, [0]);
    if (brk !== SECRET_GVA || (yield* p.syscall(SYS.brk, [SECRET_GVA + 4096])) !== SECRET_GVA + 4096) return 2;
    p.write(SECRET_GVA, page);
    appViews.set(0, p.read(SECRET_GVA, VIEW_BYTES));
    yield* p.syscall(SYS.getpid); // checkpoint 0: the rootkit dumps the page
    appViews.set(1, p.read(SECRET_GVA, VIEW_BYTES));
    yield* p.syscall(SYS.getpid); // checkpoint 1: the rootkit overwrites it
    appViews.set(2, p.read(SECRET_GVA, VIEW_BYTES));
    return 0;
  };

  let step = 0;
  let vaultTid = -1;
  const onSyscall = (ctx: SyscallContext) => {
    if (ctx.nr !== SYS.getpid || step > 1) return;
    const g = ctx.kernel.translate(ctx.pid, SECRET_GVA);
    if (g === undefined) return;
    vaultTid = ctx.tid;
    gppn = g;
    const gpa = g * 4096;
    if (step === 0) kernelViews.set(0, ctx.kernel.phys.read(gpa, VIEW_BYTES));
    kernelViews.set(step + 1, ctx.kernel.phys.read(gpa, VIEW_BYTES));
    if (step === 1) {
      ctx.kernel.phys.write(gpa, ATTACKER_BYTES.subarray(0, VIEW_BYTES));
      kernelViews.set(2, ctx.kernel.phys.read(gpa, VIEW_BYTES));
    }
    times.set(step + 1, host.sim.clock.now);
    step++;
  };

  const kernel = new GuestKernel({ init: 'vault', adversary: { onSyscall } });
  const vm = tvmm.createVm({ name: 'office', kind: 'open-box', memoryMiB: 4, guest: kernel, programs: { vault } });
  tvmm.power(vm, 'on');
  tvmm.run({ untilNs: 1_000_000_000 });

  const end = host.sim.trace.events().find((e) => e.cat === 'guest' && (e.kind === 'thread.exit' || e.kind === 'thread.killed') && e.data?.tid === vaultTid);
  const ended = !end ? 'still running' : end.kind === 'thread.exit' ? `exited with status ${String(end.data?.status)}` : `was terminated (${String(end.data?.reason)})`;
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
    cloaked,
    steps,
    gppn,
    appEnded: ended,
    securityEvents: host.sim.trace.securityEvents().map((e) => ({ kind: e.kind, ...(e.data ? { data: e.data } : {}) })),
    traceEvents: host.sim.trace.length,
    traceDigest: host.sim.trace.digest(),
    chromeTrace: toChromeTrace(host.sim.trace.events(), { metadata: { seed, cloaked, digest: host.sim.trace.digest() } }),
  };
}
