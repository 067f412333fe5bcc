/**
 * Memory threat scenarios (threats.md §4 MEM-*, plus ISO-02, FLT-01, FLT-02, FLT-08, FLT-10) against
 * the ESX memory manager (Waldspurger, OSDI'02) with the sharing-side-channel lessons of the
 * TPS/salting change. Each scenario builds its own machine from a seed and reports whether the attack
 * was blocked, detected, or LEAKED. The god view here is the MemoryManager / MachineMemory / swap
 * store objects, which no adversary hook can reach.
 */
import {
  createSimContext, NS_PER_S, PAGE_SIZE, SimulatedCrash, TerraError, type Gppn, type Mpn, type VmId,
} from '../sim/index.js';
import {
  BALLOON_HC, balloonMaskCount, COW_CRASH_POINTS, EsxMemory, FrameFlag, MachineMemory, MemoryManager, MemorySwapStore, MERGE_CRASH_POINTS,
  PageState, type EsxOptions, type Hash64,
} from '../memory/index.js';
import { PhysView, ShadowMmu } from '../tvmm/index.js';
import type { AttackReport, AttackScenario } from './types.js';

const V1 = 1 as VmId, V2 = 2 as VmId, V3 = 3 as VmId;

/** A machine with the ESX manager, for scenarios (and tests). */
export function memoryLab(frames: number, opts: EsxOptions = {}, seed = 1) {
  const ctx = createSimContext({ seed });
  const machine = new MachineMemory(frames);
  const mm = new MemoryManager(ctx, machine);
  const esx = new EsxMemory(mm, { overheadPages: 0, sharingEnabled: false, autoBalloon: false, ...opts });
  const write = (vm: VmId, g: number, data: Uint8Array | number) => {
    const b = machine.bytes(mm.resolve(vm, g as Gppn, true));
    if (typeof data === 'number') b.fill(data);
    else {
      b.fill(0);
      b.set(data);
    }
  };
  const read = (vm: VmId, g: number) => machine.bytes(mm.resolve(vm, g as Gppn, false)).slice();
  return { ctx, machine, mm, esx, write, read };
}

/** A seeded high-entropy page. */
export function secretPage(seed: number, label: string): Uint8Array {
  return createSimContext({ seed }).rng.fork(label).bytes(PAGE_SIZE);
}

/** True when any 16-byte window of `secret` occurs in `hay` (threats §0.2 leakScan). */
export function leaks(secret: Uint8Array, hay: Uint8Array): boolean {
  for (let s = 0; s + 16 <= secret.length; s += 16) {
    const w = secret.subarray(s, s + 16);
    outer: for (let i = hay.indexOf(w[0]); i >= 0 && i + 16 <= hay.length; i = hay.indexOf(w[0], i + 1)) {
      for (let k = 1; k < 16; k++) if (hay[i + k] !== w[k]) continue outer;
      return true;
    }
  }
  return false;
}

