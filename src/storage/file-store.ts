/**
 * A BlockStore in a real file (node:fs, synchronous IO), the default home of a cluster volume
 * (DeDe, ATC'09 §2: VMFS on a shared LUN). Node-only: exported from `terracloak/node`, never from
 * the core entry.
 *
 * Crash model: writes are issued in program order with `pwrite`; a process killed with SIGKILL
 * keeps every completed `pwrite` (the kernel page cache survives), so crash consistency needs only
 * the volume's write ordering. With `fsync: true`, `sync()` calls fsync, which is what power-loss
 * consistency would also need.
 */
import * as fs from 'node:fs';
import { checkBool, checkBytes, checkInt, checkObject, checkString } from '../sim/index.js';
import type { BlockStore } from './store.js';

/** Options for {@link FileStore.create} / {@link FileStore.open}. */
export interface FileStoreOptions {
  /** Call fsync on `sync()` (default false: enough for process crashes, not for power loss). */
  fsync?: boolean;
}

/** A volume stored in a file on disk. */
export class FileStore implements BlockStore {
  #fd: number | undefined;
  readonly size: number;
  readonly path: string;
  readonly #fsync: boolean;
  /** Counters: reads, writes, syncs. */
  readonly counters = { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, syncs: 0 };

  private constructor(path: string, fd: number, size: number, fsyncOn: boolean) {
    this.path = path;
    this.#fd = fd;
    this.size = size;
    this.#fsync = fsyncOn;
  }

  /** Creates (or truncates) a sparse file of `size` bytes; throws on IO errors. */
  static create(path: string, size: number, opts: FileStoreOptions = {}): FileStore {
    checkString('path', path, { nonEmpty: true });
    checkInt('size', size, 1, 2 ** 40);
    checkObject('opts', opts);
    const f = opts.fsync === undefined ? false : checkBool('fsync', opts.fsync);
    const fd = fs.openSync(path, 'w+');
    fs.ftruncateSync(fd, size);
    return new FileStore(path, fd, size, f);
  }

  /** Opens an existing file read-write; its size is the store size. */
  static open(path: string, opts: FileStoreOptions = {}): FileStore {
    checkString('path', path, { nonEmpty: true });
    checkObject('opts', opts);
    const f = opts.fsync === undefined ? false : checkBool('fsync', opts.fsync);
    const fd = fs.openSync(path, 'r+');
    const size = fs.fstatSync(fd).size;
    return new FileStore(path, fd, size, f);
  }

  #fdOrThrow(): number {
    if (this.#fd === undefined) throw new RangeError('store is closed');
    return this.#fd;
  }

  /** Reads `len` bytes at `offset` (short files read as zeros). */
  read(offset: number, len: number): Uint8Array {
    const fd = this.#fdOrThrow();
    const o = checkInt('offset', offset, 0, this.size);
    const l = checkInt('len', len, 0, this.size - o);
    const out = new Uint8Array(l);
    let done = 0;
    while (done < l) {
      const n = fs.readSync(fd, out, done, l - done, o + done);
      if (n === 0) break;
      done += n;
    }
    this.counters.reads++;
    this.counters.bytesRead += l;
    return out;
  }

  /** Writes `data` at `offset`. */
  write(offset: number, data: Uint8Array): void {
    const fd = this.#fdOrThrow();
    checkBytes('data', data);
    const o = checkInt('offset', offset, 0, this.size);
    checkInt('data.length', data.length, 0, this.size - o);
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, o + done);
    this.counters.writes++;
    this.counters.bytesWritten += data.length;
  }

  /** fsync when the store was opened with `fsync: true`. */
  sync(): void {
    const fd = this.#fdOrThrow();
    this.counters.syncs++;
    if (this.#fsync) fs.fsyncSync(fd);
  }

  /** Closes the file descriptor (idempotent). */
  close(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }
}
