import { describe, expect, it } from 'vitest';
import { SYS } from '../../src/guest/abi.js';
import type { ProgramFn } from '../../src/tvmm/index.js';
import { bootCloaked, godView, leakScan, testSecret } from '../../src/testing/index.js';
import type { CloakedProc, CloakSuiteName } from '../../src/cloaking/index.js';

const VA = 0x400000;

describe.each(['xchacha20-poly1305', 'aes-256-gcm', 'overshadow-2008'] as CloakSuiteName[])('cloaking with %s', (suite) => {
  it('walks the five transitions of the state machine, verifying before decrypting', () => {
    const secret = testSecret(1, 4096);
    const log: string[] = [];
    const kviews: Uint8Array[] = [];
    let w!: ReturnType<typeof bootCloaked>;
    const st = () => w.engine.pageState(w.engine.domainOf(w.vm, 1), VA >>> 12);
    const s = () => w.engine.stats();
    const prog: ProgramFn = function* (p) {
      p.write(VA, secret);
      log.push(`fresh→${st()}`);
      yield* p.syscall(SYS.getpid); // kernel reads: (1)
      log.push(`k1→${st()} enc=${s().encryptions}`);
      const back = p.read(VA, 4096); // (3)
      log.push(`read→${st()} ok=${back.every((b, i) => b === secret[i])}`);
      yield* p.syscall(SYS.getpid); // kernel reads a clean page: (5)
      log.push(`k2→${st()} reenc=${s().reencryptions}`);
      p.read(VA, 16); // (3)
      p.store8(VA, secret[0] ^ 1); // (4)
      log.push(`write→${st()}`);
      yield* p.syscall(SYS.getpid); // (1) again, new nonce
      log.push(`k3→${st()} enc=${s().encryptions}`);
      p.store8(VA + 1, 0x42); // (2) app write to ENC
      log.push(`write-enc→${st()} byte0=${p.load8(VA) === (secret[0] ^ 1)}`);
      return 0;
    };
    w = bootCloaked({ programs: { prog }, cloaking: { suite } });
    w.kernel.adversary = { afterTrap(t, k) { if (t.kind === 'syscall') kviews.push(k.readPage(k.gppnOf(k.proc(t.tid).root, VA))); } };
    w.run();
    expect(w.kernel.exited.get(1)).toBe(0);
    expect(log).toEqual([
      'fresh→PT_RW',
      'k1→ENC enc=1',
      'read→PT_RO ok=true',
      'k2→ENC reenc=1',
      'write→PT_RW',
      'k3→ENC enc=2',
      'write-enc→PT_RW byte0=true',
    ]);
    expect(kviews[0]).not.toEqual(secret);
    expect(kviews[1]).toEqual(kviews[0]); // (5) reuses (IV, H): a clean page's ciphertext is unchanged
    expect(kviews[2]).not.toEqual(kviews[0]); // (1) after a write: fresh nonce
    expect(leakScan(w, secret)).toEqual([]);
    expect(s().violations).toBe(0);
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
