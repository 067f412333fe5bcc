/**
 * `terracloak/testing`: the adversary toolkit for security test suites (threats.md §0.2: god view,
 * adversary hooks, `leakScan`, `twoWorlds`; Overshadow ASPLOS'08 §2 threat model). Nothing here is
 * reachable from objects handed to guests: the god view takes the Host (which only the test holds).
 * See docs/testing.md for a worked example.
 */
import { FrameFlag, OWNER_NONE } from '../memory/index.js';
import { checkBytes, checkFunction, checkInt, checkObject, PAGE_SIZE, type Mpn, type VmId } from '../sim/index.js';
import { Host, MemoryDisk, type HostOptions, type ProgramFn, type Tvmm } from '../tvmm/index.js';
import { attachCloaking, type CloakEngine, type CloakOptions } from '../cloaking/index.js';
import { RogueKernel, type Inode } from './kernel.js';

export { RogueKernel, PTE_P, PTE_W, PTE_U, type KernelAdversary, type SyscallCtx, type Inode } from './kernel.js';

/** A booted world: a host with cloaking, one VM running {@link RogueKernel}, and a disk. */
export interface CloakWorld {
  readonly host: Host;
  readonly tvmm: Tvmm;
  readonly engine: CloakEngine;
  readonly kernel: RogueKernel;
  readonly vm: VmId;
  readonly disk: MemoryDisk;
  /** Errors the harness caught (scanned by leakScan). */
  readonly errors: unknown[];
  /** Runs the machine until every thread is done (or `maxSlices`). */
  run(maxSlices?: number): void;
}

/** Options of {@link bootCloaked}. */
export interface BootOptions {
  /** Programs installed in the VM. */
  readonly programs: Readonly<Record<string, ProgramFn>>;
  /** Programs started at boot (default: every program, in key order). */
  readonly start?: readonly string[];
  /** Programs the loader cloaks (default: every program). */
  readonly cloak?: readonly string[];
  readonly host?: HostOptions;
  readonly cloaking?: Omit<CloakOptions, 'cloakPrograms'>;
  /** Guest memory pages (default 2048). */
  readonly pages?: number;
  /** An existing disk to attach as disk0 (reboot tests). */
  readonly disk?: MemoryDisk;
  /** The kernel's directory of that disk (share it with the disk across boots). */
  readonly fs?: Map<string, Inode>;
}

/**
 * Boots a host, attaches cloaking, creates one VM running a {@link RogueKernel} with a disk, and
 * powers it on. Throws TypeError/RangeError on bad options.
 */
export function bootCloaked(opts: BootOptions): CloakWorld {
  checkObject('opts', opts);
  const programs = checkObject('opts.programs', opts.programs) as Record<string, ProgramFn>;
  const host = new Host({ seed: 1, machineMiB: 64, ...(opts.host ?? {}) });
  const tvmm = host.boot();
  const names = Object.keys(programs);
  const engine = attachCloaking(tvmm, { ...(opts.cloaking ?? {}), cloakPrograms: opts.cloak ?? names });
  const kernel = new RogueKernel(opts.start ?? names, opts.fs ? { fs: opts.fs } : {});
  const vm = tvmm.createVm({ name: 'victim', kind: 'open-box', pages: opts.pages ?? 2048, guest: kernel, programs });
  const disk = opts.disk ?? new MemoryDisk(4096);
  tvmm.attachDisk(vm, 'disk0', disk);
  tvmm.power(vm, 'on');
  // Boot the guest before any program runs when nothing starts at boot (tests spawn later).
  if ((opts.start ?? names).length === 0) tvmm.run({ maxSlices: 1 });
  const errors: unknown[] = [];
  return {
    host, tvmm, engine, kernel, vm, disk, errors,
    run(maxSlices = 100_000) {
      checkInt('maxSlices', maxSlices, 1);
      tvmm.internalVm(vm).idle = false;
      tvmm.run({ maxSlices });
    },
  };
}

// ------------------------------------------------------------------ god view

