/**
 * A VM's block device backed by a file on the cluster volume (DeDe, Clements et al., ATC'09 §2:
 * "virtual disks are files on VMFS"). {@link volumeDisk} returns an object shaped like the TVMM's
 * `BlockBackend` (4 KiB blocks, `read(lba, count)`, `write(lba, data)`, `flush()`), without importing
 * src/tvmm (layering: the TVMM composes storage, never the reverse). Every write goes through
 * `ClusterVolume.writeAt`, so a {@link DedupEngine} attached to the volume sees it in band (its write
 * monitor hashes every aligned 4 KiB block into the per-host write log) and VM disks of one trust
 * domain deduplicate out of band. Copy-on-write of shared blocks, locking and crash consistency are
 * the volume's.
 */
import { TerraError, checkBool, checkBytes, checkInt, checkObject, checkString } from '../sim/index.js';
import { ClusterVolume, MAX_FILE_SIZE, SUB_SIZE } from './volume.js';
import type { DedupEngine } from './dede.js';
import { VirtualDisk, VirtualScsiController, type ControllerOptions } from './scsi.js';
import type { SimContext } from '../sim/index.js';

/** Bytes per block of a volume disk (the TVMM's 4 KiB block; one DeDe-hashed unit). */
export const VDISK_BLOCK = SUB_SIZE;

/** Options for {@link volumeDisk}. */
export interface VolumeDiskOptions {
  /** Host id (≥ 1) that runs the VM: it takes the file's on-disk lock and writes as that host. */
  readonly host: number;
  /** Trust domain of the disk (tenant / closed-box VM). An existing file must belong to it; a new file is created in it. */
  readonly domain: number;
  /** Create the file with this many 4 KiB blocks when it does not exist (otherwise a missing file is NOT_FOUND). */
  readonly blocks?: number;
  /** DeDe write monitoring for a newly created file (default true). */
  readonly monitored?: boolean;
  /** The volume's DeDe engine: `flush()` then appends this disk's buffered write-log records. */
  readonly dedup?: DedupEngine;
}

/** A block backend over a cluster-volume file (structurally a tvmm `BlockBackend`). */
export interface VolumeBlockBackend {
  /** Capacity in 4 KiB blocks. */
  readonly blocks: number;
  /** 4096: with it the backend is also an attestation `BlockDevice` by shape (the Terra image loader reads images through it). */
  readonly blockSize: number;
  readonly volume: ClusterVolume;
  /** Inode of the backing file. */
  readonly ino: number;
  readonly host: number;
  readonly domain: number;
  /** Reads `count` (≥ 1) blocks at `lba`; fresh bytes, holes read as zeros. RangeError outside the disk or for count 0. */
  read(lba: number, count: number): Uint8Array;
  /**
   * Writes whole blocks at `lba` (copied). RangeError for an empty, misaligned or out-of-range
   * write; TerraError('BUSY') if another host took the lock, ('OUT_OF_MEMORY') when the volume is
   * full (then nothing changes). The TVMM turns a TerraError into a guest EIO.
   */
  write(lba: number, data: Uint8Array): void;
  /** Appends buffered DeDe log records of this disk (when `dedup` was given) and syncs the store. */
  flush(): void;
  /** Flushes DeDe records and releases the file's lock; later writes are TerraError('INVALID_STATE') (reads still work). Idempotent. */
  close(): void;
}

function checkRange(blocks: number, lba: unknown, count: unknown): { lba: number; count: number } {
  const l = checkInt('lba', lba, 0);
  const c = checkInt('count', count, 1, Math.max(1, blocks));
  if (l + c > blocks) throw new RangeError(`lba ${l} + count ${c} is beyond the disk's ${blocks} blocks`);
  return { lba: l, count: c };
}

/**
 * Opens (or, with `blocks`, creates) the vdisk file `fileName` on `volume` as a block backend for a
 * VM run by `host` in trust domain `domain`, and takes the file's lock for `host`.
 * Fails with TerraError('NOT_FOUND') for a missing file without `blocks`, ('INVALID_STATE') for a
 * file that is not a vdisk or whose size is not a positive multiple of 4 KiB, ('ISOLATION_VIOLATION')
 * for a file of another trust domain (threat STO-01: a tenant never opens another's disk), ('BUSY')
 * when another host holds the lock with a live lease; TypeError/RangeError on bad arguments.
 */
