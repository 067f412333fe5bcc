/**
 * Platform threat scenarios: VM isolation and partitioning (threats.md §3 ISO-01, 03, 05, 06, 08,
 * 09), crash and clock faults (§6 FLT-04, FLT-07, FLT-12), STO-11 (interrupt injection) and the
 * input-validation tables of §7 (VAL-01, 02, 05, 06, 07, 09, 10, 11) over the public API, run
 * against the whole machine (Host → TVMM → guests) from a seed. Guests here are small probe
 * kernels that use only the {@link GuestPlatform} a real guest kernel gets (actor K/P of §0.1);
 * the god view (machine frames, pmaps) is read through `src/testing`'s {@link godView}, which no
 * guest can reach.
 */
import { PAGE_SIZE, SimulatedCrash, TerraError, createSimContext, isValidationError, type VmId } from '../sim/index.js';
import { nobleProvider } from '../crypto/index.js';
import { Host, MemoryDisk, TIME_SLICE_NS, type GuestDisk, type GuestOs, type GuestPlatform, type HostOptions, type ProgramFn, type Proc, type TrapRequest } from '../tvmm/index.js';

type Gen = Generator<TrapRequest, number, number>;
import { attachEsx, type EsxOptions } from '../memory/index.js';
import { RamDisk, VirtualScsiController } from '../storage/index.js';
import { FaultInjector, MemoryBlockDevice, NvStore, ProtectedDisk, buildImage, createAttestedHost, decodeQuote, parseCert, parseImage, parsePolicy, parseSealedBlob, policyFor, Verifier } from '../attestation/index.js';
import { parseScenario } from '../scenario/index.js';
import { MemoryNvStore, attachCloaking } from '../cloaking/index.js';
import { O, SYS, USER_LAYOUT } from '../guest/abi.js';
import { bootCloaked, godView, type Inode } from '../testing/index.js';
import { cloakScenarioParts } from './cloak.js';
import type { AttackReport, AttackScenario } from './types.js';

const report = (outcome: AttackReport['outcome'], detail: string): AttackReport => ({ outcome, detail });

/** The outcome of one call: 'OK:<value>', 'VALIDATION', a TerraError code, 'GUEST_FAULT:<kind>', or `<name>` of another error. */
export function probe(f: () => unknown): string {
  try {
    const v = f();
    return `OK:${typeof v === 'number' ? v : typeof v}`;
  } catch (e) {
    if (isValidationError(e)) return 'VALIDATION';
    if (e instanceof RangeError) return 'RangeError';
    if (e instanceof TypeError) return 'TypeError';
    if (e instanceof TerraError) return e.code;
    if (e instanceof Error && e.name === 'GuestFault') return `GUEST_FAULT:${(e as Error & { kind: string }).kind}`;
    return e instanceof Error ? e.name : 'THROWN';
  }
}

/** FNV-1a over bytes (a digest for god-view snapshots; not security relevant). */
function fnv(b: Uint8Array): string {
  let h = 2166136261;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 16777619);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * God-view snapshot of one VM: every guest-physical page's machine frame and content digest, plus
 * the digest of every frame the VM owns. Two equal snapshots mean nothing of that VM was touched.
 */
export function vmSnapshot(host: Host, vm: VmId): string {
  const g = godView(host);
  const pages = host.memory.pmap(vm).pages;
  const out: string[] = [];
  for (let i = 0; i < pages; i++) {
    const f = g.frameOf(vm, i);
    out.push(f < 0 ? '-' : `${f}:${fnv(host.machine.bytes(f as never))}`);
  }
  for (const f of g.usedFrames()) if (f.owner === vm) out.push(`o${f.mpn}:${fnv(host.machine.bytes(f.mpn as never))}`);
  return out.join(',');
}

/** A guest kernel that only keeps its platform and runs a callback at boot and on interrupts (the attacker's kernel). */
export class ProbeGuest implements GuestOs {
  p!: GuestPlatform;
  readonly irqs: number[] = [];
  constructor(
    readonly onBoot: (p: GuestPlatform) => void = () => {},
    readonly onIrq: (p: GuestPlatform, v: number) => void = () => {},
  ) {}
  boot(p: GuestPlatform): void {
    this.p = p;
    this.onBoot(p);
  }
  interrupt(v: number): void {
    this.irqs.push(v);
    this.onIrq(this.p, v);
  }
  run(): 'idle' {
    return 'idle';
  }
}

/** A booted host with ESX memory and the given guests as VMs (each booted by one scheduler pass). */
export function platformLab(seed: number, vms: readonly { name: string; kind?: 'open-box' | 'closed-box'; pages?: number; guest: GuestOs; disk?: MemoryDisk; programs?: Record<string, ProgramFn> }[], hostOpts: HostOptions = {}, esxOpts: EsxOptions = { overheadPages: 0 }) {
  const host = new Host({ seed, machineMiB: 32, ...hostOpts });
  const tvmm = host.boot();
  const esx = attachEsx(tvmm, esxOpts);
  const ids = vms.map((v) => {
    const id = tvmm.createVm({ name: v.name, kind: v.kind ?? 'open-box', pages: v.pages ?? 64, guest: v.guest, ...(v.programs ? { programs: v.programs } : {}) });
    if (v.disk) tvmm.attachDisk(id, 'd0', v.disk);
    return id;
  });
  for (const id of ids) tvmm.power(id, 'on');
  tvmm.run({ maxSlices: ids.length });
  return { host, tvmm, esx, ids };
}

/** Probe results that count as a validation refusal (ValidationError, or a built-in TypeError/RangeError of a facade). */
export const REFUSED = /^(VALIDATION|RangeError|TypeError)$/;

const SECRET = (seed: number, vm: number, g: number) => createSimContext({ seed }).rng.fork(`secret/${vm}/${g}`).bytes(PAGE_SIZE);

// ---------------------------------------------------------------------------------------------- ISO-01

/** ISO-01's probes and their outcomes, with the victim's god-view snapshot before and after. */
export function iso01(seed: number) {
  const victim = new ProbeGuest((p) => {
    for (let g = 0; g < p.memoryPages; g++) p.phys.write(g * PAGE_SIZE, SECRET(seed, 2, g));
  });
  const probeProg: ProgramFn = function* (p: Proc): Gen {
    p.load8(0x1000); // PTE → gppn = memoryPages
    return 0;
  };
  const attacker = new ProbeGuest();
  const lab = platformLab(seed, [
    { name: 'attacker', guest: attacker, disk: new MemoryDisk(64), programs: { probe: probeProg } },
    { name: 'victim', guest: victim },
  ]);
  const [A, B] = lab.ids;
  const before = vmSnapshot(lab.host, B);
  const p = attacker.p;
  const n = p.memoryPages;
  const r: Record<string, string> = {};
  const bad = [-1, n, 2 ** 32];
  for (const g of bad) {
    const gpa = g * PAGE_SIZE;
    r[`phys.load32(${g})`] = probe(() => p.phys.load32(gpa));
    r[`phys.store32(${g})`] = probe(() => p.phys.store32(gpa, 0x41414141));
    r[`phys.read(${g})`] = probe(() => p.phys.read(gpa, 16));
    r[`phys.write(${g})`] = probe(() => p.phys.write(gpa, new Uint8Array(16).fill(0x41)));
    r[`phys.zeroPage(${g})`] = probe(() => p.phys.zeroPage(g));
    r[`kernelSpace(${g})`] = probe(() => p.kernelSpace(g));
    r[`disk.read→${g}`] = probe(() => p.disk('d0').read(0, 1, gpa));
    r[`disk.write←${g}`] = probe(() => p.disk('d0').write(0, 1, gpa));
    r[`balloon.inflate(${g})`] = probe(() => p.hypercall(16, [g]));
    r[`balloon.deflate(${g})`] = probe(() => p.hypercall(17, [g]));
  }
  r['phys.read crossing the end'] = probe(() => p.phys.read((n - 1) * PAGE_SIZE, 2 * PAGE_SIZE));
  r['disk.read crossing the end'] = probe(() => p.disk('d0').read(0, 2, (n - 1) * PAGE_SIZE));
  // Page tables pointing outside guest-physical memory: root 1, page table 2.
  const PTE = 7; // present, writable, user
  p.phys.zeroPage(1);
  p.phys.zeroPage(2);
  p.phys.store32(1 * PAGE_SIZE, (2 << 12) | PTE); // PDE 0 → PT gppn 2
  p.phys.store32(1 * PAGE_SIZE + 4, ((n << 12) | PTE) >>> 0); // PDE 1 → a "page table" beyond memory
  p.phys.store32(2 * PAGE_SIZE + 4, ((n << 12) | PTE) >>> 0); // gva 0x1000 → gppn = memoryPages
  p.phys.store32(2 * PAGE_SIZE + 8, ((0xfffff << 12) | PTE) >>> 0); // gva 0x2000 → gppn 2^20−1 (−1 in 20 bits)
  p.phys.store32(2 * PAGE_SIZE + 12, (3 << 12) | PTE); // gva 0x3000 → gppn 3 (in range: the control)
  const ks = p.kernelSpace(1);
  r['pte→memoryPages'] = probe(() => ks.load8(0x1000));
  r['pte→-1'] = probe(() => ks.store8(0x2000, 0x41));
  r['pde→memoryPages'] = probe(() => ks.load32(0x400000));
  r['pte→3 (control)'] = probe(() => ks.load8(0x3000));
  const tid = p.createThread({ root: 1, program: 'probe' });
  const trap = p.resume(tid);
  r['user load via pte→memoryPages'] = `${trap.kind}:${trap.fault?.reason ?? trap.reason ?? ''}`;
  const after = vmSnapshot(lab.host, B);
  return { r, victimUnchanged: before === after, victimState: lab.tvmm.vm(B).state, attackerState: lab.tvmm.vm(A).state, balloon: lab.esx.vmStats(A).balloon };
}

const ISO01: AttackScenario = {
  id: 'ISO-01',
  area: 'ISO',
  attack: 'A guest reaches gppn −1, = memoryPages and 2^32 through phys access, page tables, DMA and balloon hypercalls.',
  expected: 'GUEST_FAULT or ValidationError on every path; no other VM frame touched (god-view diff).',
  run(seed) {
    const x = iso01(seed);
    const ok = Object.entries(x.r).filter(([k]) => !k.includes('control') && !k.startsWith('balloon') && !k.startsWith('user'));
    const wrong = ok.filter(([, v]) => !REFUSED.test(v) && !v.startsWith('GUEST_FAULT:bad-gppn'));
    const balloonWrong = Object.entries(x.r).filter(([k, v]) => k.startsWith('balloon') && v !== 'OK:0');
    if (!x.victimUnchanged) return report('LEAKED', 'the victim VM\'s frames changed (god-view diff)');
    if (wrong.length || balloonWrong.length || !x.r['user load via pte→memoryPages'].startsWith('fault:bad-gppn'))
      return report('LEAKED', `accepted: ${[...wrong, ...balloonWrong].map(([k, v]) => `${k}=${v}`).join(' ')} ${x.r['user load via pte→memoryPages']}`);
    return report('blocked', `${ok.length} out-of-range accesses refused (ValidationError / GUEST_FAULT bad-gppn), balloon masks 0 (${x.balloon.rejectedInvalid} rejected), user fault bad-gppn; victim god view unchanged; no hypercall takes a machine frame number`);
  },
};

// ---------------------------------------------------------------------------------------------- ISO-03

