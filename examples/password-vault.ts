/**
 * A password vault whose secrets stay cloaked while a rootkit kernel attacks it (Overshadow, Chen
 * et al., ASPLOS'08: "the application sees a normal view, the OS an encrypted view"). The rootkit
 * dumps the vault's memory, swaps its page out and back in at another guest-physical page, and
 * finally flips one byte. The output shows the kernel's view as a ciphertext hexdump beside the
 * app's view, then the detection. Run: `npx tsx examples/password-vault.ts`.
 */
import { fileURLToPath } from 'node:url';
import { SYS, USER_LAYOUT } from '../src/guest/abi.js';
import type { ProgramFn, Proc, TrapRequest } from '../src/tvmm/index.js';
import { bootCloaked, leakScan } from '../src/testing/index.js';

const VAULT = USER_LAYOUT.textBase;
const ENTRIES: readonly [string, string][] = [
  ['bank', 'correct horse battery staple'],
  ['email', 'Tr0ub4dor&3-but-longer-0xC0FFEE'],
  ['router', 'admin:hunter2:9b1d5e0a77f4c2e8'],
];

/** What {@link main} reports. */
export interface VaultSummary {
  readonly kernelView: string;
  readonly appView: string;
  readonly kernelSawPlaintext: boolean;
  readonly readBackAfterDump: boolean;
  readonly gppnBeforeSwap: number;
  readonly gppnAfterSwap: number;
  readonly readBackAfterSwap: boolean;
  readonly detection: string;
  readonly securityEvents: readonly string[];
  readonly leakScanHits: number;
}

function hexdump(b: Uint8Array, rows = 4): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const row = b.subarray(r * 16, r * 16 + 16);
    const hex = Array.from(row, (x) => x.toString(16).padStart(2, '0')).join(' ');
    const asc = Array.from(row, (x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : '.')).join('');
    out.push(`${(r * 16).toString(16).padStart(4, '0')}  ${hex}  ${asc}`);
  }
  return out.join('\n');
}

function encodeVault(): Uint8Array {
  const page = new Uint8Array(4096);
  page.set(new TextEncoder().encode(ENTRIES.map(([k, v]) => `${k}=${v}`).join('\n')));
  return page;
}

/** Runs the scenario and returns what happened (deterministic). */
export function main(): VaultSummary {
  const vault = encodeVault();
  const checks: boolean[] = [];
  let appView = new Uint8Array(0) as Uint8Array;
  const vaultProg: ProgramFn = function* (p: Proc): Generator<TrapRequest, number, number> {
    p.write(VAULT, vault); // the vault unlocks its secrets into memory
    yield* p.syscall(SYS.getpid); // rootkit: memory dump
    appView = p.read(VAULT, 4096);
    checks.push(appView.every((b, i) => b === vault[i]));
    yield* p.syscall(SYS.getpid); // rootkit: swap out and back in elsewhere
    checks.push(p.read(VAULT, 4096).every((b, i) => b === vault[i]));
    yield* p.syscall(SYS.getpid); // rootkit: flip one byte
    p.read(VAULT, 64); // the vault looks up a password: detection happens here
    return 0;
  };
  const w = bootCloaked({ programs: { vault: vaultProg }, host: { seed: 2008 } });
  let kernelView = new Uint8Array(0) as Uint8Array;
  let step = 0;
  const gppns: number[] = [];
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind !== 'syscall') return;
      const root = k.proc(t.tid).root;
      if (step === 0) kernelView = k.readPage(k.gppnOf(root, VAULT));
      else if (step === 1) {
        gppns.push(k.gppnOf(root, VAULT));
        const bytes = k.swapOut(t.tid, VAULT);
        k.allocPage(); // make sure the page comes back somewhere else
        gppns.push(k.swapIn(t.tid, VAULT, bytes));
      } else if (step === 2) {
        const g = k.gppnOf(root, VAULT);
        const c = k.readPage(g);
        c[100] ^= 0x01;
        k.writePage(g, c);
      }
      step++;
    },
  };
  w.run();
  const text = new TextDecoder();
  const plainHit = ENTRIES.some(([, v]) => text.decode(kernelView).includes(v));
  return {
    kernelView: hexdump(kernelView),
    appView: hexdump(appView),
    kernelSawPlaintext: plainHit,
    readBackAfterDump: checks[0] === true,
    gppnBeforeSwap: gppns[0] ?? -1,
    gppnAfterSwap: gppns[1] ?? -1,
    readBackAfterSwap: checks[1] === true,
    detection: String(w.kernel.exited.get(1)),
    securityEvents: w.host.sim.trace.securityEvents().map((e) => `${e.kind}:${String(e.data?.kind ?? '')}`),
    leakScanHits: ENTRIES.reduce((n, [, v]) => n + leakScan(w, new TextEncoder().encode(v.padEnd(16, '.').slice(0, Math.max(16, v.length)))).length, 0),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const s = main();
  const k = s.kernelView.split('\n'), a = s.appView.split('\n');
  process.stdout.write('kernel view (rootkit memory dump)                                             | app view (cloaked)\n');
  for (let i = 0; i < k.length; i++) process.stdout.write(`${k[i]} | ${a[i]}\n`);
  process.stdout.write(`\nkernel saw plaintext: ${s.kernelSawPlaintext}\n`);
  process.stdout.write(`swapped out from gppn ${s.gppnBeforeSwap}, back in at gppn ${s.gppnAfterSwap}: app reads its data: ${s.readBackAfterSwap}\n`);
  process.stdout.write(`one flipped byte: vault ${s.detection}; security events ${s.securityEvents.join(', ')}\n`);
  process.stdout.write(`leakScan hits: ${s.leakScanHits}\n`);
}