/** A test-only view of machine frames and cloak state (never reachable from guest objects). */
export interface GodView {
  /** A copy of machine frame `mpn`. */
  peekFrame(mpn: number): Uint8Array;
  /** The machine frame backing (vm, gppn), or −1. */
  frameOf(vm: VmId, gppn: number): number;
  /** A copy of the frame backing (vm, gppn). */
  peekGppn(vm: VmId, gppn: number): Uint8Array;
  /** Overwrites bytes of machine frame `mpn` (fault injection F, host H). */
  pokeFrame(mpn: number, offset: number, data: Uint8Array): void;
  /** Every used frame and whether it holds cloaked plaintext (FrameFlag.CLOAKED). */
  usedFrames(): { mpn: number; cloakedPlaintext: boolean; owner: number }[];
}

/** The god view of a host. */
export function godView(host: Host): GodView {
  const m = host.machine;
  const checkMpn = (x: unknown) => checkInt('mpn', x, 0, m.frames - 1);
  return {
    peekFrame: (mpn) => m.bytes(checkMpn(mpn) as Mpn).slice(),
    frameOf(vm, gppn) {
      const p = host.memory.pmap(vm);
      checkInt('gppn', gppn, 0, p.pages - 1);
      return p.state[gppn] & 1 ? p.mpn[gppn] : -1;
    },
    peekGppn(vm, gppn) {
      const f = this.frameOf(vm, gppn);
      if (f < 0) throw new RangeError(`gppn ${gppn} has no frame`);
      return m.bytes(f as Mpn).slice();
    },
    pokeFrame(mpn, offset, data) {
      checkBytes('data', data);
      checkInt('offset', offset, 0, PAGE_SIZE - data.length);
      m.bytes(checkMpn(mpn) as Mpn).set(data, offset);
    },
    usedFrames() {
      const out: { mpn: number; cloakedPlaintext: boolean; owner: number }[] = [];
      for (let i = 0; i < m.frames; i++) {
        if (!(m.flags[i] & FrameFlag.USED)) continue;
        out.push({ mpn: i, cloakedPlaintext: !!(m.flags[i] & FrameFlag.CLOAKED), owner: m.owner[i] === OWNER_NONE ? -1 : m.owner[i] });
      }
      return out;
    },
  };
}

// ------------------------------------------------------------------ leak scan

/** Where a 16-byte window of the secret was found. */
export interface LeakHit {
  readonly where: string;
  readonly offset: number;
  readonly secretOffset: number;
}

/** Extra places to scan: name → bytes or anything (serialized with JSON and String()). */
export type ExtraSources = Readonly<Record<string, unknown>>;

function windowIndex(secret: Uint8Array): Map<number, number[]> {
  const idx = new Map<number, number[]>();
  for (let i = 0; i + 16 <= secret.length; i++) {
    const k = (secret[i] | (secret[i + 1] << 8) | (secret[i + 2] << 16) | (secret[i + 3] << 24)) >>> 0;
    let l = idx.get(k);
    if (!l) idx.set(k, (l = []));
    l.push(i);
  }
  return idx;
}

function scanBytes(hay: Uint8Array, secret: Uint8Array, idx: Map<number, number[]>, where: string, hits: LeakHit[]): void {
  for (let j = 0; j + 16 <= hay.length; j++) {
    const k = (hay[j] | (hay[j + 1] << 8) | (hay[j + 2] << 16) | (hay[j + 3] << 24)) >>> 0;
    const l = idx.get(k);
    if (!l) continue;
    for (const i of l) {
      let eq = true;
      for (let q = 4; q < 16; q++) if (hay[j + q] !== secret[i + q]) { eq = false; break; }
      if (eq) {
        hits.push({ where, offset: j, secretOffset: i });
        return;
      }
    }
  }
}

const enc = new TextEncoder();

