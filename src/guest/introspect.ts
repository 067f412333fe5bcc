/**
 * VM introspection (Garfinkel & Rosenblum, NDSS'03, "A Virtual Machine Introspection Based
 * Architecture for Intrusion Detection"): rebuilds the guest kernel's process list, open files,
 * pipes and syscall table from raw guest-physical memory alone, using the documented layout
 * (layout.ts, docs/guest-layout.md). It never calls into the guest; it only reads bytes, so it works
 * on a paused VM, a snapshot, or through the management VM's readMemory of an open-box VM.
 */
import {
  FILE, FTYPE_NAMES, handlerAddress, KHDR, KHDR_MAGIC, KLAYOUT, PIPE, PROC, PSTATE_NAMES,
} from './layout.js';
import { FSLAYOUT, INODE } from './fs.js';

/** Reads `len` bytes of guest-physical memory at `gpa`. */
export type ReadPhys = (gpa: number, len: number) => Uint8Array;

/** A process rebuilt from memory. */
export interface IntrospectedProcess {
  readonly slot: number;
  readonly pid: number;
  readonly ppid: number;
  readonly tid: number;
  readonly name: string;
  readonly state: 'ready' | 'blocked' | 'zombie';
  readonly root: number;
  readonly brk: number;
  readonly exitStatus: number;
  /** Open descriptors: fd → open-file index. */
  readonly fds: readonly { fd: number; file: number }[];
}

/** An open-file entry rebuilt from memory. */
export interface IntrospectedFile {
  readonly index: number;
  readonly type: string;
  readonly refs: number;
  readonly flags: number;
  readonly ino: number;
  readonly offset: number;
  readonly pipe: number;
}

/** A filesystem inode rebuilt from the in-memory inode table. */
export interface IntrospectedInode {
  readonly ino: number;
  readonly name: string;
  readonly size: number;
  /** 0 = unlinked but still open. */
  readonly nlink: number;
}

/** Everything {@link introspect} rebuilds. */
export interface Introspection {
  readonly memoryPages: number;
  readonly nextPid: number;
  readonly freePages: number;
  readonly processes: readonly IntrospectedProcess[];
  readonly files: readonly IntrospectedFile[];
  readonly pipes: readonly { index: number; bufGppn: number; count: number; readers: number; writers: number }[];
  /** Files of the in-guest filesystem (from the inode table pages named in the header). */
  readonly inodes: readonly IntrospectedInode[];
  /** Syscall numbers whose table entry is not the expected handler address (a hooked table). */
  readonly hookedSyscalls: readonly number[];
  /** The raw syscall table. */
  readonly syscallTable: readonly number[];
}

/** Thrown when memory does not hold a kernel header. */
export class IntrospectionError extends Error {
  override readonly name = 'IntrospectionError';
}

/**
 * Rebuilds the kernel's view from raw physical memory. Throws IntrospectionError when the header
 * magic is missing (not this kernel, or not booted). `expectedSyscalls` lists the numbers the
 * honest kernel installs (any other non-zero entry, or a different address, counts as hooked).
 */
