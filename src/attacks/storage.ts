/**
 * Storage threat scenarios (threats.md §5 STO, §6 FLT-05/06/09) run against src/storage: DeDe
 * (Clements et al., ATC'09) on the cluster volume and vIC (Ahmad et al., ATC'11) in the virtual
 * SCSI controller. Each scenario is deterministic from its seed.
 */
import { SimulatedCrash, TerraError, createSimContext, type SimContext } from '../sim/index.js';
import { nobleProvider, type CryptoProvider } from '../crypto/index.js';
import {
  ClusterVolume,
  DedupEngine,
  MemoryStore,
  RamDisk,
  SUB_SIZE,
  VirtualDisk,
  VirtualScsiController,
  faultyInterruptSink,
  bytesEqual,
  checkVolume,
  computeLayout,
  type Completion,
  type VolumeGeometry,
} from '../storage/index.js';
import type { AttackReport, AttackScenario } from './types.js';

const GEO: VolumeGeometry = { largeBlocks: 32, inodes: 64, pointerBlocks: 256, journalPages: 128 };
const FILE = 1 << 20;

function newVolume(ctx?: SimContext): { store: MemoryStore; vol: ClusterVolume } {
  const store = new MemoryStore(computeLayout(GEO).totalSize);
  return { store, vol: ClusterVolume.format(store, GEO, ctx ? { ctx } : {}) };
}

function contentBlock(seed: number, label: string): Uint8Array {
  return createSimContext({ seed }).rng.fork(label).bytes(SUB_SIZE);
}

const blocked = (detail: string): AttackReport => ({ outcome: 'blocked', detail });
const leaked = (detail: string): AttackReport => ({ outcome: 'LEAKED', detail });

/** Drains the event queue of `ctx`. */
function drain(ctx: SimContext): void {
  while (ctx.events.runNext()) { /* run to quiescence */ }
}

// ───────────────────────────── STO-01 ─────────────────────────────

/** What the attacker tenant can observe in one world. */
function sto01World(seed: number, victimStores: boolean, guess: Uint8Array): string {
  const ctx = createSimContext({ seed, costs: { diskIo: 100_000, diskPerByte: 1 } });
  const { vol } = newVolume(ctx);
  const dede = new DedupEngine(vol, { ctx });
  const victim = vol.create(1, 'victim.vmdk', { size: FILE, monitored: true, domain: 2 });
  const attacker = vol.create(2, 'attacker.vmdk', { size: FILE, monitored: true, domain: 3 });
  if (victimStores) vol.writeAt(1, victim, 0, contentBlock(seed, 'secret'));
  else vol.writeAt(1, victim, 0, contentBlock(seed, 'other'));
  dede.pass(1);
  const obs: unknown[] = [];
  const ctl = new VirtualScsiController(ctx, {
    vmId: 2,
    device: new VirtualDisk(vol, 2, attacker),
    sink: { raise: () => ctx.events.after(1000, 'isr', () => obs.push(...ctl.poll().map(view))) },
  });
  const view = (c: Completion) => ({ t: ctx.clock.now, tag: c.tag, status: c.status, sense: c.sense ?? null, completedAt: c.completedAt });
  // The attacker writes its guess twice (before and after a dedup pass) and reads it back, timing everything.
  for (const phase of [0, 1]) {
    ctl.submit({ op: 'write', lba: 8 * phase, count: 8, data: guess });
    drain(ctx);
    dede.flush(2);
    dede.pass(2);
    dede.pass(1);
    ctl.submit({ op: 'read', lba: 8 * phase, count: 8 });
    ctl.submit({ op: 'write', lba: 8 * phase, count: 1, data: new Uint8Array(512) }); // would COW-break if shared
    drain(ctx);
    obs.push({ now: ctx.clock.now, tenant: dede.tenantView(3), index: [...dede.loadIndex().entries()].filter((e) => e.domain === 3).length });
  }
  return JSON.stringify(obs);
}