/** ISO-03: VM A passes VM B's identifiers (VM id, gppns, domain and resource ids, sealed blobs, disk name) to every guest-reachable interface. */
export function iso03(seed: number) {
  const imgA = buildImage(nobleProvider, new Uint8Array(8192).fill(7), { name: 'tenant-a', blockSize: 4096 });
  const imgB = buildImage(nobleProvider, new Uint8Array(8192).fill(8), { name: 'tenant-b', blockSize: 4096 });
  let blobB: Uint8Array | undefined;
  const victim = new ProbeGuest((p) => {
    for (let g = 0; g < p.memoryPages; g++) p.phys.write(g * PAGE_SIZE, SECRET(seed, 2, g));
    blobB = p.attestation().seal('wallet', new TextEncoder().encode('B-secret'));
  });
  const attacker = new ProbeGuest();
  const host = new Host({ seed, machineMiB: 32 });
  const tvmm = host.boot();
  const esx = attachEsx(tvmm, { overheadPages: 0 });
  attachCloaking(tvmm);
  const A = tvmm.createVm({ name: 'A', kind: 'closed-box', pages: 64, guest: attacker, image: imgA });
  const B = tvmm.createVm({ name: 'B', kind: 'closed-box', pages: 64, guest: victim, image: imgB });
  tvmm.attachDisk(B, 'vdisk-b', new MemoryDisk(16));
  tvmm.power(A, 'on');
  tvmm.power(B, 'on');
  tvmm.run({ maxSlices: 2 });
  const before = vmSnapshot(host, B);
  const bBalloon = JSON.stringify(esx.vmStats(B).balloon);
  const p = attacker.p;
  const r: Record<string, string> = {};
  // Balloon: gppns are always interpreted in the caller's own space; B's id as an argument is just a number.
  r['balloon.target(B id)'] = probe(() => p.hypercall(18, [B, 0]));
  r['balloon.inflate(B gppns)'] = probe(() => p.hypercall(16, [B, 5, 6]));
  // Cloak hypercalls with B's domain/resource ids from A's kernel (no cloaked context): refused (EPERM).
  for (const nr of [32, 33, 34, 35, 36]) r[`cloak.${nr}(B ids)`] = probe(() => p.hypercall(nr, nr === 34 ? [1, 16, 1, 0] : [B, 1]));
  // Attestation port: no argument names a VM; B's blob does not unseal for A.
  const idA = p.attestation().getId();
  const own = tvmm.attestation!.getId(A);
  const idB = tvmm.attestation!.getId(B);
  const same = (x: Uint8Array, y: Uint8Array) => x.length === y.length && x.every((b, i) => b === y[i]);
  r['getId is the caller'] = same(idA.primary, own.primary) && !same(idA.primary, idB.primary) ? 'OK:self' : 'OTHER';
  r['unsealBlob(B blob)'] = probe(() => p.attestation().unsealBlob(blobB!));
  r['unseal(B label)'] = probe(() => p.attestation().unseal('wallet'));
  r['disk(B disk)'] = probe(() => p.disk('vdisk-b'));
  const after = vmSnapshot(host, B);
  return { r, unchanged: before === after && JSON.stringify(esx.vmStats(B).balloon) === bBalloon, A, B, security: host.sim.trace.securityEvents().map((e) => e.kind) };
}

const ISO03: AttackScenario = {
  id: 'ISO-03',
  area: 'ISO',
  attack: 'VM A passes VM B\'s VM id, gppns, cloak ids, sealed blob and disk name to balloon, cloak, attestation and disk interfaces.',
  expected: 'Refused (IsolationViolation / error result); B\'s state unchanged.',
  run(seed) {
    const x = iso03(seed);
    const expect: Record<string, (v: string) => boolean> = {
      'balloon.target(B id)': (v) => v === 'OK:-22',
      'balloon.inflate(B gppns)': (v) => v === 'OK:0' || v === 'OK:-22',
      'getId is the caller': (v) => v === 'OK:self',
      'unsealBlob(B blob)': (v) => v === 'UNSEAL_ERROR',
      'unseal(B label)': (v) => v === 'NOT_FOUND' || v === 'UNSEAL_ERROR',
      'disk(B disk)': (v) => v === 'NOT_FOUND',
    };
    const wrong = Object.entries(x.r).filter(([k, v]) => (expect[k] ? !expect[k](v) : v !== 'OK:-1'));
    const detail = Object.entries(x.r).map(([k, v]) => `${k}=${v}`).join(' ');
    if (!x.unchanged) return report('LEAKED', `B's god view changed; ${detail}`);
    if (wrong.length) return report('LEAKED', `accepted: ${wrong.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    return report('blocked', `identity comes from the TVMM, never from arguments; ${detail}; B unchanged`);
  },
};

// ---------------------------------------------------------------------------------------------- ISO-05

/** The operations a management interface would need for snapshot or migration (none exists). */
export const SNAPSHOT_OPERATIONS = ['snapshot', 'saveState', 'restore', 'migrate', 'exportVm', 'importVm', 'dumpMemory', 'checkpoint', 'clone'] as const;

/** ISO-05: (a, b) no snapshot/migration path; power-cycling a closed-box VM exposes nothing; (c) an open-box VM cannot open the closed-box VM's sealed blobs or disk. */
export function iso05(seed: number) {
  const img = buildImage(nobleProvider, new Uint8Array(8192).fill(9), { name: 'bank', blockSize: 4096 });
  let blob: Uint8Array | undefined;
  const boots: Uint8Array[][] = [];
  const closed = new ProbeGuest((p) => {
    const seen: Uint8Array[] = [];
    for (let g = 0; g < p.memoryPages; g++) seen.push(p.phys.read(g * PAGE_SIZE, PAGE_SIZE));
    boots.push(seen);
    for (let g = 0; g < p.memoryPages; g++) p.phys.write(g * PAGE_SIZE, SECRET(seed, 1, g));
    blob ??= p.attestation().seal('vault', new TextEncoder().encode('closed-box secret'));
  });
  const open = new ProbeGuest();
  const host = new Host({ seed, machineMiB: 32 });
  const tvmm = host.boot();
  attachEsx(tvmm, { overheadPages: 0 });
  const C = tvmm.createVm({ name: 'closed', kind: 'closed-box', pages: 64, guest: closed, image: img });
  const Op = tvmm.createVm({ name: 'open', kind: 'open-box', pages: 64, guest: open, image: img });
  tvmm.attachDisk(C, 'data', new MemoryDisk(16));
  tvmm.power(C, 'on');
  tvmm.power(Op, 'on');
  tvmm.run({ maxSlices: 2 });
  const r: Record<string, string> = {};
  const mgmt = tvmm.management as unknown as Record<string, unknown>;
  const t = tvmm as unknown as Record<string, unknown>;
  r.snapshotOps = SNAPSHOT_OPERATIONS.filter((op) => typeof mgmt[op] === 'function' || typeof t[op] === 'function').join('|') || 'none';
  r.readMemoryRunning = probe(() => tvmm.management.readMemory(C, 0, 16));
  r.readRegistersRunning = probe(() => tvmm.management.readRegisters(C));
  r.threadsRunning = probe(() => tvmm.management.threads(C));
  tvmm.management.power(C, 'off');
  r.readMemoryOff = probe(() => tvmm.management.readMemory(C, 0, 16));
  tvmm.management.power(C, 'on');
  tvmm.run({ untilNs: host.sim.clock.now + 10_000_000 });
  const second = boots[1] ?? [];
  r.afterPowerCycle = second.length === 64 && second.every((pg) => pg.every((b) => b === 0)) ? 'ZEROS' : `SEEN:${second.length}`;
  r.openUnseal = probe(() => open.p.attestation().unsealBlob(blob!));
  r.openDisk = probe(() => open.p.disk('data'));
  r.attachClosedDiskToOpen = probe(() => tvmm.attach('data', Op));
  return { r, security: host.sim.trace.securityEvents().map((e) => e.kind) };
}

const ISO05: AttackScenario = {
  id: 'ISO-05',
  area: 'ISO',
  attack: 'H snapshots/migrates a closed-box VM without attestation; an open-box VM opens its sealed blobs or disk.',
  expected: '(a)(b) fail; (c) IsolationViolation or UnsealError.',
  run(seed) {
    const x = iso05(seed);
    const want = { snapshotOps: 'none', readMemoryRunning: 'ISOLATION_VIOLATION', readRegistersRunning: 'ISOLATION_VIOLATION', threadsRunning: 'ISOLATION_VIOLATION', readMemoryOff: 'ISOLATION_VIOLATION', afterPowerCycle: 'ZEROS', openUnseal: 'UNSEAL_ERROR', openDisk: 'NOT_FOUND', attachClosedDiskToOpen: 'NOT_FOUND' } as Record<string, string>;
    const wrong = Object.keys(want).filter((k) => x.r[k] !== want[k]);
    const detail = Object.entries(x.r).map(([k, v]) => `${k}=${v}`).join(' ');
    if (wrong.length) return report('LEAKED', `${detail} (unexpected: ${wrong.join(', ')})`);
    return report('blocked', `(a)(b) blocked: no snapshot/migration path exists for closed-box VMs (the management interface offers only list/readMemory/readRegisters/threads/power, and inspection of a closed-box VM is ISOLATION_VIOLATION, also while off); a power cycle gives fresh zeroed memory; (c) ${detail}`);
  },
};

// ---------------------------------------------------------------------------------------------- ISO-06 / ISO-08 / ISO-09

/** A guest driver that issues `total` 1-block IOs through its disk's controller and checks every completion. */
export class IoGuest implements GuestOs {
  p!: GuestPlatform;
  disk!: GuestDisk;
  issued = 0;
  busy = 0;
  interrupts = 0;
  /** Completions whose tag this guest never issued (mis-routed or duplicated). */
  foreign = 0;
  /** Completed reads whose data is not this VM's disk content. */
  wrongData = 0;
  readonly done: number[] = [];
  readonly latencies: number[] = [];
  readonly #pending = new Map<number, { gpa: number; t: number }>();
  /** Extra hostile work per run() call (the flooder): hypercalls and submits beyond the queue cap. */
  flood = 0;
  /** The flooder overruns its slice budget (a guest kernel that never yields; see ISO-08's residual). */
  ignoreBudget = false;
  hypercallResults = new Map<number, number>();
  constructor(readonly total: number, readonly marker: number, readonly op: 'read' | 'write' = 'read') {}
  boot(p: GuestPlatform): void {
    this.p = p;
    this.disk = p.disk('d0');
  }
  interrupt(v: number): void {
    if (v !== this.disk.vector) return;
    this.interrupts++;
    for (const c of this.disk.complete!()) {
      const pend = this.#pending.get(c.tag);
      if (!pend) {
        this.foreign++;
        continue;
      }
      this.#pending.delete(c.tag);
      this.latencies.push(this.p.now() - pend.t);
      if (c.status !== 0) this.wrongData++;
      else if (this.op === 'read' && this.p.phys.load32(pend.gpa) !== (this.marker * 0x01010101) >>> 0) this.wrongData++;
      this.done.push(c.tag);
    }
  }
  run(budgetNs: number): 'runnable' | 'idle' | 'halted' {
    const t0 = this.p.now();
    if (this.ignoreBudget) budgetNs = Number.MAX_SAFE_INTEGER;
    // The flooder stops at its slice budget: in this simulator guest-kernel code is not preemptible, and
    // the budget models the timer preemption real hardware would impose.
    for (let i = 0; i < this.flood && this.p.now() - t0 < budgetNs; i++) {
      const rc = this.p.hypercall(i % 2 ? 9999 : 18, i % 3 ? [] : [1, 2, 3]);
      this.hypercallResults.set(rc, (this.hypercallResults.get(rc) ?? 0) + 1);
    }
    while (this.issued < this.total) {
      const gpa = (1 + (this.issued % 48)) * PAGE_SIZE;
      const tag = this.disk.submit!(this.op, this.issued % 64, 1, gpa);
      if (tag === -16) {
        this.busy++;
        if (this.flood === 0) break;
        for (let k = 0; k < this.flood && this.p.now() - t0 < budgetNs && this.disk.submit!(this.op, 0, 1, gpa) === -16; k++) this.busy++;
        break;
      }
      if (tag < 0) break;
      this.#pending.set(tag, { gpa, t: this.p.now() });
      this.issued++;
    }
    if (this.flood > 0 && this.issued < this.total) return 'runnable';
    return this.issued >= this.total && this.#pending.size === 0 ? 'halted' : 'idle';
  }
  get outstanding(): number {
    return this.#pending.size;
  }
}

/** Two (or more) VMs with IoGuests behind vIC controllers on one machine, completing out of order. */
export function ioLab(seed: number, guests: readonly IoGuest[], opts: { queueDepth?: number; jitterNs?: number } = {}) {
  const host = new Host({ seed, machineMiB: 32, costs: { diskIo: 100_000, diskPerByte: 1 } });
  const tvmm = host.boot();
  const esx = attachEsx(tvmm, { overheadPages: 0 });
  const ctls: VirtualScsiController[] = [];
  const ids = guests.map((g, i) => {
    const id = tvmm.createVm({ name: `io${i}`, kind: 'open-box', pages: 64, guest: g });
    tvmm.attachDisk(id, 'd0', new MemoryDisk(64));
    const dev = new RamDisk(64 * 8);
    dev.write(0, new Uint8Array(64 * PAGE_SIZE).fill(g.marker));
    const ctl = new VirtualScsiController(host.sim, {
      vmId: id,
      device: dev,
      queueDepth: opts.queueDepth ?? 32,
      jitterNs: opts.jitterNs ?? 200_000,
      remoteVcpu: true,
      vic: { iopsThreshold: 0, cifThreshold: 2, cifPerStep: 1, maxCoalesce: 8 },
      sink: { raise: (v) => tvmm.raiseInterrupt(id, v) },
    });
    tvmm.attachController(id, 'd0', ctl);
    ctls.push(ctl);
    return id;
  });
  for (const id of ids) tvmm.power(id, 'on');
  return { host, tvmm, esx, ids, ctls };
}

/** ISO-06: two VMs interleave `perVm` IOs each; returns per-VM delivery accounting. */
export function iso06(seed: number, perVm = 5000) {
  const a = new IoGuest(perVm, 0xa1);
  const b = new IoGuest(perVm, 0xb2);
  const lab = ioLab(seed, [a, b]);
  lab.tvmm.run({ maxSlices: 10_000_000 });
  const irqByVm = new Map<number, number>();
  for (const e of lab.host.sim.trace.events()) if (e.cat === 'irq' && e.kind === 'raise' && e.vm !== undefined) irqByVm.set(e.vm, (irqByVm.get(e.vm) ?? 0) + 1);
  return lab.ids.map((id, i) => {
    const g = [a, b][i];
    return {
      vm: id,
      issued: g.issued,
      completed: g.done.length,
      distinct: new Set(g.done).size,
      foreign: g.foreign,
      wrongData: g.wrongData,
      outstanding: g.outstanding,
      interrupts: g.interrupts,
      ctl: lab.ctls[i].stats(),
    };
  });
}

const ISO06: AttackScenario = {
  id: 'ISO-06',
  area: 'ISO',
  attack: 'VMs A and B interleave 10^4 IOs; the backend completes out of order; vIC batching and IPI coalescing on.',
  expected: 'Each completion and interrupt reaches only its owner, exactly once (P8).',
  run(seed) {
    const rows = iso06(seed);
    for (const r of rows) {
      if (r.foreign || r.wrongData) return report('LEAKED', `vm ${r.vm}: ${r.foreign} foreign completions, ${r.wrongData} with another VM's data`);
      if (r.completed !== r.issued || r.distinct !== r.completed || r.outstanding) return report('LEAKED', `vm ${r.vm}: ${r.completed}/${r.issued} completions (${r.distinct} distinct, ${r.outstanding} lost)`);
    }
    return report('blocked', rows.map((r) => `vm ${r.vm}: ${r.completed} completions exactly once, own data, ${r.interrupts} interrupts for ${r.ctl.completed} completions (${r.ctl.coalesced} coalesced)`).join('; '));
  },
};

