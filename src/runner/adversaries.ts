/**
 * Staged adversaries of a scenario run. Each adversary kind acts at `atMs` (virtual) on its
 * victim VM through the powers its actor really has: the compromised guest kernel's adversary hooks
 * (src/guest/adversary.ts: kernel-view reads and writes, page-table edits, saved registers, syscall
 * results, page faults), the management VM's interface, or the guest's own memory. After the run
 * each one is judged from evidence — what the kernel could read, what the victim app saw
 * ({@link VaultLog}), cloak violations, refusals and the memory manager's accounting — into an
 * attack-table row: `blocked`, `detected` or `LEAKED`.
 */
import { SYS } from '../guest/abi.js';
import { PTE } from '../guest/layout.js';
import type { FaultContext, GuestKernel, KernelAccess, KernelAdversary, ResumeContext, SyscallContext, SyscallResultContext } from '../guest/index.js';
import type { CloakEngine } from '../cloaking/index.js';
import type { EsxMemory } from '../memory/index.js';
import type { AdversaryKind, ScenarioAdversary } from '../scenario/index.js';
import { ADVERSARY_DESCRIPTIONS } from '../scenario/index.js';
import { TerraError, type VmId } from '../sim/index.js';
import type { Tvmm } from '../tvmm/index.js';
import type { AttackRow } from '../report/index.js';
import { STACK_BASE, VAULT_PAGES, type VaultLog } from './vault.js';

const PAGE = 4096;
const NS_PER_MS = 1_000_000;

/** Threat-catalogue area and the outcome the catalogue expects, per kind. */
export const ADVERSARY_META: Readonly<Record<AdversaryKind, { area: string; expected: string }>> = {
  'rootkit-dump': { area: 'CLK', expected: 'blocked: the kernel sees only ciphertext of cloaked pages' },
  'bit-flip': { area: 'CLK', expected: 'detected: integrity violation on the app\'s next access' },
  'page-replay': { area: 'CLK', expected: 'detected: replay violation (version mismatch)' },
  'page-flip': { area: 'CLK', expected: 'detected: integrity violation (page bound to its address)' },
  'swap-substitute': { area: 'CLK', expected: 'detected: integrity violation on swap-in' },
  'first-touch-inject': { area: 'CLK', expected: 'blocked: a fresh cloaked page reads as zeros' },
  'register-tamper': { area: 'CLK', expected: 'blocked: saved registers restored from the protected thread context' },
  'syscall-lie': { area: 'CLK', expected: 'detected: the shim\'s Iago checks refuse the hostile result' },
  'mgmt-inspect': { area: 'ISO', expected: 'blocked: a closed-box VM refuses inspection' },
  'disk-tamper': { area: 'STO', expected: 'detected: the sealed disk\'s integrity check fails the read' },
  'balloon-hog': { area: 'MEM', expected: 'blocked: the memory manager holds the hog to its allocation (host swap)' },
};

/** What a staged adversary sees of its victim. */
export interface VictimContext {
  readonly tvmm: Tvmm;
  readonly vmId: VmId;
  readonly vmName: string;
  readonly kind: 'open-box' | 'closed-box';
  readonly kernel: GuestKernel;
  /** The target program's vault, when the adversary has a target. */
  readonly vault?: VaultLog;
  /** Whether the target program runs cloaked. */
  readonly cloaked: boolean;
  /** The host's cloak engine, when any program on the host is cloaked. */
  readonly engine?: CloakEngine;
  /** The host's memory manager. */
  readonly esx: EsxMemory;
  /** The VM's disk the host may tamper with (see disk-tamper). */
  readonly disk?: { peek(lba: number): Uint8Array; poke(lba: number, data: Uint8Array): void; verifyRead(lba: number): Uint8Array };
}

/** A staged adversary: kernel hooks and/or a host-side action at `atMs`, and a judge. */
export interface StagedAdversary {
  readonly spec: ScenarioAdversary;
  /** Kernel hooks (for kinds acting as the compromised guest kernel). */
  readonly hooks: KernelAdversary;
  /** Host-side action run once when the virtual clock reaches `atMs`. */
  act?(): void;
  /** The attack-table row, judged after the run. */
  judge(): AttackRow;
}

const contains = (hay: Uint8Array, needle: Uint8Array): boolean => {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
};

