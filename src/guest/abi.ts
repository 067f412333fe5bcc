/**
 * The guest system-call ABI (shared by the guest kernel, user programs' libc and the cloaking
 * shim). Numbers and errno values follow Linux i386 so traces read familiarly. Arguments travel in
 * r1–r5, the number in r0, the result comes back in r0 (a negative errno as a 32-bit two's
 * complement). Strings are NUL-terminated in user memory; buffers are (pointer, length) pairs.
 */
export const SYS = Object.freeze({
  exit: 1,
  fork: 2,
  read: 3,
  write: 4,
  open: 5,
  close: 6,
  waitpid: 7,
  unlink: 10,
  execve: 11,
  lseek: 19,
  getpid: 20,
  kill: 37,
  pipe: 42,
  brk: 45,
  signal: 48,
  munmap: 91,
  fsync: 118,
  sched_yield: 158,
  nanosleep: 162,
  mmap: 192,
  /** Linux i386 old_mmap: one pointer to six u32 (addr, len, prot, flags, fd, offset) — mmap with a file offset. */
  old_mmap: 90,
  /** getrandom(buf, len, flags): device entropy through the VMM (recorded in the trace). */
  getrandom: 355,
  getppid: 64,
});
export type SyscallName = keyof typeof SYS;

/** errno values (returned negated). */
export const ERRNO = Object.freeze({
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, EBADF: 9, ECHILD: 10, EAGAIN: 11, ENOMEM: 12,
  EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, EMFILE: 24,
  ENOSPC: 28, ESPIPE: 29, EPIPE: 32, ENOSYS: 38,
  ENFILE: 23, EFBIG: 27, ENAMETOOLONG: 36,
});

/** open(2) flags. */
export const O = Object.freeze({ RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0x40, TRUNC: 0x200, APPEND: 0x400 });
/** lseek whence. */
export const SEEK = Object.freeze({ SET: 0, CUR: 1, END: 2 });
/** mmap prot and flags. */
export const PROT = Object.freeze({ NONE: 0, READ: 1, WRITE: 2, EXEC: 4 });
export const MAP = Object.freeze({ SHARED: 1, PRIVATE: 2, FIXED: 0x10, ANONYMOUS: 0x20 });
/** Signals. */
export const SIG = Object.freeze({ SIGHUP: 1, SIGINT: 2, SIGILL: 4, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGCHLD: 17 });

/** Encodes a negative errno as the 32-bit register value the kernel returns. */
export function errnoResult(errno: number): number {
  return (-errno) >>> 0;
}
/** Decodes a register result: negative errno values come back as negative numbers. */
export function decodeResult(r0: number): number {
  return r0 > 0xfffff000 ? r0 - 0x100000000 : r0;
}

/** The user address-space layout the loader sets up (documented in docs/guest-layout.md). */
export const USER_LAYOUT = Object.freeze({
  /** Program text/data start. */
  textBase: 0x00400000,
  /** Start of the heap (brk grows up from here). */
  heapBase: 0x01000000,
  /** mmap area grows up from here. */
  mmapBase: 0x40000000,
  /** Top of the user stack (grows down). */
  stackTop: 0xbfff0000,
  /** User stack size reserved. */
  stackPages: 16,
  /** Kernel space starts here (not user-accessible). */
  kernelBase: 0xc0000000,
});

/** waitpid options. */
export const WAIT = Object.freeze({ NOHANG: 1 });
/** Wait status encoding (Linux): exited → (code & 0xff) << 8; killed by a signal → the signal number. */
export function waitStatusExited(code: number): number {
  return (code & 0xff) << 8;
}
/** Decodes a wait status into `{ exited, code, signal }`. */
export function decodeWaitStatus(status: number): { exited: boolean; code: number; signal: number } {
  const sig = status & 0x7f;
  return sig === 0 ? { exited: true, code: (status >>> 8) & 0xff, signal: 0 } : { exited: false, code: 0, signal: sig };
}

/**
 * The libc scratch area every process gets from the loader (anonymous, read-write, demand-paged):
 * libc copies syscall arguments (strings, buffers) here before trapping (docs/guest-layout.md).
 */
export const LIBC_SCRATCH = Object.freeze({ base: 0x3ff00000, pages: 16 });