/** ISO-08: victim latency alone and beside a flooder that submits past its queue cap and issues hypercall floods. */
export function iso08(seed: number, flood = 400, ignoreBudget = false) {
  const runOnce = (withFlooder: boolean) => {
    const victim = new IoGuest(300, 0x77);
    const flooder = new IoGuest(3000, 0x66, 'write');
    flooder.flood = flood;
    flooder.ignoreBudget = ignoreBudget;
    const lab = ioLab(seed, withFlooder ? [victim, flooder] : [victim], { jitterNs: 0 });
    const trace0 = lab.host.sim.trace.events().length;
    lab.tvmm.run({ maxSlices: 200_000, untilNs: 1_000_000_000 });
    return {
      victimMax: Math.max(...victim.latencies),
      victimDone: victim.done.length,
      flooderBusy: flooder.busy,
      flooderMaxInFlight: withFlooder ? lab.ctls[1].stats().maxInFlight : 0,
      queueDepth: lab.ctls[0].queueDepth,
      hypercalls: lab.tvmm.stats.hypercalls,
      hcResults: Object.fromEntries(flooder.hypercallResults),
      traceRetained: lab.host.sim.trace.events().length,
      trace0,
      flooderBalloon: withFlooder ? lab.esx.vmStats(lab.ids[1]).balloon : undefined,
      vms: lab.tvmm.vms().length,
    };
  };
  return { alone: runOnce(false), flooded: runOnce(true) };
}

/** The victim latency bound L of ISO-08: its latency alone plus one flooder time slice per round-robin turn. */
export const ISO08_BOUND_SLACK_NS = 2 * TIME_SLICE_NS;

const ISO08: AttackScenario = {
  id: 'ISO-08',
  area: 'ISO',
  attack: 'P submits an unbounded IO queue and floods hypercalls and balloon messages while the victim measures IO latency.',
  expected: 'Victim latency ≤ L; P gets EBUSY beyond the per-VM queue cap Q; no global structure grows.',
  run(seed) {
    const { alone, flooded } = iso08(seed);
    const L = alone.victimMax + ISO08_BOUND_SLACK_NS;
    if (flooded.victimDone !== 300) return report('LEAKED', `victim finished ${flooded.victimDone}/300 IOs under the flood`);
    if (flooded.victimMax > L) return report('LEAKED', `victim latency ${flooded.victimMax} ns > L = ${L} ns`);
    if (flooded.flooderMaxInFlight > flooded.queueDepth || flooded.flooderBusy === 0) return report('LEAKED', `flooder had ${flooded.flooderMaxInFlight} in flight (Q = ${flooded.queueDepth}), ${flooded.flooderBusy} EBUSY`);
    return report('blocked', `victim max latency ${flooded.victimMax} ns (alone ${alone.victimMax} ns, L = ${L}); flooder capped at ${flooded.flooderMaxInFlight} in flight with ${flooded.flooderBusy} EBUSY; ${flooded.hypercalls} hypercalls answered ${JSON.stringify(flooded.hcResults)} with no per-call state; residual: the bound assumes the flooder's kernel returns from run() at its slice budget (guest-kernel code is not preemptible in the simulator)`);
  },
};

/** ISO-09: what the attacker VM observes, with or without a victim that holds the attacker's probe pages. */
export function iso09World(seed: number, victimPresent: boolean) {
  const COMMON = createSimContext({ seed: 4242 }).rng.fork('common-page').bytes(PAGE_SIZE);
  const observed: unknown[] = [];
  const attacker = new ProbeGuest(
    (p) => {
      for (let g = 8; g < 40; g++) p.phys.write(g * PAGE_SIZE, COMMON);
      p.setTimer(50_000_000, 0x30);
    },
    (p, v) => {
      if (v !== 0x30 || observed.length >= 20) return;
      const g = 8 + observed.length;
      const t0 = p.now();
      p.phys.store32(g * PAGE_SIZE, observed.length); // would COW-break if merged with the victim
      const tWrite = p.now() - t0;
      const t1 = p.now();
      const rc = p.disk('d0').read(0, 1, 50 * PAGE_SIZE);
      const tIo = p.now() - t1;
      const target = p.hypercall(18, []);
      observed.push({ tWrite, tIo, rc, target });
      p.setTimer(50_000_000, 0x30);
    },
  );
  const victim = new ProbeGuest((p) => {
    for (let g = 0; g < 48; g++) p.phys.write(g * PAGE_SIZE, COMMON);
  });
  const vms = [{ name: 'attacker', guest: attacker, disk: new MemoryDisk(8) }, ...(victimPresent ? [{ name: 'victim', guest: victim, disk: new MemoryDisk(8) }] : [])];
  // The default ESX configuration (sharing on, no inter-VM sharing domain, default overhead reservation).
  const lab = platformLab(seed, vms, { machineMiB: 96 }, {});
  lab.tvmm.run({ untilNs: 1_200_000_000 });
  return { observed, attacker: lab.esx.vmStats(lab.ids[0]).balloon, sharing: lab.esx.sharing.vmStats(lab.ids[0]), scanned: lab.esx.sharing.stats().pagesScanned };
}

const ISO09: AttackScenario = {
  id: 'ISO-09',
  area: 'ISO',
  attack: 'P probes page sharing, IO latency and balloon answers to learn whether a victim VM is co-resident (twoWorlds present/absent).',
  expected: 'With the default configuration the attacker-observable traces are identical (R: CPU time-sharing documented).',
  run(seed) {
    const a = iso09World(seed, true);
    const b = iso09World(seed, false);
    const same = JSON.stringify({ o: a.observed, s: a.sharing, b: a.attacker }) === JSON.stringify({ o: b.observed, s: b.sharing, b: b.attacker });
    if (!same) return report('LEAKED', 'the attacker-observable trace differs with and without the victim');
    if (a.observed.length < 20) return report('LEAKED', `the probe ran ${a.observed.length}/20 times`);
    return report('blocked', `20 probes (COW-write cost, sync IO cost, balloon target, own sharing stats) identical with and without a victim holding the same pages (${a.scanned} pages scanned); residual: CPU time-sharing changes absolute interrupt times (virtual-time scheduling), which the trace excludes`);
  },
};

// ---------------------------------------------------------------------------------------------- STO-11

/**
 * STO-11: interrupt injection (Heckler). H's interface (the management VM) is searched for an
 * injection operation; a "completion" interrupt with no completion behind it is raised at a VM
 * whose driver has IO in flight; a timer interrupt lands while a cloaked thread runs (the CTC path
 * of CLK-13).
 */
