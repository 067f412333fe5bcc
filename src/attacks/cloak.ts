/**
 * The cloaking (CLK) scenarios of the threat catalogue (threats.md §1) against the Overshadow-style
 * engine (Chen et al., ASPLOS'08) and its shim (Iago checks after Checkoway & Shacham, ASPLOS'13).
 * Each scenario runs the attack with the hostile test kernel of `terracloak/testing` and reports
 * `blocked` / `detected` only when every expectation of the catalogue holds; otherwise `LEAKED`
 * with the failed expectation.
 */
import { MAP, PROT, SEEK, SIG, SYS, O, USER_LAYOUT } from '../guest/abi.js';
import { COW_SUFFIX, META_SUFFIX, MemoryNvStore, type CloakedProc, type CloakSuiteName } from '../cloaking/index.js';
import { nobleProvider, type CryptoProvider } from '../crypto/index.js';
import { PAGE_SIZE, TerraError } from '../sim/index.js';
import { Host, MemoryDisk, type ProgramFn, type Proc, type TrapRequest } from '../tvmm/index.js';
import { attachCloaking } from '../cloaking/index.js';
import { HostSwap, MemorySwapStore } from '../memory/index.js';
import { RogueKernel, bootCloaked, godView, leakScan, type CloakWorld } from '../testing/index.js';
import type { AttackReport, AttackScenario } from './types.js';

const VA = USER_LAYOUT.textBase;
const VB = USER_LAYOUT.textBase + PAGE_SIZE;
type Gen = Generator<TrapRequest, number | void, number>;

/** Outcome helper: every check must hold. */
function verdict(ok: 'blocked' | 'detected', checks: [boolean, string][]): AttackReport {
  const failed = checks.filter(([c]) => !c).map(([, m]) => m);
  return failed.length ? { outcome: 'LEAKED', detail: failed.join('; ') } : { outcome: ok, detail: checks.map(([, m]) => m).join('; ') };
}

function secretOf(w: CloakWorld, seed: number, n = PAGE_SIZE): Uint8Array {
  return w.host.sim.rng.fork(`secret/${seed}/${n}`).bytes(n);
}

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The exit record of thread `tid` ('killed:CODE' for a violation). */
function killedWith(w: CloakWorld, tid: number, code: string): boolean {
  return w.kernel.exited.get(tid) === `killed:${code}`;
}

/** One cloaked program `prog` with an adversary acting at its syscalls. */
function world1(seed: number, body: (p: Proc) => Gen, suite?: CloakSuiteName): CloakWorld {
  return bootCloaked({ programs: { victim: body as ProgramFn }, host: { seed }, ...(suite ? { cloaking: { suite } } : {}) });
}

// ------------------------------------------------------------------ CLK-01
function clk01(seed: number): AttackReport {
  let P: Uint8Array = new Uint8Array(0);
  let back = new Uint8Array(0) as Uint8Array;
  const reads: Uint8Array[] = [];
  let state = '';
  const w = world1(seed, function* (p) {
    p.write(VA, P);
    yield* p.syscall(SYS.getpid);
    back = p.read(VA, PAGE_SIZE);
    return 0;
  });
  P = secretOf(w, seed);
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind !== 'syscall' || reads.length) return;
      const root = k.proc(t.tid).root;
      const g = k.gppnOf(root, VA);
      reads.push(k.readPage(g)); // kernel view
      reads.push(k.p.kernelSpace(root).read(VA, PAGE_SIZE)); // the kernel's mapping of user memory
      const raw = new Uint8Array(PAGE_SIZE); // raw physical reads, word by word
      for (let i = 0; i < PAGE_SIZE; i += 4) new DataView(raw.buffer).setUint32(i, k.p.phys.load32(g * PAGE_SIZE + i), true);
      reads.push(raw);
      state = w.engine.pageState(w.engine.domainOf(w.vm, t.tid), VA >>> 12);
    },
  };
  w.run();
  return verdict('blocked', [
    [reads.length === 3 && reads.every((r) => eq(r, reads[0])), 'every kernel read returns the same ciphertext'],
    [reads.length > 0 && !eq(reads[0], P), 'the ciphertext differs from the plaintext'],
    [state === 'ENC', 'the page state became ENC'],
    [eq(back, P), 'the app reads its plaintext back'],
    [leakScan(w, P).length === 0, 'leakScan is clean'],
  ]);
}

// ------------------------------------------------------------------ CLK-02
/** Flips bit `bit` of the encrypted page; returns the report. */
export function clk02Flip(seed: number, bit: number, suite?: CloakSuiteName): AttackReport {
  let P: Uint8Array = new Uint8Array(0);
  let sawAny = false;
  let before = new Uint8Array(0) as Uint8Array, after = new Uint8Array(0) as Uint8Array;
  let g = -1;
  const w = world1(seed, function* (p) {
    p.write(VA, P);
    yield* p.syscall(SYS.getpid);
    p.load8(VA);
    sawAny = true;
    return 0;
  }, suite);
  P = secretOf(w, seed);
  const god = godView(w.host);
  let meta: { nonce: Uint8Array; tag: Uint8Array } | undefined;
  let headerVisible = true;
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind !== 'syscall' || g >= 0) return;
      g = k.gppnOf(k.proc(t.tid).root, VA);
      k.readPage(g);
      // Is there any guest-visible copy of the page's IV/nonce or tag to tamper with? (There must not be.)
      meta = w.engine.metadataOf(w.engine.domainOf(w.vm, t.tid), VA >>> 12);
      headerVisible = !meta || leakScan(w, meta.tag).length > 0 || (meta.nonce.length >= 16 && leakScan(w, meta.nonce).length > 0);
      const c = k.readPage(g);
      c[bit >>> 3] ^= 1 << (bit & 7);
      k.writePage(g, c);
      before = god.peekGppn(w.vm, g);
    },
  };
  w.run();
  after = god.peekGppn(w.vm, g);
  return verdict('detected', [
    [killedWith(w, 1, 'INTEGRITY_VIOLATION'), 'IntegrityViolation terminates the app'],
    [!sawAny, 'no byte of the tampered page reached the app'],
    [eq(before, after), 'the failed verification left the frame unchanged'],
    [w.engine.violations().some((v) => v.kind === 'mac'), 'a mac security event was recorded'],
    [w.engine.domainStatus(1).terminated, 'the domain is terminated'],
    [!headerVisible, 'no guest-visible copy of the IV/nonce or tag exists (the metadata lives in TVMM memory only)'],
  ]);
}