const sto01: AttackScenario = {
  id: 'STO-01',
  area: 'STO',
  attack: "A tenant writes a guessed block and watches latency, space accounting and API results to learn whether another tenant stores it (incl. guessing a 2-digit field of a template).",
  expected: 'Identical attacker traces in both worlds (per-tenant dedup domains); no candidate stands out.',
  run(seed) {
    const secret = contentBlock(seed, 'secret');
    const a = sto01World(seed, true, secret), b = sto01World(seed, false, secret);
    if (a !== b) return leaked('attacker trace differs between "victim stores X" and "victim does not"');
    // Template variant: the victim's block is a template with a 2-digit PIN; the attacker tries all 100.
    const template = (pin: number) => {
      const t = contentBlock(seed, 'template');
      t[100] = 48 + Math.floor(pin / 10);
      t[101] = 48 + (pin % 10);
      return t;
    };
    const victimPin = seed % 100;
    const traces = new Set<string>();
    for (let pin = 0; pin < 100; pin += 11) traces.add(sto01PinWorld(seed, template(victimPin), template(pin)));
    if (traces.size !== 1) return leaked('one PIN candidate produced a different attacker trace');
    return blocked('attacker traces identical in both worlds and for every PIN candidate tried (dedup only inside a trust domain)');
  },
};

function sto01PinWorld(seed: number, victimBlock: Uint8Array, guess: Uint8Array): string {
  const ctx = createSimContext({ seed });
  const { vol } = newVolume(ctx);
  const dede = new DedupEngine(vol);
  const v = vol.create(1, 'v', { size: FILE, monitored: true, domain: 2 });
  const a = vol.create(2, 'a', { size: FILE, monitored: true, domain: 3 });
  vol.writeAt(1, v, 0, victimBlock);
  vol.writeAt(2, a, 0, guess);
  dede.flush(1);
  dede.flush(2);
  dede.pass(1);
  dede.pass(2);
  const loc = vol.locate(a, 0);
  return JSON.stringify({ tenant: dede.tenantView(3), cow: loc.cow, rc: vol.refcount(loc.unit), idx: dede.loadIndex().entries().filter((e) => e.domain === 3).map((e) => e.state) });
}

// ───────────────────────────── STO-03 ─────────────────────────────

const sto03: AttackScenario = {
  id: 'STO-03',
  area: 'STO',
  attack: 'Two different blocks with the same index hash (an injected constant hash) are written by two files and tenants; the engine runs, GC runs.',
  expected: 'Both read back correctly: every merge compares bytes, so a collision costs efficiency, never correctness.',
  run(seed) {
    const weak: CryptoProvider = { ...nobleProvider, sha256: () => new Uint8Array(32) };
    const { vol } = newVolume();
    const dede = new DedupEngine(vol, { crypto: weak });
    const A = contentBlock(seed, 'A'), B = contentBlock(seed, 'B');
    const f1 = vol.create(1, 'f1', { size: FILE, monitored: true, domain: 5 });
    const f2 = vol.create(1, 'f2', { size: FILE, monitored: true, domain: 5 });
    const f3 = vol.create(1, 'f3', { size: FILE, monitored: true, domain: 6 });
    vol.writeAt(1, f1, 0, A);
    vol.writeAt(1, f2, SUB_SIZE, B);
    vol.writeAt(1, f3, 2 * SUB_SIZE, B);
    for (let i = 0; i < 3; i++) dede.pass(1);
    vol.writeAt(1, f1, 3 * SUB_SIZE, A);
    dede.pass(1);
    const ok = bytesEqual(vol.readAt(f1, 0, SUB_SIZE), A) && bytesEqual(vol.readAt(f2, SUB_SIZE, SUB_SIZE), B) && bytesEqual(vol.readAt(f3, 2 * SUB_SIZE, SUB_SIZE), B) && bytesEqual(vol.readAt(f1, 3 * SUB_SIZE, SUB_SIZE), A);
    const rep = checkVolume(vol);
    if (!ok) return leaked('a colliding block read back the other block');
    if (!rep.ok) return leaked(`checker: ${rep.findings[0]?.code}`);
    return blocked(`all blocks intact under a constant hash; ${dede.stats().verifyMismatches} merges refused by byte comparison`);
  },
};

// ───────────────────────────── STO-04 ─────────────────────────────