export function introspect(readPhys: ReadPhys, expectedSyscalls?: readonly number[]): Introspection {
  if (typeof readPhys !== 'function') throw new TypeError('readPhys must be a function');
  const page = (g: number): DataView => {
    const b = readPhys(g * 4096, 4096);
    if (!(b instanceof Uint8Array) || b.length !== 4096) throw new IntrospectionError(`readPhys returned ${b?.length} bytes for page ${g}`);
    return new DataView(b.buffer, b.byteOffset, 4096);
  };
  const hdr = page(KLAYOUT.headerGppn);
  const u = (off: number) => hdr.getUint32(off, true);
  if (u(KHDR.magic) !== KHDR_MAGIC) throw new IntrospectionError('no guest kernel header at guest-physical page 0');
  const procTable = u(KHDR.procTableGppn), slots = u(KHDR.procSlots), entry = u(KHDR.procEntrySize);
  const fdTable = u(KHDR.fdTableGppn), fdsPer = u(KHDR.fdsPerProc);
  const fileTable = u(KHDR.fileTableGppn), fileSlots = u(KHDR.fileSlots), fileEntry = u(KHDR.fileEntrySize);
  const pipeTable = u(KHDR.pipeTableGppn), pipeSlots = u(KHDR.pipeSlots);
  if (slots > 4096 || entry > 4096 || fileSlots > 65536 || fdsPer > 1024) throw new IntrospectionError('implausible kernel header');
  const read = (g: number, off: number, len: number): Uint8Array => readPhys(g * 4096 + off, len);
  const procBytes = read(procTable, 0, slots * entry);
  const fdBytes = read(fdTable, 0, slots * fdsPer * 4);
  const pv = new DataView(procBytes.buffer, procBytes.byteOffset, procBytes.length);
  const fv = new DataView(fdBytes.buffer, fdBytes.byteOffset, fdBytes.length);
  const processes: IntrospectedProcess[] = [];
  for (let s = 0; s < slots; s++) {
    const o = s * entry;
    const st = pv.getUint32(o + PROC.state, true);
    if (st === 0 || st >= PSTATE_NAMES.length) continue;
    const nameBytes = procBytes.subarray(o + PROC.name, o + PROC.name + PROC.nameMax);
    const z = nameBytes.indexOf(0);
    const fds: { fd: number; file: number }[] = [];
    for (let fd = 0; fd < fdsPer; fd++) {
      const v = fv.getUint32((s * fdsPer + fd) * 4, true);
      if (v !== 0) fds.push({ fd, file: v - 1 });
    }
    processes.push({
      slot: s,
      pid: pv.getUint32(o + PROC.pid, true),
      ppid: pv.getUint32(o + PROC.ppid, true),
      tid: pv.getUint32(o + PROC.tid, true),
      name: new TextDecoder().decode(nameBytes.subarray(0, z < 0 ? nameBytes.length : z)),
      state: PSTATE_NAMES[st] as IntrospectedProcess['state'],
      root: pv.getUint32(o + PROC.root, true),
      brk: pv.getUint32(o + PROC.brk, true),
      exitStatus: pv.getUint32(o + PROC.exitStatus, true),
      fds,
    });
  }
  processes.sort((a, b) => a.pid - b.pid);
  const fb = read(fileTable, 0, fileSlots * fileEntry);
  const fbv = new DataView(fb.buffer, fb.byteOffset, fb.length);
  const files: IntrospectedFile[] = [];
  for (let i = 0; i < fileSlots; i++) {
    const o = i * fileEntry;
    const t = fbv.getUint32(o + FILE.type, true);
    if (t === 0) continue;
    files.push({
      index: i, type: FTYPE_NAMES[t] ?? `unknown(${t})`, refs: fbv.getUint32(o + FILE.refs, true), flags: fbv.getUint32(o + FILE.flags, true),
      ino: fbv.getUint32(o + FILE.ino, true), offset: fbv.getUint32(o + FILE.offset, true), pipe: fbv.getUint32(o + FILE.pipe, true),
    });
  }
  const pb = read(pipeTable, 0, pipeSlots * KLAYOUT.pipeEntrySize);
  const pbv = new DataView(pb.buffer, pb.byteOffset, pb.length);
  const pipes = [];
  for (let i = 0; i < pipeSlots; i++) {
    const o = i * KLAYOUT.pipeEntrySize;
    if (pbv.getUint32(o + PIPE.used, true) === 0) continue;
    pipes.push({ index: i, bufGppn: pbv.getUint32(o + PIPE.bufGppn, true), count: pbv.getUint32(o + PIPE.count, true), readers: pbv.getUint32(o + PIPE.readers, true), writers: pbv.getUint32(o + PIPE.writers, true) });
  }
  const n = u(KHDR.sysEntries);
  const tb = read(u(KHDR.sysTableGppn), 0, Math.min(n, 1024) * 4);
  const tv = new DataView(tb.buffer, tb.byteOffset, tb.length);
  const syscallTable: number[] = [];
  const hookedSyscalls: number[] = [];
  const expected = expectedSyscalls ? new Set(expectedSyscalls) : undefined;
  for (let i = 0; i < Math.min(n, 1024); i++) {
    const e = tv.getUint32(i * 4, true);
    syscallTable.push(e);
    const shouldBe = expected ? (expected.has(i) ? handlerAddress(i) : 0) : e === 0 ? 0 : handlerAddress(i);
    if (e !== shouldBe) hookedSyscalls.push(i);
  }
  const inodes: IntrospectedInode[] = [];
  const nInodePages = Math.min(u(KHDR.fsInodePageCount), 16);
  for (let k = 0; k < nInodePages; k++) {
    const g = u(KHDR.fsInodePages + 4 * k);
    const b = read(g, 0, 4096);
    const v = new DataView(b.buffer, b.byteOffset, 4096);
    for (let j = 0; j < 4096 / FSLAYOUT.inodeSize; j++) {
      const ino = k * (4096 / FSLAYOUT.inodeSize) + j;
      const o = j * FSLAYOUT.inodeSize;
      if (ino === 0 || v.getUint32(o + INODE.mode, true) !== 1) continue;
      const nb = b.subarray(o + INODE.name, o + FSLAYOUT.inodeSize);
      const z = nb.indexOf(0);
      inodes.push({ ino, name: new TextDecoder().decode(nb.subarray(0, z < 0 ? nb.length : z)), size: v.getUint32(o + INODE.size, true), nlink: v.getUint32(o + INODE.nlink, true) });
    }
  }
  return {
    memoryPages: u(KHDR.memoryPages),
    inodes,
    nextPid: u(KHDR.nextPid),
    freePages: u(KHDR.freePages),
    processes,
    files,
    pipes,
    hookedSyscalls,
    syscallTable,
  };
}