// ------------------------------------------------------------------ CLK-03
function clk03(seed: number): AttackReport {
  let P1 = new Uint8Array(0) as Uint8Array, P2 = new Uint8Array(0) as Uint8Array;
  let seen: Uint8Array | undefined;
  let snap: Uint8Array | undefined;
  let n = 0;
  const w = world1(seed, function* (p) {
    p.write(VA, P1);
    yield* p.syscall(SYS.getpid); // K encrypts v1 and snapshots it
    p.write(VA, P2);
    yield* p.syscall(SYS.getpid); // K encrypts v2, writes v1 back
    seen = p.read(VA, PAGE_SIZE);
    return 0;
  });
  P1 = secretOf(w, seed);
  P2 = secretOf(w, seed + 1);
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind !== 'syscall') return;
      const g = k.gppnOf(k.proc(t.tid).root, VA);
      if (n === 0) snap = k.readPage(g);
      else if (n === 1) {
        k.readPage(g);
        k.writePage(g, snap!);
      }
      n++;
    },
  };
  w.run();
  return verdict('detected', [
    [killedWith(w, 1, 'REPLAY_DETECTED'), 'ReplayDetected terminates the app'],
    [seen === undefined, 'the app never observes P1'],
    [w.engine.violations().some((v) => v.kind === 'replay'), 'a replay security event was recorded'],
  ]);
}

// ------------------------------------------------------------------ CLK-04
function clk04(seed: number, variant: 'pte' | 'copy'): AttackReport {
  let Pa = new Uint8Array(0) as Uint8Array, Pb = new Uint8Array(0) as Uint8Array;
  let seenA: Uint8Array | undefined;
  let done = false;
  const w = world1(seed, function* (p) {
    p.write(VA, Pa);
    p.write(VB, Pb);
    yield* p.syscall(SYS.getpid);
    seenA = p.read(VA, PAGE_SIZE);
    p.read(VB, PAGE_SIZE);
    return 0;
  });
  Pa = secretOf(w, seed);
  Pb = secretOf(w, seed + 1);
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind !== 'syscall' || done) return;
      done = true;
      const root = k.proc(t.tid).root;
      const ga = k.gppnOf(root, VA), gb = k.gppnOf(root, VB);
      const ca = k.readPage(ga), cb = k.readPage(gb);
      if (variant === 'pte') {
        k.map(root, VA, gb);
        k.map(root, VB, ga);
      } else {
        k.writePage(ga, cb);
        k.writePage(gb, ca);
      }
    },
  };
  w.run();
  return verdict('detected', [
    [killedWith(w, 1, 'INTEGRITY_VIOLATION'), `IntegrityViolation on first access (${variant})`],
    [seenA === undefined || !eq(seenA, Pb), 'the app never sees Pb at Va'],
  ]);
}

// ------------------------------------------------------------------ CLK-05
function clk05(seed: number): AttackReport {
  const checks: [boolean, string][] = [];
  // (a) two apps of the same image in one VM; K copies A1's ciphertext into A2's page.
  {
    const secret: Uint8Array[] = [];
    let a2saw: Uint8Array | undefined;
    const prog = function* (p: Proc): Gen {
      const me = secret.length;
      secret.push(new Uint8Array(PAGE_SIZE).fill(0x41 + me));
      p.write(VA, secret[me]);
      yield* p.syscall(SYS.getpid);
      yield* p.syscall(SYS.getpid);
      const v = p.read(VA, PAGE_SIZE);
      if (me === 1) a2saw = v;
      return 0;
    };
    const host = new Host({ seed, machineMiB: 64 });
    const tvmm = host.boot();
    attachCloaking(tvmm, { cloakPrograms: ['app'] });
    const k = new RogueKernel(['app', 'app']);
    const vm = tvmm.createVm({ name: 'x', kind: 'open-box', pages: 1024, guest: k, programs: { app: prog } });
    tvmm.power(vm, 'on');
    let copied = false;
    const syscalls = new Map<number, number>();
    k.adversary = {
      afterTrap(t) {
        if (t.kind !== 'syscall') return;
        syscalls.set(t.tid, (syscalls.get(t.tid) ?? 0) + 1);
        if (!copied && syscalls.get(1) === 1 && syscalls.get(2) === 1) {
          copied = true;
          const g1 = k.gppnOf(k.proc(1).root, VA), g2 = k.gppnOf(k.proc(2).root, VA);
          k.readPage(g2);
          k.writePage(g2, k.readPage(g1));
        }
      },
    };
    tvmm.run({ maxSlices: 10_000 });
    checks.push([k.exited.get(2) === 'killed:INTEGRITY_VIOLATION', '(a) transplant between apps is detected in A2']);
    checks.push([a2saw === undefined, '(a) A1 plaintext never appears in A2']);
  }
  // (b) H copies a frame from VM X to VM Y running the same image.
  {
    let ysaw: Uint8Array | undefined;
    const host = new Host({ seed, machineMiB: 64 });
    const tvmm = host.boot();
    const eng = attachCloaking(tvmm, { cloakPrograms: ['app'] });
    const mk = (fill: number) => function* (p: Proc): Gen {
      p.write(VA, new Uint8Array(PAGE_SIZE).fill(fill));
      yield* p.syscall(SYS.getpid);
      yield* p.syscall(SYS.getpid);
      const v = p.read(VA, PAGE_SIZE);
      if (fill === 2) ysaw = v;
      return 0;
    };
    const kx = new RogueKernel(['app']), ky = new RogueKernel(['app']);
    const x = tvmm.createVm({ name: 'x', kind: 'open-box', pages: 512, guest: kx, programs: { app: mk(1) } });
    const y = tvmm.createVm({ name: 'y', kind: 'open-box', pages: 512, guest: ky, programs: { app: mk(2) } });
    tvmm.power(x, 'on');
    tvmm.power(y, 'on');
    const god = godView(host);
    let n = 0;
    ky.adversary = {
      afterTrap(t) {
        if (t.kind !== 'syscall' || n++ !== 0) return;
        const gx = kx.gppnOf(kx.proc(1).root, VA), gy = ky.gppnOf(ky.proc(1).root, VA);
        kx.readPage(gx);
        ky.readPage(gy);
        god.pokeFrame(god.frameOf(y, gy), 0, god.peekGppn(x, gx));
      },
    };
    tvmm.run({ maxSlices: 10_000 });
    checks.push([ky.exited.get(1) === 'killed:INTEGRITY_VIOLATION', '(b) cross-VM transplant is detected in Y']);
    checks.push([ysaw === undefined, '(b) X plaintext never appears in Y']);
    void eng;
  }
  // (c) relaunch of the same image: K maps the old instance's ciphertext into the new one.
  {
    let old: Uint8Array | undefined;
    let second: Uint8Array | undefined;
    const w = bootCloaked({
      programs: {
        app: function* (p: Proc): Gen {
          const first = p.argv[0] !== 'again';
          p.write(VA, new Uint8Array(PAGE_SIZE).fill(first ? 7 : 9));
          yield* p.syscall(SYS.getpid);
          const v = p.read(VA, PAGE_SIZE);
          if (!first) second = v;
          return 0;
        } as ProgramFn,
      },
      host: { seed },
    });
    w.kernel.adversary = {
      afterTrap(t, k) {
        if (t.kind !== 'syscall') return;
        const g = k.gppnOf(k.proc(t.tid).root, VA);
        if (!old) old = k.readPage(g);
        else {
          k.readPage(g);
          k.writePage(g, old);
        }
      },
    };
    w.run();
    w.kernel.spawn('app', ['again']);
    w.run();
    checks.push([[...w.kernel.exited.values()].includes('killed:INTEGRITY_VIOLATION'), '(c) the relaunched instance rejects the old ciphertext']);
    checks.push([second === undefined, '(c) the old plaintext never appears']);
  }
  return verdict('detected', checks);
}