const sto04: AttackScenario = {
  id: 'STO-04',
  area: 'STO',
  attack: 'The engine processes a stale write-log record (block since overwritten), and a write lands between verification and remap.',
  expected: 'Compare-and-share re-verifies the current bytes and skips the merge; b reads Y.',
  run(seed) {
    const X = contentBlock(seed, 'X'), Y = contentBlock(seed, 'Y');
    // (1)–(3): stale record.
    {
      const { vol } = newVolume();
      const dede = new DedupEngine(vol);
      const b = vol.create(1, 'b', { size: FILE, monitored: true, domain: 1 });
      const c = vol.create(1, 'c', { size: FILE, monitored: true, domain: 1 });
      vol.writeAt(1, c, 0, X);
      vol.writeAt(1, b, 0, X);
      dede.flush(1);
      dede.setMonitoring(false); // Y's record is dropped: the log only says h(X) for b
      vol.writeAt(1, b, 0, Y);
      dede.setMonitoring(true);
      dede.pass(1);
      if (!bytesEqual(vol.readAt(b, 0, SUB_SIZE), Y)) return leaked('stale record merged b with c: b lost its latest write');
      if (!bytesEqual(vol.readAt(c, 0, SUB_SIZE), X)) return leaked('c changed');
    }
    // (4): a write between the engine's verification and the remap.
    {
      const { vol } = newVolume();
      let fired = false;
      let bIno = -1;
      const dede = new DedupEngine(vol, {
        beforeRemap: (ino) => {
          if (!fired && ino === bIno) {
            fired = true;
            vol.writeAt(1, bIno, 0, Y);
          }
        },
      });
      const c = vol.create(1, 'c', { size: FILE, monitored: true, domain: 1 });
      bIno = vol.create(1, 'b', { size: FILE, monitored: true, domain: 1 });
      vol.writeAt(1, c, 0, X);
      dede.pass(1);
      vol.writeAt(1, bIno, 0, X);
      dede.flush(1);
      dede.setMonitoring(false);
      dede.pass(1);
      if (!fired) return leaked('race hook never fired (scenario broken)');
      if (!bytesEqual(vol.readAt(bIno, 0, SUB_SIZE), Y)) return leaked('merge after the racing write: b lost Y');
      if (!checkVolume(vol).ok) return leaked('checker found errors');
    }
    return blocked('stale record and racing write both skipped by bytewise re-verification under the lock');
  },
};

// ───────────────────────────── STO-05 ─────────────────────────────

const sto05: AttackScenario = {
  id: 'STO-05',
  area: 'STO',
  attack: 'Merge b1 (VM A) and b2 (VM B); A writes b1; linked-clone B; GC; read everything.',
  expected: 'B and the clone read the old content, A the new; refcounts equal the true references; GC frees nothing in use.',
  run(seed) {
    const X = contentBlock(seed, 'X'), Z = contentBlock(seed, 'Z');
    const { vol } = newVolume();
    const dede = new DedupEngine(vol);
    const a = vol.create(1, 'A', { size: FILE, monitored: true, domain: 1 });
    const b = vol.create(1, 'B', { size: FILE, monitored: true, domain: 1 });
    vol.writeAt(1, a, 0, X);
    vol.writeAt(1, b, 0, X);
    dede.pass(1);
    if (vol.locate(a, 0).unit !== vol.locate(b, 0).unit) return leaked('precondition: blocks were not merged');
    vol.writeAt(1, a, 0, Z);
    const clone = vol.clone(1, b, 'B-clone');
    dede.pass(1);
    dede.pass(1);
    const ok = bytesEqual(vol.readAt(a, 0, SUB_SIZE), Z) && bytesEqual(vol.readAt(b, 0, SUB_SIZE), X) && bytesEqual(vol.readAt(clone, 0, SUB_SIZE), X);
    if (!ok) return leaked('a write to a shared block leaked into another referent');
    const rep = checkVolume(vol);
    if (rep.findings.length) return leaked(`checker: ${rep.findings.map((f) => f.code).join(',')}`);
    return blocked('COW kept B and its clone at the old content; refcounts exact (checker clean)');
  },
};

// ───────────────────────────── STO-06 ─────────────────────────────