export function sto11(seed: number) {
  const victim = new IoGuest(64, 0x5c);
  const lab = ioLab(seed, [victim]);
  const vm = lab.ids[0];
  const r: Record<string, string> = {};
  const mgmt = lab.tvmm.management as unknown as Record<string, unknown>;
  const names = [...Object.getOwnPropertyNames(Object.getPrototypeOf(mgmt)), ...Object.keys(mgmt)];
  r.mgmtInject = names.filter((k) => /irq|interrupt|inject|ipi|vector/i.test(k)).join('|') || 'none';
  lab.tvmm.run({ untilNs: 150_000 });
  const irq0 = victim.interrupts;
  // Spurious completion interrupts, many of them, while commands are in flight.
  for (let i = 0; i < 10; i++) lab.tvmm.raiseInterrupt(vm, victim.disk.vector!);
  lab.tvmm.run({ maxSlices: 100_000 });
  r.spuriousDelivered = String(victim.interrupts - irq0 >= 10);
  // Completions the guest saw beyond the ones the controller really finished (fabricated by the injections).
  r.spuriousFabricated = String(victim.done.length - lab.ctls[0].stats().completed);
  r.foreign = String(victim.foreign);
  r.allReal = `${victim.done.length}/${victim.issued}`;
  const ctc = cloakScenarioParts.clk13(seed);
  r.cloakedCtc = ctc.outcome;
  return { r, ctcDetail: ctc.detail };
}

const STO11: AttackScenario = {
  id: 'STO-11',
  area: 'STO',
  attack: 'H injects vectors into a closed-box VM, raises "completion" interrupts with no completion behind them, and times interrupts onto a cloaked thread.',
  expected: 'No arbitrary-injection API; device interrupts only for real completions of that VM; cloaked threads resume from the CTC exactly.',
  run(seed) {
    const x = sto11(seed);
    const want: Record<string, string> = { mgmtInject: 'none', spuriousDelivered: 'true', spuriousFabricated: '0', foreign: '0', allReal: '64/64' };
    const wrong = Object.keys(want).filter((k) => x.r[k] !== want[k]);
    const detail = Object.entries(x.r).map(([k, v]) => `${k}=${v}`).join(' ');
    if (wrong.length || x.r.cloakedCtc === 'LEAKED') return report('LEAKED', `${detail}; ${x.ctcDetail}`);
    return report('blocked', `${detail}: the management interface has no injection operation; spurious completion interrupts fabricate no completion (the ring holds only real, owned completions); a cloaked thread interrupted by the kernel resumes from its CTC (${x.ctcDetail.slice(0, 120)})`);
  },
};

// ---------------------------------------------------------------------------------------------- FLT-04

const VA = USER_LAYOUT.textBase;
const VB = USER_LAYOUT.textBase + PAGE_SIZE;

/** FLT-04: power loss at every persistent write of a cloaked file update, then recovery. */
export function flt04(seed: number) {
  const results: string[] = [];
  const app: ProgramFn = function* (p: Proc): Gen {
    const phase = p.argv[0];
    p.write(VA, new TextEncoder().encode('/cloaked/F\0'));
    const fd = yield* p.syscall(SYS.open, [VA, O.CREAT | O.RDWR, 0o600]);
    if (phase === 'read') {
      const n = yield* p.syscall(SYS.read, [fd, VB, 4 * PAGE_SIZE]);
      results.push(`${n}:${[0, 1, 2, 3].map((i) => p.load8(VB + i * PAGE_SIZE)).join(',')}`);
    } else {
      const tag = phase === 'v1' ? 0x10 : 0x20;
      for (let b = 0; b < 4; b++) {
        p.write(VB, new Uint8Array(PAGE_SIZE).fill(tag + b));
        yield* p.syscall(SYS.write, [fd, VB, PAGE_SIZE]);
      }
    }
    yield* p.syscall(SYS.close, [fd]);
    return 0;
  };
  /** Every persistent state H's disk and the NV store pass through during the v2 update. */
  const states: { blocks: Map<number, Uint8Array>; fs: [string, Inode][]; nv: ReturnType<MemoryNvStore['snapshot']>; at: string }[] = [];
  let record = false;
  const nv = new MemoryNvStore();
  class RecordingDisk extends MemoryDisk {
    override write(lba: number, data: Uint8Array): void {
      super.write(lba, data);
      if (record) capture(`disk lba ${lba}`);
    }
  }
  const disk = new RecordingDisk(4096);
  const fs = new Map<string, Inode>();
  const capture = (at: string) => {
    const blocks = new Map<number, Uint8Array>();
    for (const l of disk.writtenBlocks()) blocks.set(l, disk.peek(l));
    states.push({ blocks, fs: [...fs].map(([k, v]) => [k, { ...v }]), nv: nv.snapshot(), at });
  };
  const origAdvance = nv.advance.bind(nv);
  nv.advance = (name: string) => {
    if (record) capture(`before nv.advance(${name})`);
    const v = origAdvance(name);
    if (record) capture(`after nv.advance(${name})`);
    return v;
  };
  const w = bootCloaked({ programs: { app }, start: [], host: { seed }, disk, fs, cloaking: { nv } });
  const step = (kernel: typeof w.kernel, run: () => void, phase: string) => {
    const tid = kernel.spawn('app', [phase]);
    run();
    return kernel.exited.get(tid);
  };
  step(w.kernel, () => w.run(), 'v1');
  record = true;
  capture('start of v2');
  step(w.kernel, () => w.run(), 'v2');
  record = false;
  capture('v2 acknowledged');
  const outcomes: { at: string; result: string }[] = [];
  for (const s of states) {
    const d = new MemoryDisk(4096);
    for (const [l, b] of s.blocks) d.poke(l, b);
    const rfs = new Map(s.fs.map(([k, v]) => [k, { ...v }]));
    results.length = 0;
    const w2 = bootCloaked({ programs: { app }, start: [], host: { seed: seed + 1 }, disk: d, fs: rfs, cloaking: { nv: MemoryNvStore.fromSnapshot(s.nv) } });
    const exit = step(w2.kernel, () => w2.run(), 'read');
    outcomes.push({ at: s.at, result: exit === 0 ? results[0] ?? 'no-read' : `killed:${String(exit).replace('killed:', '')}` });
  }
  return outcomes;
}

/** Classifies a FLT-04 read result. */
export function flt04Class(result: string): 'v1' | 'v2' | 'detected' | 'MIX' {
  if (result === '16384:16,17,18,19') return 'v1';
  if (result === '16384:32,33,34,35') return 'v2';
  if (/ROLLBACK_DETECTED|INTEGRITY_VIOLATION|REPLAY_DETECTED/.test(result)) return 'detected';
  return 'MIX';
}

const FLT04: AttackScenario = {
  id: 'FLT-04',
  area: 'FLT',
  attack: 'Power loss at every persistent write (data blocks, metadata, counter) of a cloaked file update, then reboot and read.',
  expected: 'The last committed version or explicit detection; never a silent mix, never rollback after acknowledgement.',
  run(seed) {
    const o = flt04(seed);
    const cls = o.map((x) => ({ ...x, c: flt04Class(x.result) }));
    const mix = cls.filter((x) => x.c === 'MIX');
    const last = cls[cls.length - 1];
    const counts = ['v1', 'v2', 'detected'].map((k) => `${k}:${cls.filter((x) => x.c === k).length}`).join(' ');
    if (mix.length) return report('LEAKED', `silent mix after power loss at ${mix.map((x) => `${x.at} → ${x.result}`).join('; ')}`);
    if (last.c !== 'v2') return report('LEAKED', `after the acknowledged update the file reads ${last.result}`);
    if (cls.some((x, i) => x.c === 'v1' && cls.slice(0, i).some((y) => y.c === 'v2'))) return report('LEAKED', 'a later crash point reads the older version after an earlier one read the newer (rollback)');
    // Updates go to shadow slots and commit through the NV counters (docs/cloaking.md, crash
    // consistency), so every crash point recovers a whole version; a detection would mean recovery failed.
    if (cls.some((x) => x.c === 'detected')) return report('detected', `${cls.length} power-loss points: ${counts}; never a mix; acknowledged v2 reads v2; some points recover only as an explicit detection`);
    return report('blocked', `${cls.length} power-loss points: ${counts}; every point recovers the last committed version (v1 before the commit, v2 from it on); never a mix, never a rollback`);
  },
};

// ---------------------------------------------------------------------------------------------- FLT-07

/** FLT-07: every NV counter crash point, repeatedly, with power loss (save → restore) after each. */
export function flt07(seed: number, rounds = 60) {
  const rng = createSimContext({ seed }).rng.fork('flt07');
  const points = ['nv.beforeWrite', 'nv.tornWrite', 'nv.afterWrite', ''] as const;
  let faults = new FaultInjector();
  let store = new NvStore(faults);
  const history: number[] = [];
  let acknowledged = 0;
  const events: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const point = points[rng.int(points.length)];
    if (point) faults.arm(point);
    let crashed = false;
    try {
      acknowledged = store.increment('c', new Uint8Array([i & 0xff]));
    } catch (e) {
      if (!(e instanceof SimulatedCrash)) throw e;
      crashed = true;
    }
    // Power loss: only the NV image survives.
    const image = store.save();
    faults = new FaultInjector();
    store = new NvStore(faults);
    store.restore(image);
    const v = store.read('c');
    history.push(v);
    events.push(`${point || 'none'}${crashed ? '!' : ''}=${v}`);
  }
  // A torn slot in a saved image (flipped checksum) must not win, and must not brick the counter.
  const img = store.save();
  const last = store.read('c');
  let bricked = false;
  try {
    store.increment('c');
  } catch {
    bricked = true;
  }
  return { history, acknowledged, events, last, bricked, afterIncrement: store.read('c'), imageBytes: img.length };
}

const FLT07: AttackScenario = {
  id: 'FLT-07',
  area: 'FLT',
  attack: 'NV counter writes fail or tear (two-slot scheme) at every crash point, with power loss after each.',
  expected: 'The counter never decreases; recovery picks the highest valid slot; no bricking.',
  run(seed) {
    const x = flt07(seed);
    const dec = x.history.findIndex((v, i) => i > 0 && v < x.history[i - 1]);
    if (dec >= 0) return report('LEAKED', `counter decreased at step ${dec}: ${x.events.slice(Math.max(0, dec - 2), dec + 1).join(' ')}`);
    if (x.history[x.history.length - 1] < x.acknowledged) return report('LEAKED', `acknowledged ${x.acknowledged} but recovered ${x.history[x.history.length - 1]}`);
    if (x.bricked || x.afterIncrement !== x.last + 1) return report('LEAKED', 'the counter cannot be incremented after recovery (bricked)');
    return report('blocked', `${x.events.length} crash/recovery rounds: monotonic ${x.history[0]}→${x.last}, every acknowledged value kept, torn slots ignored, increment after recovery works`);
  },
};

// ---------------------------------------------------------------------------------------------- FLT-12

/** Runs `f` with the host's wall clocks (Date.now, performance.now) replaced by `clock` (restored after). */
export function withHostClock<T>(clock: () => number, f: () => T): T {
  const d = Date.now;
  const perf = globalThis.performance;
  const pn = perf.now;
  Date.now = clock;
  Object.defineProperty(perf, 'now', { value: clock, configurable: true, writable: true });
  try {
    return f();
  } finally {
    Date.now = d;
    Object.defineProperty(perf, 'now', { value: pn, configurable: true, writable: true });
  }
}