// ------------------------------------------------------------------ CLK-07
function clk07(seed: number): AttackReport {
  const views: Uint8Array[] = [];
  const w = world1(seed, function* (p) {
    const a = yield* p.syscall(SYS.mmap, [0, 8 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
    for (let i = 0; i < 8; i++) views.push(p.read(a + i * PAGE_SIZE, PAGE_SIZE));
    return 0;
  });
  const X = new Uint8Array(PAGE_SIZE).fill(0x58);
  w.kernel.adversary = {
    onSyscall(c) {
      if (c.nr !== SYS.mmap || c.args[1] !== 8 * PAGE_SIZE || c.result === undefined) return undefined;
      for (let i = 0; i < 8; i++) c.kernel.writePage(c.kernel.map(c.kernel.proc(c.tid).root, c.result + i * PAGE_SIZE), X);
      return undefined;
    },
  };
  w.run();
  return verdict('blocked', [
    [views.length === 8 && views.every((v) => v.every((b) => b === 0)), 'the app reads zeros on every fresh page'],
    [w.kernel.exited.get(1) === 0, 'the app completes'],
  ]);
}

// ------------------------------------------------------------------ CLK-08
function clk08(seed: number): AttackReport {
  const run = (mode: 'zero' | 'unmapped') => {
    let saw: Uint8Array | undefined;
    const w = world1(seed, function* (p) {
      p.write(VA, new Uint8Array(PAGE_SIZE).fill(0x33));
      yield* p.syscall(SYS.getpid);
      saw = p.read(VA, PAGE_SIZE);
      return 0;
    });
    let done = false;
    w.kernel.adversary = {
      afterTrap(t, k) {
        if (t.kind !== 'syscall' || done) return;
        done = true;
        k.swapOut(t.tid, VA);
        if (mode === 'zero') k.map(k.proc(t.tid).root, VA);
      },
      onFault: () => (mode === 'unmapped' ? false : undefined),
    };
    w.run();
    return { w, saw };
  };
  const z = run('zero');
  const u = run('unmapped');
  return verdict('detected', [
    [killedWith(z.w, 1, 'INTEGRITY_VIOLATION') && z.saw === undefined, 'a zero page returned for a page with metadata is an IntegrityViolation'],
    [String(u.w.kernel.exited.get(1)).startsWith('fault') && u.saw === undefined, 'an unmapped page faults; no zero page is fabricated'],
  ]);
}

// ------------------------------------------------------------------ CLK-10
function clk10(seed: number): AttackReport {
  let P: Uint8Array = new Uint8Array(0);
  let saw: Uint8Array | undefined;
  let n = 0;
  const w = world1(seed, function* (p) {
    p.write(VA, P);
    yield* p.syscall(SYS.getpid); // K: disk write from Va's page
    p.read(VA, PAGE_SIZE);
    yield* p.syscall(SYS.getpid); // K: disk read into Va's page
    saw = p.read(VA, PAGE_SIZE);
    return 0;
  });
  P = secretOf(w, seed);
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind !== 'syscall') return;
      const g = k.gppnOf(k.proc(t.tid).root, VA);
      const d = k.p.disk('disk0');
      if (n === 0) d.write(100, 1, g * PAGE_SIZE);
      else if (n === 1) d.read(200, 1, g * PAGE_SIZE);
      n++;
    },
  };
  w.run();
  const onDisk = w.disk.peek(100);
  return verdict('detected', [
    [!eq(onDisk, P) && onDisk.some((b) => b !== 0), 'DMA from a cloaked page puts ciphertext on disk'],
    [leakScan(w, P).length === 0, 'leakScan over disk and memory is clean'],
    [killedWith(w, 1, 'INTEGRITY_VIOLATION') && saw === undefined, 'DMA into a cloaked page is an IntegrityViolation at the next app read'],
  ]);
}


