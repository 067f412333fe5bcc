/**
 * Block devices as the TVMM sees them (Terra SOSP'03 §4.4: virtual disks). A {@link BlockBackend}
 * is what a disk class (raw, integrity-checked, encrypted; src/attestation) or a virtual disk on
 * the cluster volume (src/storage) provides; the guest reaches it only through the TVMM's DMA path,
 * which moves data between the disk and guest-physical pages through the kernel view.
 */
import { checkBytes, checkInt, TerraError } from '../sim/index.js';

/** 4 KiB blocks. */
export const BLOCK_SIZE = 4096;

/** A block device backend. Reads return fresh copies; writes copy their input. */
export interface BlockBackend {
  readonly blocks: number;
  read(lba: number, count: number): Uint8Array;
  write(lba: number, data: Uint8Array): void;
  /** Optional: flush to stable storage. */
  flush?(): void;
}

/** Bytes per sector of an {@link AsyncBlockController} (SCSI: 512; one 4 KiB block is 8 sectors). */
export const CONTROLLER_SECTOR = 512;

/** One finished command in an {@link AsyncBlockController}'s completion ring. */
export interface ControllerCompletion {
  readonly tag: number;
  readonly status: 'good' | 'check-condition';
  /** Read data (`count` × 512 bytes) for a good read. */
  readonly data?: Uint8Array;
}

/**
 * An asynchronous block controller in front of a disk (interrupt-driven IO; src/storage's
 * `VirtualScsiController` with vIC satisfies it by shape). Commands are in 512-byte sectors; the
 * controller completes them later on the virtual clock, puts them in a completion ring the guest
 * driver polls, and raises `vector` through an interrupt sink its creator wires to
 * `Tvmm.raiseInterrupt(vm, vector)` (with vIC, one interrupt may cover several completions).
 */
export interface AsyncBlockController {
  /** The completion interrupt vector (0…255; not the guest kernel's timer vector). */
  readonly vector: number;
  /** Queues a command: its tag, or `ok: false` when the queue is full (back-pressure). */
  submit(cmd: { readonly op: 'read' | 'write'; readonly lba: number; readonly count: number; readonly data?: Uint8Array }):
    { readonly ok: true; readonly value: number } | { readonly ok: false; readonly error: unknown };
  /** Takes finished commands from the ring, each exactly once. */
  poll(): readonly ControllerCompletion[];
}

/** Validates an IO request against a device of `blocks` blocks. */
export function checkIo(blocks: number, lba: unknown, count: unknown, max = 256): { lba: number; count: number } {
  const l = checkInt('lba', lba, 0);
  const c = checkInt('count', count, 1, max);
  if (l + c > blocks) throw new RangeError(`lba ${l} + count ${c} is beyond the device's ${blocks} blocks`);
  return { lba: l, count: c };
}

/** An in-memory disk (sparse: unwritten blocks read as zero and cost no RAM). */
export class MemoryDisk implements BlockBackend {
  readonly #blocks = new Map<number, Uint8Array>();
  readonly blocks: number;
  constructor(blocks: number) {
    this.blocks = checkInt('blocks', blocks, 1, 2 ** 31);
  }
  read(lba: number, count: number): Uint8Array {
    const io = checkIo(this.blocks, lba, count);
    const out = new Uint8Array(io.count * BLOCK_SIZE);
    for (let i = 0; i < io.count; i++) {
      const b = this.#blocks.get(io.lba + i);
      if (b) out.set(b, i * BLOCK_SIZE);
    }
    return out;
  }
  write(lba: number, data: Uint8Array): void {
    checkBytes('data', data);
    if (data.length === 0 || data.length % BLOCK_SIZE !== 0) throw new RangeError(`data length must be a positive multiple of ${BLOCK_SIZE}`);
    const io = checkIo(this.blocks, lba, data.length / BLOCK_SIZE);
    for (let i = 0; i < io.count; i++) this.#blocks.set(io.lba + i, data.slice(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE));
  }
  /** Raw block bytes for tests and attack harnesses (the host/adversary H owns the disk). */
  peek(lba: number): Uint8Array {
    checkInt('lba', lba, 0, this.blocks - 1);
    return (this.#blocks.get(lba) ?? new Uint8Array(BLOCK_SIZE)).slice();
  }
  /** Overwrites a block as the host/adversary could (tests, attacks). */
  poke(lba: number, data: Uint8Array): void {
    checkInt('lba', lba, 0, this.blocks - 1);
    checkBytes('data', data, BLOCK_SIZE);
    this.#blocks.set(lba, data.slice());
  }
  /** Every written block number (for leak scans). */
  writtenBlocks(): number[] {
    return [...this.#blocks.keys()].sort((a, b) => a - b);
  }
}

/** Thrown into guest IO when a backend fails (e.g. an integrity check); carries the backend's error. */
export function ioError(message: string): TerraError {
  return new TerraError('IO_ERROR', message);
}
