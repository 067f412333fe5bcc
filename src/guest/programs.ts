/**
 * Built-in guest programs (the VM's installed executables) used by demos, tests and scenario files,
 * and {@link bootGuest}, which builds a host, a TVMM and a VM running the guest kernel. The memhog
 * program produces the page mixes of the ESX content-based page sharing experiments (Waldspurger,
 * OSDI'02 §4: zero pages, duplicated pages, unique pages).
 */
import { Host, MemoryDisk, type BlockBackend, type ProgramFn, type Proc, type Tvmm, type VmKind } from '../tvmm/index.js';
import type { VmId } from '../sim/index.js';
import { MAP, O, PROT } from './abi.js';
import { GuestKernel, type GuestKernelOptions } from './kernel.js';
import * as c from './libc.js';

const NS_PER_MS = 1_000_000;

function intArg(p: Proc, i: number, d: number): number {
  const v = p.argv[i];
  if (v === undefined) return d;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : d;
}

/** init: spawns each argv entry (a command line "program arg…") as a child, reaps them all, exits 0. */
export const init: ProgramFn = function* (p) {
  const pids: number[] = [];
  for (const line of p.argv) {
    const [prog, ...args] = line.split(/\s+/).filter((s) => s.length > 0);
    if (!prog) continue;
    const pid = yield* c.fork(p, function* (child) {
      const r = yield* c.exec(child, prog, args);
      yield* c.puts(child, `init: exec ${prog} failed (${r})`);
      return 127;
    });
    if (pid > 0) pids.push(pid);
    else yield* c.puts(p, `init: fork failed (${pid})`);
  }
  let left = pids.length;
  while (left > 0) {
    const w = yield* c.waitpid(p, -1);
    if (typeof w === 'number') break;
    left--;
  }
  return 0;
};

/** compute [iterations=1000] [pages=4]: a compute-bound loop over a small heap buffer; prints a checksum. */
export const compute: ProgramFn = function* (p) {
  const iters = intArg(p, 0, 1000);
  const pages = Math.max(1, Math.min(intArg(p, 1, 4), 1024));
  const buf = yield* c.malloc(p, pages * 4096);
  if (buf < 0) return 1;
  let sum = 0;
  for (let i = 0; i < iters; i++) {
    const a = buf + ((i * 4 * 97) % (pages * 4096));
    p.store32(a, (p.load32(a) + i) >>> 0);
    sum = (sum + p.load32(a)) >>> 0;
    if (i % 64 === 63) yield* p.compute(10_000);
  }
  yield* c.puts(p, `compute: ${iters} iterations, checksum ${sum}`);
  return 0;
};

/** syscall-heavy [n=100]: getpid and a small write to stdout, n times. */
export const syscallHeavy: ProgramFn = function* (p) {
  const n = intArg(p, 0, 100);
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const pid = yield* c.getpid(p);
    if (pid > 0) ok++;
    if (i % 10 === 0) yield* c.write(p, 1, `syscall-heavy ${pid} ${i}`);
  }
  return ok === n ? 0 : 1;
};

/** file-io [name=data.bin] [KiB=16]: writes a patterned file, fsyncs, reads it back and verifies. */
export const fileIo: ProgramFn = function* (p) {
  const name = p.argv[0] ?? 'data.bin';
  const kib = Math.max(1, Math.min(intArg(p, 1, 16), 4096));
  const data = new Uint8Array(kib * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + name.length) & 0xff;
  const fd = yield* c.open(p, name, O.RDWR | O.CREAT | O.TRUNC);
  if (fd < 0) return 2;
  if ((yield* c.write(p, fd, data)) !== data.length) return 3;
  if ((yield* c.fsync(p, fd)) < 0) return 4;
  yield* c.close(p, fd);
  const fd2 = yield* c.open(p, name, O.RDONLY);
  if (fd2 < 0) return 5;
  const back = yield* c.readAll(p, fd2);
  yield* c.close(p, fd2);
  if (typeof back === 'number' || back.length !== data.length || !back.every((b, i) => b === data[i])) {
    yield* c.puts(p, 'file-io: MISMATCH');
    return 6;
  }
  yield* c.puts(p, `file-io: ${name} ${data.length} bytes ok`);
  return 0;
};

/**
 * memhog [MiB=1] [pattern=unique] [holdMs=0]: maps MiB of anonymous memory and fills every page;
 * pattern 'zero' (all-zero pages, touched), 'dup' (identical non-zero pages), 'unique' (distinct
 * deterministic pages), 'random' (device entropy), 'half' (alternating dup and unique). Then sleeps
 * holdMs and verifies the contents.
 */