function eq(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const report = (outcome: AttackReport['outcome'], detail: string): AttackReport => ({ outcome, detail });

// ---------------------------------------------------------------------------------------------- MEM-01

/** One world of MEM-01: cloaked pages (VM1, VM2) hold `cloaked`; VM3 (uncloaked, the observer) holds P. */
export function mem01World(seed: number, cloaked: Uint8Array, p: Uint8Array, cloak = true) {
  const lab = memoryLab(512, { sharing: { perVmPagesPerScan: 64, systemPagesPerScan: 128 } }, seed);
  const { mm, machine, esx, write, ctx } = lab;
  for (const v of [V1, V2, V3]) {
    esx.addVm(v, 64);
    esx.setSharingDomain(v, 'everyone'); // the most permissive configuration
  }
  for (const v of [V1, V2]) {
    for (const g of [5, 6]) {
      write(v, g, cloaked); // app-view plaintext
      if (!cloak) continue; // the naive control: the scanner sees raw plaintext
      mm.pmap(v).state[g] |= PageState.CLOAKED;
      machine.flags[mm.pmap(v).mpn[g]] |= FrameFlag.CLOAKED;
    }
  }
  write(V3, 9, p);
  for (let g = 10; g < 20; g++) write(V3, g, 0x42);
  let sharedCloaked = 0;
  let indexedCloaked = 0;
  const observed: unknown[] = [];
  for (let round = 0; round < 50; round++) {
    esx.sharing.scan();
    for (const v of [V1, V2])
      for (const g of [5, 6]) {
        const pm = mm.pmap(v);
        if (pm.state[g] & PageState.SHARED || machine.flags[pm.mpn[g]] & FrameFlag.SHARED) sharedCloaked++;
        if (esx.sharing.isIndexed(pm.mpn[g] as Mpn)) indexedCloaked++;
      }
    // The attacker's view: its time to write its P page, its faults, its own sharing stats.
    const t0 = ctx.clock.now;
    write(V3, 9, p);
    observed.push({ dt: ctx.clock.now - t0, vm3: esx.sharing.vmStats(V3), mgr: mm.stats().cowBreaks });
  }
  return { sharedCloaked, indexedCloaked, observed, global: esx.sharing.stats() };
}

const MEM01: AttackScenario = {
  id: 'MEM-01',
  area: 'MEM',
  attack: 'Learn cloaked-data equality or get a write channel through page merging of app-view plaintext.',
  expected: 'No cloaked frame is ever shared or indexed; sharing stats and attacker traces identical across twoWorlds.',
  run(seed) {
    const P = secretPage(seed, 'mem01/P');
    const Q = secretPage(seed, 'mem01/Q');
    const a = mem01World(seed, P, P);
    const b = mem01World(seed, Q, P);
    if (a.sharedCloaked || a.indexedCloaked || b.sharedCloaked || b.indexedCloaked) return report('LEAKED', `cloaked page shared ${a.sharedCloaked + b.sharedCloaked}× / indexed ${a.indexedCloaked + b.indexedCloaked}×`);
    if (!eq(a.observed, b.observed) || !eq(a.global, b.global)) return report('LEAKED', 'attacker-observable trace differs between the two worlds');
    return report('blocked', `50 scan rounds: cloaked pages never hashed, indexed or merged; traces identical (${a.observed.length} observations)`);
  },
};

// ---------------------------------------------------------------------------------------------- MEM-02

/** One world of MEM-02: the victim (VM1) holds `victim`; attacker VM2 allocates G and times a write. */
export function mem02World(seed: number, victim: Uint8Array, g: Uint8Array, sameSalt: boolean) {
  const lab = memoryLab(512, { sharingEnabled: true, sharing: { perVmPagesPerScan: 64, systemPagesPerScan: 128 } }, seed);
  const { mm, esx, write, read, ctx } = lab;
  esx.addVm(V1, 64);
  esx.addVm(V2, 64);
  if (sameSalt) {
    esx.setSharingDomain(V1, 'same');
    esx.setSharingDomain(V2, 'same');
  }
  write(V1, 7, victim);
  write(V2, 3, g);
  for (let k = 0; k < 20; k++) esx.tick();
  const t0 = ctx.clock.now;
  const before = mm.stats().cowBreaks;
  const b = mm.machine.bytes(mm.resolve(V2, 3 as Gppn, true));
  b[0] ^= 1;
  const tWrite = ctx.clock.now - t0;
  const t1 = ctx.clock.now;
  read(V2, 3);
  return { tWrite, tRead: ctx.clock.now - t1, faults: mm.stats().cowBreaks - before, own: esx.sharing.vmStats(V2) };
}

const MEM02: AttackScenario = {
  id: 'MEM-02',
  area: 'MEM',
  attack: 'Detect whether a co-tenant holds a guessed page by the copy-on-write fault time of an equal page.',
  expected: 'Default configuration (salted: no inter-VM sharing): attacker traces identical; same-salt control shows the leak.',
  run(seed) {
    const G = secretPage(seed, 'mem02/G');
    const G2 = G.slice();
    G2[1000] ^= 0x40;
    const a = mem02World(seed, G, G, false), b = mem02World(seed, G2, G, false);
    if (!eq(a, b)) return report('LEAKED', `default config: traces differ ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    const ca = mem02World(seed, G, G, true), cb = mem02World(seed, G2, G, true);
    const control = eq(ca, cb) ? 'control did NOT differ' : `same-salt control differs (COW write ${ca.tWrite} ns vs ${cb.tWrite} ns)`;
    return report('blocked', `default: identical traces (write ${a.tWrite} ns, ${a.faults} COW faults); ${control}`);
  },
};

// ---------------------------------------------------------------------------------------------- MEM-04

const MEM04: AttackScenario = {
  id: 'MEM-04',
  area: 'MEM',
  attack: 'Two different pages share the scanner hash (weak 8-byte hash injected).',
  expected: 'No merge; each VM reads its own content; the index entry is not overwritten.',
  run(seed) {
    const weak = (w: Int32Array, off: number, _salt: number, out: Hash64) => ((out.lo = w[off]), (out.hi = w[off + 1]), out);
    const { mm, esx, write, read } = memoryLab(256, { sharing: { hasher: weak } }, seed);
    esx.addVm(V1, 16);
    esx.addVm(V2, 16);
    esx.setSharingDomain(V1, 'd');
    esx.setSharingDomain(V2, 'd');
    const a = secretPage(seed, 'mem04/a');
    const b = secretPage(seed, 'mem04/b');
    b.set(a.subarray(0, 8));
    write(V1, 2, a);
    write(V2, 2, b);
    esx.sharing.tryShare(V1, 2 as Gppn);
    const r = esx.sharing.tryShare(V2, 2 as Gppn);
    const ok = r === 'false-match' && eq(read(V1, 2), a) && eq(read(V2, 2), b) && esx.sharing.isIndexed(mm.pmap(V1).mpn[2] as Mpn) && mm.pmap(V1).mpn[2] !== mm.pmap(V2).mpn[2];
    return ok ? report('blocked', `hash collision → ${r}; false_matches=${esx.sharing.stats().false_matches}; hint entry kept`) : report('LEAKED', `outcome ${r}`);
  },
};

// ---------------------------------------------------------------------------------------------- MEM-05

const MEM05: AttackScenario = {
  id: 'MEM-05',
  area: 'MEM',
  attack: 'Modify a shared frame through a side path: DMA, balloon deflate, cloak adoption, swap-in, device status page.',
  expected: 'Every path unshares first; the other sharer’s content hash stays constant (P5).',
  run(seed) {
    const lab = memoryLab(512, {}, seed);
    const { mm, esx, machine, write, read, ctx } = lab;
    const mmu = new ShadowMmu(ctx, machine, mm);
    esx.addVm(V1, 32);
    esx.addVm(V2, 32);
    for (const v of [V1, V2]) {
      mmu.addVm(v);
      esx.setSharingDomain(v, 'd');
    }
    const S = secretPage(seed, 'mem05/S');
    const share = (g: number) => {
      write(V1, g, S);
      write(V2, g, S);
      esx.sharing.tryShare(V1, g as Gppn);
      return esx.sharing.tryShare(V2, g as Gppn) === 'merged';
    };
    const checks: string[] = [];
    const phys = new PhysView(mm, mmu, V1, () => false);
    // (a) DMA from A's virtual disk into the shared gppn (PhysView.write is the TVMM's DMA path).
    if (share(1)) phys.write(1 * PAGE_SIZE, new Uint8Array(64).fill(0xaa));
    else checks.push('a: no merge');
    // (b) balloon deflate back to A.
    if (share(2)) {
      esx.setBalloonTarget(V1, 1);
      esx.hypercall(BALLOON_HC.INFLATE, { vm: V1, mode: 'kernel' }, [2]);
      esx.hypercall(BALLOON_HC.DEFLATE, { vm: V1, mode: 'kernel' }, [2]);
      phys.zeroPage(2);
    } else checks.push('b: no merge');
    // (c) A's cloaked app adopts the page: the cloak engine must take a private frame first.
    if (share(3)) {
      const m = mm.makePrivate(V1, 3 as Gppn);
      mm.pmap(V1).state[3] |= PageState.CLOAKED;
      machine.flags[m] |= FrameFlag.CLOAKED;
      machine.bytes(m).fill(0x55); // "encrypted in place"
    } else checks.push('c: no merge');
    // (d) swap-in into the gppn: swap A's copy out (it is shared, so it is not swappable: share first) and write after.
    if (share(4)) {
      esx.swap.pageOut(V1, 32);
      write(V1, 4, 0x11);
    } else checks.push('d: no merge');
    // (e) an emulated device writes a status page that happens to be shared.
    if (share(5)) phys.store32(5 * PAGE_SIZE + 8, 0xdeadbeef);
    else checks.push('e: no merge');
    for (const g of [1, 2, 3, 4, 5]) if (!eq(read(V2, g), S)) checks.push(`B's page ${g} changed`);
    const bad = esx.sharing.verifySharedFrames();
    if (bad.length) checks.push(`shared frames rewritten: ${bad.join(',')}`);
    const inv = mm.checkInvariants().violations;
    if (inv.length) checks.push(inv[0]);
    return checks.length ? report('LEAKED', checks.join('; ')) : report('blocked', 'DMA, deflate+zero, cloak adoption, swap and device writes all broke COW first; B unchanged');
  },
};

// ---------------------------------------------------------------------------------------------- MEM-07

const MEM07: AttackScenario = {
  id: 'MEM-07',
  area: 'MEM',
  attack: 'The guest balloon driver never responds, acknowledges 0 pages, or crawls at 1 page/s.',
  expected: 'After the timeout the TVMM reaches its target by host swap; guest stays correct; accounting exact; VM not killed.',
  run(seed) {
    const halts: string[] = [];
    const lab = memoryLab(1000, { autoBalloon: true, balloonTimeoutNs: 3 * NS_PER_S, swapSlots: 4000, onHalt: (_v, r) => halts.push(r) }, seed);
    const { mm, esx, write, read, machine, ctx } = lab;
    esx.addVm(V1, 600);
    esx.addVm(V2, 600);
    const pat = (vm: number, g: number) => (vm * 1000 + g) & 0xff;
    for (let g = 0; g < 480; g++) write(V1, g, pat(1, g) || 1);
    for (let g = 0; g < 490; g++) write(V2, g, pat(2, g) || 1);
    let slow = 0;
    for (let s = 0; s < 12; s++) {
      ctx.clock.advance(NS_PER_S);
      // VM1's driver crawls at 1 page per second; VM2's never answers.
      const t = esx.hypercall(BALLOON_HC.TARGET, { vm: V1, mode: 'kernel' }, []);
      if (t > esx.balloon.actual(V1)) slow += esx.hypercall(BALLOON_HC.INFLATE, { vm: V1, mode: 'kernel' }, [599 - slow]);
      esx.tick();
    }
    const free = machine.free / machine.frames;
    const st = esx.stats();
    let wrong = 0;
    for (let g = 0; g < 480; g++) if (g !== 599 - slow && read(V1, g)[0] !== (pat(1, g) || 1)) wrong++;
    for (let g = 0; g < 490; g++) if (read(V2, g)[0] !== (pat(2, g) || 1)) wrong++;
    const inv = mm.checkInvariants().violations;
    if (wrong || inv.length || halts.length) return report('LEAKED', `wrong pages ${wrong}, invariants ${inv.length}, halts ${halts.join(',')}`);
    if (st.balloonSwapFallbacks === 0 || free < 0.04) return report('LEAKED', `no swap fallback (free ${(free * 100).toFixed(1)} %)`);
    return report('blocked', `swap fallback ×${st.balloonSwapFallbacks}, ${st.swap.pagesOut} pages swapped, free ${(free * 100).toFixed(1)} %, no VM halted`);
  },
};

// ---------------------------------------------------------------------------------------------- MEM-08

const MEM08: AttackScenario = {
  id: 'MEM-08',
  area: 'MEM',
  attack: 'The balloon driver lies: keeps writing ballooned pages, duplicates, bad PFNs, cloaked/shared PFNs, past target, bogus deflates, malformed actual.',
  expected: 'Each bad report skipped and counted; ballooned gppns unmapped; a touch pops to a fresh zero frame; never another VM’s frame.',
  run(seed) {
    const { mm, esx, write, read, machine } = memoryLab(512, {}, seed);
    esx.addVm(V1, 64);
    esx.addVm(V2, 64);
    esx.setSharingDomain(V1, 'd');
    esx.setSharingDomain(V2, 'd');
    const B = secretPage(seed, 'mem08/B');
    for (let g = 0; g < 40; g++) write(V1, g, g + 1);
    write(V2, 1, B);
    write(V1, 30, B);
    esx.sharing.tryShare(V2, 1 as Gppn);
    esx.sharing.tryShare(V1, 30 as Gppn);
    mm.pmap(V1).state[20] |= PageState.CLOAKED;
    const K = { vm: V1, mode: 'kernel' as const };
    esx.setBalloonTarget(V1, 6);
    const fails: string[] = [];
    const r1 = esx.hypercall(BALLOON_HC.INFLATE, K, [1, 1, 2, 64, -1, 1.5, 20, 30]); // dup, out of range, neg, non-int, cloaked, shared
    const r2 = esx.hypercall(BALLOON_HC.INFLATE, K, [2, 3, 4, 5, 6, 7]); // dup across batches; past target at the end
    const r3 = esx.hypercall(BALLOON_HC.DEFLATE, K, [10, 11]); // never inflated
    const r4 = esx.hypercall(BALLOON_HC.TARGET, K, [-5]); // malformed "actual"
    const s = esx.balloon.stats(V1);
    if (balloonMaskCount(r1) !== 3 || balloonMaskCount(r2) !== 3) fails.push(`accepted ${r1}/${r2}`);
    if (s.rejectedDuplicate !== 2 || s.rejectedInvalid !== 3 || s.rejectedIneligible !== 1 || s.rejectedPastTarget !== 2 || s.rejectedNotInflated !== 2 || s.malformedCalls !== 1) fails.push(`counters ${JSON.stringify(s)}`);
    if (r3 !== 0 || r4 !== -22) fails.push('bogus deflate or malformed target accepted');
    if (s.actual !== 6) fails.push(`actual ${s.actual}`);
    if (!eq(read(V2, 1), B)) fails.push('shared page of the other VM changed');
    // (a) keeps writing a ballooned page: pop, fresh zero frame, never a frame of another VM.
    const v2frames = new Set(Array.from(mm.pmap(V2).mpn));
    const m = mm.resolve(V1, 2 as Gppn, true);
    if (!machine.bytes(m).every((x) => x === 0) || (v2frames.has(m) && machine.refcount[m] > 1)) fails.push('pop did not give a private zero frame');
    if (esx.balloon.stats(V1).pops !== 1) fails.push('no pop counted');
    if (mm.checkInvariants().violations.length) fails.push(mm.checkInvariants().violations[0]);
    return fails.length ? report('LEAKED', fails.join('; ')) : report('blocked', `skipped and counted: dup ${s.rejectedDuplicate}, invalid ${s.rejectedInvalid}, ineligible ${s.rejectedIneligible}, past target ${s.rejectedPastTarget}, not inflated ${s.rejectedNotInflated}, malformed ${s.malformedCalls}; touch → pop`);
  },
};

// ---------------------------------------------------------------------------------------------- MEM-09

const MEM09: AttackScenario = {
  id: 'MEM-09',
  area: 'MEM',
  attack: 'Start more VMs than memory plus swap can honour.',
  expected: 'ADMISSION_DENIED for the VM that breaks Σ res ≤ M or Σ (mem − res) ≤ S; running VMs unaffected.',
  run(seed) {
    const { esx, mm, write, read } = memoryLab(1000, { swapSlots: 600, overheadPages: 50 }, seed);
    const denied: string[] = [];
    let admitted = 0;
    for (let i = 1; i <= 10; i++) {
      try {
        esx.addVm(i as VmId, 400, { min: 150 });
        write(i as VmId, 0, i);
        admitted++;
      } catch (e) {
        if (e instanceof TerraError && e.code === 'ADMISSION_DENIED') denied.push(e.message);
        else throw e;
      }
    }
    const a = esx.admission.stats();
    const okInv = a.reservedMemory <= a.memoryPages && a.reservedSwap <= a.swapPages;
    let intact = true;
    for (let i = 1; i <= admitted; i++) if (read(i as VmId, 0)[0] !== i) intact = false;
    if (!okInv || !intact || denied.length === 0 || mm.vms().length !== admitted) return report('LEAKED', `admitted ${admitted}, reserved ${JSON.stringify(a)}`);
    return report('blocked', `admitted ${admitted}, denied ${denied.length} (${denied[0]}); Σres=${a.reservedMemory}/${a.memoryPages}, Σswap=${a.reservedSwap}/${a.swapPages}`);
  },
};

// ---------------------------------------------------------------------------------------------- MEM-10

const MEM10: AttackScenario = {
  id: 'MEM-10',
  area: 'MEM',
  attack: 'The swap device fails mid-swap-out and mid-swap-in, or swap is exhausted, while pressure rises.',
  expected: 'The VM needing memory halts deterministically (OUT_OF_MEMORY or SWAP_IO_ERROR); no VM reads wrong or zeroed data.',
  run(seed) {
    const store = new MemorySwapStore(64);
    const halts: string[] = [];
    const { esx, write, read, mm } = memoryLab(200, { swapStore: store, onHalt: (v, r) => halts.push(`${v}:${r}`) }, seed);
    esx.addVm(V1, 64);
    for (let g = 0; g < 64; g++) write(V1, g, g + 1);
    store.fault = (op) => {
      if (op === 'write') throw new Error('EIO');
    };
    const out1 = esx.swap.pageOut(V1, 16);
    store.fault = undefined;
    const out2 = esx.swap.pageOut(V1, 16);
    store.fault = (op) => {
      if (op === 'read') throw new Error('EIO');
    };
    const p = mm.pmap(V1);
    const victim = [...Array(64).keys()].find((g) => p.state[g] & PageState.SWAPPED)!;
    let code = '';
    try {
      read(V1, victim);
    } catch (e) {
      if (e instanceof TerraError) code = String(e.detail.reason);
      else throw e;
    }
    store.fault = undefined;
    let wrong = 0;
    for (let g = 0; g < 64; g++) if (g !== victim && read(V1, g)[0] !== g + 1) wrong++;
    // Swap exhausted and memory full: the allocating VM halts with OUT_OF_MEMORY.
    const lab2 = memoryLab(100, { swapStore: new MemorySwapStore(4), onHalt: (v, r) => halts.push(`${v}:${r}`) }, seed);
    lab2.mm.addVm(V2, 200); // registered without a reservation: swap can run out at runtime
    let oom = '';
    try {
      for (let g = 0; g < 200; g++) lab2.write(V2, g, g + 1);
    } catch (e) {
      if (e instanceof TerraError) oom = e.code;
      else throw e;
    }
    const ok = out1 === 0 && out2 > 0 && code === 'SWAP_IO_ERROR' && wrong === 0 && oom === 'OUT_OF_MEMORY' && halts.includes('1:SWAP_IO_ERROR') && halts.includes('2:OUT_OF_MEMORY');
    return ok ? report('detected', `write error kept pages resident; read error → ${code}; exhaustion → ${oom}; halts ${halts.join(', ')}`) : report('LEAKED', `out ${out1}/${out2} code ${code} wrong ${wrong} oom ${oom} halts ${halts.join(',')}`);
  },
};

// ---------------------------------------------------------------------------------------------- ISO-02

const ISO02: AttackScenario = {
  id: 'ISO-02',
  area: 'ISO',
  attack: 'Read a previous owner’s data from reused frames or swap slots (destroy, balloon, last shared ref, swap slot reuse).',
  expected: 'B reads zeros and leakScan(S) over B’s view and the swap device is clean; deflated pages are zeroed.',
  run(seed) {
    const store = new MemorySwapStore(256);
    const { esx, mm, machine, write, read } = memoryLab(300, { swapStore: store }, seed);
    const S = secretPage(seed, 'iso02/S');
    const hits: string[] = [];
    const scanB = (vm: VmId, pages: number, what: string) => {
      for (let g = 0; g < pages; g++) if (leaks(S, read(vm, g))) hits.push(`${what}: gppn ${g}`);
    };
    // (a) destroy A, create B.
    esx.addVm(V1, 100);
    for (let g = 0; g < 100; g++) write(V1, g, S);
    esx.removeVm(V1);
    esx.addVm(V2, 150);
    scanB(V2, 150, 'a');
    // (b) A balloons pages that are then given to B.
    esx.addVm(V3, 100);
    for (let g = 0; g < 100; g++) {
      const v = S.slice();
      if (g !== 60 && g !== 61) v[0] = g; // distinct pages (so swap, not sharing, takes them), S inside
      write(V3, g, v);
    }
    esx.setBalloonTarget(V3, 50);
    for (let g = 0; g < 50; g += 8) esx.hypercall(BALLOON_HC.INFLATE, { vm: V3, mode: 'kernel' }, [g, g + 1, g + 2, g + 3, g + 4, g + 5, g + 6, g + 7].filter((x) => x < 50));
    esx.removeVm(V2);
    esx.addVm(4 as VmId, 120);
    scanB(4 as VmId, 120, 'b');
    esx.hypercall(BALLOON_HC.DEFLATE, { vm: V3, mode: 'kernel' }, [0, 1, 2]);
    for (const g of [0, 1, 2]) if (!read(V3, g).every((x) => x === 0)) hits.push(`b: deflated page ${g} not zero`);
    // (c) the last reference to a shared frame is dropped and the frame reused.
    esx.setSharingDomain(V3, 'x');
    esx.sharing.tryShare(V3, 60 as Gppn);
    esx.sharing.tryShare(V3, 61 as Gppn);
    const shared = mm.pmap(V3).mpn[61];
    mm.unmap(V3, 60 as Gppn);
    mm.unmap(V3, 61 as Gppn);
    if (machine.flags[shared] !== 0 || !machine.isZero(shared as Mpn)) hits.push('c: freed shared frame not scrubbed');
    // (d) a swap slot A used is reused by B.
    esx.swap.pageOut(V3, 40);
    const slots: number[] = [];
    for (let g = 50; g < 100; g++) if (esx.swap.slotOf(V3, g as Gppn) >= 0) slots.push(esx.swap.slotOf(V3, g as Gppn));
    esx.removeVm(V3);
    for (const s of slots) if (leaks(S, store.peek(s))) hits.push(`d: slot ${s} not scrubbed`);
    esx.removeVm(4 as VmId);
    esx.addVm(5 as VmId, 200);
    for (let g = 0; g < 200; g++) write(5 as VmId, g, 0x5b);
    esx.swap.pageOut(5 as VmId, 40);
    scanB(5 as VmId, 200, 'd');
    return hits.length ? report('LEAKED', hits.slice(0, 5).join('; ')) : report('blocked', `zero on free, zero on deflate, scrubbed swap slots (${slots.length} checked)`);
  },
};

// ---------------------------------------------------------------------------------------------- FLT-01 / FLT-02

function crashRun(point: string, merge: boolean, seed: number): string[] {
  const { mm, esx, write, read } = memoryLab(128, {}, seed);
  esx.addVm(V1, 16);
  esx.addVm(V2, 16);
  esx.setSharingDomain(V1, 'd');
  esx.setSharingDomain(V2, 'd');
  const A = secretPage(seed, 'flt/A');
  const bad: string[] = [];
  write(V1, 1, A);
  write(V2, 1, A);
  mm.faultInjector = (p) => {
    if (p === point) throw new SimulatedCrash(p);
  };
  let crashed = false;
  try {
    esx.sharing.tryShare(V1, 1 as Gppn);
    esx.sharing.tryShare(V2, 1 as Gppn);
    if (!merge) {
      const m = mm.resolve(V2, 1 as Gppn, true);
      mm.machine.bytes(m)[0] ^= 0xff;
    }
  } catch (e) {
    if (!(e instanceof SimulatedCrash)) throw e;
    crashed = true;
  }
  mm.faultInjector = undefined;
  if (!crashed) bad.push(`${point}: never reached`);
  bad.push(...mm.checkInvariants().violations.map((v) => `${point}: ${v}`));
  bad.push(...esx.sharing.verifySharedFrames().map((f) => `${point}: shared frame ${f} changed`));
  if (!eq(read(V1, 1), A)) bad.push(`${point}: VM1 lost its content`);
  const b = read(V2, 1);
  const post = A.slice();
  post[0] ^= 0xff;
  if (!eq(b, A) && !eq(b, post)) bad.push(`${point}: VM2 holds neither pre- nor post-write content`);
  return bad;
}

const FLT01: AttackScenario = {
  id: 'FLT-01',
  area: 'FLT',
  attack: 'Crash (C1) inside a COW break at cow.afterAlloc / afterCopy / afterRemap / afterDecRef.',
  expected: 'Σ refcount = Σ mappings; each view pre- or post-write content; no frame writable by two VMs; nothing leaked.',
  run(seed) {
    const bad = COW_CRASH_POINTS.flatMap((p) => crashRun(p, false, seed));
    return bad.length ? report('LEAKED', bad.slice(0, 4).join('; ')) : report('blocked', `${COW_CRASH_POINTS.length} crash points: error-atomic COW break, invariants hold`);
  },
};

const FLT02: AttackScenario = {
  id: 'FLT-02',
  area: 'FLT',
  attack: 'Crash (C1) during a page merge: after the first sharer is remapped, and after the duplicate is freed before the index update.',
  expected: 'Every mapping points to a frame with its correct content; refcounts exact; no double free.',
  run(seed) {
    const bad = MERGE_CRASH_POINTS.flatMap((p) => crashRun(p, true, seed));
    return bad.length ? report('LEAKED', bad.slice(0, 4).join('; ')) : report('blocked', `${MERGE_CRASH_POINTS.length} crash points: mappings, contents and refcounts exact`);
  },
};

// ---------------------------------------------------------------------------------------------- FLT-08

const FLT08: AttackScenario = {
  id: 'FLT-08',
  area: 'FLT',
  attack: 'The balloon driver dies after half a batch; separately the TVMM crashes (C1) midway through a batch.',
  expected: 'Batch processing is idempotent; accounting equals the set of pages actually unmapped.',
  run(seed) {
    const { mm, esx, write } = memoryLab(256, {}, seed);
    esx.addVm(V1, 64);
    for (let g = 0; g < 64; g++) write(V1, g, g + 1);
    esx.setBalloonTarget(V1, 16);
    const K = { vm: V1, mode: 'kernel' as const };
    esx.hypercall(BALLOON_HC.INFLATE, K, [0, 1, 2, 3]); // the driver died after half of [0..7]
    let n = 0;
    mm.faultInjector = (p) => {
      if (p === 'balloon.afterPage' && ++n === 3) throw new SimulatedCrash(p);
    };
    try {
      esx.hypercall(BALLOON_HC.INFLATE, K, [8, 9, 10, 11, 12, 13, 14, 15]);
    } catch (e) {
      if (!(e instanceof SimulatedCrash)) throw e;
    }
    mm.faultInjector = undefined;
    // The restarted driver re-sends both batches in full.
    esx.hypercall(BALLOON_HC.INFLATE, K, [0, 1, 2, 3, 4, 5, 6, 7]);
    esx.hypercall(BALLOON_HC.INFLATE, K, [8, 9, 10, 11, 12, 13, 14, 15]);
    const p = mm.pmap(V1);
    let unmapped = 0;
    for (let g = 0; g < 64; g++) if (p.state[g] & PageState.BALLOONED && p.mpn[g] === 0xffffffff) unmapped++;
    const s = esx.balloon.stats(V1);
    const ok = unmapped === 16 && s.actual === 16 && s.inflations === 16 && mm.checkInvariants().violations.length === 0;
    return ok ? report('blocked', `actual ${s.actual} = unmapped ${unmapped}; duplicates skipped ${s.rejectedDuplicate}`) : report('LEAKED', `actual ${s.actual}, unmapped ${unmapped}, inflations ${s.inflations}`);
  },
};

// ---------------------------------------------------------------------------------------------- FLT-10

const FLT10: AttackScenario = {
  id: 'FLT-10',
  area: 'FLT',
  attack: 'Bit flips in a swapped page on the swap device (c) and in a non-cloaked private page (d).',
  expected: '(c) the hash check at swap-in halts the VM with SWAP_IO_ERROR, never a zero or wrong page; (d) documented as undetected.',
  run(seed) {
    const store = new MemorySwapStore(64);
    const halts: string[] = [];
    const { esx, write, read, mm } = memoryLab(128, { swapStore: store, onHalt: (_v, r) => halts.push(r) }, seed);
    esx.addVm(V1, 32);
    const S = secretPage(seed, 'flt10/S');
    for (let g = 0; g < 32; g++) write(V1, g, S);
    esx.swap.pageOut(V1, 32);
    const g0 = [...Array(32).keys()].find((g) => mm.pmap(V1).state[g] & PageState.SWAPPED)!;
    store.flipBit(esx.swap.slotOf(V1, g0 as Gppn), 12345);
    let code = '';
    let got: Uint8Array | undefined;
    try {
      got = read(V1, g0);
    } catch (e) {
      if (e instanceof TerraError) code = String(e.detail.reason);
      else throw e;
    }
    if (got || code !== 'SWAP_IO_ERROR' || !halts.includes('SWAP_IO_ERROR')) return report('LEAKED', `swap bit flip returned ${got ? 'a page' : 'nothing'} (${code})`);
    return report('detected', '(c) SHA-256 mismatch at swap-in → VM halted with SWAP_IO_ERROR; (d) a flip in a private frame is undetected by design (ECC out of scope)');
  },
};

/** Every memory scenario, for `src/attacks/registry.ts`. */
export const memAttacks: readonly AttackScenario[] = [MEM01, MEM02, MEM04, MEM05, MEM07, MEM08, MEM09, MEM10, ISO02, FLT01, FLT02, FLT08, FLT10];