export function volumeDisk(volume: ClusterVolume, fileName: string, opts: VolumeDiskOptions): VolumeBlockBackend {
  if (!(volume instanceof ClusterVolume)) throw new TypeError('volume must be a ClusterVolume');
  checkString('fileName', fileName, { nonEmpty: true, max: 120 });
  checkObject('opts', opts);
  const host = checkInt('opts.host', opts.host, 1, 0x7fffffff);
  const domain = checkInt('opts.domain', opts.domain, 0, 0xffffffff);
  const create = opts.blocks === undefined ? undefined : checkInt('opts.blocks', opts.blocks, 1, MAX_FILE_SIZE / VDISK_BLOCK);
  const monitored = opts.monitored === undefined ? true : checkBool('opts.monitored', opts.monitored);
  const dedup = opts.dedup;
  if (dedup !== undefined && (typeof dedup !== 'object' || dedup === null || dedup.volume !== volume)) throw new TypeError('opts.dedup must be the DedupEngine of this volume');
  let ino = volume.lookup(fileName);
  if (ino === undefined) {
    if (create === undefined) throw new TerraError('NOT_FOUND', `no file ${JSON.stringify(fileName)} on the volume`);
    ino = volume.create(host, fileName, { type: 'vdisk', size: create * VDISK_BLOCK, domain, monitored });
  } else {
    const info = volume.info(ino);
    if (info.type !== 'vdisk') throw new TerraError('INVALID_STATE', `${JSON.stringify(fileName)} is a ${info.type} file, not a virtual disk`);
    if (info.domain !== domain) throw new TerraError('ISOLATION_VIOLATION', `${JSON.stringify(fileName)} belongs to another trust domain`, { file: fileName });
    if (info.size === 0 || info.size % VDISK_BLOCK !== 0) throw new TerraError('INVALID_STATE', `${JSON.stringify(fileName)} is ${info.size} bytes: not a whole number of 4 KiB blocks`);
    volume.lock(host, ino);
  }
  const file = ino;
  const blocks = volume.info(file).size / VDISK_BLOCK;
  let closed = false;
  // Renew the lease while we hold the lock and less than half of it is left (a metadata transaction,
  // so not on every write). A lock another host broke after the lease is not retaken: the write is BUSY.
  const renew = () => {
    if (closed) throw new TerraError('INVALID_STATE', `virtual disk ${JSON.stringify(fileName)} is closed`);
    const i = volume.info(file);
    if (i.lockHost === host && i.leaseExpiry - volume.now < volume.leaseNs / 2) volume.lock(host, file);
  };
  return Object.freeze({
    blocks,
    blockSize: VDISK_BLOCK,
    volume,
    ino: file,
    host,
    domain,
    read(lba: number, count: number): Uint8Array {
      const io = checkRange(blocks, lba, count);
      return volume.readAt(file, io.lba * VDISK_BLOCK, io.count * VDISK_BLOCK);
    },
    write(lba: number, data: Uint8Array): void {
      checkBytes('data', data);
      if (data.length === 0 || data.length % VDISK_BLOCK !== 0) throw new RangeError(`data length must be a positive multiple of ${VDISK_BLOCK}`);
      const io = checkRange(blocks, lba, data.length / VDISK_BLOCK);
      renew();
      volume.writeAt(host, file, io.lba * VDISK_BLOCK, data);
    },
    flush(): void {
      dedup?.flush(host, file);
      volume.store.sync();
    },
    close(): void {
      if (closed) return;
      closed = true;
      dedup?.flush(host, file);
      if (volume.info(file).lockHost === host) volume.unlock(host, file);
    },
  });
}

/** Whoever delivers a VM's virtual interrupts (the TVMM: `tvmm.raiseInterrupt(vm, vector)`), by shape. */
export interface InterruptTarget {
  raiseInterrupt(vm: number, vector: number): void;
}

/**
 * The interrupt-driven path of a volume disk: a per-VM {@link VirtualScsiController} (command queue,
 * completion ring, vIC coalescing, ATC'11) whose device is the disk's file (sector-addressed, written
 * as the disk's host, so DeDe monitors its writes too) and whose interrupts go to VM `vmId` through
 * `irq`. Attach it with `tvmm.attachController(vm, name, controller)` after attaching `disk` under
 * the same name. TypeError/RangeError on bad options (see {@link ControllerOptions}).
 */
export function volumeController(
  ctx: SimContext,
  disk: VolumeBlockBackend,
  irq: InterruptTarget,
  vmId: number,
  opts: Omit<ControllerOptions, 'vmId' | 'device' | 'sink'> = {},
): VirtualScsiController {
  checkObject('disk', disk);
  if (!(disk.volume instanceof ClusterVolume)) throw new TypeError('disk must come from volumeDisk()');
  checkObject('irq', irq);
  if (typeof irq.raiseInterrupt !== 'function') throw new TypeError('irq.raiseInterrupt must be a function');
  const vm = checkInt('vmId', vmId, 0, 0xffff);
  checkObject('opts', opts);
  return new VirtualScsiController(ctx, {
    ...opts,
    vmId: vm,
    device: new VirtualDisk(disk.volume, disk.host, disk.ino),
    sink: {
      raise: (vector: number) => {
        try {
          irq.raiseInterrupt(vm, vector);
        } catch (e) {
          if (!(e instanceof TerraError)) throw e; // the VM is gone: nobody to interrupt
        }
      },
    },
  });
}

/**
 * Space of a set of volume disks: logical MiB (allocated 4 KiB blocks the disks reference) and
 * unique MiB (distinct physical units behind them, so shared blocks count once).
 */
export function volumeSpace(vol: ClusterVolume, disks: readonly VolumeBlockBackend[]): { logicalMiB: number; uniqueMiB: number } {
  let logical = 0;
  const units = new Set<number>();
  for (const d of disks) {
    for (let b = 0; b < d.blocks; b++) {
      const loc = vol.locate(d.ino, b);
      if (loc.kind === 'hole') continue;
      logical++;
      units.add(loc.unit);
    }
  }
  return { logicalMiB: (logical * 4096) / (1 << 20), uniqueMiB: (units.size * 4096) / (1 << 20) };
}