// ------------------------------------------------------------------ CLK-11
function clk11(seed: number): AttackReport {
  let P: Uint8Array = new Uint8Array(0);
  let back: Uint8Array | undefined;
  let swappedWhilePlain = -1, swappedWhileEnc = -1;
  const w = world1(seed, function* (p) {
    p.write(VA, P);
    yield* p.syscall(SYS.getpid); // host pressure while the page is plaintext in C's view
    yield* p.syscall(SYS.getpid); // the kernel touched it (ENC); host pressure again
    back = p.read(VA, PAGE_SIZE);
    return 0;
  });
  P = secretOf(w, seed);
  const store = new MemorySwapStore(4096);
  const swap = new HostSwap(w.host.memory, store, w.host.sim.rng.fork('swap'), { clusterPages: 1 });
  w.host.memory.hooks.swapIn = (vm, g) => swap.swapIn(vm, g);
  let n = 0;
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind !== 'syscall') return;
      const g = k.gppnOf(k.proc(t.tid).root, VA);
      if (n === 1) k.readPage(g);
      const before = swap.swapped(w.vm);
      swap.pageOut(w.vm, 4000);
      const out = w.host.memory.pmap(w.vm).state[g] & 4 ? 1 : 0;
      if (n === 0) swappedWhilePlain = out;
      else swappedWhileEnc = out;
      void before;
      n++;
    },
  };
  w.run();
  const slots: Uint8Array[] = [];
  for (let s = 0; s < store.slots; s++) slots.push(store.peek(s));
  const scan = leakScan(w, P, Object.fromEntries(slots.map((b, i) => [`swap slot ${i}`, b])));
  return verdict('blocked', [
    [swappedWhilePlain === 0, 'a frame holding cloaked plaintext is never chosen for host swap'],
    [swappedWhileEnc === 1, 'the encrypted page can be swapped (ciphertext only)'],
    [back !== undefined && eq(back, P), 'swap-in is verified and the app reads P'],
    [scan.length === 0, 'the swap device never holds P (leakScan)'],
  ]);
}

// ------------------------------------------------------------------ CLK-12 / 13 / 14
const GP: readonly ('r1' | 'r2' | 'r3' | 'r4' | 'r5' | 'r6' | 'r7' | 'r8' | 'r9' | 'r10' | 'r11' | 'r12' | 'sp' | 'pc' | 'flags')[] =
  ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'r12', 'sp', 'pc', 'flags'];

function clk12(seed: number): AttackReport {
  const vals: number[] = [];
  let faultFrames = 0;
  let restored = false;
  const w = world1(seed, function* (p) {
    const c = p as CloakedProc;
    const set = () => GP.forEach((r, i) => c.setReg(r, vals[i]));
    set();
    yield* p.compute(1000); // a timer interrupt / preemption
    set();
    p.store32(USER_LAYOUT.mmapBase + 5 * PAGE_SIZE, 1); // a page fault handled by the kernel
    restored = GP.every((r, i) => c.getReg(r) === vals[i]);
    return 0;
  });
  const rnd = w.host.sim.rng.fork('regs');
  for (let i = 0; i < GP.length; i++) vals.push((rnd.u32() | 0x10000) >>> 0);
  const faultRegs: number[][] = [];
  w.kernel.adversary = {
    onFault(root, gva, write, k) {
      faultFrames++;
      const tid = [...k.procs.values()].find((x) => x.root === root)!.tid;
      faultRegs.push(GP.map((r) => k.p.getRegister(tid, r)));
      return undefined;
    },
  };
  w.run();
  const seen = [...w.kernel.traps.flatMap((t) => GP.map((r) => t.regs[r])), ...faultRegs.flat()];
  const secretBytes = new Uint8Array(new Uint32Array(vals).buffer);
  return verdict('blocked', [
    [w.kernel.traps.some((t) => t.kind === 'preempt'), 'the kernel took an interrupt'],
    [faultFrames > 0, 'the kernel handled a page fault'],
    [seen.every((v) => v === 0), 'every register the kernel sees is scrubbed to 0'],
    [restored, 'the thread resumes with its registers from the CTC'],
    [leakScan(w, secretBytes.subarray(0, 16)).length === 0, 'leakScan over trap frames is clean'],
  ]);
}

function clk13(seed: number, policy: 'restore' | 'detect' = 'restore'): AttackReport {
  let after: number[] = [];
  const before = [0x1111, 0x2222, 0x3333];
  const w = bootCloaked({
    programs: {
      victim: function* (p: Proc): Gen {
        const c = p as CloakedProc;
        c.setReg('sp', before[0]);
        c.setReg('pc', before[1]);
        c.setReg('flags', before[2]);
        yield* p.compute(1000);
        after = [c.getReg('sp'), c.getReg('pc'), c.getReg('flags')];
        return 0;
      } as ProgramFn,
    },
    host: { seed },
    cloaking: { contextPolicy: policy },
  });
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind !== 'preempt') return;
      k.p.setRegister(t.tid, 'pc', 0xdead0000);
      k.p.setRegister(t.tid, 'sp', 0xbeef0000);
      k.p.setRegister(t.tid, 'flags', 0x100); // trap flag
    },
  };
  w.run();
  if (policy === 'detect')
    return verdict('detected', [[killedWith(w, 1, 'CONTEXT_TAMPER'), 'ContextTamper terminates the app under the detect policy']]);
  return verdict('blocked', [
    [after.length === 3 && after.every((v, i) => v === before[i]), 'the resumed registers equal the CTC; the trap flag is never set'],
    [w.engine.stats().contextEdits === 1, 'the edit was recorded'],
  ]);
}