export const memhog: ProgramFn = function* (p) {
  const mib = Math.max(0, Math.min(intArg(p, 0, 1), 1024));
  const pattern = p.argv[1] ?? 'unique';
  const hold = intArg(p, 2, 0);
  const pages = mib * 256;
  if (pages === 0) return 0;
  const base = yield* c.mmap(p, pages * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE);
  if (base < 0) return 1;
  const dup = new Uint8Array(4096).fill(0xab);
  const expect: (Uint8Array | undefined)[] = [];
  for (let i = 0; i < pages; i++) {
    let page: Uint8Array;
    if (pattern === 'zero') page = new Uint8Array(4096);
    else if (pattern === 'dup' || (pattern === 'half' && i % 2 === 0)) page = dup;
    else if (pattern === 'random') {
      const r = yield* c.getrandom(p, 4096);
      if (typeof r === 'number') return 2;
      page = r;
    } else {
      page = new Uint8Array(4096);
      const v = new DataView(page.buffer);
      for (let k = 0; k < 1024; k++) v.setUint32(k * 4, (i * 1024 + k) ^ 0x5a5a5a5a, true);
    }
    p.write(base + i * 4096, page);
    expect.push(pattern === 'random' ? page : undefined);
    if (i % 64 === 63) yield* p.compute(1000);
  }
  if (hold > 0) yield* c.sleep(p, hold * NS_PER_MS);
  for (let i = 0; i < pages; i += Math.max(1, Math.floor(pages / 64))) {
    const b = p.read(base + i * 4096, 4096);
    const e = expect[i];
    const first = pattern === 'zero' ? 0 : pattern === 'dup' || (pattern === 'half' && i % 2 === 0) ? 0xabababab : e ? new DataView(e.buffer).getUint32(0, true) : (i * 1024) ^ 0x5a5a5a5a;
    if (new DataView(b.buffer).getUint32(0, true) !== first >>> 0) {
      yield* c.puts(p, `memhog: page ${i} corrupted`);
      return 3;
    }
  }
  yield* c.puts(p, `memhog: ${mib} MiB ${pattern} ok`);
  return 0;
};

/** idle [ms=10] [times=1]: sleeps ms, times times. */
export const idle: ProgramFn = function* (p) {
  const ms = intArg(p, 0, 10);
  const times = intArg(p, 1, 1);
  for (let i = 0; i < times; i++) yield* c.sleep(p, ms * NS_PER_MS);
  return 0;
};

/** fork-exec [program=syscall-heavy] [args…]: forks, the child execs the program, the parent waits and reports. */
export const forkExec: ProgramFn = function* (p) {
  const prog = p.argv[0] ?? 'syscall-heavy';
  const args = p.argv.slice(1);
  const pid = yield* c.fork(p, function* (ch) {
    yield* c.exec(ch, prog, args.length ? args : ['5']);
    return 127;
  });
  if (pid < 0) return 1;
  const w = yield* c.waitpid(p, pid);
  if (typeof w === 'number') return 2;
  yield* c.puts(p, `fork-exec: child ${w.pid} (${prog}) exited ${w.code}`);
  return w.code;
};

/** The built-in programs by name. */
export const BUILTIN_PROGRAMS: Readonly<Record<string, ProgramFn>> = Object.freeze({
  init,
  compute,
  'syscall-heavy': syscallHeavy,
  'file-io': fileIo,
  memhog,
  idle,
  'fork-exec': forkExec,
});

/** Options of {@link bootGuest}. */
export interface BootGuestOptions {
  readonly seed?: number;
  readonly machineMiB?: number;
  readonly memoryMiB?: number;
  /** Or the VM size in pages. */
  readonly pages?: number;
  readonly kind?: VmKind;
  readonly name?: string;
  /** Command lines init spawns (e.g. ['compute 500', 'file-io a.bin 8']). */
  readonly run?: readonly string[];
  /** Extra programs installed next to the built-ins. */
  readonly programs?: Readonly<Record<string, ProgramFn>>;
  /** Attach a root disk of this many 4 KiB blocks (a MemoryDisk). */
  readonly rootDiskBlocks?: number;
  /** Attach a swap disk of this many blocks. */
  readonly swapDiskBlocks?: number;
  /** Attach this backend as the root disk (e.g. to boot again from a disk written by an earlier VM). */
  readonly rootDisk?: BlockBackend;
  /** Further kernel options (init, drivers, adversary, …). */
  readonly kernel?: GuestKernelOptions;
  /** An attestable VM image (Terra): measured at creation; the VM can then quote and seal. */
  readonly image?: Uint8Array;
  /** Boot into this (already booted) host instead of a new one. */
  readonly host?: Host;
}

/** A booted guest: the host, TVMM, VM id, kernel and attached disks. */
export interface BootedGuest {
  readonly host: Host;
  readonly tvmm: Tvmm;
  readonly vmId: VmId;
  readonly kernel: GuestKernel;
  readonly rootDisk?: BlockBackend;
  readonly swapDisk?: MemoryDisk;
}

/** Creates a host (or uses the given one), a VM running the guest kernel with init spawning `run`, powers it on. Run it with `tvmm.run(...)`. */
export function bootGuest(opts: BootGuestOptions = {}): BootedGuest {
  const host = opts.host ?? new Host({ seed: opts.seed ?? 1, machineMiB: opts.machineMiB ?? 256 });
  const tvmm = opts.host ? host.tvmm : host.boot();
  const kernel = new GuestKernel({ initArgv: opts.run ?? [], ...opts.kernel });
  const vmId = tvmm.createVm({
    name: opts.name ?? 'guest',
    kind: opts.kind ?? 'open-box',
    ...(opts.pages !== undefined ? { pages: opts.pages } : { memoryMiB: opts.memoryMiB ?? 16 }),
    guest: kernel,
    programs: { ...BUILTIN_PROGRAMS, ...opts.programs },
    ...(opts.image ? { image: opts.image } : {}),
  });
  let rootDisk: BlockBackend | undefined = opts.rootDisk;
  let swapDisk: MemoryDisk | undefined;
  if (rootDisk === undefined && opts.rootDiskBlocks !== undefined) rootDisk = new MemoryDisk(opts.rootDiskBlocks);
  if (rootDisk) tvmm.attachDisk(vmId, 'root', rootDisk);
  if (opts.swapDiskBlocks !== undefined) tvmm.attachDisk(vmId, 'swap', (swapDisk = new MemoryDisk(opts.swapDiskBlocks)));
  tvmm.power(vmId, 'on');
  return { host, tvmm, vmId, kernel, ...(rootDisk ? { rootDisk } : {}), ...(swapDisk ? { swapDisk } : {}) };
}
