/**
 * Node-only parts of the memory manager (ESX host swap, Waldspurger OSDI'02 §3.3): a swap store
 * backed by a real file through `node:fs`. Not exported from `src/memory/index.ts`, so the core
 * library imports no Node-only module; import it from `terracloak/memory/node` style paths.
 */
import { closeSync, openSync, readSync, writeSync, ftruncateSync } from 'node:fs';
import { checkInt, checkString, PAGE_SIZE } from '../sim/index.js';
import type { SwapStore } from './swap.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachEsx, type EsxOptions, type EsxTvmmLike, type EsxMemory } from './esx.js';

const ZERO = new Uint8Array(PAGE_SIZE);

/** A swap store in a real file of `slots` × 4 KiB (created or truncated); I/O errors propagate as thrown Errors. */
export class FileSwapStore implements SwapStore {
  readonly slots: number;
  readonly path: string;
  #fd: number | undefined;

  /** Opens (creating or truncating) `path` sized for `slots` slots. RangeError/TypeError on bad arguments. */
  constructor(path: string, slots: number) {
    this.path = checkString('path', path, { nonEmpty: true, max: 4096 });
    this.slots = checkInt('slots', slots, 1, 2 ** 26);
    this.#fd = openSync(path, 'w+');
    ftruncateSync(this.#fd, slots * PAGE_SIZE);
  }
  #f(): number {
    if (this.#fd === undefined) throw new Error('swap file is closed');
    return this.#fd;
  }
  /** Writes consecutive slots with one positioned write (a clustered page-out). */
  write(slot: number, pages: Uint8Array): void {
    checkInt('slot', slot, 0, this.slots - 1);
    if (pages.length % PAGE_SIZE !== 0 || slot + pages.length / PAGE_SIZE > this.slots) throw new RangeError('write beyond the swap file');
    writeSync(this.#f(), pages, 0, pages.length, slot * PAGE_SIZE);
  }
  /** Reads one slot. */
  read(slot: number, out: Uint8Array): void {
    checkInt('slot', slot, 0, this.slots - 1);
    const n = readSync(this.#f(), out, 0, PAGE_SIZE, slot * PAGE_SIZE);
    if (n !== PAGE_SIZE) throw new Error(`short read from swap slot ${slot}`);
  }
  /** Overwrites a slot with zeros. */
  scrub(slot: number): void {
    checkInt('slot', slot, 0, this.slots - 1);
    writeSync(this.#f(), ZERO, 0, PAGE_SIZE, slot * PAGE_SIZE);
  }
  /** Closes the file (idempotent). */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}


/**
 * {@link attachEsx} with a real swap file by default (ESX swaps to a file on the host): a
 * {@link FileSwapStore} of `swapSlots` slots (default: one per machine frame) at `swapPath`
 * (default: a per-process file in the OS temp directory). Options as for attachEsx.
 */
export function attachEsxNode(tvmm: EsxTvmmLike, opts: EsxOptions & { swapPath?: string } = {}): EsxMemory {
  const { swapPath, ...rest } = opts;
  if (rest.swapStore) return attachEsx(tvmm, rest);
  const slots = rest.swapSlots ?? tvmm.memory.machine.frames;
  const path = swapPath ?? join(tmpdir(), `terracloak-swap-${process.pid}-${tvmm.memory.ctx.seed}.bin`);
  return attachEsx(tvmm, { ...rest, swapStore: new FileSwapStore(path, slots) });
}
