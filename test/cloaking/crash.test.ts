/**
 * Crash consistency of cloaked files (Overshadow's cloaked file I/O with shadow slots and a two-phase
 * commit rooted in the NV store; threats.md FLT-04, CLK-22). A power loss is modelled by keeping only
 * what is persistent at that instant (the disk blocks, the kernel's directory, the NV store) and
 * booting a fresh machine on it. Every disk block write and every NV counter advance of an update is
 * a crash point; after recovery the file must read exactly the previous or exactly the new version.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAP, O, PROT, SEEK, SYS } from '../../src/guest/abi.js';
import { attachCloaking, COW_SUFFIX, META_SLOT_BYTES, META_SUFFIX, MemoryNvStore } from '../../src/cloaking/index.js';
import { MemoryDisk, type ProgramFn, type Proc, type TrapRequest } from '../../src/tvmm/index.js';
import { bootCloaked, type Inode } from '../../src/testing/index.js';

type G = Generator<TrapRequest, number, number>;
const PAGE = 4096;
const PATH = '/cloaked/db';
const BUF_PAGES = 24;

/** One write(2) of a session: `len` bytes of `fill + i` at `off`. */
interface Op {
  off: number;
  len: number;
  fill: number;
}
/** One open…close of the file by the writer. `fsyncAfter`: op indexes followed by fsync(2) (a commit). */
interface Session {
  ops: Op[];
  trunc?: boolean;
  fsyncAfter?: number[];
}

/** The persistent state at one instant. */
interface Persist {
  at: string;
  blocks: Map<number, Uint8Array>;
  fs: [string, Inode][];
  nv: ReturnType<MemoryNvStore['snapshot']>;
}

/** The file contents a session leaves (the model). */
function apply(before: Uint8Array, s: Session, upTo = s.ops.length): Uint8Array {
  let cur = s.trunc ? new Uint8Array(0) : before.slice();
  for (const op of s.ops.slice(0, upTo)) {
    const end = op.off + op.len;
    if (end > cur.length) {
      const n = new Uint8Array(end);
      n.set(cur);
      cur = n;
    }
    for (let i = 0; i < op.len; i++) cur[op.off + i] = (op.fill + i) & 255;
  }
  return cur;
}

