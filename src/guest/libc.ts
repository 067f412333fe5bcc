/**
 * User-side libc for guest programs (DESIGN.md §4): generator wrappers over the system-call ABI
 * (abi.ts, Linux i386 numbering). Arguments that live in memory (strings, buffers, timespecs) are
 * copied into the process's libc scratch area (LIBC_SCRATCH) and passed by pointer, as a real libc
 * passes pointers to its own buffers. Results come back decoded: a negative number is `-errno`.
 *
 * The scratch area is used as a stack per Proc, so a signal handler that runs while the interrupted
 * code has a call in flight gets its own region above the interrupted one.
 */
import { decodeResult, decodeWaitStatus, LIBC_SCRATCH, MAP, O, PROT, SEEK, SYS, WAIT } from './abi.js';
import type { Proc, ProgramFn, TrapRequest } from '../tvmm/index.js';

/** A libc call: a generator the program `yield*`s. */
export type Sys<T> = Generator<TrapRequest, T, number>;

const SCRATCH_BYTES = LIBC_SCRATCH.pages * 4096;
/** Largest chunk one libc read/write moves through the scratch area. */
export const LIBC_CHUNK = 16 * 1024;
const depth = new WeakMap<Proc, number>();
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reserves `n` bytes (8-aligned) of scratch for the duration of `body`. */
function* withScratch<T>(p: Proc, n: number, body: (addr: number) => Sys<T>): Sys<T> {
  const at = depth.get(p) ?? 0;
  const size = ((n + 7) & ~7) >>> 0;
  if (at + size > SCRATCH_BYTES) throw new RangeError(`libc scratch exhausted (${at + size} > ${SCRATCH_BYTES} bytes)`);
  depth.set(p, at + size);
  try {
    return yield* body(LIBC_SCRATCH.base + at);
  } finally {
    depth.set(p, at);
  }
}

/** A raw system call: number and register arguments (negative numbers are passed as 32-bit two's complement); returns the decoded result. */
export function* syscall(p: Proc, nr: number, args: readonly number[] = [], cont?: ProgramFn): Sys<number> {
  return decodeResult(yield* p.syscall(nr, args.map((a) => a >>> 0), cont));
}

/** Writes a NUL-terminated string at `addr`. */
function putString(p: Proc, addr: number, s: string): number {
  const b = enc.encode(s);
  const z = new Uint8Array(b.length + 1);
  z.set(b);
  p.write(addr, z);
  return z.length;
}

/** exit(2): ends the process with `status` (never returns). */
export function* exit(p: Proc, status = 0): Sys<never> {
  yield* syscall(p, SYS.exit, [status & 0xff]);
  throw new Error('exit returned');
}

/** getpid(2). */
export function* getpid(p: Proc): Sys<number> {
  return yield* syscall(p, SYS.getpid);
}

/** getppid(2). */
export function* getppid(p: Proc): Sys<number> {
  return yield* syscall(p, SYS.getppid);
}

/** write(2) of `data` (any size: sent in chunks until all is written; returns bytes written, or -errno when nothing was). */
export function* write(p: Proc, fd: number, data: Uint8Array | string): Sys<number> {
  const bytes = typeof data === 'string' ? enc.encode(data) : data;
  let done = 0;
  do {
    const chunk = bytes.subarray(done, done + LIBC_CHUNK);
    const r = yield* withScratch(p, Math.max(1, chunk.length), function* (buf) {
      if (chunk.length) p.write(buf, chunk);
      return yield* syscall(p, SYS.write, [fd, buf, chunk.length]);
    });
    if (r < 0) return done > 0 ? done : r;
    done += r;
    if (r === 0 && chunk.length > 0) break;
  } while (done < bytes.length);
  return done;
}

/** Writes a line to stdout. */
export function* puts(p: Proc, line: string): Sys<number> {
  return yield* write(p, 1, `${line}\n`);
}

