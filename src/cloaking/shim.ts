/**
 * The Overshadow shim (Chen et al., ASPLOS'08 §4: loader, system-call adaptation, cloaked files,
 * signals; Checkoway & Shacham ASPLOS'13 "Iago attacks" for the result checks). The TVMM wraps
 * every cloaked program's Proc with this shim (ExecHooks.wrapProc): the trusted loader registers a
 * cloaking domain by hypercall and the whole user address space becomes cloaked, except the shim's
 * own uncloaked marshalling buffer.
 *
 * System calls are adapted: calls without pointers pass through; calls with pointers are
 * marshalled through the uncloaked buffer with single-fetch copies; fork, exec, signals, pipes,
 * mmap and cloaked files are emulated. Every kernel result the app relies on is checked against
 * the shim's own map of the address space and the request (mmap overlap, counts beyond buffers,
 * impossible values): a bad one is an `iago` violation and terminates the application.
 *
 * Cloaked files (paths under `cloakedPathPrefix`) are read and written through a one-page cloaked
 * window mapped to the file's resource: the kernel's read fills the window with ciphertext that the
 * engine verifies, and the kernel's write copies the window out through the system view, so the page
 * cache and the disk only ever hold ciphertext. Per-file metadata is sealed by the engine, rooted in
 * TVMM monotonic counters, and stored by the shim in one of two slots of `<path>.tcmeta`. Updates
 * are crash-consistent (shadow paging): a page's new ciphertext goes to the slot its committed copy
 * does not use (`<path>` or `<path>.tccow`), the new metadata to the spare metadata slot, and only
 * the NV counter advance at COMMIT makes them current.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { MAP, O, PROT, SEEK, SYS, USER_LAYOUT } from '../guest/abi.js';
import { checkInt, checkOneOf, checkString, PAGE_SIZE, TerraError, type VmId } from '../sim/index.js';
import { HC, REG, REGISTERS, type Proc, type ProgramFn, type RegisterName, type TrapRequest, type UserChannel } from '../tvmm/index.js';
import { CLOAK_FILE_OP, CLOAK_HC, type CloakEngine } from './engine.js';

/** Pages of the shim's uncloaked marshalling buffer. */
export const SHIM_BUFFER_PAGES = 16;
const BUF_BYTES = SHIM_BUFFER_PAGES * PAGE_SIZE;
/** Suffix of a cloaked file's metadata file (two sealed metadata slots, at 0 and {@link META_SLOT_BYTES}). */
export const META_SUFFIX = '.tcmeta';
/** Suffix of a cloaked file's shadow file: slot 1 of every data page (slot 0 is the file itself). */
export const COW_SUFFIX = '.tccow';
/** Byte offset of metadata slot 1 in the metadata file (each slot: u32 length ‖ sealed blob). */
export const META_SLOT_BYTES = SHIM_BUFFER_PAGES * PAGE_SIZE;
const ERRNO_MIN = 0xfffff001;

/** A Proc wrapped by the shim, with the extras a cloak-aware program may use. */
export interface CloakedProc extends Proc {
  readonly cloaked: true;
  /** The cloaking domain. */
  readonly domain: number;
  /** Sets a user register (the thread's live CPU state; saved in the CTC at every trap). */
  setReg(r: RegisterName, v: number): void;
  /** Reads a user register. */
  getReg(r: RegisterName): number;
  /** `n` random bytes from the TVMM (never from the kernel; threat CLK-19). */
  random(n: number): Uint8Array;
  /** A monotonic clock in µs from the TVMM. */
  monotonicUs(): number;
  /** A temp-file name unique to this process, independent of kernel-supplied pids. */
  tempName(prefix: string): string;
}

interface Mapping {
  start: number;
  end: number;
  kind: 'text' | 'heap' | 'stack' | 'shim' | 'mmap' | 'window';
}

interface CFile {
  fd: number;
  mfd: number;
  /** The shadow file (slot 1 of every page). */
  sfd: number;
  /** Metadata slot of the committed metadata (0/1; anything else: none yet). */
  mslot: number;
  rid: number;
  pos: number;
  size: number;
  win: number;
  path: string;
  /** Written since the metadata was last persisted. */
  dirty: boolean;
  /** Live mappings of the file (mmap of a cloaked file). */
  maps: { addr: number; pages: number; shared: boolean }[];
}

