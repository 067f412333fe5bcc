import { describe, expect, it } from 'vitest';
import { SYS } from '../../src/guest/abi.js';
import type { ProgramFn } from '../../src/tvmm/index.js';
import { bootCloaked, godView, leakScan, testSecret } from '../../src/testing/index.js';
import type { CloakedProc, CloakSuiteName } from '../../src/cloaking/index.js';

const VA = 0x400000;

describe.each(['xchacha20-poly1305', 'aes-256-gcm', 'overshadow-2008'] as CloakSuiteName[])('cloaking with %s', (suite) => {
  it('shows the kernel ciphertext and the app its plaintext, through all five transitions', () => {
    const secret = testSecret(1, 4096);
    const seen: Uint8Array[] = [];
    let states: string[] = [];
    const prog: ProgramFn = function* (p) {
      p.write(VA, secret);
      yield* p.syscall(SYS.getpid);          // kernel reads the page here (transition 1)
      const back = p.read(VA, 4096);          // transition 3 → PT_RO
      seen.push(back);
      p.store8(VA, back[0] ^ 1);             // transition 4 → PT_RW
      yield* p.syscall(SYS.getpid);          // transition 1 again
      yield* p.syscall(SYS.getpid);
      return p.load8(VA) === (secret[0] ^ 1) ? 0 : 1;
    };
    const w = bootCloaked({ programs: { prog }, cloaking: { suite } });
    const kviews: Uint8Array[] = [];
    w.kernel.adversary = {
      afterTrap(t, k) {
        if (t.kind !== 'syscall') return;
        const g = k.gppnOf(k.proc(t.tid).root, VA);
        kviews.push(k.readPage(g));
        const d = w.engine.domainOf(w.vm, t.tid);
        states.push(w.engine.pageState(d, VA >>> 12));
      },
    };
    w.run();
    expect(w.kernel.exited.get(1)).toBe(0);
    expect(seen[0]).toEqual(secret);
    expect(kviews[0]).not.toEqual(secret);
    expect(kviews[0]).toEqual(kviews[0]); // stable
    states = states.slice(0, 3);
    expect(states).toEqual(['ENC', 'ENC', 'ENC']);
    expect(leakScan(w, secret)).toEqual([]);
    const s = w.engine.stats();
    expect(s.encryptions).toBeGreaterThanOrEqual(2);
    expect(s.decryptions).toBeGreaterThanOrEqual(2);
    expect(s.violations).toBe(0);
  });
});

describe('cloaking basics', () => {
  it('an uncloaked program is unaffected and its bytes are visible to the kernel', () => {
    const prog: ProgramFn = function* (p) {
      p.write(VA, new TextEncoder().encode('plain'));
      yield* p.syscall(SYS.getpid);
      return 0;
    };
    const w = bootCloaked({ programs: { prog }, cloak: [] });
    let view = '';
    w.kernel.adversary = { afterTrap: (t, k) => void (view = new TextDecoder().decode(k.readPage(k.gppnOf(k.proc(t.tid).root, VA)).subarray(0, 5))) };
    w.run();
    expect(view).toBe('plain');
  });

  it('marshals write() through the uncloaked buffer so the console gets the plaintext the app chose to send', () => {
    const prog: ProgramFn = function* (p) {
      p.write(VA, new TextEncoder().encode('hello world'));
      const r = yield* p.syscall(SYS.write, [1, VA, 11]);
      return r === 11 ? 0 : 1;
    };
    const w = bootCloaked({ programs: { prog } });
    w.run();
    expect(w.kernel.exited.get(1)).toBe(0);
    expect(w.tvmm.consoleLines.map((l) => l.line)).toEqual(['hello world']);
  });

  it('gives cloaked programs TVMM randomness and registers', () => {
    let ok = false;
    const prog: ProgramFn = function* (p) {
      const c = p as CloakedProc;
      ok = c.cloaked && c.random(16).some((b) => b !== 0) && c.domain > 0;
      c.setReg('r7', 1234);
      yield* p.syscall(SYS.getpid);
      return c.getReg('r7') === 1234 ? 0 : 1;
    };
    const w = bootCloaked({ programs: { prog } });
    w.run();
    expect(ok).toBe(true);
    expect(w.kernel.exited.get(1)).toBe(0);
    expect(godView(w.host).usedFrames().length).toBeGreaterThan(0);
  });
});