function clk14(seed: number): AttackReport {
  let r = -1;
  let same = false;
  const w = world1(seed, function* (p) {
    const c = p as CloakedProc;
    GP.forEach((g, i) => c.setReg(g, 0x1000 + i));
    r = yield* p.syscall(SYS.read, [0, VA, 100]);
    same = GP.every((g, i) => c.getReg(g) === 0x1000 + i);
    return 0;
  });
  w.kernel.adversary = {
    onSyscall(c) {
      if (c.nr !== SYS.read) return undefined;
      for (const g of ['sp', 'pc', 'r1', 'r2', 'r3', 'flags'] as const) c.kernel.p.setRegister(c.tid, g, 0x41414141);
      return 10;
    },
  };
  w.run();
  return verdict('blocked', [
    [r === 10, 'only r0 carries the kernel value (10, validated ≤ 100)'],
    [same, 'every other register comes from the CTC'],
  ]);
}

// ------------------------------------------------------------------ CLK-16 / 17
function iagoRun(seed: number, body: (p: Proc) => Gen, override: (nr: number, args: readonly number[], r: number | undefined) => number | undefined): CloakWorld {
  const w = world1(seed, body);
  w.kernel.adversary = { onSyscall: (c) => override(c.nr, c.args, c.result) };
  w.run();
  return w;
}