/** The wall-clock anomalies of FLT-12: none, back one hour, forward one year, stalled, erratic. */
export function hostClocks(): Record<string, () => number> {
  const base = Date.now();
  let n = 0;
  return {
    normal: () => Date.now.call(Date),
    back1h: () => base - 3_600_000 + n++,
    forward1y: () => base + 365 * 86_400_000 + n++,
    stalled: () => base,
    erratic: () => (n++ % 2 ? base + 1e12 : base - 1e12),
  };
}

/** One FLT-12 world: two VMs doing interrupt-driven IO with vIC and a balloon target, plus the verifier's nonce expiry. Returns its trace digest and nonce results. */
export function flt12World(seed: number) {
  const rows = (() => {
    const a = new IoGuest(400, 0xa1);
    const b = new IoGuest(400, 0xb2);
    const lab = ioLab(seed, [a, b]);
    lab.tvmm.run({ maxSlices: 1_000_000 });
    return { digest: lab.host.sim.trace.digest(), now: lab.host.sim.clock.now, done: a.done.length + b.done.length, resignals: lab.ctls.map((c) => c.stats().resignals) };
  })();
  const h = createAttestedHost({ seed });
  const img = buildImage(nobleProvider, new Uint8Array(4096).fill(3), { name: 'x', blockSize: 4096 });
  h.service.registerVm(1, { image: img, mode: 'closed' });
  const policy = policyFor(h, [parseImage(nobleProvider, img).identity]);
  const v = new Verifier(createSimContext({ seed: seed + 1 }), nobleProvider, [h.rot.manufacturer.certDer], policy);
  const n1 = v.issueNonce();
  const q1 = h.service.quote(1, n1);
  const fresh = v.verify(q1, n1);
  const n2 = v.issueNonce();
  const q2 = h.service.quote(1, n2);
  v.ctx.clock.advance((policy.nonceTtlSeconds + 1) * 1e9);
  const expired = v.verify(q2, n2);
  return { ...rows, fresh: fresh.ok ? 'OK' : fresh.failed!.code, expired: expired.ok ? 'OK' : expired.failed!.code };
}

const FLT12: AttackScenario = {
  id: 'FLT-12',
  area: 'FLT',
  attack: 'H moves the wall clock back 1 h, forward 1 year, stalls it and makes it erratic during a run with vIC timers and nonce expiry.',
  expected: 'Everything runs on the TVMM virtual clock: identical traces, no timer storm, no expired nonce revived.',
  run(seed) {
    const clocks = hostClocks();
    const out = Object.entries(clocks).map(([name, c]) => [name, withHostClock(c, () => flt12World(seed))] as const);
    const ref = JSON.stringify(out[0][1]);
    const diff = out.filter(([, r]) => JSON.stringify(r) !== ref).map(([n]) => n);
    const r0 = out[0][1];
    if (diff.length) return report('LEAKED', `the run differs under host clock ${diff.join(', ')}`);
    if (r0.fresh !== 'OK' || r0.expired !== 'NONCE_EXPIRED' || r0.done !== 800) return report('LEAKED', `fresh=${r0.fresh} expired=${r0.expired} done=${r0.done}`);
    return report('blocked', `${out.length} host clocks (${Object.keys(clocks).join(', ')}): identical trace digest ${r0.digest.slice(0, 16)}…, ${r0.done} completions, re-signals ${r0.resignals.join('/')}, nonce expiry on virtual time (fresh OK, after TTL NONCE_EXPIRED under every host clock)`);
  },
};

// ---------------------------------------------------------------------------------------------- VAL-*

/** The class of what a call threw: 'OK', 'TypeError', 'RangeError', a TerraError code, or another error's name. */
export function errClass(f: () => unknown): string {
  try {
    f();
    return 'OK';
  } catch (e) {
    if (e instanceof TypeError) return 'TypeError';
    if (e instanceof RangeError) return 'RangeError';
    if (e instanceof TerraError) return e.code;
    return e instanceof Error ? e.name : 'THROWN';
  }
}

/** A fresh booted machine with one open-box probe VM (id 1) and a disk, for the VAL tables. */
export function valLab(seed = 1) {
  const guest = new ProbeGuest();
  const disk = new MemoryDisk(64);
  const lab = platformLab(seed, [{ name: 'v', guest, disk }], { machineMiB: 16 });
  return { ...lab, guest, disk, vm: lab.ids[0] };
}

/** VAL-01's hostile numeric inputs (the object's valueOf records a side effect). */
export function hostileNumbers(sideEffect: () => void): { label: string; value: unknown; number: boolean }[] {
  return [
    { label: '-1', value: -1, number: true },
    { label: '-0', value: -0, number: true },
    { label: '0.5', value: 0.5, number: true },
    { label: 'NaN', value: NaN, number: true },
    { label: 'Infinity', value: Infinity, number: true },
    { label: '-Infinity', value: -Infinity, number: true },
    { label: '2^53', value: 2 ** 53, number: true },
    { label: "'1'", value: '1', number: false },
    { label: '1n', value: 1n, number: false },
    { label: 'null', value: null, number: false },
    { label: 'undefined', value: undefined, number: false },
    { label: 'valueOf', value: { valueOf() { sideEffect(); return 1; } }, number: false },
  ];
}

/** VAL-01: every numeric parameter of the public API in the table, with every hostile input. Returns the mismatches. */
export function val01(seed = 1): { checked: number; valueOfCalls: number; wrong: string[] } {
  let valueOfCalls = 0;
  const inputs = hostileNumbers(() => valueOfCalls++);
  const L = valLab(seed);
  const { tvmm, vm, guest } = L;
  const p = guest.p;
  const G = new ProbeGuest();
  const ctx = createSimContext({ seed });
  const scsi = (o: Record<string, unknown>) => new VirtualScsiController(ctx, { vmId: 1, device: new RamDisk(64), sink: { raise() {} }, ...o } as never);
  /** [name, call, whether undefined is an allowed "default"] */
  const table: [string, (x: never) => unknown, boolean][] = [
    ['Host.seed', (x) => new Host({ seed: x, machineMiB: 1 }), true],
    ['Host.machineMiB', (x) => new Host({ machineMiB: x }), true],
    ['createVm.pages', (x) => tvmm.createVm({ name: 'n', kind: 'open-box', pages: x, guest: G }), false],
    ['createVm.memoryMiB', (x) => tvmm.createVm({ name: 'n', kind: 'open-box', memoryMiB: x, guest: G }), false],
    ['createVm.vcpus', (x) => tvmm.createVm({ name: 'n', kind: 'open-box', pages: 16, vcpus: x, guest: G }), true],
    ['power.vm', (x) => tvmm.power(x, 'suspend'), false],
    ['vm(id)', (x) => tvmm.vm(x), false],
    ['raiseInterrupt.vector', (x) => tvmm.raiseInterrupt(vm, x), false],
    ['registerHypercall.nr', (x) => tvmm.registerHypercall(x, 'n', () => 0), false],
    ['run.untilNs', (x) => tvmm.run({ untilNs: x, maxSlices: 1 }), true],
    ['run.maxSlices', (x) => tvmm.run({ maxSlices: x, untilNs: 0 }), true],
    ['mgmt.readMemory.gpa', (x) => tvmm.management.readMemory(vm, x, 16), false],
    ['mgmt.readMemory.len', (x) => tvmm.management.readMemory(vm, 0, x), false],
    ['mgmt.readRegisters.vcpu', (x) => tvmm.management.readRegisters(vm, x), true],
    ['MemoryDisk.blocks', (x) => new MemoryDisk(x), false],
    ['MemoryDisk.read.lba', (x) => L.disk.read(x, 1), false],
    ['MemoryDisk.read.count', (x) => L.disk.read(0, x), false],
    ['MemoryDisk.peek.lba', (x) => L.disk.peek(x), false],
    ['RamDisk.sectors', (x) => new RamDisk(x), false],
    ['scsi.vmId', (x) => scsi({ vmId: x }), false],
    ['scsi.queueDepth', (x) => scsi({ queueDepth: x }), true],
    ['scsi.jitterNs', (x) => scsi({ jitterNs: x }), true],
    ['phys.load32', (x) => p.phys.load32(x), false],
    ['phys.store32.value', (x) => p.phys.store32(0, x), false],
    ['phys.read.len', (x) => p.phys.read(0, x), false],
    ['phys.zeroPage', (x) => p.phys.zeroPage(x), false],
    ['kernelSpace.root', (x) => p.kernelSpace(x), false],
    ['setTimer.delayNs', (x) => p.setTimer(x, 0x30), false],
    ['setTimer.vector', (x) => p.setTimer(1000, x), false],
    ['entropy.n', (x) => p.entropy(x), false],
    ['resume.tid', (x) => p.resume(x), false],
    ['disk.read.lba', (x) => p.disk('d0').read(x, 1, 4096), false],
    ['disk.read.count', (x) => p.disk('d0').read(0, x, 4096), false],
    ['disk.read.gpa', (x) => p.disk('d0').read(0, 1, x), false],
    ['NvStore.restore image', () => { throw new TypeError('n/a'); }, false],
    ['balloon.setTarget', (x) => L.esx.balloon.setTarget(vm, x), false],
    ['MemoryNvStore.advance→counter', (x) => MemoryNvStore.fromSnapshot({ counters: [['c', x]] }), false],
  ];
  const wrong: string[] = [];
  let checked = 0;
  const before = tvmm.vms().length;
  for (const [name, call, undefOk] of table) {
    if (name === 'NvStore.restore image') continue;
    for (const inp of inputs) {
      if (inp.value === undefined && undefOk) continue;
      checked++;
      const got = errClass(() => call(inp.value as never));
      const want = inp.number ? 'RangeError' : 'TypeError';
      if (got !== want) wrong.push(`${name}(${inp.label}) → ${got}, want ${want}`);
    }
  }
  if (tvmm.vms().length !== before) wrong.push('a refused createVm created a VM');
  return { checked, valueOfCalls, wrong };
}

/** VAL-02's non-Uint8Array and unsafe byte inputs. */
export function hostileBytes(): { label: string; value: unknown }[] {
  const detached = new Uint8Array(32);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  return [
    { label: 'number[]', value: Array.from({ length: 32 }, () => 1) },
    { label: 'ArrayBuffer', value: new ArrayBuffer(32) },
    { label: 'DataView', value: new DataView(new ArrayBuffer(32)) },
    { label: 'Int8Array', value: new Int8Array(32) },
    { label: 'Uint8ClampedArray', value: new Uint8ClampedArray(32) },
    { label: 'string', value: 'x'.repeat(32) },
    { label: 'detached', value: detached },
    { label: 'SharedArrayBuffer', value: new Uint8Array(new SharedArrayBuffer(32)) },
    { label: 'null', value: null },
  ];
}