const sto06: AttackScenario = {
  id: 'STO-06',
  area: 'STO',
  attack: 'Two domains store identical plaintext (encrypted per domain, and even identical ciphertext as a worst case); the dedup engine runs.',
  expected: 'Stored blocks differ (fresh nonces) and no block is ever shared across domains.',
  run(seed) {
    const ctx = createSimContext({ seed });
    const { vol } = newVolume();
    const dede = new DedupEngine(vol);
    const plain = contentBlock(seed, 'doc').subarray(0, SUB_SIZE - 16 - 24);
    const files: number[] = [];
    const stored: Uint8Array[] = [];
    for (const dom of [10, 11]) {
      const f = vol.create(1, `cloaked-${dom}`, { size: FILE, monitored: true, domain: dom });
      files.push(f);
      const rng = ctx.rng.fork(`dom${dom}`);
      const key = rng.bytes(32), nonce = rng.bytes(24);
      const sealed = nobleProvider.aeadSeal('xchacha20-poly1305', key, nonce, plain, new Uint8Array(0));
      const blk = new Uint8Array(SUB_SIZE);
      blk.set(nonce);
      blk.set(sealed, 24);
      vol.writeAt(1, f, 0, blk);
      stored.push(blk);
      // Worst case: the same (convergent) ciphertext in both domains.
      vol.writeAt(1, f, SUB_SIZE, contentBlock(seed, 'convergent'));
    }
    dede.pass(1);
    dede.pass(1);
    if (bytesEqual(stored[0], stored[1])) return leaked('identical stored ciphertext across domains');
    for (const b4k of [0, 1]) if (vol.locate(files[0], b4k).unit === vol.locate(files[1], b4k).unit) return leaked(`block ${b4k} shared across domains`);
    try {
      vol.compareAndShare(1, { ino: files[0], b4k: 1 }, { ino: files[1], b4k: 1 });
      return leaked('volume allowed compare-and-share across domains');
    } catch (e) {
      if (!(e instanceof TerraError) || e.code !== 'ISOLATION_VIOLATION') throw e;
    }
    return blocked('ciphertexts differ; identical blocks in two domains stay unshared; cross-domain compare-and-share refused (ISOLATION_VIOLATION)');
  },
};

// ───────────────────────────── vIC: STO-08, STO-09, FLT-09 ─────────────────────────────

function vicRig(seed: number, opts: { drop?: number; dup?: number; vic?: Record<string, number | boolean>; resignalNs?: number; jitterNs?: number } = {}) {
  const ctx = createSimContext({ seed, costs: { diskIo: 100_000, diskPerByte: 1 } });
  const seen: number[] = [];
  const fault = ctx.rng.fork('faults');
  let ctl!: VirtualScsiController;
  const isr = () => ctx.events.after(2000, 'isr', () => seen.push(...ctl.poll().map((c) => c.tag)));
  ctl = new VirtualScsiController(ctx, {
    vmId: 7,
    device: new RamDisk(4096),
    queueDepth: 64,
    jitterNs: opts.jitterNs ?? 30_000,
    ...(opts.resignalNs !== undefined ? { resignalNs: opts.resignalNs } : {}),
    vic: { iopsThreshold: 0, ...(opts.vic ?? {}) },
    sink: faultyInterruptSink({ raise: isr }, fault, { drop: opts.drop ?? 0, duplicate: opts.dup ?? 0 }).sink,
  });
  return { ctx, ctl, seen };
}

const sto08: AttackScenario = {
  id: 'STO-08',
  area: 'STO',
  attack: 'Coalescing at 8 completions per interrupt while (a) one IO, (b) 9 IOs, (c) random arrivals are in flight.',
  expected: 'Every completion is signalled within a bound; no deadlock (no coalescing at low CIF; no timer needed).',
  run(seed) {
    // Aggressive coalescing: R = 1/8 as soon as CIF > 4; the re-signal backstop is OFF to test vIC alone.
    const vic = { cifThreshold: 4, cifPerStep: 1, maxCoalesce: 8 };
    for (const n of [1, 9]) {
      const { ctx, ctl, seen } = vicRig(seed, { vic, resignalNs: 0 });
      for (let i = 0; i < n; i++) ctl.submit({ op: 'read', lba: i, count: 1 });
      drain(ctx);
      if (seen.length !== n) return leaked(`${n} IOs: only ${seen.length} completions reached the guest`);
    }
    const { ctx, ctl, seen } = vicRig(seed, { vic, resignalNs: 0, jitterNs: 400_000 });
    const rng = ctx.rng.fork('arrivals');
    let n = 0;
    for (let i = 0; i < 300; i++) ctx.events.at(rng.int(50_000_000), 'arrive', () => void (ctl.submit({ op: 'read', lba: 0, count: 1 }).ok && n++));
    let worst = 0;
    drain(ctx);
    worst = ctl.stats().addedLatencyNs / Math.max(1, ctl.stats().completed);
    if (seen.length !== n) return leaked(`random arrivals: ${n - seen.length} completions never signalled`);
    return blocked(`all completions signalled with the backstop off (mean added latency ${Math.round(worst)} ns); coalescing only while CIF > 4`);
  },
};