interface ShimState {
  buf: number;
  maps: Mapping[];
  brk: number;
  handlers: Map<number, ProgramFn>;
  files: Map<number, CFile>;
  temp: number;
}

function freshState(): ShimState {
  const L = USER_LAYOUT;
  return {
    buf: 0,
    maps: [
      { start: L.textBase, end: L.heapBase, kind: 'text' },
      { start: L.stackTop - L.stackPages * PAGE_SIZE, end: L.stackTop, kind: 'stack' },
    ],
    brk: L.heapBase,
    handlers: new Map(),
    files: new Map(),
    temp: 0,
  };
}

function cloneState(s: ShimState): ShimState {
  // The child inherits the address-space map and handlers; cloaked files stay with the parent.
  return { buf: s.buf, maps: s.maps.filter((m) => m.kind !== 'window').map((m) => ({ ...m })), brk: s.brk, handlers: new Map(s.handlers), files: new Map(), temp: s.temp };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The shim's wrapProc: returns `base` untouched for programs the loader does not cloak. */
export function wrapWithShim(engine: CloakEngine, vm: VmId, tid: number, base: Proc, ch: UserChannel): Proc {
  // exec of any program ends the old image's cloaking domain (its plaintext is scrubbed first).
  const claim = engine.claimThread(vm, tid);
  if (!engine.isCloakedProgram(ch.program)) return base;
  let st: ShimState;
  if (claim === 'fork-child') {
    st = cloneState(engine.shimState<ShimState>(vm, tid) ?? freshState());
  } else {
    const d = ch.hypercall(HC.CLOAK_REGISTER, []);
    if (d <= 0) return refusedProc(base, `the loader could not register a cloaking domain (${d})`);
    st = freshState();
  }
  engine.setShimState(vm, tid, st);
  const domain = engine.domainOf(vm, tid);

  const die = (kind: 'iago' | 'context', msg: string): never => engine.violation(domain, 0, 0, kind, msg);
  const checkAlive = (): void => {
    const p = engine.takePendingViolation(vm, tid);
    if (p) die(p as 'context', 'the kernel edited the saved registers of a cloaked thread');
    const s = engine.domainStatus(domain);
    if (s.terminated) throw new TerraError(s.code ?? 'DOMAIN_TERMINATED', `cloaking domain ${domain} was terminated`);
  };
  /** A result that must be an errno or a count in [0, max]. */
  const count = (r: number, max: number, what: string): number => {
    if (!Number.isInteger(r) || r < 0 || r > 0xffffffff) die('iago', `${what}: impossible result ${String(r)}`);
    if (r >= ERRNO_MIN) return r;
    if (r > max) die('iago', `${what}: the kernel returned ${r}, more than the ${max} requested`);
    return r;
  };
  const overlaps = (a: number, len: number): Mapping | undefined => st.maps.find((m) => a < m.end && a + len > m.start);
  /** Iago check of an address the kernel hands out for `len` bytes. */
  const checkRegion = (r: number, len: number, what: string, want?: number): number => {
    if (!Number.isInteger(r) || r < 0 || r > 0xffffffff) die('iago', `${what}: impossible result`);
    if (r >= ERRNO_MIN) return r;
    if (r === 0 || r % PAGE_SIZE !== 0) die('iago', `${what}: address 0x${r.toString(16)} is null or not page-aligned`);
    if (r + len > USER_LAYOUT.kernelBase) die('iago', `${what}: address 0x${r.toString(16)} reaches kernel space`);
    if (want !== undefined && r !== want) die('iago', `${what}: MAP_FIXED at 0x${want.toString(16)} returned 0x${r.toString(16)}`);
    const o = overlaps(r, len);
    if (o) die('iago', `${what}: 0x${r.toString(16)}+${len} overlaps the ${o.kind} region`);
    return r;
  };
  function* sys(nr: number, args: readonly number[], cont?: ProgramFn): Generator<TrapRequest, number, number> {
    // The shim saves the app's registers around its own (marshalled) call: the syscall convention
    // clobbers r0–r5, the app sees only the result in r0.
    const saved = ch.regs.slice();
    const r = yield* base.syscall(nr, args, cont);
    ch.regs.set(saved);
    ch.regs[REG.r0] = r;
    checkAlive();
    return r;
  }
  function* ensureBuf(): Generator<TrapRequest, number, number> {
    if (st.buf !== 0) return st.buf;
    const r = yield* sys(SYS.mmap, [0, BUF_BYTES, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]);
    const a = checkRegion(r, BUF_BYTES, 'mmap (shim buffer)');
    if (a >= ERRNO_MIN) throw new TerraError('OUT_OF_MEMORY', 'the kernel refused the shim its marshalling buffer');
    if (ch.hypercall(HC.CLOAK_UNMAP, [a >>> 12, SHIM_BUFFER_PAGES]) !== 0) throw new TerraError('INVALID_STATE', 'the TVMM refused the shim buffer');
    st.buf = a;
    st.maps.push({ start: a, end: a + BUF_BYTES, kind: 'shim' });
    return a;
  }
  function* mmapAnon(pages: number, kind: Mapping['kind']): Generator<TrapRequest, number, number> {
    const len = pages * PAGE_SIZE;
    const r = checkRegion(yield* sys(SYS.mmap, [0, len, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, 0xffffffff]), len, 'mmap');
    if (r >= ERRNO_MIN) return r;
    st.maps.push({ start: r, end: r + len, kind });
    return r;
  }
  /** Copies a NUL-terminated string out of cloaked memory (at most 4095 bytes). */
  const cString = (ptr: number): string => {
    const out: number[] = [];
    for (let i = 0; i < 4095; i++) {
      const b = base.load8(ptr + i);
      if (b === 0) return dec.decode(new Uint8Array(out));
      out.push(b);
    }
    throw new RangeError('path is not NUL-terminated within 4095 bytes');
  };
  const putString = (s: string): number => {
    const b = enc.encode(s);
    const z = new Uint8Array(b.length + 1);
    z.set(b);
    base.write(st.buf, z);
    return st.buf;
  };

  // ------------------------------------------------------------ cloaked files
  const mapWindow = (f: CFile, page: number): void => {
    if (ch.hypercall(HC.CLOAK_MAP, [f.rid, f.win >>> 12, 1, page]) !== 0) throw new TerraError('INVALID_STATE', 'the TVMM refused to map a cloaked file page');
  };
  /**
   * Positions the kernel file that holds `page`'s current copy (read) or must receive its new copy
   * (write: the slot the committed version does not use, so a crash never damages it). Returns the fd.
   */
  function* seekPage(f: CFile, page: number, write: boolean): Generator<TrapRequest, number, number> {
    const slot = ch.hypercall(HC.CLOAK_FILE, [CLOAK_FILE_OP.SLOT, f.rid, page, write ? 1 : 0]);
    if (slot !== 0 && slot !== 1) {
      checkAlive();
      throw new TerraError('INVALID_STATE', `the TVMM refused a cloaked file page slot (${slot})`);
    }
    const fd = slot === 0 ? f.fd : f.sfd;
    const s = yield* sys(SYS.lseek, [fd, page * PAGE_SIZE, SEEK.SET]);
    if (s !== page * PAGE_SIZE) die('iago', `lseek on a cloaked file returned ${s}`);
    return fd;
  }
  function* loadPage(f: CFile, page: number): Generator<TrapRequest, void, number> {
    mapWindow(f, page);
    if (page * PAGE_SIZE >= f.size) return;
    const fd = yield* seekPage(f, page, false);
    // The kernel copies ciphertext from its page cache into the cloaked window (system view).
    count(yield* sys(SYS.read, [fd, f.win, PAGE_SIZE]), PAGE_SIZE, 'read (cloaked file)');
  }
  function* storePage(f: CFile, page: number): Generator<TrapRequest, void, number> {
    const fd = yield* seekPage(f, page, true);
    // The kernel's copy_from_user reads the window through the system view: transition 1 (ciphertext).
    const w = count(yield* sys(SYS.write, [fd, f.win, PAGE_SIZE]), PAGE_SIZE, 'write (cloaked file)');
    if (w !== PAGE_SIZE) throw new TerraError('IO_ERROR', `short write of a cloaked file page (${w})`);
  }
  /**
   * Commits the file's metadata (crash-consistent; see the engine's cloaked-file section): (1) the
   * data pages, all written to non-committed slots, are made durable; (2) the TVMM seals the new
   * metadata after persisting the intent; (3) it goes to the spare metadata slot and is made durable;
   * (4) COMMIT advances the NV counter: the commit point. A crash before (4) recovers the previous
   * version (or rolls the complete new one forward); after it, the new one.
   */
  function* persistMeta(f: CFile): Generator<TrapRequest, void, number> {
    if (!f.dirty) return;
    yield* ensureBuf();
    for (const fd of [f.fd, f.sfd]) {
      const r = yield* sys(SYS.fsync, [fd]);
      if (r !== 0) throw new TerraError('IO_ERROR', `fsync of cloaked file data failed (${r})`);
    }
    const n = ch.hypercall(HC.CLOAK_FILE, [CLOAK_FILE_OP.STORE, f.rid, st.buf + 4, BUF_BYTES - 4, f.size]);
    if (n < 0) {
      checkAlive();
      throw new TerraError('IO_ERROR', `the TVMM could not seal the file metadata (${n})`);
    }
    const hdr = new Uint8Array(4);
    new DataView(hdr.buffer).setUint32(0, n, true);
    base.write(st.buf, hdr);
    const slot = f.mslot === 0 ? 1 : 0;
    const s = yield* sys(SYS.lseek, [f.mfd, slot * META_SLOT_BYTES, SEEK.SET]);
    if (s !== slot * META_SLOT_BYTES) die('iago', `lseek on a metadata file returned ${s}`);
    const w = count(yield* sys(SYS.write, [f.mfd, st.buf, n + 4]), n + 4, 'write (metadata)');
    if (w !== n + 4) throw new TerraError('IO_ERROR', 'short write of cloaked file metadata');
    const fs = yield* sys(SYS.fsync, [f.mfd]);
    if (fs !== 0) throw new TerraError('IO_ERROR', `fsync of cloaked file metadata failed (${fs})`);
    const c = ch.hypercall(HC.CLOAK_FILE, [CLOAK_FILE_OP.COMMIT, f.rid]);
    if (c !== 0) {
      checkAlive();
      throw new TerraError('IO_ERROR', `the TVMM could not commit the file metadata (${c})`);
    }
    f.mslot = slot;
    f.dirty = false;
  }
  /** Reads metadata slot `slot` into the shim buffer; returns the blob length (0: none). */
  function* readMetaSlot(mfd: number, slot: number): Generator<TrapRequest, number, number> {
    const s = yield* sys(SYS.lseek, [mfd, slot * META_SLOT_BYTES, SEEK.SET]);
    if (s !== slot * META_SLOT_BYTES) die('iago', `lseek on a metadata file returned ${s}`);
    const n = count(yield* sys(SYS.read, [mfd, st.buf, BUF_BYTES]), BUF_BYTES, 'read (metadata)');
    if (n === 0 || n >= ERRNO_MIN) return 0;
    if (n < 4) return n; // malformed: let the TVMM reject it
    const b = base.read(st.buf, 4);
    const len = new DataView(b.buffer).getUint32(0, true);
    return len + 4 > n ? n - 4 : len;
  }
  function* cloakedOpen(path: string, flags: number, mode: number): Generator<TrapRequest, number, number> {
    yield* ensureBuf();
    // O_TRUNC is applied by the shim at the next commit: the kernel must not destroy the committed version.
    const fd = yield* sys(SYS.open, [putString(path), (flags & ~3 & ~O.TRUNC) | O.RDWR, mode]);
    if (fd >= ERRNO_MIN) return fd;
    if (fd > 0xffff) die('iago', `open returned an impossible descriptor ${fd}`);
    const h = sha256(enc.encode(`${ch.program}\0${path}`));
    const words = [...new Uint32Array(h.buffer, h.byteOffset, 7)];
    const rid = ch.hypercall(HC.CLOAK_FILE, [CLOAK_FILE_OP.OPEN, ...words]);
    if (rid <= 0) throw new TerraError('INVALID_STATE', `the TVMM refused a cloaked file (${rid})`);
    const mfd = yield* sys(SYS.open, [putString(path + META_SUFFIX), O.RDWR | O.CREAT, 0o600]);
    if (mfd >= ERRNO_MIN || mfd > 0xffff) throw new TerraError('IO_ERROR', 'cannot open the metadata file of a cloaked file');
    const sfd = yield* sys(SYS.open, [putString(path + COW_SUFFIX), O.RDWR | O.CREAT, 0o600]);
    if (sfd >= ERRNO_MIN || sfd > 0xffff) throw new TerraError('IO_ERROR', 'cannot open the shadow file of a cloaked file');
    // Both metadata slots go to the TVMM, which accepts the one the NV store says is current
    // (recovering an interrupted update first).
    const len1 = yield* readMetaSlot(mfd, 1);
    if (ch.hypercall(HC.CLOAK_FILE, [CLOAK_FILE_OP.OFFER, rid, st.buf + 4, len1, 1]) !== 0) throw new TerraError('INVALID_STATE', 'the TVMM refused cloaked file metadata');
    const len0 = yield* readMetaSlot(mfd, 0);
    const size = ch.hypercall(HC.CLOAK_FILE, [CLOAK_FILE_OP.LOAD, rid, st.buf + 4, len0]);
    checkAlive();
    if (size < 0) throw new TerraError('INTEGRITY_VIOLATION', 'the TVMM rejected the cloaked file metadata');
    const mslot = ch.hypercall(HC.CLOAK_FILE, [CLOAK_FILE_OP.META_SLOT, rid]);
    const trunc = (flags & O.TRUNC) !== 0 && size > 0;
    if (trunc && ch.hypercall(HC.CLOAK_FILE, [CLOAK_FILE_OP.TRUNCATE, rid, 0]) !== 0) throw new TerraError('INVALID_STATE', 'the TVMM refused to truncate a cloaked file');
    const win = yield* mmapAnon(1, 'window');
    if (win >= ERRNO_MIN) throw new TerraError('OUT_OF_MEMORY', 'no window for a cloaked file');
    const f: CFile = { fd, mfd, sfd, mslot, rid, pos: 0, size: trunc ? 0 : size, win, path, dirty: trunc, maps: [] };
    st.files.set(fd, f);
    return fd;
  }
  function* fileRead(f: CFile, ptr: number, len: number): Generator<TrapRequest, number, number> {
    const n = Math.max(0, Math.min(len, f.size - f.pos));
    const out = new Uint8Array(n);
    for (let done = 0; done < n; ) {
      const page = Math.floor(f.pos / PAGE_SIZE), off = f.pos % PAGE_SIZE, k = Math.min(PAGE_SIZE - off, n - done);
      yield* loadPage(f, page);
      out.set(base.read(f.win + off, k), done); // verify + decrypt happen here (transition 3)
      done += k;
      f.pos += k;
    }
    if (n) base.write(ptr, out);
    return n;
  }
  function* fileWrite(f: CFile, ptr: number, len: number): Generator<TrapRequest, number, number> {
    const data = base.read(ptr, len);
    for (let done = 0; done < len; ) {
      const page = Math.floor(f.pos / PAGE_SIZE), off = f.pos % PAGE_SIZE, k = Math.min(PAGE_SIZE - off, len - done);
      yield* loadPage(f, page);
      base.write(f.win + off, data.subarray(done, done + k)); // plaintext in the app view (transition 2)
      f.dirty = true;
      yield* storePage(f, page);
      done += k;
      f.pos += k;
      f.size = Math.max(f.size, f.pos);
    }
    return len;
  }
  function* fileClose(f: CFile): Generator<TrapRequest, number, number> {
    for (const m of [...f.maps]) yield* fileUnmap(f, m);
    yield* persistMeta(f);
    ch.hypercall(HC.CLOAK_FILE, [CLOAK_FILE_OP.CLOSE, f.rid]);
    st.files.delete(f.fd);
    yield* sys(SYS.munmap, [f.win, PAGE_SIZE]);
    st.maps = st.maps.filter((m) => m.start !== f.win);
    yield* sys(SYS.close, [f.mfd]);
    yield* sys(SYS.close, [f.sfd]);
    return yield* sys(SYS.close, [f.fd]);
  }

  /**
   * mmap of a cloaked file: anonymous memory from the kernel, mapped to the file's resource; the
   * kernel fills it with the file's ciphertext, which the engine verifies on first access.
   */
  function* fileMmap(f: CFile, len: number, flags: number): Generator<TrapRequest, number, number> {
    if (len === 0 || len > 256 * PAGE_SIZE) return (-22) >>> 0;
    const pages = Math.ceil(len / PAGE_SIZE);
    const a = yield* mmapAnon(pages, 'mmap');
    if (a >= ERRNO_MIN) return a;
    if (ch.hypercall(HC.CLOAK_MAP, [f.rid, a >>> 12, pages, 0]) !== 0) throw new TerraError('INVALID_STATE', 'the TVMM refused to map a cloaked file');
    for (let i = 0; i < pages && i * PAGE_SIZE < f.size; i++) {
      const fd = yield* seekPage(f, i, false);
      count(yield* sys(SYS.read, [fd, a + i * PAGE_SIZE, PAGE_SIZE]), PAGE_SIZE, 'read (cloaked mmap)');
    }
    f.maps.push({ addr: a, pages, shared: (flags & MAP.SHARED) !== 0 });
    return a;
  }
  /** Writes a shared mapping's pages (within the file size) back through the system view. */
  function* writeBack(f: CFile, m: { addr: number; pages: number }): Generator<TrapRequest, void, number> {
    for (let i = 0; i < m.pages && i * PAGE_SIZE < f.size; i++) {
      const fd = yield* seekPage(f, i, true);
      const w = count(yield* sys(SYS.write, [fd, m.addr + i * PAGE_SIZE, PAGE_SIZE]), PAGE_SIZE, 'write (cloaked mmap)');
      if (w !== PAGE_SIZE) throw new TerraError('IO_ERROR', 'short write-back of a cloaked mapping');
      f.dirty = true;
    }
  }
  function* fileUnmap(f: CFile, m: { addr: number; pages: number; shared: boolean }): Generator<TrapRequest, void, number> {
    if (m.shared) yield* writeBack(f, m);
    // The range returns to the domain's anonymous memory (fresh pages if touched again).
    ch.hypercall(HC.CLOAK_MAP, [engine.anonRidOf(domain), m.addr >>> 12, m.pages, m.addr >>> 12]);
    f.maps = f.maps.filter((x) => x !== m);
  }

  // ------------------------------------------------------------ signals
  const trampoline: ProgramFn = function* (p) {
    // Delivery lands here (the shim's entry); only handlers in the shim's private table run.
    const signo = ch.regs[REG.r1];
    const h = st.handlers.get(signo);
    if (!h) return 0; // default action for an unregistered signal: ignore
    return yield* h(p);
  };

  // ------------------------------------------------------------ the adapted system call
  function* syscall(nr: number, args: readonly number[] = [], cont?: ProgramFn): Generator<TrapRequest, number, number> {
    checkInt('nr', nr, 0, 0xffff);
    if (!Array.isArray(args) || args.length > 5) throw new RangeError('syscall takes at most 5 register arguments');
    for (const a of args) checkInt('syscall argument', a, 0, 0xffffffff);
    checkAlive();
    const [a0 = 0, a1 = 0, a2 = 0] = args;
    switch (nr) {
      case SYS.write: {
        const f = st.files.get(a0);
        if (f) return f.maps.length ? (-16) >>> 0 : yield* fileWrite(f, a1, a2);
        const n = Math.min(a2, BUF_BYTES);
        yield* ensureBuf();
        base.write(st.buf, base.read(a1, n));
        return count(yield* sys(SYS.write, [a0, st.buf, n]), n, 'write');
      }
      case SYS.read: {
        const f = st.files.get(a0);
        if (f) return f.maps.length ? (-16) >>> 0 : yield* fileRead(f, a1, a2);
        const n = Math.min(a2, BUF_BYTES);
        yield* ensureBuf();
        const r = count(yield* sys(SYS.read, [a0, st.buf, n]), n, 'read');
        if (r > 0 && r < ERRNO_MIN) base.write(a1, base.read(st.buf, r)); // single fetch, bounded by the request
        return r;
      }
      case SYS.open: {
        const path = cString(a0);
        if (path.startsWith(engine.cloakedPathPrefix)) return yield* cloakedOpen(path, a1, a2);
        yield* ensureBuf();
        const fd = yield* sys(SYS.open, [putString(path), a1, a2]);
        if (fd < ERRNO_MIN && fd > 0xffff) die('iago', `open returned an impossible descriptor ${fd}`);
        return fd;
      }
      case SYS.unlink:
      case SYS.execve: {
        const path = cString(a0);
        yield* ensureBuf();
        return yield* sys(nr, [putString(path), ...args.slice(1)]);
      }
      case SYS.close: {
        const f = st.files.get(a0);
        if (f) return yield* fileClose(f);
        return yield* sys(nr, args);
      }
      case SYS.fsync: {
        const f = st.files.get(a0);
        if (f) {
          for (const m of f.maps) if (m.shared) yield* writeBack(f, m);
          yield* persistMeta(f);
        }
        return yield* sys(nr, args);
      }
      case SYS.lseek: {
        const f = st.files.get(a0);
        if (f) {
          const whence = checkOneOf('whence', a2, [SEEK.SET, SEEK.CUR, SEEK.END] as const);
          const off = a1 | 0;
          const p = (whence === SEEK.SET ? 0 : whence === SEEK.CUR ? f.pos : f.size) + off;
          if (p < 0) return (-22) >>> 0;
          f.pos = p;
          return p;
        }
        const r = yield* sys(nr, args);
        if (r < ERRNO_MIN && r > 0x7fffffff) die('iago', `lseek returned an impossible offset ${r}`);
        return r;
      }
      case SYS.pipe: {
        yield* ensureBuf();
        const r = yield* sys(SYS.pipe, [st.buf]);
        if (r >= ERRNO_MIN) return r;
        if (r !== 0) die('iago', `pipe returned ${r}`);
        const b = base.read(st.buf, 8);
        const dv = new DataView(b.buffer);
        const fds = [dv.getUint32(0, true), dv.getUint32(4, true)];
        if (fds.some((x) => x > 0xffff) || fds[0] === fds[1]) die('iago', `pipe returned impossible descriptors ${fds.join(',')}`);
        base.write(a0, b);
        return 0;
      }
      case SYS.waitpid: {
        if (a1 === 0) return yield* sys(nr, args);
        yield* ensureBuf();
        const r = yield* sys(SYS.waitpid, [a0, st.buf, a2]);
        if (r < ERRNO_MIN) base.write(a1, base.read(st.buf, 4));
        return r;
      }
      case SYS.mmap: {
        const cf = st.files.get(args[4] ?? 0xffffffff);
        if (cf) return yield* fileMmap(cf, a1, args[3] ?? 0);
        const len = a1;
        if (len === 0 || len > USER_LAYOUT.kernelBase) return (-22) >>> 0;
        const pages = Math.ceil(len / PAGE_SIZE);
        const fixed = (args[3] ?? 0) & MAP.FIXED ? a0 : undefined;
        if (fixed !== undefined && overlaps(fixed, pages * PAGE_SIZE)) return (-12) >>> 0;
        const r = checkRegion(yield* sys(SYS.mmap, args), pages * PAGE_SIZE, 'mmap', fixed);
        if (r < ERRNO_MIN) st.maps.push({ start: r, end: r + pages * PAGE_SIZE, kind: 'mmap' });
        return r;
      }
      case SYS.munmap: {
        for (const f of st.files.values()) {
          const m = f.maps.find((x) => x.addr === a0);
          if (m) yield* fileUnmap(f, m);
        }
        const r = yield* sys(nr, args);
        if (r === 0) {
          st.maps = st.maps.filter((m) => !(m.kind === 'mmap' && m.start >= a0 && m.end <= a0 + a1));
          // The pages are gone: a later mapping at these addresses starts fresh (zero), not "tampered".
          if (a0 % PAGE_SIZE === 0 && a1 > 0 && a0 + a1 <= USER_LAYOUT.kernelBase) ch.hypercall(HC.CLOAK_UNMAP, [a0 >>> 12, Math.ceil(a1 / PAGE_SIZE), 1]);
        }
        return r;
      }
      case SYS.brk: {
        const r = yield* sys(nr, args);
        if (r >= ERRNO_MIN) return r;
        if (r < USER_LAYOUT.heapBase || r > USER_LAYOUT.mmapBase) die('iago', `brk returned 0x${r.toString(16)} outside the heap`);
        const grown = st.maps.find((m) => m.kind !== 'heap' && r > m.start && st.brk < m.end);
        if (grown) die('iago', `brk returned 0x${r.toString(16)}, over the ${grown.kind} region`);
        st.maps = st.maps.filter((m) => m.kind !== 'heap');
        if (r > USER_LAYOUT.heapBase) st.maps.push({ start: USER_LAYOUT.heapBase, end: r, kind: 'heap' });
        // A shrinking heap releases its pages: if it grows again they are fresh.
        const lo = Math.ceil(r / PAGE_SIZE), hi = Math.ceil(st.brk / PAGE_SIZE);
        if (hi > lo) ch.hypercall(HC.CLOAK_UNMAP, [lo, hi - lo, 1]);
        st.brk = r;
        return r;
      }
      case SYS.signal: {
        if (!cont) return yield* sys(nr, args);
        const signo = checkInt('signo', a0, 1, 64);
        st.handlers.set(signo, cont);
        return yield* sys(SYS.signal, [signo, ...args.slice(1)], trampoline);
      }
      case SYS.exit: {
        for (const f of [...st.files.values()]) {
          for (const m of f.maps) if (m.shared) yield* writeBack(f, m);
          yield* persistMeta(f);
        }
        return yield* sys(nr, args);
      }
      case SYS.fork: {
        for (const f of [...st.files.values()]) yield* persistMeta(f);
        const r = yield* sys(nr, args, cont);
        if (r < ERRNO_MIN && r > 0x7fffffff) die('iago', `fork returned an impossible pid ${r}`);
        return r;
      }
      case SYS.getpid: {
        const r = yield* sys(nr, args);
        if (r === 0 || r >= 0x80000000) die('iago', `getpid returned an impossible pid ${r}`);
        return r;
      }
      case SYS.nanosleep: {
        // The request (and the remaining time) travel through the uncloaked buffer: the kernel
        // would read the cloaked timespec as ciphertext.
        if (a0 === 0) return yield* sys(nr, args);
        yield* ensureBuf();
        base.write(st.buf, base.read(a0, 8));
        const r = yield* sys(SYS.nanosleep, [st.buf, a1 === 0 ? 0 : st.buf + 8]);
        if (r !== 0 && r !== ((-4) >>> 0)) die('iago', `nanosleep returned ${r}`);
        if (a1 !== 0) base.write(a1, base.read(st.buf + 8, 8));
        return r;
      }
      case SYS.getrandom: {
        // Kernel randomness lands in the uncloaked buffer and is copied in once, bounded by the request.
        const n = Math.min(a1, BUF_BYTES);
        yield* ensureBuf();
        const r = count(yield* sys(SYS.getrandom, [st.buf, n, a2]), n, 'getrandom');
        if (r > 0 && r < ERRNO_MIN) base.write(a0, base.read(st.buf, r));
        return r;
      }
      case SYS.old_mmap:
        // The argument block would be read through the system view (ciphertext): cloaked programs use mmap(192).
        return (-38) >>> 0;
      default:
        // No pointer argument the kernel could use to see plaintext: through the system view it
        // only ever reads ciphertext. Pass through.
        return yield* sys(nr, args, cont);
    }
  }

  const hc = (nr: number): number => {
    const r = ch.hypercall(nr, []);
    if (r < 0) {
      checkAlive();
      throw new TerraError('INVALID_STATE', `hypercall ${nr} failed (${r})`);
    }
    return r >>> 0;
  };
  const proc: CloakedProc = {
    cloaked: true,
    domain,
    load8: (a) => base.load8(a),
    load32: (a) => base.load32(a),
    store8: (a, v) => base.store8(a, v),
    store32: (a, v) => base.store32(a, v),
    read: (a, len) => base.read(a, len),
    readInto: (a, out) => base.readInto(a, out),
    write: (a, data) => base.write(a, data),
    syscall,
    *compute(ns: number) {
      yield* base.compute(ns);
      checkAlive();
    },
    argv: base.argv,
    env: base.env,
    setReg(r, v) {
      ch.regs[REG[checkOneOf('register', r, REGISTERS)]] = checkInt('value', v, 0, 0xffffffff);
    },
    getReg(r) {
      return ch.regs[REG[checkOneOf('register', r, REGISTERS)]];
    },
    random(n) {
      checkInt('n', n, 0, 65536);
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const w = hc(CLOAK_HC.RANDOM);
        for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (w >>> (8 * k)) & 255;
      }
      return out;
    },
    monotonicUs: () => hc(CLOAK_HC.TIME),
    tempName(prefix) {
      checkString('prefix', prefix, { max: 200 });
      const r = proc.random(8);
      st.temp++;
      return `${prefix}${[...r].map((b) => b.toString(16).padStart(2, '0')).join('')}.${st.temp}`;
    },
  };
  return Object.freeze(proc);
}

/** A Proc whose every use terminates the thread (the loader failed: never run uncloaked). */
function refusedProc(base: Proc, why: string): Proc {
  const fail = (): never => {
    throw new TerraError('INVALID_STATE', why);
  };
  return Object.freeze({
    load8: fail, load32: fail, store8: fail, store32: fail, read: fail, readInto: fail, write: fail,
    // eslint-disable-next-line require-yield
    *syscall(): Generator<TrapRequest, number, number> {
      return fail();
    },
    // eslint-disable-next-line require-yield
    *compute(): Generator<TrapRequest, void, number> {
      fail();
    },
    argv: base.argv,
    env: base.env,
  }) as Proc;
}