/** VAL-02: every byte-array parameter in the table with every hostile input, wrong lengths, and copy-on-entry checks. */
export function val02(seed = 1): { checked: number; wrong: string[]; copies: Record<string, boolean> } {
  const L = valLab(seed);
  const p = L.guest.p;
  const h = createAttestedHost({ seed });
  const img = buildImage(nobleProvider, new Uint8Array(4096).fill(3), { name: 'x', blockSize: 4096 });
  h.service.registerVm(1, { image: img, mode: 'closed' });
  const v = new Verifier(createSimContext({ seed }), nobleProvider, [h.rot.manufacturer.certDer], policyFor(h, [parseImage(nobleProvider, img).identity]));
  const nv = new NvStore(new FaultInjector());
  const ram = new RamDisk(64);
  const table: [string, (x: never) => unknown, number | undefined][] = [
    ['phys.write', (x) => p.phys.write(0, x), undefined],
    ['MemoryDisk.write', (x) => L.disk.write(0, x), 4097],
    ['MemoryDisk.poke', (x) => L.disk.poke(0, x), 4095],
    ['RamDisk.write', (x) => ram.write(0, x), 511],
    ['createVm.image', (x) => L.tvmm.createVm({ name: 'img', kind: 'open-box', pages: 16, guest: new ProbeGuest(), image: x }), undefined],
    ['NvStore.increment.tag', (x) => nv.increment('c', x), 65],
    ['MemoryNvStore.secret', (x) => new MemoryNvStore(x), 31],
    ['service.seal.data', (x) => h.service.seal(1, 'l', x), undefined],
    ['service.quote.nonce', (x) => h.service.quote(1, x), 7],
    ['verifier.registerNonce', (x) => v.registerNonce(x), 7],
    ['verifier.verify.quote', (x) => v.verify(x, new Uint8Array(32)), undefined],
    ['parseImage', (x) => parseImage(nobleProvider, x), undefined],
    ['parseSealedBlob', (x) => parseSealedBlob(x), undefined],
    ['decodeQuote', (x) => decodeQuote(x), undefined],
    ['parseCert', (x) => parseCert(x), undefined],
    ['NvStore.restore', (x) => nv.restore(x), undefined],
  ];
  const wrong: string[] = [];
  let checked = 0;
  for (const [name, call, badLen] of table) {
    for (const inp of hostileBytes()) {
      checked++;
      const got = errClass(() => call(inp.value as never));
      if (got !== 'TypeError') wrong.push(`${name}(${inp.label}) → ${got}, want TypeError`);
    }
    if (badLen !== undefined) {
      checked++;
      const got = errClass(() => call(new Uint8Array(badLen) as never));
      if (got !== 'RangeError') wrong.push(`${name}(${badLen} bytes) → ${got}, want RangeError`);
    }
  }
  // Accepted inputs are copied on entry: mutating the caller's array afterwards changes nothing.
  const copies: Record<string, boolean> = {};
  const data = new Uint8Array(4096).fill(0x11);
  L.disk.write(1, data);
  data.fill(0x22);
  copies['MemoryDisk.write'] = L.disk.peek(1)[0] === 0x11;
  const d2 = new Uint8Array(16).fill(0x33);
  p.phys.write(8 * PAGE_SIZE, d2);
  d2.fill(0x44);
  copies['phys.write'] = p.phys.read(8 * PAGE_SIZE, 1)[0] === 0x33;
  const out = p.phys.read(8 * PAGE_SIZE, 16);
  out.fill(0x55);
  copies['phys.read returns a copy'] = p.phys.read(8 * PAGE_SIZE, 1)[0] === 0x33;
  const secret = new Uint8Array(16).fill(0x66);
  const blob = h.service.seal(1, 'copy', secret);
  secret.fill(0x77);
  copies['seal'] = h.service.unsealBlob(1, blob)[0] === 0x66;
  // Node's Buffer only where it exists (the core also runs in browsers, where there is nothing to check).
  const NodeBuffer = (globalThis as { Buffer?: { alloc(n: number, fill: number): Uint8Array } }).Buffer;
  const nodeBuffer = NodeBuffer ? errClass(() => L.disk.write(2, NodeBuffer.alloc(4096, 1))) : 'OK';
  copies['Buffer accepted (Uint8Array subclass, documented)'] = nodeBuffer === 'OK';
  return { checked, wrong, copies };
}

/** True when Object.prototype has exactly the standard own properties (no pollution). */
function protoSnapshot(): string {
  return Object.getOwnPropertyNames(Object.prototype).sort().join(',') + JSON.stringify(Object.getOwnPropertyDescriptors(Object.prototype), (k, v) => (typeof v === 'function' ? v.name : v));
}

/** VAL-05: hostile serialized structures against every decoder. Returns per-case outcomes and whether Object.prototype changed. */
export function val05(seed = 1) {
  const h = createAttestedHost({ seed });
  const img = buildImage(nobleProvider, new Uint8Array(4096).fill(3), { name: 'x', blockSize: 4096 });
  h.service.registerVm(1, { image: img, mode: 'closed' });
  const quote = h.service.quote(1, new Uint8Array(32).fill(1));
  const cert = h.rot.manufacturer.certDer;
  const blob = h.service.seal(1, 'l', new Uint8Array([1, 2, 3]));
  const nv = new NvStore(new FaultInjector());
  nv.increment('c');
  const nvImg = nv.save();
  const cat = (a: Uint8Array, b: Uint8Array) => { const o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; };
  const huge = new Uint8Array([0x5a, 0xff, 0xff, 0xff, 0xf0, 1, 2, 3]); // CBOR byte string of length ≈ 2^32
  const dupMap = new Uint8Array([0xa2, 0x01, 0x01, 0x01, 0x02]); // CBOR map {1: 1, 1: 2}
  const decoders: Record<string, [(b: Uint8Array) => unknown, Uint8Array]> = {
    quote: [(b) => decodeQuote(b), quote],
    certificate: [(b) => parseCert(b), cert],
    sealedBlob: [(b) => parseSealedBlob(b), blob],
    unsealBlob: [(b) => h.service.unsealBlob(1, b), blob],
    image: [(b) => parseImage(nobleProvider, b), img],
    nvImage: [(b) => { new NvStore(new FaultInjector()).restore(b); }, nvImg],
    verify: [(b) => { const r = v.verify(b, new Uint8Array(32).fill(1)); if (!r.ok) throw new TerraError('ATTESTATION_ERROR', r.failed!.code); }, quote],
  };
  const v = new Verifier(createSimContext({ seed }), nobleProvider, [cert], policyFor(h, [parseImage(nobleProvider, img).identity]));
  const proto0 = protoSnapshot();
  const r: Record<string, string> = {};
  const ok = /^(TypeError|RangeError|MALFORMED|ATTESTATION_ERROR|UNSEAL_ERROR)$/;
  for (const [name, [dec, good]] of Object.entries(decoders)) {
    r[`${name}/truncated`] = errClass(() => dec(good.subarray(0, good.length - 1)));
    r[`${name}/half`] = errClass(() => dec(good.subarray(0, good.length >> 1)));
    r[`${name}/trailing`] = errClass(() => dec(cat(good, new Uint8Array([0]))));
    r[`${name}/hugeLength`] = errClass(() => dec(huge));
    r[`${name}/duplicateKeys`] = errClass(() => dec(dupMap));
    r[`${name}/empty`] = errClass(() => dec(new Uint8Array(0)));
  }
  // Unknown algorithm ids in a quote: rewrite the COSE alg (-8 → 0 'none'-like, and -7 ↔ an unknown -999 is not encodable in one byte).
  const qAlg = quote.slice();
  const i = qAlg.indexOf(0x27); // CBOR -8
  if (i > 0) qAlg[i] = 0x00;
  r['quote/unknownAlg'] = errClass(() => decodeQuote(qAlg));
  r['verify/unknownAlg'] = errClass(() => decoders.verify[0](qAlg));
  // JSON decoders: policy and scenario, with __proto__ / constructor keys.
  const policyJson = JSON.stringify({ version: 1, allow: { firmware: [], bootloader: [], tvmm: [], vm: [] } });
  for (const [k, text] of Object.entries({
    proto: policyJson.replace('{', '{"__proto__":{"polluted":1},'),
    constructor: policyJson.replace('{', '{"constructor":{"prototype":{"polluted":1}},'),
    nested: policyJson.replace('"allow":{', '"allow":{"__proto__":{"polluted":1},'),
    unknownVersion: policyJson.replace('"version":1', '"version":99'),
    noneAlg: policyJson.replace('{', '{"alg":"none",'),
  })) {
    r[`policy/${k}`] = errClass(() => parsePolicy(text));
    const sc = parseScenario(`{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"name":"x"}`, 'json');
    r[`scenario/${k}`] = sc.ok ? 'OK' : 'MALFORMED';
  }
  const polluted = ({} as Record<string, unknown>).polluted !== undefined || protoSnapshot() !== proto0;
  // parseSealedBlob reads only the header: bytes after it are the AEAD ciphertext, so a truncated
  // or extended ciphertext is not a header error; unsealBlob (the decoder that yields data) refuses it.
  const headerOnly = (k: string) => k === 'sealedBlob/truncated' || k === 'sealedBlob/trailing';
  const wrong = Object.entries(r).filter(([k, x]) => !ok.test(x) && !headerOnly(k)).map(([k, x]) => `${k}=${x}`);
  return { r, polluted, wrong };
}

const VAL01: AttackScenario = {
  id: 'VAL-01', area: 'VAL',
  attack: 'Numeric parameters of the public API set to −1, −0, 0.5, NaN, ±Infinity, 2^53, \'1\', 1n, null, undefined, {valueOf}.',
  expected: 'TypeError for wrong types, RangeError for out-of-range values; valueOf never invoked.',
  run(seed) {
    const x = val01(seed);
    if (x.valueOfCalls) return report('LEAKED', `valueOf invoked ${x.valueOfCalls}× (implicit coercion)`);
    if (x.wrong.length) return report('LEAKED', `${x.wrong.length}/${x.checked}: ${x.wrong.slice(0, 8).join('; ')}`);
    return report('blocked', `${x.checked} (parameter, input) pairs refused with the right class; valueOf never invoked`);
  },
};

const VAL02: AttackScenario = {
  id: 'VAL-02', area: 'VAL',
  attack: 'Byte parameters given as number[], ArrayBuffer, DataView, Int8Array, Uint8ClampedArray, string, detached or SharedArrayBuffer-backed views, or with the wrong length.',
  expected: 'ValidationError; accepted inputs copied before use; Node Buffer accepted explicitly.',
  run(seed) {
    const x = val02(seed);
    const notCopied = Object.entries(x.copies).filter(([, ok]) => !ok).map(([k]) => k);
    if (x.wrong.length || notCopied.length) return report('LEAKED', `${[...x.wrong.slice(0, 8), ...notCopied.map((k) => `${k} not copied`)].join('; ')}`);
    return report('blocked', `${x.checked} (parameter, input) pairs refused; ${Object.keys(x.copies).join(', ')}`);
  },
};

const VAL05: AttackScenario = {
  id: 'VAL-05', area: 'VAL',
  attack: 'Truncated, trailing-byte, huge-length, duplicate-key, __proto__/constructor and unknown-algorithm inputs to every decoder.',
  expected: 'MALFORMED / AttestationError / ValidationError; no oversized allocation; Object.prototype unchanged.',
  run(seed) {
    const x = val05(seed);
    if (x.polluted) return report('LEAKED', 'Object.prototype changed');
    if (x.wrong.length) return report('LEAKED', `accepted: ${x.wrong.join('; ')}`);
    return report('blocked', `${Object.keys(x.r).length} hostile encodings refused with typed errors; Object.prototype unchanged`);
  },
};