const sto09: AttackScenario = {
  id: 'STO-09',
  area: 'STO',
  attack: 'Pause the VM; the backend completes 5 IOs; resume.',
  expected: 'All 5 are signalled after resume; no lost wake-up.',
  run(seed) {
    const { ctx, ctl, seen } = vicRig(seed);
    for (let i = 0; i < 5; i++) ctl.submit({ op: 'read', lba: i, count: 1 });
    ctl.pause();
    ctx.events.runUntil(10_000_000);
    if ((seen.length as number) !== 0) return leaked('interrupt delivered while paused');
    ctl.resume();
    drain(ctx);
    if ((seen.length as number) !== 5) return leaked(`${seen.length}/5 completions after resume`);
    return blocked('5 completions queued in the ring while paused, signalled on resume');
  },
};

const flt09: AttackScenario = {
  id: 'FLT-09',
  area: 'FLT',
  attack: 'The fault injector drops 10% and duplicates 10% of virtual interrupts at delivery under a deep-CIF workload with vIC on.',
  expected: 'Liveness holds: the controller re-signals a non-empty, unpolled ring; duplicates are harmless (each completion seen once).',
  run(seed) {
    const { ctx, ctl, seen } = vicRig(seed, { drop: 0.1, dup: 0.1 });
    const rng = ctx.rng.fork('load');
    let n = 0;
    for (let i = 0; i < 2000; i++) ctx.events.at(rng.int(100_000_000), 'arrive', () => void (ctl.submit({ op: 'write', lba: rng.int(4000), count: 1, data: new Uint8Array(512) }).ok && n++));
    drain(ctx);
    if (new Set(seen).size !== seen.length) return leaked('a completion was delivered twice to the guest');
    if (seen.length !== n) return leaked(`${n - seen.length} completions lost`);
    return blocked(`${n} completions each seen exactly once; ${ctl.stats().resignals} re-signals covered the dropped interrupts`);
  },
};

// ───────────────────────────── FLT-05, FLT-06 ─────────────────────────────

