/**
 * Red team: re-entrant lifecycle operations from the page-fault handler. A user access faults; the
 * (compromised) kernel's fault handler runs while the faulting program's code is still on the stack.
 * If the handler execs a cloaked victim image into that same thread and returns "fixed", the old
 * image's code resumes after its faulting access — and, before the defence, kept running with the
 * thread's *new* state: the victim's fresh cloaking domain and address space. An attacker program
 * could so write plaintext into the victim's cloaked memory through the owner's view (no MAC to
 * catch it) before the victim ran, and hypercall as the victim's domain. Now each Proc and user
 * channel belongs to one incarnation of its thread: exec and death end it (ThreadKilled).
 */
import { describe, expect, it } from 'vitest';
import { bootCloaked, leakScan, testSecret } from '../../src/testing/index.js';
import { HC, ThreadKilled, type Proc, type ProgramFn } from '../../src/index.js';

const VA = 0x4000_0000;
const VB = 0x5000_0000;
const INJECT = new Uint8Array(64).fill(0x41);

function run(action: 'exec' | 'destroy' | 'resume') {
  const seen: { victimSawInjection?: boolean; oldWrite?: string; oldHypercall?: string } = {};
  const victim = function* (p: Proc) {
    const b = p.read(VA, INJECT.length);
    seen.victimSawInjection = b.every((x, i) => x === INJECT[i]);
    yield* p.syscall(20);
    return 0;
  };
  const attacker = function* (p: Proc) {
    try {
      p.load8(VB); // faults: the kernel's handler re-enters the platform here
    } catch {
      /* whatever the handler did */
    }
    try {
      p.write(VA, INJECT);
      seen.oldWrite = 'accepted';
    } catch (e) {
      seen.oldWrite = e instanceof ThreadKilled ? 'killed' : String(e);
    }
    try {
      (p as unknown as { hypercall(n: number, a: number[]): number }).hypercall(HC.CLOAK_CREATE_RESOURCE, []);
      seen.oldHypercall = 'accepted';
    } catch (e) {
      seen.oldHypercall = e instanceof ThreadKilled ? 'killed' : String(e);
    }
    yield* p.syscall(20);
    return 0;
  };
  const w = bootCloaked({ programs: { attacker: attacker as ProgramFn, victim: victim as ProgramFn }, start: ['attacker'], cloak: ['victim'] });
  let fired = 0;
  w.kernel.adversary = {
    onFault(root, gva, _write, k) {
      if (gva >>> 12 !== VB >>> 12 || fired++) return undefined;
      const tid = [...k.procs.keys()][0];
      if (action === 'exec') k.p.execThread(tid, { root, program: 'victim' });
      else if (action === 'destroy') k.p.destroyThread(tid);
      else k.p.resume(tid);
      return true;
    },
  };
  expect(() => w.run()).not.toThrow();
  return { w, seen };
}

describe('code of a replaced or dead image cannot act as its successor', () => {
  it('exec from the fault handler: the old image cannot write into the new cloaked image nor hypercall as it', () => {
    const { w, seen } = run('exec');
    expect(seen.oldWrite).toBe('killed');
    expect(seen.oldHypercall).toBe('killed');
    expect(seen.victimSawInjection).not.toBe(true);
    expect(w.tvmm.vm(w.vm).state).toBe('running');
  });

  it('destroy or a nested resume from the fault handler: the old code is dead for every access', () => {
    for (const action of ['destroy', 'resume'] as const) {
      const { w, seen } = run(action);
      expect(seen.oldWrite, action).toBe('killed');
      expect(seen.oldHypercall, action).toBe('killed');
      expect(leakScan(w, testSecret(3)).length).toBe(0);
    }
  });
});