function clk16(seed: number): AttackReport {
  const L = USER_LAYOUT;
  const lies: [string, (prev: number) => number][] = [
    ['inside the stack', () => L.stackTop - 4 * PAGE_SIZE],
    ['inside the shim buffer', () => -1],
    ['an existing heap mapping', (prev) => prev],
    ['a non-page-aligned address', () => L.mmapBase + 0x10123],
    ['0', () => 0],
    ['the kernel half', () => L.kernelBase + PAGE_SIZE],
  ];
  const checks: [boolean, string][] = [];
  for (const [what, lie] of lies) {
    let reached = false;
    let nMmap = 0;
    let first = 0;
    let shim = 0;
    const w = iagoRun(seed, function* (p) {
      p.write(VA, new Uint8Array(16).fill(1));
      yield* p.syscall(SYS.write, [1, VA, 4]); // sets up the shim buffer
      yield* p.syscall(SYS.mmap, [0, 16 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      yield* p.syscall(SYS.mmap, [0, 16 * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      reached = true;
      return 0;
    }, (nr, args, r) => {
      if (nr !== SYS.mmap || r === undefined) return undefined;
      nMmap++;
      if (nMmap === 1) shim = r;
      if (nMmap === 2) first = r;
      if (nMmap !== 3) return undefined;
      const v = lie(first);
      return v === -1 ? shim : v;
    });
    checks.push([!reached && killedWith(w, 1, 'IAGO_VIOLATION'), `mmap returning ${what} is an IagoViolation`]);
  }
  return verdict('detected', checks);
}

function clk17(seed: number): AttackReport {
  const checks: [boolean, string][] = [];
  const readWith = (ret: number) => {
    let got = -1;
    const w = iagoRun(seed, function* (p) {
      got = yield* p.syscall(SYS.read, [0, VA, 100]);
      return 0;
    }, (nr) => (nr === SYS.read ? ret >>> 0 : undefined));
    return { w, got };
  };
  for (const bad of [4096, -5000, 2 ** 31]) checks.push([killedWith(readWith(bad).w, 1, 'IAGO_VIOLATION'), `read returning ${bad} for 100 bytes is an IagoViolation`]);
  checks.push([readWith(100).got === 100, 'read returning 100 is accepted']);
  checks.push([readWith(-9).got === (-9 >>> 0), 'only −4095…−1 map to errno']);
  {
    let threw = false;
    const w = world1(seed, function* (p) {
      yield* p.syscall(SYS.getpid);
      return 0;
    });
    w.kernel.adversary = {
      onSyscall(c) {
        for (const v of [100.5, NaN]) {
          try {
            c.kernel.p.setRegister(c.tid, 'r0', v);
          } catch (e) {
            threw = e instanceof RangeError || e instanceof TypeError;
          }
        }
        return undefined;
      },
    };
    w.run();
    checks.push([threw, 'non-integer results (100.5, NaN) cannot even be placed in a register']);
  }
  const w2 = iagoRun(seed, function* (p) {
    yield* p.syscall(SYS.write, [1, VA, 10]);
    return 0;
  }, (nr) => (nr === SYS.write ? 11 : undefined));
  checks.push([killedWith(w2, 1, 'IAGO_VIOLATION'), 'write returning more than requested is an IagoViolation']);
  const w3 = iagoRun(seed, function* (p) {
    p.write(VA, new TextEncoder().encode('/f\0'));
    const fd = yield* p.syscall(SYS.open, [VA, O.CREAT | O.RDWR, 0o600]);
    yield* p.syscall(SYS.lseek, [fd, 0, SEEK.END]);
    return 0;
  }, (nr) => (nr === SYS.lseek ? 0x80000005 : undefined));
  checks.push([killedWith(w3, 1, 'IAGO_VIOLATION'), 'lseek returning a negative (non-errno) offset is an IagoViolation']);
  return verdict('detected', checks);
}

// ------------------------------------------------------------------ CLK-19
function clk19(seed: number): AttackReport {
  const keys: string[] = [], names: string[] = [];
  let mono = true;
  const host = new Host({ seed, machineMiB: 64 });
  const tvmm = host.boot();
  attachCloaking(tvmm, { cloakPrograms: ['app'] });
  const k = new RogueKernel(['app', 'app']);
  k.fixedPid = 42;
  const vm = tvmm.createVm({
    name: 'x', kind: 'open-box', pages: 1024, guest: k, programs: {
      app: function* (p: Proc): Gen {
        const c = p as CloakedProc;
        const pid = yield* p.syscall(SYS.getpid);
        keys.push(Array.from(c.random(32)).join(','));
        names.push(c.tempName(`/tmp/${pid}-`));
        const t1 = c.monotonicUs();
        yield* p.compute(5000);
        if (c.monotonicUs() < t1) mono = false;
        return 0;
      } as ProgramFn,
    },
  });
  tvmm.power(vm, 'on');
  tvmm.run({ maxSlices: 10_000 });
  return verdict('blocked', [
    [keys.length === 2 && keys[0] !== keys[1], 'two cloaked processes get different keys from TVMM randomness'],
    [names.length === 2 && names[0] !== names[1], 'temp names differ although getpid lies'],
    [mono, 'the shim clock never goes backwards'],
  ]);
}

// ------------------------------------------------------------------ CLK-20
function clk20(seed: number): AttackReport {
  let handled: number[] = [];
  let regsOk = false;
  let bogusRefused = false;
  const w = world1(seed, function* (p) {
    const c = p as CloakedProc;
    c.setReg('r9', 0xabcdef);
    yield* p.syscall(SYS.signal, [SIG.SIGUSR1], function* () {
      handled.push(SIG.SIGUSR1);
      yield* p.syscall(SYS.getpid); // K forges registers while the handler runs
      return 0;
    });
    yield* p.syscall(SYS.getpid);
    yield* p.syscall(SYS.getpid);
    regsOk = c.getReg('r9') === 0xabcdef;
    return 0;
  });
  let handlerId = 0;
  let n = 0;
  w.kernel.adversary = {
    onSyscall(c) {
      if (c.nr === SYS.signal) handlerId = c.result ?? 0;
      if (c.nr === SYS.getpid) {
        n++;
        if (n === 1) {
          try {
            c.kernel.p.deliverSignal(c.tid, handlerId + 7, SIG.SIGUSR1); // (a) an address the app never registered
          } catch (e) {
            bogusRefused = e instanceof TerraError;
          }
          c.kernel.p.deliverSignal(c.tid, handlerId, SIG.SIGUSR2); // (b) no handler registered for SIGUSR2
          c.kernel.p.deliverSignal(c.tid, handlerId, SIG.SIGUSR1); // a genuine delivery
        }
        if (n === 2) for (const r of ['r9', 'sp', 'pc'] as const) c.kernel.p.setRegister(c.tid, r, 0x41414141); // (c)
      }
      return undefined;
    },
  };
  w.run();
  handled = [...handled];
  return verdict('blocked', [
    [bogusRefused, '(a) a handler the app never registered cannot be invoked'],
    [handled.length === 1 && handled[0] === SIG.SIGUSR1, '(b) an unregistered signal gets the default action; only registered handlers run'],
    [regsOk, '(c) registers after sigreturn equal the pre-signal CTC'],
  ]);
}

// ------------------------------------------------------------------ CLK-22
/** Runs the cloaked-file rollback scenario; exported for the test. */
export function clk22(seed: number): AttackReport {
  const results: string[] = [];
  const app: ProgramFn = function* (p: Proc): Gen {
    const phase = p.argv[0];
    p.write(VA, new TextEncoder().encode('/cloaked/F\0'));
    const fd = yield* p.syscall(SYS.open, [VA, O.CREAT | O.RDWR, 0o600]);
    const page = (tag: number) => new Uint8Array(PAGE_SIZE).fill(tag);
    if (phase === 'v1') {
      for (let b = 0; b < 4; b++) {
        p.write(VB, page(0x10 + b));
        yield* p.syscall(SYS.write, [fd, VB, PAGE_SIZE]);
      }
    } else if (phase === 'v2') {
      yield* p.syscall(SYS.lseek, [fd, PAGE_SIZE, SEEK.SET]);
      for (let b = 1; b < 3; b++) {
        p.write(VB, page(0x20 + b));
        yield* p.syscall(SYS.write, [fd, VB, PAGE_SIZE]);
      }
    } else {
      const r = yield* p.syscall(SYS.read, [fd, VB, 4 * PAGE_SIZE > 65536 ? 65536 : 4 * PAGE_SIZE]);
      results.push(`${phase}:${r}:${p.load8(VB)},${p.load8(VB + PAGE_SIZE)},${p.load8(VB + 2 * PAGE_SIZE)}`);
    }
    yield* p.syscall(SYS.close, [fd]);
    return 0;
  };
  const w = bootCloaked({ programs: { vault: app }, start: [], host: { seed } });
  const k = w.kernel;
  const blocks = () => {
    const m = new Map<number, Uint8Array>();
    for (const l of w.disk.writtenBlocks()) m.set(l, w.disk.peek(l));
    return m;
  };
  /** Serves the `pick`ed blocks as they were in `snap` (blocks written since read as zeros, as on a disk image of then). */
  const restore = (snap: Map<number, Uint8Array>, pick: (lba: number) => boolean) => {
    for (const l of w.disk.writtenBlocks()) if (pick(l) && !snap.has(l)) w.disk.poke(l, new Uint8Array(4096));
    for (const [l, b] of snap) if (pick(l)) w.disk.poke(l, b);
    k.pageCache.clear();
  };
  const sizes = () => new Map([...k.fs].map(([n, i]) => [n, i.size]));
  const setSizes = (m: Map<string, number>, names: string[]) => {
    for (const n of names) if (k.fs.has(n)) k.fs.get(n)!.size = m.get(n) ?? 0;
  };
  const step = (phase: string) => {
    const tid = k.spawn("vault", [phase]);
    w.run();
    return k.exited.get(tid);
  };
  const DATA = '/cloaked/F', META = DATA + META_SUFFIX, COW = DATA + COW_SUFFIX;
  step('v1');
  const v1 = blocks();
  const sizes1 = sizes();
  step('v2');
  // Crash-consistent updates keep two slots per page (the file and its .tccow shadow) and two metadata slots.
  const region = (name: string) => {
    const b = k.fs.get(name)!.base;
    return (l: number) => l >= b && l < b + 256;
  };
  const isData = region(DATA), isCow = region(COW), isMeta = region(META);
  const honest = step('read');
  const cur = blocks(); // version 2 as the honest kernel holds it
  const sizes2 = sizes();
  // (3) all of version 1
  restore(v1, (l) => isData(l) || isCow(l) || isMeta(l));
  setSizes(sizes1, [DATA, COW, META]);
  const r3 = step('read');
  // (4) version-2 metadata with version-1 block b1 (served where version 2 keeps page 1)
  restore(cur, (l) => isData(l) || isCow(l) || isMeta(l));
  setSizes(sizes2, [DATA, COW, META]);
  const b1 = v1.get(k.fs.get(DATA)!.base + 1)!;
  w.disk.poke(k.fs.get(COW)!.base + 1, b1);
  w.disk.poke(k.fs.get(DATA)!.base + 1, b1);
  k.pageCache.clear();
  const r4 = step('read');
  // (5) version-1 metadata with version-2 blocks
  restore(cur, (l) => isData(l) || isCow(l));
  restore(v1, isMeta);
  setSizes(sizes1, [META]);
  const r5 = step('read');
  return verdict('detected', [
    [honest === 0 && results[0] === 'read:16384:16,33,34', `an honest reopen reads version 2 (${results[0]})`],
    [r3 === 'killed:ROLLBACK_DETECTED', `(3) serving version 1 is RollbackDetected (${String(r3)})`],
    [r4 === 'killed:INTEGRITY_VIOLATION' || r4 === 'killed:REPLAY_DETECTED', `(4) v2 metadata with a v1 block is an IntegrityViolation (${String(r4)})`],
    [r5 === 'killed:ROLLBACK_DETECTED' || r5 === 'killed:INTEGRITY_VIOLATION', `(5) v1 metadata with v2 blocks is detected (${String(r5)})`],
    [results.length === 1, 'no tampered read returned data'],
  ]);
}

// ------------------------------------------------------------------ CLK-24 (R)
function clk24(seed: number): AttackReport {
  const table = USER_LAYOUT.mmapBase + 64 * PAGE_SIZE;
  const observed: number[] = [];
  let secretNibble = 0;
  const w = bootCloaked({
    programs: {
      victim: function* (p: Proc): Gen {
        for (let i = 0; i < 16; i++) p.store32(table + i * PAGE_SIZE, i);
        for (let it = 0; it < 100; it++) {
          yield* p.compute(100);
          p.load32(table + secretNibble * PAGE_SIZE + 0x124);
        }
        return 0;
      } as ProgramFn,
    },
    host: { seed },
    cloaking: { pagingAlarmPerMs: 50 },
  });
  secretNibble = w.host.sim.rng.fork('nibble').int(16);
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind !== 'preempt') return;
      const root = k.proc(t.tid).root;
      for (let i = 0; i < 16; i++) {
        const g = k.gppnOf(root, table + i * PAGE_SIZE);
        if (g >= 0) k.setPte(root, table + i * PAGE_SIZE, (g << 12) | 6); // clear present
      }
    },
    onFault(root, gva, write, k) {
      observed.push(gva);
      const pte = k.pte(root, gva);
      if (pte >>> 12 && !(pte & 1)) {
        k.setPte(root, gva, pte | 1);
        return true;
      }
      return undefined;
    },
  };
  w.run();
  const inTable = observed.filter((g) => g >= table && g < table + 16 * PAGE_SIZE);
  return verdict('detected', [
    [observed.every((g) => g % PAGE_SIZE === 0), 'the kernel observes page-aligned addresses only (no intra-page offset)'],
    [inTable.length >= 100 && inTable.slice(-100).every((g) => g === table + secretNibble * PAGE_SIZE), 'documented residual leak: the page sequence reveals the secret-indexed page'],
    [w.engine.stats().pagingAlarms > 0, 'the paging-anomaly alarm fired'],
  ]);
}

// ------------------------------------------------------------------ CLK-25 (R)
function clk25(seed: number): AttackReport {
  const cts: Uint8Array[] = [];
  const w = world1(seed, function* (p) {
    p.write(VA, new Uint8Array(PAGE_SIZE).fill(5));
    yield* p.syscall(SYS.getpid); // C1
    p.read(VA, 16); // PT_RO, no write
    yield* p.syscall(SYS.getpid); // C2 (clean page)
    p.write(VA, new Uint8Array(PAGE_SIZE).fill(5)); // same value again
    yield* p.syscall(SYS.getpid); // C3
    return 0;
  });
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind === 'syscall') cts.push(k.readPage(k.gppnOf(k.proc(t.tid).root, VA)));
    },
  };
  w.run();
  return verdict('blocked', [
    [cts.length >= 3 && !eq(cts[0], cts[2]), '(b) writing the same value again gives a different ciphertext (fresh nonce)'],
    [cts.length >= 2 && eq(cts[0], cts[1]), '(a) documented policy: a clean PT_RO page re-encrypts to the same ciphertext ("page unchanged" leaks)'],
  ]);
}