const flt05: AttackScenario = {
  id: 'FLT-05',
  area: 'FLT',
  attack: 'A metadata write tears at a 512-byte boundary: (a) the journal commit record, (b) a metadata page applied in place.',
  expected: 'Checksums detect the tear; the journal recovers metadata; no byte outside the written range changes.',
  run(seed) {
    const X = contentBlock(seed, 'X');
    let detected = 0;
    for (const target of ['journal', 'apply'] as const) {
      const { store, vol } = newVolume();
      const f = vol.create(1, 'f', { size: 2 * FILE });
      vol.writeAt(1, f, 0, X);
      const before = vol.readAt(f, 0, 2 * FILE);
      const L = vol.layout;
      let step = 0, tearing = false;
      const k = 1 + (seed % 7);
      store.beforeWrite = (off, data) => {
        if (tearing) return;
        const isMeta = off >= L.metaStart && off < L.metaStart + L.metaPages * 4096;
        if (target === 'journal') {
          // The journal body tears (first k sectors new), the commit header still lands, then power fails.
          if (step === 0 && off === 3 * 4096) {
            step = 1;
            tearing = true;
            store.write(off, data.subarray(0, 512 * k));
            tearing = false;
            return false;
          }
          if (step === 1 && off === 2 * 4096) return void (step = 2);
          if (step === 2) throw new SimulatedCrash('after-torn-journal');
        } else if (step === 0 && isMeta) {
          step = 1;
          tearing = true;
          store.write(off, data.subarray(0, 512 * k)); // first k sectors new, the rest old
          tearing = false;
          throw new SimulatedCrash('tear.apply');
        }
      };
      try {
        vol.writeAt(1, f, FILE, contentBlock(seed, 'Y')); // allocates: a metadata transaction
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
      }
      store.beforeWrite = undefined;
      const v2 = ClusterVolume.open(store);
      const after = v2.readAt(f, 0, 2 * FILE);
      if (!bytesEqual(after.subarray(0, FILE), before.subarray(0, FILE))) return leaked(`tear in ${target}: bytes outside the write changed`);
      const second = after.subarray(FILE, FILE + SUB_SIZE);
      const wholeNew = bytesEqual(second, contentBlock(seed, 'Y')), wholeOld = second.every((x) => x === 0);
      if (!wholeNew && !wholeOld) return leaked(`tear in ${target}: a mix of old and new was accepted`);
      if (target === 'journal' && !wholeOld) return leaked('a torn journal record was replayed');
      if (target === 'apply' && !wholeNew) return leaked('a committed transaction was lost after a torn in-place write');
      if (!checkVolume(v2).ok) return leaked(`tear in ${target}: checker finds errors after recovery`);
      detected++;
    }
    return { outcome: 'detected', detail: `${detected} tears: torn journal record failed its CRC (transaction void); torn in-place page repaired by journal replay` };
  },
};

const flt06: AttackScenario = {
  id: 'FLT-06',
  area: 'FLT',
  attack: 'Power loss (C2) at every store write of a dedup pass: merge (inc-ref, remap, dec-ref, free), merge requests, GC, index swap.',
  expected: 'No refcount below the true references; every block reads its last acknowledged write; leaks at most, reclaimed by GC.',
  run(seed) {
    const { store, vol } = newVolume();
    const dede = new DedupEngine(vol);
    const files = [0, 1, 2].map((i) => vol.create(i === 2 ? 2 : 1, `vm${i}`, { size: FILE, monitored: true, domain: 1 }));
    const rng = createSimContext({ seed }).rng.fork('flt06');
    const model = new Map<string, number>();
    for (let k = 0; k < 60; k++) {
      const f = rng.int(3), b = rng.int(32), id = rng.int(6);
      vol.writeAt(f === 2 ? 2 : 1, files[f], b * SUB_SIZE, contentBlock(id, 'pool'));
      model.set(`${f}.${b}`, id);
    }
    dede.flush(1);
    dede.flush(2);
    dede.pass(2); // merge requests for host 1's files
    const base = store.clone();
    // Count the writes of the pass under test.
    let total = 0;
    {
      const s = base.clone();
      const v = ClusterVolume.open(s);
      s.beforeWrite = () => void total++;
      const d = new DedupEngine(v);
      d.pass(1);
      v.writeAt(1, files[0], 0, contentBlock(0, 'pool'));
      d.flush(1);
      d.pass(1);
    }
    let low = 0, lost = 0;
    // Every crash point when there are few; otherwise 100 evenly spaced points with a seeded offset
    // (different seeds cover different points).
    const stride = Math.max(1, Math.ceil(total / 100));
    const points: number[] = [];
    for (let c = 1 + (seed % stride); c <= total; c += stride) points.push(c);
    for (const crashAt of points) {
      const s = base.clone();
      let n = 0;
      s.beforeWrite = () => {
        if (++n === crashAt) throw new SimulatedCrash(`write#${crashAt}`);
        if (n > crashAt) return false; // power is gone: nothing after the crash reaches the disk
      };
      const v = ClusterVolume.open(s);
      const d = new DedupEngine(v);
      let acked0 = false;
      try {
        d.pass(1);
        v.writeAt(1, files[0], 0, contentBlock(0, 'pool'));
        acked0 = true;
        d.flush(1);
        d.pass(1);
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
      }
      s.beforeWrite = undefined;
      const r = ClusterVolume.open(s);
      const rep = checkVolume(r);
      if (rep.findings.some((f) => f.code === 'REFCOUNT_LOW' || f.severity === 'error')) low++;
      const keys = new Set([...model.keys(), '0.0']);
      for (const key of keys) {
        const [f, b] = key.split('.').map(Number);
        const got = r.readAt(files[f], b * SUB_SIZE, SUB_SIZE);
        const id = model.get(key);
        const okOld = id === undefined ? got.every((x) => x === 0) : bytesEqual(got, contentBlock(id, 'pool'));
        const okNew = bytesEqual(got, contentBlock(0, 'pool'));
        if (f === 0 && b === 0 ? (acked0 ? !okNew : !(okOld || okNew)) : !okOld) lost++;
      }
    }
    if (low) return leaked(`${low} crash points left a refcount below its references`);
    if (lost) return leaked(`${lost} blocks lost their last acknowledged write`);
    return blocked(`${points.length} of ${total} crash points: every block intact, no low refcount, checker clean`);
  },
};