/** read(2) of up to `count` bytes: the bytes read, or -errno. */
export function* read(p: Proc, fd: number, count: number): Sys<Uint8Array | number> {
  const n = Math.min(count, LIBC_CHUNK);
  return yield* withScratch(p, Math.max(1, n), function* (buf) {
    const r = yield* syscall(p, SYS.read, [fd, buf, n]);
    return r < 0 ? r : p.read(buf, r);
  });
}

/** Reads until EOF or `max` bytes; returns the bytes or -errno. */
export function* readAll(p: Proc, fd: number, max = 1 << 24): Sys<Uint8Array | number> {
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total < max) {
    const r = yield* read(p, fd, Math.min(LIBC_CHUNK, max - total));
    if (typeof r === 'number') return r;
    if (r.length === 0) break;
    parts.push(r);
    total += r.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/** open(2) with a path string; flags from O. */
export function* open(p: Proc, path: string, flags: number = O.RDONLY, mode = 0o644): Sys<number> {
  return yield* withScratch(p, enc.encode(path).length + 1, function* (buf) {
    putString(p, buf, path);
    return yield* syscall(p, SYS.open, [buf, flags, mode]);
  });
}

/** close(2). */
export function* close(p: Proc, fd: number): Sys<number> {
  return yield* syscall(p, SYS.close, [fd]);
}

/** lseek(2); whence from SEEK. */
export function* lseek(p: Proc, fd: number, offset: number, whence: number = SEEK.SET): Sys<number> {
  return yield* syscall(p, SYS.lseek, [fd, offset, whence]);
}

/** unlink(2). */
export function* unlink(p: Proc, path: string): Sys<number> {
  return yield* withScratch(p, enc.encode(path).length + 1, function* (buf) {
    putString(p, buf, path);
    return yield* syscall(p, SYS.unlink, [buf]);
  });
}

/** fsync(2). */
export function* fsync(p: Proc, fd: number): Sys<number> {
  return yield* syscall(p, SYS.fsync, [fd]);
}

/** mmap(2): anonymous when `fd` is -1 (MAP.ANONYMOUS is added); returns the address or -errno. */
export function* mmap(p: Proc, len: number, prot: number = PROT.READ | PROT.WRITE, flags: number = MAP.PRIVATE, fd = -1, offset = 0, addr = 0): Sys<number> {
  const f = fd === -1 ? flags | MAP.ANONYMOUS : flags;
  if (offset === 0) return yield* syscall(p, SYS.mmap, [addr, len, prot, f, fd]);
  return yield* withScratch(p, 24, function* (buf) {
    for (const [i, v] of [addr, len, prot, f, fd, offset].entries()) p.store32(buf + 4 * i, v >>> 0);
    return yield* syscall(p, SYS.old_mmap, [buf]);
  });
}

/** munmap(2). */
export function* munmap(p: Proc, addr: number, len: number): Sys<number> {
  return yield* syscall(p, SYS.munmap, [addr, len]);
}

/** brk(2): returns the (new) break. */
export function* brk(p: Proc, addr: number): Sys<number> {
  return yield* syscall(p, SYS.brk, [addr]);
}

/** A bump allocator over brk: returns the address of `n` fresh bytes (8-aligned) or -ENOMEM. */
export function* malloc(p: Proc, n: number): Sys<number> {
  const cur = yield* brk(p, 0);
  const start = ((cur + 7) & ~7) >>> 0;
  const got = yield* brk(p, start + n);
  return got >= start + n ? start : -12;
}

/**
 * fork(2) with the child's body as a continuation (this model's deviation from fork: the child
 * starts `child` with a copy-on-write copy of the parent's memory). Returns the child's pid.
 */
export function* fork(p: Proc, child: ProgramFn): Sys<number> {
  return yield* syscall(p, SYS.fork, [], child);
}

/** execve(2): replaces the program (returns only on failure, with -errno). */
export function* exec(p: Proc, program: string, argv: readonly string[] = []): Sys<number> {
  const strBytes = argv.reduce((n, a) => n + enc.encode(a).length + 1, 0) + enc.encode(program).length + 1;
  return yield* withScratch(p, strBytes + 4 * (argv.length + 1), function* (buf) {
    let at = buf + 4 * (argv.length + 1);
    const path = at;
    at += putString(p, at, program);
    argv.forEach((a, i) => {
      p.store32(buf + 4 * i, at);
      at += putString(p, at, a);
    });
    p.store32(buf + 4 * argv.length, 0);
    return yield* syscall(p, SYS.execve, [path, buf, 0]);
  });
}

/** Result of {@link waitpid}. */
export interface WaitResult {
  readonly pid: number;
  readonly status: number;
  readonly exited: boolean;
  readonly code: number;
  readonly signal: number;
}

/** waitpid(2) (pid -1 = any child); returns the decoded status, 0 for WNOHANG with nothing ready, or -errno. */
export function* waitpid(p: Proc, pid = -1, options = 0): Sys<WaitResult | number> {
  return yield* withScratch(p, 4, function* (buf) {
    const r = yield* syscall(p, SYS.waitpid, [pid, buf, options]);
    if (r <= 0) return r;
    const status = p.load32(buf);
    return { pid: r, status, ...decodeWaitStatus(status) };
  });
}

/** waitpid with WNOHANG. */
export function* waitpidNoHang(p: Proc, pid = -1): Sys<WaitResult | number> {
  return yield* waitpid(p, pid, WAIT.NOHANG);
}

/** A signal handler body: gets the signal number. */
export type SignalHandler = (p: Proc, signo: number) => Generator<TrapRequest, number | void, number>;

/** signal(2): installs `handler` for `signo` ('ignore' / 'default' for SIG_IGN / SIG_DFL). */
export function* signal(p: Proc, signo: number, handler: SignalHandler | 'ignore' | 'default'): Sys<number> {
  if (handler === 'ignore') return yield* syscall(p, SYS.signal, [signo, 1]);
  if (handler === 'default') return yield* syscall(p, SYS.signal, [signo, 0]);
  const cont: ProgramFn = function* (pp) {
    return yield* handler(pp, signo);
  };
  return yield* syscall(p, SYS.signal, [signo, 2], cont);
}

/** kill(2). */
export function* kill(p: Proc, pid: number, signo: number): Sys<number> {
  return yield* syscall(p, SYS.kill, [pid, signo]);
}

/** nanosleep(2) for `ns` nanoseconds; 0 or -EINTR. */
export function* sleep(p: Proc, ns: number): Sys<number> {
  return yield* withScratch(p, 8, function* (buf) {
    p.store32(buf, Math.floor(ns / 1e9));
    p.store32(buf + 4, ns % 1e9);
    return yield* syscall(p, SYS.nanosleep, [buf, 0]);
  });
}

/** sched_yield(2). */
export function* yieldCpu(p: Proc): Sys<number> {
  return yield* syscall(p, SYS.sched_yield);
}

/** pipe(2): `[readFd, writeFd]` or -errno. */
export function* pipe(p: Proc): Sys<[number, number] | number> {
  return yield* withScratch(p, 8, function* (buf) {
    const r = yield* syscall(p, SYS.pipe, [buf]);
    if (r < 0) return r;
    return [p.load32(buf), p.load32(buf + 4)] as [number, number];
  });
}

/** getrandom(2): `n` bytes of device entropy (≤ 4096) or -errno. */
export function* getrandom(p: Proc, n: number): Sys<Uint8Array | number> {
  return yield* withScratch(p, Math.max(1, n), function* (buf) {
    const r = yield* syscall(p, SYS.getrandom, [buf, n, 0]);
    return r < 0 ? r : p.read(buf, r);
  });
}

/** Decodes UTF-8 bytes (convenience for programs). */
export function text(b: Uint8Array): string {
  return dec.decode(b);
}