/** The cloaked app: `write` runs the session given by the test, `read` reads the whole file back. */
function makeApp(sessions: Session[], out: { read?: Uint8Array }): ProgramFn {
  return function* (p: Proc): G {
    const buf = yield* p.syscall(SYS.mmap, [0, BUF_PAGES * PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
    p.write(buf, new TextEncoder().encode(PATH + '\0'));
    const phase = p.argv[0];
    const s = phase === 'read' ? undefined : sessions[Number(phase)];
    const fd = yield* p.syscall(SYS.open, [buf, O.CREAT | O.RDWR | (s?.trunc ? O.TRUNC : 0), 0o600]);
    if (fd >= 0xfffff001) return 2;
    const data = buf + PAGE;
    if (!s) {
      const size = yield* p.syscall(SYS.lseek, [fd, 0, SEEK.END]);
      yield* p.syscall(SYS.lseek, [fd, 0, SEEK.SET]);
      const got = new Uint8Array(size);
      for (let done = 0; done < size; ) {
        const n = yield* p.syscall(SYS.read, [fd, data, Math.min(size - done, (BUF_PAGES - 1) * PAGE)]);
        if (n === 0 || n >= 0xfffff001) return 3;
        got.set(p.read(data, n), done);
        done += n;
      }
      out.read = got;
    } else {
      for (let i = 0; i < s.ops.length; i++) {
        const op = s.ops[i];
        p.write(data, new Uint8Array(op.len).map((_, j) => (op.fill + j) & 255));
        yield* p.syscall(SYS.lseek, [fd, op.off, SEEK.SET]);
        yield* p.syscall(SYS.write, [fd, data, op.len]);
        if (s.fsyncAfter?.includes(i)) yield* p.syscall(SYS.fsync, [fd]);
      }
    }
    yield* p.syscall(SYS.close, [fd]);
    return 0;
  };
}

/** A disk and NV store that report every persistent write (block by block: a multi-block write can tear). */
function recorder(nv = new MemoryNvStore(), tear = false) {
  let on = false;
  const states: Persist[] = [];
  const fs = new Map<string, Inode>();
  class RecordingDisk extends MemoryDisk {
    override write(lba: number, data: Uint8Array): void {
      for (let i = 0; i < data.length / PAGE; i++) {
        const block = data.subarray(i * PAGE, (i + 1) * PAGE);
        if (on && tear) {
          // A torn block: the first sectors new, the rest as before (FLT-05).
          const torn = this.peek(lba + i);
          torn.set(block.subarray(0, 1536));
          super.write(lba + i, torn);
          capture(`torn lba ${lba + i}`);
        }
        super.write(lba + i, block);
        if (on) capture(`disk lba ${lba + i}`);
      }
    }
  }
  const disk = new RecordingDisk(8192);
  const capture = (at: string) => {
    const blocks = new Map<number, Uint8Array>();
    for (const l of disk.writtenBlocks()) blocks.set(l, disk.peek(l));
    states.push({ at, blocks, fs: [...fs].map(([k, v]) => [k, { ...v }]), nv: nv.snapshot() });
  };
  const advance = nv.advance.bind(nv);
  nv.advance = (name: string) => {
    if (on) capture(`before nv.advance(…${name.slice(-8)})`);
    const v = advance(name);
    if (on) capture(`after nv.advance(…${name.slice(-8)})`);
    return v;
  };
  return {
    disk, fs, nv, states, capture,
    record(b: boolean) {
      on = b;
    },
  };
}

/**
 * Boots a machine on persistent state `s` and runs `phase`; returns what the app read or how it died,
 * and, with `record`, every crash point of that run (a power loss during recovery).
 */
function bootOn(s: Persist, sessions: Session[], phase: string, record = false): { exit: number | string | undefined; read?: Uint8Array; states: Persist[] } {
  const out: { read?: Uint8Array } = {};
  const rec = recorder(MemoryNvStore.fromSnapshot(s.nv));
  for (const [l, b] of s.blocks) rec.disk.poke(l, b);
  for (const [k, v] of s.fs) rec.fs.set(k, { ...v });
  const w = bootCloaked({ programs: { app: makeApp(sessions, out) }, start: [], host: { seed: 7 }, disk: rec.disk, fs: rec.fs, cloaking: { nv: rec.nv } });
  rec.record(record);
  const tid = w.kernel.spawn('app', [phase]);
  w.run();
  rec.record(false);
  return { exit: w.kernel.exited.get(tid), ...(out.read ? { read: out.read } : {}), states: rec.states };
}

/** Runs `setup` sessions, then `update` recording every crash point. */
function crashPoints(setup: Session[], update: Session, tear = false) {
  const sessions = [...setup, update];
  const rec = recorder(new MemoryNvStore(), tear);
  const out: { read?: Uint8Array } = {};
  const w = bootCloaked({ programs: { app: makeApp(sessions, out) }, start: [], host: { seed: 3 }, disk: rec.disk, fs: rec.fs, cloaking: { nv: rec.nv } });
  let model: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < setup.length; i++) {
    const tid = w.kernel.spawn('app', [String(i)]);
    w.run();
    expect(w.kernel.exited.get(tid), `setup session ${i}`).toBe(0);
    model = apply(model, setup[i]);
  }
  rec.record(true);
  rec.capture('start of the update');
  const tid = w.kernel.spawn('app', [String(setup.length)]);
  w.run();
  rec.record(false);
  expect(w.kernel.exited.get(tid), 'the update').toBe(0);
  rec.capture('update acknowledged');
  return { sessions, states: rec.states, before: model, after: apply(model, update) };
}

const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** Classifies each crash point's recovered contents against the allowed versions (in commit order). */
function classify(states: Persist[], sessions: Session[], versions: Uint8Array[]): { at: string; v: number | string }[] {
  return states.map((s) => {
    const r = bootOn(s, sessions, 'read');
    if (r.exit !== 0) return { at: s.at, v: `died:${String(r.exit)}` };
    const v = versions.findIndex((x) => same(r.read, x));
    return { at: s.at, v: v >= 0 ? v : `MIX(${r.read?.length})` };
  });
}

/** Every crash point reads a version; the versions never go back; first = oldest, last = newest. */
function expectMonotone(cls: { at: string; v: number | string }[], versions: number) {
  const bad = cls.filter((c) => typeof c.v !== 'number');
  expect(bad, JSON.stringify(bad)).toEqual([]);
  const v = cls.map((c) => c.v as number);
  for (let i = 1; i < v.length; i++) expect(v[i], `rollback at ${cls[i].at}`).toBeGreaterThanOrEqual(v[i - 1]);
  expect(v[0]).toBe(0);
  expect(v[v.length - 1]).toBe(versions - 1);
}

const fillPages = (pages: number, fill: number): Op => ({ off: 0, len: pages * PAGE, fill });

describe('cloaked file crash consistency: a power loss at every write of an update', () => {
  // Two setup sessions so that the committed pages sit in both slots (the file and its shadow).
  const setup: Session[] = [{ ops: [fillPages(6, 0x10)] }, { ops: [{ off: 2 * PAGE, len: 2 * PAGE, fill: 0x40 }] }];
  // The update overwrites pages in both slots, partially, and extends the file.
  const update: Session = { ops: [{ off: PAGE + 100, len: 3 * PAGE, fill: 0x80 }, { off: 5 * PAGE + 7, len: PAGE + 500, fill: 0xc0 }] };

  it('reads exactly the old or exactly the new contents at every crash point, torn block writes included (never a mix, never neither, never back)', () => {
    const c = crashPoints(setup, update, true);
    const cls = classify(c.states, c.sessions, [c.before, c.after]);
    const dataWrites = cls.filter((x) => x.at.startsWith('disk'));
    expect(dataWrites.length).toBeGreaterThanOrEqual(6); // 5 data pages, their metadata
    expect(cls.filter((x) => x.at.startsWith('torn')).length).toBe(dataWrites.length);
    expect(cls.filter((x) => x.at.includes('nv.advance')).length).toBeGreaterThanOrEqual(4); // intent and commit
    expectMonotone(cls, 2);
    // The gap this fixes: a crash after the first data page of the update keeps the previous version.
    expect(cls.find((x) => x.at.startsWith('disk'))!.v).toBe(0);
    // Right after the commit point (the last NV advance) the new version, for good.
    const commit = cls.map((x) => x.at.startsWith('after nv.advance')).lastIndexOf(true);
    expect(cls.slice(commit).every((x) => x.v === 1)).toBe(true);
  });

  it('with fsync(2) in the middle, every crash point reads the old, the fsynced or the final version, in that order', () => {
    const u: Session = { ops: [...update.ops, { off: 0, len: 2 * PAGE, fill: 0x33 }], fsyncAfter: [0] };
    const c = crashPoints(setup, u);
    const mid = apply(c.before, u, 1);
    expectMonotone(classify(c.states, c.sessions, [c.before, mid, c.after]), 3);
  });

  it('O_TRUNC followed by a shorter file is atomic too (the kernel never truncates the committed version)', () => {
    const u: Session = { trunc: true, ops: [{ off: 0, len: PAGE + 10, fill: 0x99 }] };
    const c = crashPoints(setup, u);
    expect(c.after.length).toBe(PAGE + 10);
    expectMonotone(classify(c.states, c.sessions, [c.before, c.after]), 2);
  });

  it('a second power loss during recovery changes nothing: recovery is idempotent', () => {
    const c = crashPoints(setup, update);
    let checked = 0;
    for (const s of c.states) {
      const once = bootOn(s, c.sessions, 'read', true);
      expect(once.exit).toBe(0);
      // Crash points of the recovery itself (its NV advances: roll forward or abort).
      for (const s2 of once.states) {
        const twice = bootOn(s2, c.sessions, 'read');
        expect(twice.exit, `${s.at} then ${s2.at}`).toBe(0);
        expect(same(twice.read, once.read!), `${s.at} then ${s2.at}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('cloaked file crash recovery against a lying kernel', () => {
  const setup: Session[] = [{ ops: [fillPages(4, 0x10)] }];
  const update: Session = { ops: [{ off: PAGE, len: 2 * PAGE, fill: 0x70 }] };
  const c = crashPoints(setup, update);
  const start = c.states[0];
  const acked = c.states[c.states.length - 1];
  const inode = (s: Persist, name: string) => new Map(s.fs).get(name)!;
  /** `s` with the blocks of file `name` that changed since the update began put back as they were (the kernel dropped those writes). */
  const drop = (s: Persist, name: string): Persist => {
    const base = inode(s, name).base;
    const blocks = new Map(s.blocks);
    for (const [l, b] of s.blocks) {
      if (l < base || l >= base + 256) continue;
      const old = start.blocks.get(l);
      if (!old || !old.every((x, i) => x === b[i])) blocks.set(l, old ?? new Uint8Array(PAGE));
    }
    return { ...s, blocks };
  };
  const readOn = (s: Persist) => {
    const r = bootOn(s, c.sessions, 'read');
    return r.exit === 0 ? (same(r.read, c.before) ? 'old' : same(r.read, c.after) ? 'new' : 'MIX') : String(r.exit);
  };
  // The state right before the commit point: the new metadata is durable, the NV counter still odd.
  const inFlight = c.states.filter((s) => s.at.startsWith('before nv.advance')).at(-1)!;

  it('the in-flight update rolls forward when its metadata is on disk', () => {
    expect(readOn(inFlight)).toBe('new');
  });

  it('dropped writes of an acknowledged update: metadata → ROLLBACK_DETECTED, data → detected, never the old version', () => {
    expect(readOn(drop(acked, PATH + META_SUFFIX))).toBe('killed:ROLLBACK_DETECTED');
    expect(['killed:INTEGRITY_VIOLATION', 'killed:REPLAY_DETECTED']).toContain(readOn(drop(acked, PATH + COW_SUFFIX)));
    expect(['killed:INTEGRITY_VIOLATION', 'killed:REPLAY_DETECTED']).toContain(readOn(drop(inFlight, PATH + COW_SUFFIX))); // reordered: metadata before data
  });

  it('an aborted update never comes back: hidden at recovery, re-presented later, it is ignored', () => {
    // The kernel hides the in-flight metadata at recovery, so the TVMM aborts the update (the old version)…
    const hidden = drop(inFlight, PATH + META_SUFFIX);
    const r = bootOn(hidden, c.sessions, 'read', true);
    expect(r.exit).toBe(0);
    expect(same(r.read, c.before)).toBe(true);
    const after = r.states.at(-1)!; // NV after the abort
    // …then serves it again next to the committed one: the aborted generation is dead, the old version stays.
    const replayed: Persist = { ...after, blocks: new Map([...after.blocks, ...[...inFlight.blocks].filter(([l]) => l >= inode(inFlight, PATH + META_SUFFIX).base && l < inode(inFlight, PATH + META_SUFFIX).base + 256)]) };
    expect(readOn(replayed)).toBe('old');
    // Only the aborted metadata, without the committed one: detected, never the unacknowledged version.
    const only: Persist = { ...replayed, blocks: new Map(replayed.blocks) };
    const mb = inode(inFlight, PATH + META_SUFFIX).base;
    const slotBlocks = META_SLOT_BYTES / PAGE;
    const committedSlot = [0, 1].find((sl) => start.blocks.has(mb + sl * slotBlocks) && same(start.blocks.get(mb + sl * slotBlocks), inFlight.blocks.get(mb + sl * slotBlocks)!))!;
    only.blocks.set(mb + committedSlot * slotBlocks, new Uint8Array(PAGE));
    expect(readOn(only)).toBe('killed:ROLLBACK_DETECTED');
  });

  it('an NV store rolled back behind the disk is detected (metadata from the future)', () => {
    expect(readOn({ ...acked, nv: start.nv })).toBe('killed:ROLLBACK_DETECTED');
  });
});

describe('cloaked file crash consistency (property)', () => {
  const op = fc.record({ off: fc.integer({ min: 0, max: 7 * PAGE }), len: fc.integer({ min: 1, max: 2 * PAGE }), fill: fc.integer({ min: 0, max: 255 }) });
  const session = fc.record({ ops: fc.array(op, { minLength: 1, maxLength: 3 }), trunc: fc.boolean() });
  it('for random histories and a random crash point of the last update: the previous or the new contents, and the new one once acknowledged', () => {
    fc.assert(
      fc.property(fc.array(session, { minLength: 1, maxLength: 2 }), session, fc.double({ min: 0, max: 1, noNaN: true }), (setup, update, where) => {
        const c = crashPoints(setup.map((s) => ({ ...s, trunc: false })), update);
        // A random crash point, the first page write of the update, the last moment before the commit, and the acknowledged state.
        const n = c.states.length;
        const picks = [...new Set([Math.min(n - 2, Math.floor(where * (n - 1))), c.states.findIndex((s) => s.at.startsWith('disk')), c.states.map((s) => s.at.startsWith('before nv.advance')).lastIndexOf(true), n - 1])].filter((i) => i >= 0).sort((a, b) => a - b);
        const cls = classify(picks.map((i) => c.states[i]), c.sessions, [c.before, c.after]);
        for (const x of cls) expect(typeof x.v, `${x.at}: ${String(x.v)}`).toBe('number');
        for (let i = 1; i < cls.length; i++) expect(cls[i].v as number).toBeGreaterThanOrEqual(cls[i - 1].v as number);
        expect(cls[cls.length - 1].v).toBe(1);
      }),
      { numRuns: 6, seed: 2026 },
    );
  });
});

describe('cloaked file updates under the guest OS (write-back page cache, fsync ordering)', () => {
  it('alternating slots across sessions, O_TRUNC and a shared mapping all read back exactly', async () => {
    const { bootGuest } = await import('../../src/guest/index.js');
    const { Host } = await import('../../src/tvmm/index.js');
    const log: string[] = [];
    const main: ProgramFn = function* (p) {
      const buf = yield* p.syscall(SYS.mmap, [0, 16 * PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      p.write(buf, new TextEncoder().encode('/cloaked/g\0'));
      let model: Uint8Array = new Uint8Array(0);
      const session = function* (s: Session): G {
        const fd = yield* p.syscall(SYS.open, [buf, O.CREAT | O.RDWR | (s.trunc ? O.TRUNC : 0), 0o600]);
        for (const op of s.ops) {
          p.write(buf + PAGE, new Uint8Array(op.len).map((_, j) => (op.fill + j) & 255));
          yield* p.syscall(SYS.lseek, [fd, op.off, SEEK.SET]);
          yield* p.syscall(SYS.write, [fd, buf + PAGE, op.len]);
        }
        yield* p.syscall(SYS.close, [fd]);
        model = apply(model, s);
        const rfd = yield* p.syscall(SYS.open, [buf, O.RDWR, 0o600]);
        const n = yield* p.syscall(SYS.read, [rfd, buf + PAGE, 12 * PAGE]);
        log.push(n === model.length && same(p.read(buf + PAGE, n), model) ? 'ok' : `WRONG ${n}/${model.length}`);
        yield* p.syscall(SYS.close, [rfd]);
        return 0;
      };
      yield* session({ ops: [fillPages(3, 1)] });
      yield* session({ ops: [{ off: 100, len: PAGE, fill: 2 }] });
      yield* session({ ops: [{ off: 50, len: 2 * PAGE, fill: 3 }] });
      yield* session({ trunc: true, ops: [{ off: 10, len: 20, fill: 4 }] });
      yield* session({ ops: [{ off: 2 * PAGE, len: PAGE, fill: 5 }] });
      // A shared mapping written back at munmap (its pages go to the non-committed slots too).
      const fd = yield* p.syscall(SYS.open, [buf, O.RDWR, 0o600]);
      const a = yield* p.syscall(SYS.mmap, [0, 3 * PAGE, PROT.READ | PROT.WRITE, MAP.SHARED, fd]);
      p.store8(a + 2 * PAGE + 9, 0xab);
      model[2 * PAGE + 9] = 0xab;
      yield* p.syscall(SYS.munmap, [a, 3 * PAGE]);
      yield* p.syscall(SYS.close, [fd]);
      yield* session({ ops: [{ off: 0, len: 1, fill: 6 }] });
      yield* p.syscall(SYS.exit, [0]);
      return 0;
    };
    const host = new Host({ seed: 5, machineMiB: 128 });
    const tvmm = host.boot();
    const engine = attachCloaking(tvmm, { cloakPrograms: ['main'] });
    bootGuest({ host, programs: { main }, rootDiskBlocks: 4096, kernel: { init: 'main' } });
    tvmm.run({ untilNs: 60e9 });
    expect(log).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(engine.stats().violations).toBe(0);
  });
});

describe('cloaked file crash consistency under the guest OS (its own filesystem on the disk)', () => {
  it('a power loss at every disk block write and NV advance of an overwrite leaves the old or the new contents', async () => {
    const { bootGuest } = await import('../../src/guest/index.js');
    const { Host } = await import('../../src/tvmm/index.js');
    const v1: Session = { ops: [fillPages(4, 0x21)] };
    const v2: Session = { ops: [{ off: PAGE - 10, len: 2 * PAGE, fill: 0x61 }, { off: 4 * PAGE, len: 300, fill: 0x91 }] };
    const before = apply(new Uint8Array(0), v1), after = apply(before, v2);
    let got: Uint8Array | undefined;
    // One program (a cloaked file belongs to the program that created it); argv[0] picks the phase.
    const app: ProgramFn = function* (p) {
      const s = p.argv[0] === 'w1' ? v1 : p.argv[0] === 'w2' ? v2 : undefined;
      const buf = yield* p.syscall(SYS.mmap, [0, 16 * PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
      p.write(buf, new TextEncoder().encode('/cloaked/h\0'));
      const fd = yield* p.syscall(SYS.open, [buf, O.CREAT | O.RDWR, 0o600]);
      if (s) {
        for (const op of s.ops) {
          p.write(buf + PAGE, new Uint8Array(op.len).map((_, j) => (op.fill + j) & 255));
          yield* p.syscall(SYS.lseek, [fd, op.off, SEEK.SET]);
          yield* p.syscall(SYS.write, [fd, buf + PAGE, op.len]);
        }
      } else {
        const n = yield* p.syscall(SYS.read, [fd, buf + PAGE, 12 * PAGE]);
        got = n < 0xfffff001 ? p.read(buf + PAGE, n) : new Uint8Array(0);
      }
      yield* p.syscall(SYS.close, [fd]);
      yield* p.syscall(SYS.exit, [0]);
      return 0;
    };
    const programs = { app };
    const states: { at: string; blocks: Map<number, Uint8Array>; nv: ReturnType<MemoryNvStore['snapshot']> }[] = [];
    let on = false;
    const nv = new MemoryNvStore();
    class RecordingDisk extends MemoryDisk {
      override write(lba: number, data: Uint8Array): void {
        for (let i = 0; i < data.length / PAGE; i++) {
          super.write(lba + i, data.subarray(i * PAGE, (i + 1) * PAGE));
          if (on) capture(`disk lba ${lba + i}`);
        }
      }
    }
    const disk = new RecordingDisk(4096);
    const capture = (at: string) => {
      states.push({ at, blocks: new Map(disk.writtenBlocks().map((l) => [l, disk.peek(l)])), nv: nv.snapshot() });
    };
    const advance = nv.advance.bind(nv);
    nv.advance = (name: string) => {
      if (on) capture('before nv.advance');
      const v = advance(name);
      if (on) capture('after nv.advance');
      return v;
    };
    const boot = (init: string, d: MemoryDisk, store: MemoryNvStore) => {
      const host = new Host({ seed: 4, machineMiB: 64 });
      const tvmm = host.boot();
      attachCloaking(tvmm, { cloakPrograms: ['app'], nv: store });
      const g = bootGuest({ host, programs, rootDisk: d, kernel: { init: 'app', initArgv: [init] } });
      tvmm.run({ untilNs: 30e9 });
      return g;
    };
    boot('w1', disk, nv);
    on = true;
    capture('start of v2');
    boot('w2', disk, nv);
    on = false;
    capture('v2 acknowledged');
    const cls = states.map((s) => {
      const d = new MemoryDisk(4096);
      for (const [l, b] of s.blocks) d.poke(l, b);
      got = undefined;
      boot('r', d, MemoryNvStore.fromSnapshot(s.nv));
      const r = got as Uint8Array | undefined;
      return same(r, before) ? 0 : same(r, after) ? 1 : `${s.at}: ${r ? `MIX ${r.length}` : 'no read'}`;
    });
    expect(cls.filter((c) => typeof c !== 'number')).toEqual([]);
    expect(states.filter((s) => s.at.startsWith('disk')).length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < cls.length; i++) expect(cls[i] as number).toBeGreaterThanOrEqual(cls[i - 1] as number);
    expect(cls[0]).toBe(0);
    expect(cls[cls.length - 1]).toBe(1);
  });
});