// ───────────────────────────── STO-07 ─────────────────────────────

const sto07: AttackScenario = {
  id: 'STO-07',
  area: 'STO',
  attack: 'Untrusted storage (a) misdirects a volume-metadata page write to the neighbouring page, (b) acknowledges one but never persists it, (c) later returns an older version of a metadata page.',
  expected: 'Checksums detect all three for metadata: the volume refuses to open (CORRUPT) and the checker repairs derived state; acknowledged data is not silently lost.',
  run(seed) {
    const found: string[] = [];
    for (const fault of ['misdirect', 'lost', 'stale'] as const) {
      const { store, vol } = newVolume();
      const L = vol.layout;
      const f = vol.create(1, 'f', { size: 4 * FILE });
      vol.writeAt(1, f, 0, contentBlock(seed, 'A'));
      const rcPage = L.metaStart + L.rcOff; // first refcount page: changes with every allocation
      const old = store.read(rcPage, 4096);
      vol.writeAt(1, f, FILE, contentBlock(seed, 'B')); // allocation: refcount page changes
      let armed = true, inHook = false;
      store.beforeWrite = (off, data) => {
        if (inHook || !armed || fault === 'stale') return;
        const covers = off <= rcPage && off + data.length >= rcPage + 4096 && off >= L.metaStart;
        if (!covers) return;
        armed = false;
        // Everything but the refcount page is written as intended.
        inHook = true;
        if (rcPage > off) store.write(off, data.subarray(0, rcPage - off));
        if (off + data.length > rcPage + 4096) store.write(rcPage + 4096, data.subarray(rcPage + 4096 - off));
        // misdirect: the refcount page lands one page later; lost: it lands nowhere.
        if (fault === 'misdirect') store.write(rcPage + 4096, data.subarray(rcPage - off, rcPage - off + 4096));
        inHook = false;
        return false;
      };
      vol.writeAt(1, f, 2 * FILE, contentBlock(seed, 'C')); // faulted (a, b) metadata transaction
      store.beforeWrite = undefined;
      if (fault === 'stale') store.write(rcPage, old);
      try {
        ClusterVolume.open(store);
        return leaked(`${fault}: the volume opened with inconsistent metadata`);
      } catch (e) {
        if (!(e instanceof TerraError) || e.code !== 'CORRUPT') throw e;
      }
      const rep = checkVolume(store, { repair: true });
      if (!rep.ok) return leaked(`${fault}: the checker could not repair`);
      const v = ClusterVolume.open(store);
      if (!bytesEqual(v.readAt(f, 0, SUB_SIZE), contentBlock(seed, 'A')) || !bytesEqual(v.readAt(f, 2 * FILE, SUB_SIZE), contentBlock(seed, 'C')))
        return leaked(`${fault}: acknowledged data lost after repair`);
      found.push(fault);
    }
    return { outcome: 'detected', detail: `${found.join(', ')}: metadata page checksum mismatch → CORRUPT on open, refcounts rebuilt by the checker (residual: a consistent rollback of a page together with its checksum page, and faults in non-cloaked data blocks, are not detected)` };
  },
};

/** Storage and vIC threat scenarios. */
export const storageAttacks: readonly AttackScenario[] = [sto01, sto03, sto04, sto05, sto06, sto07, sto08, sto09, flt05, flt06, flt09];