/** VAL-06: invalid disk IO parameters on every block path, and overlapping in-flight writes to one LBA. */
export function val06(seed = 1) {
  const L = valLab(seed);
  const gd = L.guest.p.disk('d0');
  const mem = new MemoryDisk(64);
  const ram = new RamDisk(64 * 8);
  const bad: [string, number, number][] = [['lba -1', -1, 1], ['lba 0.5', 0.5, 1], ['lba+count > size', 63, 2], ['count 0', 0, 0], ['count 257 > max', 0, 257], ['lba = size', 64, 1]];
  const r: Record<string, string> = {};
  for (const [label, lba, count] of bad) {
    r[`MemoryDisk.read ${label}`] = errClass(() => mem.read(lba, count));
    r[`RamDisk.read ${label}`] = errClass(() => ram.read(Number.isInteger(lba) ? lba * 8 : lba, count * 8));
    r[`guest disk.read ${label}`] = errClass(() => gd.read(lba, count, 4096));
    r[`guest disk.write ${label}`] = errClass(() => gd.write(lba, count, 4096));
    r[`MemoryDisk.write ${label}`] = errClass(() => mem.write(lba, new Uint8Array(Math.max(count, 0) * 4096)));
  }
  for (const len of [0, 4095, 4097, 512]) r[`MemoryDisk.write len ${len}`] = errClass(() => mem.write(0, new Uint8Array(len)));
  for (const len of [0, 511, 513, 4095]) r[`RamDisk.write len ${len}`] = errClass(() => ram.write(0, new Uint8Array(len)));
  r['guest disk.read gpa unaligned'] = errClass(() => gd.read(0, 1, 100));
  // The controller (device model): malformed commands complete with CHECK CONDITION / ILLEGAL REQUEST, as a real one would.
  const ctx = createSimContext({ seed });
  const got: { tag: number; status: string; sense?: string; completedAt: number }[] = [];
  const backing = new RamDisk(64);
  const isr = () => got.push(...ctl.poll().map((c) => ({ tag: c.tag, status: c.status, ...(c.sense ? { sense: c.sense } : {}), completedAt: c.completedAt })));
  const ctl: VirtualScsiController = new VirtualScsiController(ctx, { vmId: 1, device: backing, jitterNs: 500_000, sink: { raise: () => ctx.events.after(1000, 'isr', isr) } });
  const tags: Record<string, number> = {};
  for (const [label, lba, count] of [['lba -1', -1, 1], ['lba 0.5', 0.5, 1], ['beyond', 63, 2], ['count 0', 0, 0]] as const) {
    const t = ctl.submit({ op: 'read', lba, count });
    if (t.ok) tags[label] = t.value;
  }
  tags['len mismatch'] = (ctl.submit({ op: 'write', lba: 0, count: 2, data: new Uint8Array(512) }) as { value: number }).value;
  // Overlapping writes to one LBA, completing in an order the jitter decides.
  const w: number[] = [];
  for (let i = 0; i < 6; i++) w.push((ctl.submit({ op: 'write', lba: 5, count: 1, data: new Uint8Array(512).fill(0x10 + i) }) as { value: number }).value);
  while (ctx.events.runNext()) { /* drain */ }
  isr();
  for (const [label, t] of Object.entries(tags)) {
    const c = got.find((g) => g.tag === t);
    r[`controller ${label}`] = c ? `${c.status}/${c.sense ?? ''}` : 'none';
  }
  const writes = got.filter((g) => w.includes(g.tag));
  const lastCompleted = writes.reduce((a, b) => (b.completedAt >= a.completedAt ? b : a));
  // Documented order: the controller applies a write when it completes, so among overlapping writes in
  // flight the last to complete (the guest sees that order in the completion ring) is the one on disk.
  return { r, writes, onDisk: backing.read(5, 1)[0], lastCompletedData: 0x10 + w.indexOf(lastCompleted.tag), completionOrder: writes.map((x) => w.indexOf(x.tag)) };
}

const VAL06: AttackScenario = {
  id: 'VAL-06', area: 'VAL',
  attack: 'Negative or fractional lba, lba + count beyond the device, count 0 or above the maximum, buffer length ≠ count × block, overlapping in-flight writes.',
  expected: 'ValidationError for invalid parameters; a defined, documented last-writer order for overlapping writes.',
  run(seed) {
    const x = val06(seed);
    const wrong = Object.entries(x.r).filter(([k, v]) => (k.startsWith('controller') ? v !== 'check-condition/ILLEGAL_REQUEST' : v !== 'RangeError' && v !== 'TypeError'));
    if (wrong.length) return report('LEAKED', `accepted: ${wrong.map(([k, v]) => `${k}=${v}`).join('; ')}`);
    if (x.onDisk !== x.lastCompletedData) return report('LEAKED', `overlapping writes: disk holds 0x${x.onDisk.toString(16)}, the last completion wrote 0x${x.lastCompletedData.toString(16)}`);
    return report('blocked', `${Object.keys(x.r).length} invalid IOs refused (RangeError; the controller answers CHECK CONDITION / ILLEGAL REQUEST); overlapping writes resolve in completion order (completed ${x.completionOrder.join(',')}, disk holds the last)`);
  },
};

/** VAL-07: hypercall dispatch with unknown numbers, wrong argument types/counts, and calls from the wrong context. */
export function val07(seed = 1) {
  const r: Record<string, string> = {};
  const hc = (f: () => number) => probe(f);
  const rids: Record<string, number> = {};
  type Hc = { hypercall?: (nr: number, args: readonly number[]) => number };
  const w = bootCloaked({
    host: { seed },
    start: ['owner', 'plain', 'thief'],
    cloak: ['owner', 'thief'],
    programs: {
      *owner(p: Proc): Gen {
        const h = (p as Proc & Hc).hypercall;
        rids.owner = h ? h(33, []) : -999; // a resource of the owner's domain
        yield* p.compute(1000);
        return 0;
      },
      *plain(p: Proc): Gen {
        const h = (p as Proc & Hc).hypercall!;
        r['uncloaked user: create-resource'] = hc(() => h(33, []));
        r['uncloaked user: map'] = hc(() => h(34, [1, 16, 1, 0]));
        r['uncloaked user: file'] = hc(() => h(36, [0]));
        r['uncloaked user: unknown nr'] = hc(() => h(4242, []));
        yield* p.compute(1000);
        return 0;
      },
      *thief(p: Proc): Gen {
        yield* p.compute(2000);
        const h = (p as Proc & Hc).hypercall;
        r['thief has a raw hypercall channel'] = h ? 'yes' : 'no';
        if (h && rids.owner > 0) r["cloaked app maps another domain's rid"] = hc(() => h(34, [rids.owner, 0x9000, 1, 0]));
        return 0;
      },
    },
  });
  w.run();
  const k = w.kernel.p;
  r['kernel: unknown nr'] = hc(() => k.hypercall(4242, []));
  r['kernel: nr as string'] = hc(() => k.hypercall('18' as never, []));
  r['kernel: arg as string'] = hc(() => k.hypercall(33, ['1' as never]));
  r['kernel: fractional arg'] = hc(() => k.hypercall(33, [1.5]));
  r['kernel: 9 args'] = hc(() => k.hypercall(33, [1, 2, 3, 4, 5, 6, 7, 8, 9]));
  r['kernel: args not an array'] = hc(() => k.hypercall(33, 5 as never));
  for (const [nr, args] of [[32, []], [33, []], [34, [1, 16, 1, 0]], [35, [16, 1]], [36, [0]]] as const) r[`kernel forges shim hypercall ${nr}`] = hc(() => k.hypercall(nr, args));
  const refusals = w.host.sim.trace.securityEvents().filter((e) => e.kind === 'hypercall.refused').length;
  return { r, refusals, rids };
}

const VAL07: AttackScenario = {
  id: 'VAL-07', area: 'VAL',
  attack: 'Unknown hypercall numbers, wrong argument types or counts, the kernel forging shim hypercalls, uncloaked processes calling cloak-only hypercalls, an app naming another domain\'s resource.',
  expected: 'Error results (EINVAL/ENOSYS/EPERM = ValidationError/IsolationViolation); identity from the TVMM, never from arguments.',
  run(seed) {
    const x = val07(seed);
    const want = (k: string): string[] => {
      if (k.includes('unknown nr') || k.includes('nr as string')) return ['OK:-38'];
      if (k.startsWith('kernel: ')) return ['OK:-22'];
      if (k === 'thief has a raw hypercall channel') return ['yes', 'no'];
      return ['OK:-1'];
    };
    const wrong = Object.entries(x.r).filter(([k, v]) => !want(k).includes(v));
    const detail = Object.entries(x.r).map(([k, v]) => `${k}=${v}`).join('; ');
    if (wrong.length) return report('LEAKED', `unexpected: ${wrong.map(([k, v]) => `${k}=${v}`).join('; ')}`);
    return report('blocked', `${detail}; ${x.refusals} refusals audited`);
  },
};

/** True when any 16-byte window of `secret` appears in `text` raw (latin1) or as hex. */
export function textLeaks(secret: Uint8Array, text: string): boolean {
  const hex = Array.from(secret, (b) => b.toString(16).padStart(2, '0')).join('');
  const raw = String.fromCharCode(...secret);
  for (let i = 0; i + 16 <= secret.length; i++) if (text.includes(hex.slice(2 * i, 2 * i + 32)) || text.includes(raw.slice(i, i + 16))) return true;
  return false;
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const c = (e as { cause?: unknown }).cause;
  return `${e.name}\n${e.message}\n${e.stack ?? ''}\n${c === undefined ? '' : errorText(c)}\n${JSON.stringify(e)}\n${JSON.stringify((e as { detail?: unknown }).detail ?? null)}`;
}

/** VAL-10: every MAC/AEAD failure of sealed storage and protected disks; their class and message, and whether any secret leaked into an error. */
export function val10(seed = 1) {
  const h = createAttestedHost({ seed });
  const img = buildImage(nobleProvider, new Uint8Array(4096).fill(3), { name: 'a', blockSize: 4096 });
  const other = buildImage(nobleProvider, new Uint8Array(4096).fill(4), { name: 'b', blockSize: 4096 });
  h.service.registerVm(1, { image: img, mode: 'closed' });
  h.service.registerVm(2, { image: other, mode: 'closed' });
  const secret = createSimContext({ seed }).rng.fork('val10').bytes(64);
  const blob = h.service.seal(1, 'k', secret);
  const n = blob.length;
  const flip = (i: number) => { const b = blob.slice(); b[i] ^= 1; return b; };
  const cases: Record<string, () => unknown> = {
    'tag byte 0': () => h.service.unsealBlob(1, flip(n - 16)),
    'tag byte 15': () => h.service.unsealBlob(1, flip(n - 1)),
    'ciphertext byte': () => h.service.unsealBlob(1, flip(n - 40)),
    'wrong key (other VM)': () => h.service.unsealBlob(2, blob),
    'wrong AAD (nonce byte)': () => h.service.unsealBlob(1, flip(parseSealedBlob(blob).headerLength - 1)),
    truncated: () => h.service.unsealBlob(1, blob.subarray(0, n - 1)),
  };
  // Protected disks: an integrity disk and an encrypted disk, tampered at byte 0 and 15 of a block, and opened with a wrong key.
  const ctx = createSimContext({ seed });
  const key = ctx.rng.fork('disk-key').bytes(32);
  for (const cls of ['encrypted', 'integrity'] as const) {
    const dev = new MemoryBlockDevice(512, 32);
    const disk = ProtectedDisk.format(ctx, nobleProvider, dev, { cls, key, diskId: `d-${cls}` });
    const block = new Uint8Array(512);
    block.set(secret);
    disk.write(3, block);
    for (const off of [0, 15]) {
      cases[`${cls} disk byte ${off}`] = () => {
        const raw = dev.read(3, 1);
        raw[off] ^= 1;
        dev.write(3, raw);
        try {
          return ProtectedDisk.open(ctx, nobleProvider, dev, { cls, key, diskId: `d-${cls}` }).read(3, 1);
        } finally {
          raw[off] ^= 1;
          dev.write(3, raw);
        }
      };
    }
    cases[`${cls} disk wrong key`] = () => ProtectedDisk.open(ctx, nobleProvider, dev, { cls, key: new Uint8Array(32).fill(9), diskId: `d-${cls}` }).read(3, 1);
  }
  const out: Record<string, { cls: string; code: string; message: string; leaks: boolean }> = {};
  for (const [k, f] of Object.entries(cases)) {
    try {
      f();
      out[k] = { cls: 'OK', code: '', message: '', leaks: false };
    } catch (e) {
      out[k] = { cls: e instanceof Error ? e.constructor.name : typeof e, code: e instanceof TerraError ? e.code : '', message: e instanceof Error ? e.message : String(e), leaks: textLeaks(secret, errorText(e)) || textLeaks(key, errorText(e)) };
    }
  }
  const trace = JSON.stringify(h.ctx.trace.events()) + JSON.stringify(ctx.trace.events());
  return { out, traceLeaks: textLeaks(secret, trace) || textLeaks(key, trace) };
}

