import { describe, expect, it } from 'vitest';
import { SYS, USER_LAYOUT } from '../../src/guest/abi.js';
import { attachCloaking, MemoryNvStore } from '../../src/cloaking/index.js';
import { Host, HC, HCERR, type ProgramFn } from '../../src/tvmm/index.js';
import { bootCloaked, leakScan, RogueKernel } from '../../src/testing/index.js';

const VA = USER_LAYOUT.textBase;

describe('attachCloaking validation', () => {
  it('rejects bad options with TypeError/RangeError and changes nothing', () => {
    const tvmm = new Host({ machineMiB: 8 }).boot();
    const nv = new MemoryNvStore();
    expect(() => attachCloaking(tvmm, { suite: 'rot13' as never, nv })).toThrow(RangeError);
    expect(() => attachCloaking(tvmm, { policy: 'explode' as never, nv })).toThrow(RangeError);
    expect(() => attachCloaking(tvmm, { cloakPrograms: 'all' as never, nv })).toThrow(TypeError);
    expect(() => attachCloaking(tvmm, { cloakPrograms: [''], nv })).toThrow(RangeError);
    expect(() => attachCloaking(null as never)).toThrow(TypeError);
    expect(nv.counter('cloak.epoch')).toBe(0);
    attachCloaking(tvmm, { nv });
    expect(nv.counter('cloak.epoch')).toBe(1);
    expect(() => attachCloaking(tvmm, { nv })).toThrow(RangeError);
    expect(nv.counter('cloak.epoch')).toBe(1);
  });
  it('MemoryNvStore validates and is monotonic', () => {
    const s = new MemoryNvStore();
    expect(() => s.setSecret(new Uint8Array(3))).toThrow(RangeError);
    s.setSecret(new Uint8Array(32).fill(1));
    expect(() => s.setSecret(new Uint8Array(32))).toThrowError(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(s.advance('a')).toBe(1);
    expect(s.advance('a')).toBe(2);
    expect(MemoryNvStore.fromSnapshot(s.snapshot()).counter('a')).toBe(2);
  });
});

describe('hypercall refusals (identity from the TVMM, never from arguments)', () => {
  it('refuses cloaking hypercalls from the kernel and foreign resources from another domain', () => {
    const results: Record<string, number> = {};
    const a: ProgramFn = function* (p) {
      p.write(VA, new Uint8Array([1]));
      yield* p.syscall(SYS.getpid);
      return 0;
    };
    const w = bootCloaked({ programs: { a, b: a, plain: function* (p) {
      // An uncloaked program is not a cloaked context.
      results.plainMap = (p as unknown as { hypercall(nr: number, a: number[]): number }).hypercall?.(HC.CLOAK_MAP, [1, 0x400, 1, 0]) ?? 0;
      yield* p.syscall(SYS.getpid);
      return 0;
    } } , cloak: ['a', 'b'] });
    w.kernel.adversary = {
      afterTrap(t, k) {
        if (t.kind !== 'syscall' || 'kernel' in results) return;
        results.kernel = k.p.hypercall(HC.CLOAK_REGISTER, []);
        results.kernelMap = k.p.hypercall(HC.CLOAK_MAP, [1, 0x400, 1, 0]);
      },
    };
    w.run();
    expect(results.kernel).toBe(HCERR.EPERM);
    expect(results.kernelMap).toBe(HCERR.EPERM);
    expect(results.plainMap).toBe(HCERR.EPERM);
    expect(w.engine.stats().violations).toBe(0);
  });
});

describe('violation policy', () => {
  it('halt: a tamper halts the whole VM with a CLOAK_* reason', () => {
    const prog: ProgramFn = function* (p) {
      p.write(VA, new Uint8Array(4096).fill(9));
      yield* p.syscall(SYS.getpid);
      p.load8(VA);
      return 0;
    };
    const w = bootCloaked({ programs: { prog }, cloaking: { policy: 'halt' } });
    w.kernel.adversary = { afterTrap(t, k) { if (t.kind === 'syscall') { const g = k.gppnOf(k.proc(t.tid).root, VA); const c = k.readPage(g); c[5] ^= 4; k.writePage(g, c); } } };
    w.run();
    const info = w.tvmm.vm(w.vm);
    expect(info.state).toBe('halted');
    expect(info.haltReason).toBe('CLOAK_MAC');
    expect(w.host.sim.trace.securityEvents().map((e) => e.kind)).toEqual(['cloak.violation', 'vm.halt']);
  });
});

describe('exec emulation', () => {
  it('exec gives the thread a fresh domain and scrubs the old image plaintext', () => {
    const secret = new Uint8Array(4096).map((_, i) => (i * 97 + 13) & 255);
    let second: Uint8Array | undefined;
    const first: ProgramFn = function* (p) {
      p.write(VA, secret);
      p.write(VA + 8192, new TextEncoder().encode('second\0'));
      yield* p.syscall(SYS.execve, [VA + 8192, 0, 0]);
      return 1;
    };
    const next: ProgramFn = function* (p) {
      second = p.read(VA, 4096);
      return 0;
    };
    const w = bootCloaked({ programs: { first, second: next }, start: ['first'] });
    w.run();
    expect(second?.every((b) => b === 0)).toBe(true);
    expect(w.engine.stats().domains).toBe(2);
    expect(w.engine.domainStatus(1).terminated).toBe(true);
    expect(leakScan(w, secret)).toEqual([]);
  });
});

describe('determinism (P19)', () => {
  it('one seed gives one trace, byte for byte', () => {
    const digest = () => {
      const prog: ProgramFn = function* (p) {
        p.write(VA, new Uint8Array(4096).fill(3));
        yield* p.syscall(SYS.getpid);
        p.read(VA, 4096);
        return 0;
      };
      const w = bootCloaked({ programs: { prog }, host: { seed: 77 } });
      w.kernel.adversary = { afterTrap(t, k) { if (t.kind === 'syscall') k.readPage(k.gppnOf(k.proc(t.tid).root, VA)); } };
      w.run();
      return w.host.sim.trace.digest();
    };
    expect(digest()).toBe(digest());
  });
  it('a RogueKernel without cloaking still runs programs', () => {
    const host = new Host({ machineMiB: 16 });
    const tvmm = host.boot();
    const k = new RogueKernel(['p']);
    const vm = tvmm.createVm({ name: 'v', kind: 'open-box', pages: 256, guest: k, programs: { p: function* (p) { yield* p.syscall(SYS.getpid); return 7; } } });
    tvmm.power(vm, 'on');
    tvmm.run({ maxSlices: 100 });
    expect(k.exited.get(1)).toBe(7);
  });
});

describe('realRandomness', () => {
  it('keys and nonces come from the platform CSPRNG: two runs of one seed give different ciphertexts, the app still round-trips', () => {
    const cts: string[] = [];
    for (let i = 0; i < 2; i++) {
      let ok = false;
      const prog: ProgramFn = function* (p) {
        p.write(VA, new Uint8Array(4096).fill(1));
        yield* p.syscall(SYS.getpid);
        ok = p.read(VA, 4096).every((b) => b === 1);
        return 0;
      };
      const w = bootCloaked({ programs: { prog }, host: { seed: 1, realRandomness: true } });
      w.kernel.adversary = { afterTrap(t, k) { if (t.kind === 'syscall') cts.push(Array.from(k.readPage(k.gppnOf(k.proc(t.tid).root, VA)).subarray(0, 16)).join(',')); } };
      w.run();
      expect(ok).toBe(true);
      expect(w.kernel.stats().syscalls).toBe(1);
    }
    expect(cts[0]).not.toBe(cts[1]);
  });

  it('a replaced crypto.getRandomValues never sees (or chooses) a key or nonce the TVMM draws', () => {
    const c = globalThis.crypto as Crypto & { getRandomValues: Crypto['getRandomValues'] };
    const seen: number[] = [];
    // What a guest (JavaScript in the same realm) could do: every draw would land in its hands, all zero.
    // (Calls from inside @noble's curve arithmetic, its scalar blinding, are not the TVMM's draws.)
    Object.defineProperty(c, 'getRandomValues', { value: <T extends ArrayBufferView | null>(a: T): T => { const caller = (new Error().stack ?? '').split('\n')[2] ?? ''; if (!caller.includes('node_modules')) seen.push((a as unknown as Uint8Array).length); (a as unknown as Uint8Array).fill(0); return a; }, configurable: true, writable: true });
    try {
      let ok = false;
      const prog: ProgramFn = function* (p) {
        p.write(VA, new Uint8Array(4096).fill(1));
        yield* p.syscall(SYS.getpid);
        ok = p.read(VA, 4096).every((b) => b === 1);
        return 0;
      };
      const w = bootCloaked({ programs: { prog }, host: { seed: 1, realRandomness: true } });
      // The kernel reads the cloaked page at the syscall: the page is encrypted under fresh draws.
      w.kernel.adversary = { afterTrap(t, k) { if (t.kind === 'syscall') k.readPage(k.gppnOf(k.proc(t.tid).root, VA)); } };
      w.run();
      expect(ok).toBe(true);
      expect(w.engine.stats().encryptions).toBeGreaterThan(0);
      expect(seen).toEqual([]);
    } finally {
      delete (c as unknown as Record<string, unknown>).getRandomValues;
    }
  });
});

describe('a plaintext frame that vanishes', () => {
  it('cannot be replaced by the page’s previous ciphertext (no silent rollback)', () => {
    let seen: Uint8Array | undefined;
    const prog: ProgramFn = function* (p) {
      p.write(VA, new Uint8Array(4096).fill(0xa));
      yield* p.syscall(SYS.getpid); // K encrypts v1 and snapshots it
      p.write(VA, new Uint8Array(4096).fill(0xb)); // PT_RW, newer data
      yield* p.syscall(SYS.getpid); // the host drops the frame; K puts v1 back
      seen = p.read(VA, 4096);
      return 0;
    };
    const w = bootCloaked({ programs: { prog } });
    let snap: Uint8Array | undefined;
    w.kernel.adversary = {
      afterTrap(t, k) {
        if (t.kind !== 'syscall') return;
        const g = k.gppnOf(k.proc(t.tid).root, VA);
        if (!snap) snap = k.readPage(g);
        else {
          w.host.memory.unmap(w.vm, g as never);
          k.writePage(g, snap);
        }
      },
    };
    w.run();
    expect(seen).toBeUndefined();
    expect(String(w.kernel.exited.get(1))).toMatch(/^killed:(INTEGRITY_VIOLATION|REPLAY_DETECTED)$/);
  });
});