// ------------------------------------------------------------------ CLK-26
/** A provider wrapper that logs every (key, nonce) use with a digest of its plaintext. */
export function nonceLoggingProvider(base: CryptoProvider, log: Map<string, string>, reuse: string[]): CryptoProvider {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const note = (key: Uint8Array, nonce: Uint8Array, pt: Uint8Array) => {
    const k = `${hex(key)}|${hex(nonce)}`;
    const d = hex(base.sha256(pt));
    const prev = log.get(k);
    if (prev !== undefined && prev !== d) reuse.push(k);
    log.set(k, d);
  };
  return Object.freeze({
    ...base,
    aeadSeal(suite, key, nonce, pt, aad) {
      note(key, nonce, pt);
      return base.aeadSeal(suite, key, nonce, pt, aad);
    },
    aesCbcEncrypt(key, iv, data) {
      note(key, iv, data);
      return base.aesCbcEncrypt(key, iv, data);
    },
  } satisfies CryptoProvider);
}

/** Runs CLK-26 for one suite. */
export function clk26(seed: number, suite: CloakSuiteName = 'aes-256-gcm'): AttackReport {
  const log = new Map<string, string>();
  const reuse: string[] = [];
  const crypto = nonceLoggingProvider(nobleProvider, log, reuse);
  const nv = new MemoryNvStore();
  const disk = new MemoryDisk(4096);
  const fs = new Map();
  const prog: ProgramFn = function* (p: Proc): Gen {
    p.write(VB, new TextEncoder().encode('/cloaked/n\0'));
    const fd = yield* p.syscall(SYS.open, [VB, O.CREAT | O.RDWR, 0o600]);
    for (let i = 0; i < 20; i++) {
      p.write(VA, new Uint8Array(PAGE_SIZE).fill(i));
      yield* p.syscall(SYS.getpid);
      yield* p.syscall(SYS.write, [fd, VA, PAGE_SIZE]);
    }
    yield* p.syscall(SYS.close, [fd]);
    return 0;
  };
  const boots: CloakWorld[] = [];
  // Three lives of the same image with the same seed: a run, a relaunch, a crash and recovery (C2) with the persisted NV store.
  for (let life = 0; life < 3; life++) {
    const w = bootCloaked({ programs: { app: prog }, host: { seed }, cloaking: { suite, crypto, nv: life === 2 ? MemoryNvStore.fromSnapshot(nv.snapshot()) : nv }, disk, fs });
    w.run();
    if (life === 1) {
      w.kernel.spawn('app'); // relaunch of the same image in the same TVMM
      w.run();
    }
    boots.push(w);
  }
  return verdict('blocked', [
    [boots.every((w) => [...w.kernel.exited.values()].every((v) => v === 0)), 'every life completes'],
    [log.size >= 60, `many encryptions were logged (${log.size})`],
    [reuse.length === 0, 'no (key, nonce) pair ever encrypted two different plaintexts'],
  ]);
}