const VAL10: AttackScenario = {
  id: 'VAL-10', area: 'VAL',
  attack: 'Cause MAC/AEAD failures with a wrong tag byte 0 vs 15, a wrong key, a wrong AAD and truncation; read the errors and logs.',
  expected: 'Same class and message for every MAC/AEAD failure of a mechanism; no secret bytes in message, cause, stack or logs.',
  run(seed) {
    const x = val10(seed);
    const groups = new Map<string, Set<string>>();
    for (const [k, v] of Object.entries(x.out)) {
      // Grouped per MAC'd object: a wrong disk key fails the disk's metadata MAC at open, before any block is read.
      const g = k.endsWith('wrong key') ? 'disk metadata' : k.startsWith('encrypted') ? 'encrypted block' : k.startsWith('integrity') ? 'integrity block' : 'sealed blob';
      if (!groups.has(g)) groups.set(g, new Set());
      groups.get(g)!.add(`${v.cls}/${v.code}/${v.message}`);
    }
    const ok = Object.entries(x.out).filter(([, v]) => v.cls === 'OK').map(([k]) => k);
    const leaks = Object.entries(x.out).filter(([, v]) => v.leaks).map(([k]) => k);
    const nonUniform = [...groups].filter(([, set]) => set.size !== 1).map(([g, set]) => `${g}: ${[...set].join(' | ')}`);
    if (ok.length) return report('LEAKED', `accepted: ${ok.join(', ')}`);
    if (leaks.length || x.traceLeaks) return report('LEAKED', `secret bytes in errors of ${leaks.join(', ')}${x.traceLeaks ? ' and in the trace' : ''}`);
    if (nonUniform.length) return report('LEAKED', `non-uniform errors: ${nonUniform.join('; ')}`);
    return report('blocked', [...groups].map(([g, set]) => `${g}: ${[...set][0]}`).join('; '));
  },
};

/** VAL-11: configuration, enumerations and resource limits of createVm, devices, ESX reservations and VM count. */
export function val11(seed = 1, vmFlood = 1_000_000) {
  const host = new Host({ seed, machineMiB: 16 });
  const tvmm = host.boot();
  const G = () => new ProbeGuest();
  const r: Record<string, string> = {};
  const spec = (o: Record<string, unknown>) => ({ name: 'x', kind: 'open-box', pages: 16, guest: G(), ...o }) as never;
  r['pages 0'] = errClass(() => tvmm.createVm(spec({ pages: 0 })));
  r['pages -1'] = errClass(() => tvmm.createVm(spec({ pages: -1 })));
  r['pages 2^40'] = errClass(() => tvmm.createVm(spec({ pages: 2 ** 40 })));
  r['memoryMiB 0'] = errClass(() => tvmm.createVm(spec({ pages: undefined, memoryMiB: 0 })));
  r["kind 'Closed'"] = errClass(() => tvmm.createVm(spec({ kind: 'Closed' })));
  r["kind 'box'"] = errClass(() => tvmm.createVm(spec({ kind: 'box' })));
  r['vcpus 0'] = errClass(() => tvmm.createVm(spec({ vcpus: 0 })));
  r['vcpus 65'] = errClass(() => tvmm.createVm(spec({ vcpus: 65 })));
  r['guest without run'] = errClass(() => tvmm.createVm(spec({ guest: { boot() {}, interrupt() {} } })));
  r['unknown device type'] = errClass(() => tvmm.createDevice('gpu' as never, 'g0'));
  tvmm.createDevice('nic', 'n0');
  r['duplicate device id'] = errClass(() => tvmm.createDevice('disk', 'n0'));
  tvmm.createVm(spec({ name: 'dup' }));
  r['duplicate VM name'] = errClass(() => tvmm.createVm(spec({ name: 'dup' })));
  r['power action'] = errClass(() => tvmm.power(1 as VmId, 'reboot' as never));
  // ESX reservations (the memory lab of the MEM scenarios has the reservation API).
  const esxHost = new Host({ seed, machineMiB: 16 });
  const esx = attachEsx(esxHost.boot(), { overheadPages: 0 });
  r['reservation > memory'] = errClass(() => esx.addVm(100 as VmId, 64, { min: 65 }));
  r['reservation > machine'] = errClass(() => esx.addVm(101 as VmId, 1 << 20, { min: 1 << 20 }));
  // 10^6 VMs: the quota stops it at MAX_VMS with bounded memory.
  const heap0 = process.memoryUsage().heapUsed;
  const flood = new Host({ seed, machineMiB: 16 });
  const ft = flood.boot();
  let created = 0;
  let stop = '';
  for (let i = 0; i < vmFlood; i++) {
    try {
      ft.createVm({ name: `v${i}`, kind: 'open-box', pages: 16, guest: G() });
      created++;
    } catch (e) {
      stop = e instanceof TerraError ? e.code : e instanceof Error ? e.name : 'THROWN';
      break;
    }
  }
  const heapMiB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  return { r, created, stop, heapMiB, vmsAfter: tvmm.vms().length };
}

const VAL11: AttackScenario = {
  id: 'VAL-11', area: 'VAL',
  attack: 'createVm with memory 0, negative or ≥ 2^40 pages, bad kinds and vcpus, reservation > memory, duplicate device ids, 10^6 VMs.',
  expected: 'ValidationError, or a quota error before heap exhaustion; memory bounded.',
  run(seed) {
    const x = val11(seed);
    const wrong = Object.entries(x.r).filter(([, v]) => !REFUSED.test(v) && v !== 'ADMISSION_DENIED');
    if (wrong.length) return report('LEAKED', `accepted: ${wrong.map(([k, v]) => `${k}=${v}`).join('; ')}`);
    if (x.stop !== 'ADMISSION_DENIED' || x.created > 4096) return report('LEAKED', `VM flood: ${x.created} created, stopped by ${x.stop || 'nothing'}`);
    return report('blocked', `${Object.keys(x.r).length} bad configurations refused; the VM flood stopped at ${x.created} VMs with ADMISSION_DENIED (+${Math.round(x.heapMiB)} MiB heap)`);
  },
};

/**
 * VAL-09. The core library has no async API (every mechanism is synchronous on the virtual clock;
 * only `terracloak/testing`'s twoWorlds and AttackScenario.run may return promises), so the
 * synchronous equivalent is tested: 100 mixed operations interleaved through the event queue in a
 * seeded random order (seal/unseal on shared labels, quotes, a VM powered off and destroyed while
 * its IO is in flight), checked against a reference model after every step and at quiescence.
 */
export function val09(seed = 1) {
  const h = createAttestedHost({ seed });
  const img = buildImage(nobleProvider, new Uint8Array(4096).fill(3), { name: 'a', blockSize: 4096 });
  h.service.registerVm(1, { image: img, mode: 'closed' });
  const rng = h.ctx.rng.fork('val09');
  const model = new Map<string, number>();
  const violations: string[] = [];
  let ops = 0;
  for (let i = 0; i < 100; i++) {
    const label = `L${rng.int(3)}`;
    const kind = rng.int(3);
    h.ctx.events.at(rng.int(1_000_000), `op${i}`, () => {
      ops++;
      if (kind === 0) {
        h.service.seal(1, label, new Uint8Array([i]));
        model.set(label, i);
      } else if (kind === 1) {
        const want = model.get(label);
        const got = probe(() => h.service.unseal(1, label)[0]);
        if (want === undefined ? got === `OK:number` : got !== `OK:${want}`) violations.push(`unseal ${label}: ${got}, model ${want}`);
        if (want !== undefined && got === 'OK:number') violations.push(`unseal ${label}`);
      } else {
        const q = h.service.quote(1, new Uint8Array(32).fill(i));
        if (!(q instanceof Uint8Array) || q.length === 0) violations.push('quote');
      }
    });
  }
  while (h.ctx.events.runNext()) { /* quiescence */ }
  for (const [label, v] of model) if (probe(() => h.service.unseal(1, label)[0]) !== `OK:${v}`) violations.push(`final ${label}`);
  // Destroy while IO is in flight.
  const g = new IoGuest(200, 0x42);
  const lab = ioLab(seed, [g]);
  const vm = lab.ids[0];
  lab.tvmm.run({ untilNs: 300_000 });
  const inFlightAtOff = g.outstanding;
  let ioError = '';
  try {
    lab.tvmm.power(vm, 'off');
    lab.tvmm.power(vm, 'destroy');
    lab.tvmm.run({ untilNs: 50_000_000 });
  } catch (e) {
    ioError = e instanceof TerraError ? e.code : e instanceof Error ? `${e.name}: ${e.message}` : 'THROWN';
  }
  return { ops, violations, inFlightAtOff, ioError, completedAfterDestroy: g.done.length, vms: lab.tvmm.vms().length };
}

const VAL09: AttackScenario = {
  id: 'VAL-09', area: 'VAL',
  attack: 'Concurrent operations interleave (no async core API: interleaved through the event queue): seal/unseal on shared labels, quotes, destroy while IO is in flight.',
  expected: 'Linearizable results; invariants hold at quiescence.',
  run(seed) {
    const x = val09(seed);
    if (x.violations.length) return report('LEAKED', `not linearizable: ${x.violations.slice(0, 5).join('; ')}`);
    if (x.ioError) return report('LEAKED', `destroying a VM with ${x.inFlightAtOff} IOs in flight: ${x.ioError}`);
    return report('blocked', `${x.ops} interleaved operations match the reference model; VM destroyed with ${x.inFlightAtOff} IOs in flight, no late completion delivered (no async core API exists: only testing.twoWorlds and AttackScenario.run are async)`);
  },
};

/** Every platform scenario: ISO-01/03/05/06/08/09, FLT-04/07/12, VAL-01/02/05/06/07/09/10/11, STO-11. */
export const platformAttacks: readonly AttackScenario[] = [ISO01, ISO03, ISO05, ISO06, ISO08, ISO09, FLT04, FLT07, FLT12, VAL01, VAL02, VAL05, VAL06, VAL07, VAL09, VAL10, VAL11, STO11];