function asText(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}\n${v.stack ?? ''}\n${String((v as { cause?: unknown }).cause ?? '')}\n${JSON.stringify(v)}`;
  try {
    return `${JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? Array.from(x) : x))}\n${String(v)}`;
  } catch {
    return String(v);
  }
}

/**
 * Searches every 16-byte window of a high-entropy `secret` (≥ 16 bytes) in everything the kernel,
 * the host, swap, disks, DMA buffers, errors and logs can see: every machine frame that is not
 * cloaked plaintext of its owner, every disk block, every trap frame and byte string the kernel
 * copied, the console, the trace (JSON), caught errors (message, stack, cause), plus `extra`
 * sources (bytes scanned raw; anything else as JSON and String, and as hex). Returns the hits.
 */
export function leakScan(world: CloakWorld, secret: Uint8Array, extra: ExtraSources = {}): LeakHit[] {
  checkObject('world', world);
  checkBytes('secret', secret, { min: 16 });
  checkObject('extra', extra);
  const idx = windowIndex(secret);
  const hits: LeakHit[] = [];
  const g = godView(world.host);
  for (const f of g.usedFrames()) {
    if (f.cloakedPlaintext) continue;
    scanBytes(world.host.machine.bytes(f.mpn as Mpn), secret, idx, `frame ${f.mpn}`, hits);
  }
  for (const lba of world.disk.writtenBlocks()) scanBytes(world.disk.peek(lba), secret, idx, `disk0 block ${lba}`, hits);
  world.kernel.copies.forEach((c, i) => scanBytes(c, secret, idx, `kernel copy ${i}`, hits));
  const regs = new Uint8Array(world.kernel.traps.length * 64);
  const dv = new DataView(regs.buffer);
  world.kernel.traps.forEach((t, i) => Object.values(t.regs).forEach((v, k) => dv.setUint32(i * 64 + k * 4, v, true)));
  scanBytes(regs, secret, idx, 'trap frames', hits);
  const texts: [string, string][] = [
    ['console', world.tvmm.consoleLines.map((l) => l.line).join('\n')],
    ['trace', JSON.stringify(world.host.sim.trace.events())],
    ['errors', world.errors.map(asText).join('\n')],
  ];
  for (const [k, v] of Object.entries(extra)) {
    if (v instanceof Uint8Array) scanBytes(v, secret, idx, k, hits);
    else texts.push([k, asText(v)]);
  }
  const hex = Array.from(secret, (b) => b.toString(16).padStart(2, '0')).join('');
  for (const [where, text] of texts) {
    scanBytes(enc.encode(text), secret, idx, where, hits);
    for (let i = 0; i + 32 <= hex.length; i += 2) if (text.includes(hex.slice(i, i + 32))) { hits.push({ where: `${where} (hex)`, offset: -1, secretOffset: i / 2 }); break; }
  }
  return hits;
}

// ------------------------------------------------------------------ two worlds (noninterference)

/** The result of {@link twoWorlds}. */
export interface TwoWorldsResult<O> {
  readonly equal: boolean;
  readonly a: O;
  readonly b: O;
  /** JSON paths that differ (first 20). */
  readonly diff: string[];
}

function diffPaths(a: unknown, b: unknown, path: string, out: string[]): void {
  if (out.length >= 20) return;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    if (!Object.is(a, b)) out.push(path || '(root)');
    return;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, out);
}

/**
 * The two-world noninterference harness: runs `scenario` twice from the same seed, once with
 * `secretA` and once with `secretB`, and compares the attacker-observable results it returns
 * (virtual timestamps, fault counts, API responses, the attacker's own accounting — never
 * ciphertext bytes, which differ with the plaintext but are pseudorandom). Equal means the secret
 * did not influence what the attacker observed.
 */
export async function twoWorlds<O>(secretA: Uint8Array, secretB: Uint8Array, scenario: (secret: Uint8Array) => O | Promise<O>): Promise<TwoWorldsResult<O>> {
  checkBytes('secretA', secretA);
  checkBytes('secretB', secretB);
  checkFunction('scenario', scenario);
  const a = await scenario(secretA.slice());
  const b = await scenario(secretB.slice());
  const diff: string[] = [];
  diffPaths(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)), '', diff);
  return { equal: diff.length === 0, a, b, diff };
}

/** What a kernel attacker observes in a world (for {@link twoWorlds}): trap kinds and scrubbed registers, times, counts. */
export function attackerView(world: CloakWorld): Record<string, unknown> {
  return {
    now: world.host.sim.clock.now,
    traps: world.kernel.traps.map((t) => [t.kind, t.tid, t.regs, t.fault?.gva ?? null, t.status ?? null]),
    exited: [...world.kernel.exited.entries()],
    console: world.tvmm.consoleLines.map((l) => [l.t, l.line]),
    mmu: { ...world.tvmm.mmu.stats },
    disk: world.disk.writtenBlocks(),
  };
}

/** A deterministic high-entropy secret of `n` bytes for tests (from a seed, not Math.random). */
export function testSecret(seed: number, n = 4096): Uint8Array {
  checkInt('seed', seed, 0);
  checkInt('n', n, 16, 1 << 24);
  const h = new Host({ seed, machineMiB: 1 });
  return h.sim.rng.fork('test-secret').bytes(n);
}