/** Builds the staged adversary of one scenario entry. */
export function stageAdversary(spec: ScenarioAdversary, v: VictimContext): StagedAdversary {
  const atNs = spec.atMs * NS_PER_MS;
  const meta = ADVERSARY_META[spec.kind];
  const row = (outcome: AttackRow['outcome'], detail: string): AttackRow => ({
    id: spec.kind, area: meta.area, attack: `${ADVERSARY_DESCRIPTIONS[spec.kind]} — VM ${spec.vm}${spec.target ? `, program ${spec.target}` : ''}, at ${spec.atMs} ms`,
    expected: meta.expected, outcome, detail,
  });
  const vault = v.vault;
  /** True in a hook of the victim process once the attack window opened. */
  const armed = (k: KernelAccess, pid: number) => vault !== undefined && vault.base !== 0 && pid === vault.pid && k.platform.now() >= atNs;
  /** Cloak violations in the victim VM since the attack started (earlier ones belong to other attacks). */
  const violations = () => (v.engine ? v.engine.violations().filter((x) => x.vm === v.vmId && x.t >= atNs) : []);
  const vioText = () => violations().map((x) => `${x.kind} (${x.code})`).join(', ');
  const page = (i: number) => (vault ? vault.base + i * PAGE : 0);
  const appSide = () => vault ? `the app ran ${vault.iterations} checks` : '';
  let done = false;
  let evidence = '';

  switch (spec.kind) {
    case 'rootkit-dump': {
      let dump: Uint8Array | undefined;
      return {
        spec,
        hooks: {
          onSyscall(ctx: SyscallContext) {
            if (done || !armed(ctx.kernel, ctx.pid)) return;
            done = true;
            const a = ctx.kernel.readUser(ctx.pid, page(VAULT_PAGES.secretA), PAGE);
            const b = ctx.kernel.readUser(ctx.pid, page(VAULT_PAGES.secretB), PAGE);
            const g = ctx.kernel.translate(ctx.pid, page(VAULT_PAGES.secretA));
            const raw = g === undefined ? new Uint8Array(0) : ctx.kernel.phys.read(g * PAGE, PAGE);
            dump = new Uint8Array(3 * PAGE);
            dump.set(a, 0);
            dump.set(b, PAGE);
            dump.set(raw, 2 * PAGE);
          },
        },
        judge() {
          if (!dump || !vault) return row('LEAKED', 'the dump never ran: the target made no system call after atMs (nothing was judged)');
          const probeA = vault.secretA.subarray(0, 32), probeB = vault.secretB.subarray(0, 32);
          const leaked = contains(dump, probeA) || contains(dump, probeB);
          if (leaked) return row('LEAKED', `the kernel view of the target's pages contains its secret plaintext (${v.cloaked ? 'cloaked' : 'uncloaked'} program)`);
          const intact = vault.secretMismatches === 0;
          return row(intact ? 'blocked' : 'LEAKED', `the kernel read 3 pages (2 via its mapping of user memory, 1 raw guest-physical): ciphertext only, no 32-byte window of either secret; ${appSide()}, secrets ${intact ? 'intact in the app\'s view' : 'CORRUPTED in the app\'s view'}`);
        },
      };
    }
    case 'bit-flip':
    case 'page-replay':
    case 'page-flip':
    case 'swap-substitute': {
      let snapshot: Uint8Array | undefined;
      let snapAt = -1;
      const tamper = (ctx: SyscallContext): void => {
        const k = ctx.kernel;
        const va = page(VAULT_PAGES.secretA), vb = page(VAULT_PAGES.secretB);
        if (spec.kind === 'bit-flip') {
          k.readUser(ctx.pid, va, PAGE); // the kernel's access encrypts a cloaked page first
          const g = k.translate(ctx.pid, va)!;
          const c = k.phys.read(g * PAGE, PAGE);
          c[17] ^= 0x10;
          k.phys.write(g * PAGE, c);
          evidence = `flipped bit 4 of byte 17 of guest page ${g}`;
        } else if (spec.kind === 'page-replay') {
          const vc = page(VAULT_PAGES.counter);
          k.readUser(ctx.pid, vc, PAGE);
          const g = k.translate(ctx.pid, vc)!;
          if (snapshot === undefined) {
            snapshot = k.phys.read(g * PAGE, PAGE);
            snapAt = vault!.iterations;
            done = false; // replay at a later system call, once the app has written a newer version
            return;
          }
          if (vault!.iterations === snapAt) {
            done = false;
            return;
          }
          k.phys.write(g * PAGE, snapshot);
          evidence = `wrote back the counter page's contents from ${vault!.iterations - snapAt} iteration(s) earlier`;
        } else if (spec.kind === 'page-flip') {
          k.readUser(ctx.pid, va, PAGE);
          k.readUser(ctx.pid, vb, PAGE);
          const pa = k.getPte(ctx.pid, va), pb = k.getPte(ctx.pid, vb);
          k.setPte(ctx.pid, va, pb >>> 12, pa & 0xfff);
          k.setPte(ctx.pid, vb, pa >>> 12, pb & 0xfff);
          evidence = `swapped the PTEs of pages A (gppn ${pa >>> 12}) and B (gppn ${pb >>> 12})`;
        } else {
          const outA = k.readUser(ctx.pid, va, PAGE); // "swap out" A: its kernel-view bytes go to the swap file
          k.readUser(ctx.pid, vb, PAGE);
          const gb = k.translate(ctx.pid, vb)!;
          const other = k.phys.read(gb * PAGE, PAGE);
          const fresh = k.allocPage();
          if (fresh === undefined) throw new Error('no free guest page for the substitute');
          k.phys.write(fresh * PAGE, other); // "swap in" another page's contents in A's place
          const pa = k.getPte(ctx.pid, va);
          k.setPte(ctx.pid, va, fresh, pa & 0xfff);
          evidence = `swapped page A out (${outA.length} bytes) and mapped guest page ${fresh} holding page B's contents in its place`;
        }
      };
      return {
        spec,
        hooks: {
          onSyscall(ctx: SyscallContext) {
            if (done || !armed(ctx.kernel, ctx.pid)) return;
            done = true;
            tamper(ctx);
          },
        },
        judge() {
          if (!vault || evidence === '') return row('LEAKED', 'the attack never ran: the target made no system call after atMs (nothing was judged)');
          const vio = violations();
          const appSaw = spec.kind === 'page-replay' ? vault.staleCounter > 0 : vault.secretMismatches > 0;
          if (appSaw) return row('LEAKED', `${evidence}; the app then read tampered data (${spec.kind === 'page-replay' ? `${vault.staleCounter} stale counter read(s)` : `${vault.secretMismatches} secret mismatch(es)${vault.sawOtherPage ? ', page B at A' : ''}`}) and no violation stopped it`);
          if (vio.length > 0) return row('detected', `${evidence}; cloak violation(s): ${vioText()}; the target was terminated before it saw a tampered byte`);
          return row('LEAKED', `${evidence}; no violation was recorded and the app did not access the page again before the run ended (undetected)`);
        },
      };
    }
    case 'first-touch-inject': {
      let injected = 0;
      return {
        spec,
        hooks: {
          onPageFault(ctx: FaultContext) {
            if (!vault || vault.base === 0 || ctx.pid !== vault.pid || ctx.kernel.platform.now() < atNs) return undefined;
            const lo = page(VAULT_PAGES.firstFresh), hi = page(VAULT_PAGES.firstFresh + vault.freshPages);
            if (ctx.gva < lo || ctx.gva >= hi) return undefined;
            const g = ctx.kernel.allocPage();
            if (g === undefined) return undefined;
            ctx.kernel.phys.write(g * PAGE, new Uint8Array(PAGE).fill(0x41));
            ctx.kernel.setPte(ctx.pid, ctx.gva & ~(PAGE - 1), g, PTE.P | PTE.W | PTE.U);
            injected++;
            return true;
          },
        },
        judge() {
          if (!vault || injected === 0) return row('LEAKED', 'no fresh page was first touched after atMs (nothing was judged)');
          if (vault.dirtyFresh > 0) return row('LEAKED', `the kernel pre-filled ${injected} fresh page(s) with 0x41 and the app read attacker bytes in ${vault.dirtyFresh} of them`);
          return row('blocked', `the kernel pre-filled ${injected} fresh page(s) with 0x41 at their first touch; the app read zeros in all ${vault.freshTouched} fresh page(s) it touched${v.engine ? ` (cloak fresh pages: ${v.engine.stats().freshPages})` : ''}`);
        },
      };
    }
    case 'register-tamper': {
      // r0 carries system-call results, which the kernel chooses legitimately (that is syscall-lie);
      // the kernel has no business changing r6 of a thread it resumes.
      const FORGED = 0x31337;
      let afterGetpid = -1;
      let edits = 0;
      let persisted = 0;
      let checkAtTrap = -1;
      let restoresBefore = -1;
      return {
        spec,
        hooks: {
          onSyscallResult(ctx: SyscallResultContext) {
            if (armed(ctx.kernel, ctx.pid) && ctx.nr === SYS.getpid && edits < 8) afterGetpid = ctx.tid;
          },
          beforeResume(ctx: ResumeContext) {
            if (ctx.tid !== afterGetpid) return;
            afterGetpid = -1;
            if (restoresBefore < 0) restoresBefore = v.engine?.stats().contextEdits ?? 0;
            ctx.kernel.setRegister(ctx.tid, 'r6', FORGED);
            edits++;
            checkAtTrap = ctx.tid;
          },
          onTrap(ctx) {
            if (ctx.tid !== checkAtTrap) return;
            checkAtTrap = -1;
            if (ctx.trap.regs.r6 === FORGED) persisted++;
          },
        },
        judge() {
          if (!vault || edits === 0) return row('LEAKED', 'the target made no getpid after atMs (nothing was judged)');
          const undone = (v.engine?.stats().contextEdits ?? 0) - Math.max(0, restoresBefore);
          const vio = violations().filter((x) => x.kind === 'context');
          if (vio.length) return row('detected', `the kernel set r6 of the resuming thread to 0x${FORGED.toString(16)} ${edits} time(s); context violation(s): ${vioText()}`);
          if (v.cloaked && undone > 0 && persisted === 0) return row('blocked', `the kernel set r6 of the resuming thread to 0x${FORGED.toString(16)} ${edits} time(s); the protected thread context undid ${undone} edit(s) and the thread trapped again with its own r6 every time`);
          return row('LEAKED', `the kernel set r6 of the resuming thread to 0x${FORGED.toString(16)} ${edits} time(s); the thread ran with the forged value (${persisted} later trap(s) still showed it)${undone ? `, ${undone} edit(s) undone` : ''}`);
        },
      };
    }
    case 'syscall-lie': {
      let lies = 0;
      return {
        spec,
        hooks: {
          onSyscallResult(ctx: SyscallResultContext) {
            if (!armed(ctx.kernel, ctx.pid) || ctx.nr !== SYS.mmap || ctx.result < 0) return;
            ctx.setResult(STACK_BASE);
            lies++;
          },
        },
        judge() {
          if (!vault || lies === 0) return row('LEAKED', 'the target made no mmap after atMs (nothing was judged)');
          if (vault.hostileMmaps.length > 0) return row('LEAKED', `the kernel answered ${lies} mmap call(s) with 0x${STACK_BASE.toString(16)} (inside the stack); the app accepted ${vault.hostileMmaps.length} of them`);
          const vio = violations().filter((x) => x.kind === 'iago');
          if (vio.length) return row('detected', `the kernel answered mmap with 0x${STACK_BASE.toString(16)} (inside the stack); the shim refused it: ${vioText()}`);
          return row('LEAKED', `the kernel lied ${lies} time(s) but neither the app nor the shim reacted`);
        },
      };
    }
    case 'mgmt-inspect': {
      const outcomes: string[] = [];
      let refused = 0;
      let read: Uint8Array | undefined;
      return {
        spec,
        hooks: {},
        act() {
          const mgmt = v.tvmm.management;
          let gpa = 0;
          if (vault && vault.base !== 0) {
            const g = v.kernel.access.translate(vault.pid, page(VAULT_PAGES.secretA));
            if (g !== undefined) gpa = g * PAGE;
          }
          for (const what of ['memory', 'registers'] as const) {
            try {
              if (what === 'memory') read = mgmt.readMemory(v.vmId, gpa, PAGE);
              else mgmt.readRegisters(v.vmId);
              outcomes.push(`${what}: read`);
            } catch (e) {
              if (!(e instanceof TerraError)) throw e;
              refused++;
              outcomes.push(`${what}: refused (${e.code})`);
            }
          }
        },
        judge() {
          if (outcomes.length === 0) return row('LEAKED', 'the inspection never ran (the VM was gone before atMs)');
          if (refused === 2) return row('blocked', `${v.kind} VM: ${outcomes.join(', ')}; audit events recorded`);
          if (vault && read && !contains(read, vault.secretA.subarray(0, 32)) && v.cloaked)
            return row('blocked', `${v.kind} VM is inspectable (${outcomes.join(', ')}), but the target's secret page read as ciphertext (cloaked)`);
          return row('LEAKED', `${v.kind} VM: ${outcomes.join(', ')} — an open-box VM is inspectable by design (Terra)${vault && read && contains(read, vault.secretA.subarray(0, 32)) ? '; the target\'s secret was read in plaintext' : ''}`);
        },
      };
    }
    case 'disk-tamper': {
      let result = '';
      let outcome: AttackRow['outcome'] = 'LEAKED';
      return {
        spec,
        hooks: {},
        act() {
          const d = v.disk;
          if (!d) {
            result = 'the VM has no disk to tamper with';
            return;
          }
          const before = d.peek(0);
          const bad = before.slice();
          bad[5] ^= 0x01;
          d.poke(0, bad);
          try {
            d.verifyRead(0);
            result = 'flipped one bit of block 0 on the backing file; the VM\'s next read returned the tampered block without error';
            outcome = 'LEAKED';
          } catch (e) {
            if (!(e instanceof TerraError)) throw e;
            result = `flipped one bit of block 0 on the backing file; the VM's next read failed with ${e.code}`;
            outcome = 'detected';
          }
        },
        judge() {
          return row(result === '' ? 'LEAKED' : outcome, result || 'the tampering never ran (nothing was judged)');
        },
      };
    }
    case 'balloon-hog': {
      let grabbed = 0;
      return {
        spec,
        hooks: {},
        act() {
          // The hog's kernel ignores its balloon (it runs no balloon driver) and takes every free page it has, writing each one.
          const k = v.kernel.access;
          for (;;) {
            const g = k.allocPage();
            if (g === undefined) break;
            const b = new Uint8Array(PAGE);
            new DataView(b.buffer).setUint32(0, g ^ 0x686f6721, true);
            b[PAGE - 1] = grabbed & 0xff;
            k.phys.write(g * PAGE, b);
            grabbed++;
          }
        },
        judge() {
          const s = v.esx.vmStats(v.vmId);
          const max = s.config.max;
          if (grabbed === 0) return row('LEAKED', 'the hog never ran (nothing was judged)');
          if (s.resident > max) return row('LEAKED', `the hog holds ${s.resident} pages, more than its max ${max}`);
          const slack = Math.max(256, Math.ceil(s.target * 0.05));
          if (s.resident > s.target + slack) return row('LEAKED', `the hog still holds ${s.resident} pages, above its allocation target ${s.target} (+${slack} slack): the memory manager did not take the difference back`);
          const starved = v.tvmm.vms().filter((x) => x.id !== v.vmId && x.state === 'halted' && /MEMORY|SWAP/i.test(x.haltReason ?? ''));
          if (starved.length) return row('LEAKED', `the hog ran other VMs out of memory: ${starved.map((x) => `${x.name} halted (${x.haltReason})`).join(', ')}`);
          return row('blocked', `the hog wrote ${grabbed} free guest pages and ignored its balloon (${s.ballooned} pages ballooned); the memory manager held it to ${s.resident} resident pages (target ${s.target}, max ${max}) by host-swapping ${s.swapped} pages; no other VM ran out of memory`);
        },
      };
    }
  }
}

/** Combines several adversaries' hooks into one hook set (each sees every event, in order). */
export function combineHooks(list: readonly KernelAdversary[]): KernelAdversary | undefined {
  if (list.length === 0) return undefined;
  return {
    onSyscall: (c) => list.forEach((h) => h.onSyscall?.(c)),
    onSyscallResult: (c) => list.forEach((h) => h.onSyscallResult?.(c)),
    onInterrupt: (c) => list.forEach((h) => h.onInterrupt?.(c)),
    onTrap: (c) => list.forEach((h) => h.onTrap?.(c)),
    beforeResume: (c) => list.forEach((h) => h.beforeResume?.(c)),
    onPageFault: (c) => {
      for (const h of list) {
        const r = h.onPageFault?.(c);
        if (r !== undefined) return r;
      }
      return undefined;
    },
  };
}