/** Every CLK scenario, for `terracloak attacks` and test/attacks/CLK-*.test.ts. */
export const cloakAttacks: readonly AttackScenario[] = [
  { id: 'CLK-01', area: 'CLK', attack: 'Kernel reads a cloaked page through its own view', expected: 'only ciphertext; the app still reads its plaintext', run: clk01 },
  { id: 'CLK-02', area: 'CLK', attack: 'Bit flip in an encrypted cloaked page', expected: 'IntegrityViolation, domain terminated, frame unchanged', run: (s) => clk02Flip(s, (s * 7919) % 32768) },
  { id: 'CLK-03', area: 'CLK', attack: 'Replay an older ciphertext with its then-valid metadata', expected: 'ReplayDetected, app never sees P1', run: clk03 },
  { id: 'CLK-04', area: 'CLK', attack: 'Swap two cloaked pages (PTEs or contents)', expected: 'IntegrityViolation on first access', run: (s) => { const a = clk04(s, 'pte'), b = clk04(s, 'copy'); return a.outcome !== 'detected' ? a : b; } },
  { id: 'CLK-05', area: 'CLK', attack: 'Transplant a page between apps, VMs or instances', expected: 'IntegrityViolation in the target', run: clk05 },
  { id: 'CLK-07', area: 'CLK', attack: 'First-touch injection into a fresh page', expected: 'the app reads zeros', run: clk07 },
  { id: 'CLK-08', area: 'CLK', attack: 'A swapped-out page comes back as zeros or never', expected: 'IntegrityViolation; a fault, never a fabricated zero page', run: clk08 },
  { id: 'CLK-10', area: 'CLK', attack: 'Device DMA against a cloaked page', expected: 'ciphertext on disk; IntegrityViolation after DMA in', run: clk10 },
  { id: 'CLK-11', area: 'CLK', attack: 'Host swapping of a frame that holds cloaked plaintext', expected: 'swap never holds plaintext; swap-in verified', run: clk11 },
  { id: 'CLK-12', area: 'CLK', attack: 'Register contents at interrupts and faults', expected: 'every kernel-visible register scrubbed; real state in the CTC', run: clk12 },
  { id: 'CLK-13', area: 'CLK', attack: 'Trap-frame tampering before resume', expected: 'resumed registers equal the CTC', run: (s) => clk13(s) },
  { id: 'CLK-14', area: 'CLK', attack: 'Register tampering at syscall return', expected: 'only r0 carries the kernel value', run: clk14 },
  { id: 'CLK-16', area: 'CLK', attack: 'Iago: mmap returns an overlapping or impossible address', expected: 'IagoViolation every time', run: clk16 },
  { id: 'CLK-17', area: 'CLK', attack: 'Iago: out-of-range syscall results', expected: 'IagoViolation; only −4095…−1 are errno', run: clk17 },
  { id: 'CLK-19', area: 'CLK', attack: 'Kernel-supplied randomness, time and identity', expected: 'TVMM entropy; distinct keys and names; monotonic clock', run: clk19 },
  { id: 'CLK-20', area: 'CLK', attack: 'Signal forgery', expected: 'only registered handlers; default action; CTC restored', run: clk20 },
  { id: 'CLK-22', area: 'CLK', attack: 'Rollback or mix-and-match of a cloaked file', expected: 'RollbackDetected / IntegrityViolation', run: clk22 },
  { id: 'CLK-24', area: 'CLK', attack: 'Controlled channel through page faults (R)', expected: 'page-granular leak only; paging alarm', run: clk24 },
  { id: 'CLK-25', area: 'CLK', attack: 'Ciphertext side channel (R)', expected: 'fresh nonce per write; clean-page reuse documented', run: clk25 },
  { id: 'CLK-26', area: 'CLK', attack: 'AEAD nonce reuse across relaunch and recovery', expected: 'no (key, nonce) pair reused', run: (s) => clk26(s) },
];

/** Internal helpers re-exported for the tests. */
export const cloakScenarioParts = { clk04, clk13 } as const;
