/**
 * Terra's virtual disk classes (Garfinkel et al., SOSP'03 §4.3): encrypted (AEAD: privacy and
 * integrity), integrity-checked (MAC, optional secure counter against rollback) and raw; each
 * attested or unattested; disk keys sealed to the TVMM by the root of trust.
 *
 * {@link ProtectedDisk} wraps any {@link BlockDevice}. The tail of the backing device holds the
 * metadata: one header block (generation, MAC over the metadata table) and a table of 64-byte
 * entries per logical block (version u64 ‖ nonce 24 ‖ tag/MAC 32). At open the table is read,
 * its MAC checked, and (with a counter) its generation compared with the NV counter; after that
 * the table lives in TVMM memory and every read is checked against it, so a block replaced by an
 * older copy (with or without its old metadata) is detected. Writes are write-through.
 * Not crash-atomic across block + metadata (documented limitation).
 */
import { ValidationRangeError, TerraError, checkBool, checkBytes, checkInt, checkObject, checkOneOf, checkString, type SeededRng, type SimContext } from '../sim/index.js';
import { concatBytes, u64be, type CryptoProvider } from '../crypto/index.js';
import type { RootOfTrust } from './root.js';
import { fail, te } from './util.js';

/** A block device: what the storage layer provides and what the protected disk wraps. */
export interface BlockDevice {
  readonly blockSize: number;
  readonly blocks: number;
  /** Reads `count` blocks from `lba` (a fresh copy). */
  read(lba: number, count: number): Uint8Array;
  /** Writes whole blocks at `lba` (data length a multiple of blockSize). */
  write(lba: number, data: Uint8Array): void;
}

/** An in-memory block device; charges disk IO costs to the virtual clock when given a context. */
export class MemoryBlockDevice implements BlockDevice {
  readonly #data: Uint8Array;
  #reads = 0;
  #writes = 0;
  /** A zeroed device of `blocks` × `blockSize`, or one holding a copy of `init`. */
  constructor(readonly blockSize: number, readonly blocks: number, init?: Uint8Array, private readonly ctx?: SimContext) {
    checkInt('blockSize', blockSize, 16, 1 << 20);
    checkInt('blocks', blocks, 1, 1 << 24);
    this.#data = new Uint8Array(blockSize * blocks);
    if (init !== undefined) this.#data.set(checkBytes('init', init, { max: blockSize * blocks }));
  }
  #range(lba: number, count: number): void {
    checkInt('lba', lba, 0, this.blocks - 1);
    checkInt('count', count, 1, this.blocks - lba);
  }
  /** Reads blocks (one IO request). */
  read(lba: number, count: number): Uint8Array {
    this.#range(lba, count);
    this.#reads++;
    const n = count * this.blockSize;
    if (this.ctx) this.ctx.clock.advance(this.ctx.costs.diskIo + n * this.ctx.costs.diskPerByte);
    return this.#data.slice(lba * this.blockSize, lba * this.blockSize + n);
  }
  /** Writes blocks (one IO request). */
  write(lba: number, data: Uint8Array): void {
    checkBytes('data', data, { min: this.blockSize });
    if (data.length % this.blockSize !== 0) throw new ValidationRangeError('data length must be a multiple of blockSize');
    this.#range(lba, data.length / this.blockSize);
    this.#writes++;
    if (this.ctx) this.ctx.clock.advance(this.ctx.costs.diskIo + data.length * this.ctx.costs.diskPerByte);
    this.#data.set(data, lba * this.blockSize);
  }
  /** Host-side raw access (the adversary owns the disk): a copy of every byte. */
  snapshot(): Uint8Array {
    return this.#data.slice();
  }
  /** Host-side raw overwrite (the adversary owns the disk). */
  restore(bytes: Uint8Array): void {
    checkBytes('bytes', bytes, this.#data.length);
    this.#data.set(bytes);
  }
  /** IO counters. */
  stats(): { reads: number; writes: number } {
    return { reads: this.#reads, writes: this.#writes };
  }
}

/** Disk classes. */
export type DiskClass = 'encrypted' | 'integrity' | 'raw';

/** Options for {@link ProtectedDisk.format} / {@link ProtectedDisk.open}. */
export interface ProtectedDiskOptions {
  readonly cls: DiskClass;
  /** 32-byte disk key (unused for raw). */
  readonly key?: Uint8Array;
  /** Attested disks are immutable: writes are refused (Terra: changing state never goes on attested disks). */
  readonly attested?: boolean;
  /** Name of an NV counter in the root of trust that holds the disk generation (rollback protection). */
  readonly counter?: { rot: RootOfTrust; name: string };
  /** Disk identity bound into every MAC / AAD. */
  readonly diskId: string;
}

const ENTRY = 64;

/** A Terra virtual disk over a block device. */
export class ProtectedDisk implements BlockDevice {
  readonly blockSize: number;
  readonly blocks: number;
  readonly cls: DiskClass;
  readonly attested: boolean;
  readonly #dev: BlockDevice;
  readonly #key: Uint8Array;
  readonly #id: Uint8Array;
  readonly #metaBlocks: number;
  readonly #table: Uint8Array;
  readonly #counter?: { rot: RootOfTrust; name: string };
  readonly #nonces: SeededRng;
  #generation = 0;
  #stats = { reads: 0, writes: 0, verified: 0 };

  private constructor(readonly ctx: SimContext, readonly provider: CryptoProvider, dev: BlockDevice, o: ProtectedDiskOptions, table: Uint8Array, generation: number) {
    this.#dev = dev;
    this.cls = o.cls;
    this.attested = o.attested ?? false;
    this.blockSize = dev.blockSize;
    this.#metaBlocks = ProtectedDisk.metaBlocks(dev);
    this.blocks = dev.blocks - this.#metaBlocks;
    this.#key = o.key ? o.key.slice() : new Uint8Array(32);
    this.#id = provider.sha256(te(`terracloak/disk/${o.diskId}`));
    this.#table = table;
    this.#counter = o.counter;
    this.#generation = generation;
    this.#nonces = ctx.rng.fork(`disk-nonces/${o.diskId}`);
  }

  /** Metadata blocks reserved at the tail of `dev`: one header block plus the entry table (same layout for every class). */
  static metaBlocks(dev: BlockDevice): number {
    const perBlock = Math.floor(dev.blockSize / ENTRY);
    let meta = 2;
    while ((meta - 1) * perBlock < dev.blocks - meta) meta++;
    return meta;
  }

  static #check(o: ProtectedDiskOptions): void {
    checkObject('options', o);
    checkOneOf('cls', o.cls, ['encrypted', 'integrity', 'raw']);
    checkString('diskId', o.diskId, { nonEmpty: true, max: 256 });
    if (o.cls !== 'raw') checkBytes('key', o.key, 32);
    if (o.attested !== undefined) checkBool('attested', o.attested);
    if (o.counter !== undefined) checkString('counter.name', o.counter.name, { nonEmpty: true });
  }

  /** Formats `dev` as a new protected disk (all blocks zero). */
  static format(ctx: SimContext, provider: CryptoProvider, dev: BlockDevice, o: ProtectedDiskOptions): ProtectedDisk {
    ProtectedDisk.#check(o);
    if (dev.blockSize < ENTRY * 2 || dev.blocks < 2) throw new ValidationRangeError('device too small for a protected disk');
    const meta = ProtectedDisk.metaBlocks(dev);
    const table = new Uint8Array((meta - 1) * dev.blockSize);
    const gen = o.counter ? o.counter.rot.nv.read(o.counter.name) : 0;
    const d = new ProtectedDisk(ctx, provider, dev, o, table, gen);
    const zero = new Uint8Array(dev.blockSize);
    for (let l = 0; l < d.blocks; l++) d.#writeBlock(l, zero, false);
    d.#commit();
    return d;
  }

  /** Opens an existing protected disk: checks the metadata MAC and, with a counter, the generation. */
  static open(ctx: SimContext, provider: CryptoProvider, dev: BlockDevice, o: ProtectedDiskOptions): ProtectedDisk {
    ProtectedDisk.#check(o);
    const meta = ProtectedDisk.metaBlocks(dev);
    const got: unknown = dev.read(dev.blocks - meta, meta);
    if (!(got instanceof Uint8Array) || got.length !== meta * dev.blockSize) fail(ctx, 'IO_ERROR', 'the block device answered the metadata read with the wrong size', { reason: 'metadata' });
    const raw = (got as Uint8Array).slice();
    const header = raw.subarray(0, dev.blockSize);
    const table = raw.slice(dev.blockSize);
    const d = new ProtectedDisk(ctx, provider, dev, o, table, 0);
    const gen = readU64(header, 0);
    if (o.cls !== 'raw') {
      const mac = d.#headerMac(gen);
      if (!provider.equalBytes(mac, header.subarray(8, 40))) fail(ctx, 'INTEGRITY_VIOLATION', 'disk metadata MAC mismatch', { reason: 'metadata' });
      if (o.counter) {
        const c = o.counter.rot.nv.read(o.counter.name);
        if (gen !== c) fail(ctx, 'ROLLBACK_DETECTED', `disk generation ${gen} does not match the secure counter ${c}`, { generation: gen, counter: c });
      }
    }
    d.#generation = gen;
    return d;
  }

  #headerMac(gen: number): Uint8Array {
    return this.provider.hmacSha256(this.#key, concatBytes(te('terracloak/disk-meta/v1'), this.#id, u64be(gen), this.provider.sha256(this.#table)));
  }

  #commit(): void {
    if (this.#counter) this.#generation = this.#counter.rot.nv.increment(this.#counter.name);
    else this.#generation++;
    const header = new Uint8Array(this.blockSize);
    header.set(u64be(this.#generation), 0);
    if (this.cls !== 'raw') header.set(this.#headerMac(this.#generation), 8);
    const all = concatBytes(header, this.#table);
    const meta = this.#metaBlocks;
    const buf = new Uint8Array(meta * this.blockSize);
    buf.set(all);
    this.#dev.write(this.#dev.blocks - meta, buf);
  }

  #aad(lba: number, version: number): Uint8Array {
    return concatBytes(te('terracloak/disk-block/v1'), this.#id, u64be(lba), u64be(version));
  }

  #writeBlock(lba: number, pt: Uint8Array, charge = true): void {
    const e = this.#table.subarray(lba * ENTRY, lba * ENTRY + ENTRY);
    const version = readU64(e, 0) + 1;
    e.set(u64be(version), 0);
    let stored = pt;
    if (this.cls === 'encrypted') {
      // Synthetic nonce: unique per (disk, lba, version, data) even if the seeded stream repeats when the disk is reopened.
      const nonce = this.provider.hmacSha256(this.#key, concatBytes(te('terracloak/disk-nonce/v1'), this.#aad(lba, version), this.provider.sha256(pt), this.#nonces.bytes(16))).slice(0, 24);
      const sealed = this.provider.aeadSeal('xchacha20-poly1305', this.#key, nonce, pt, this.#aad(lba, version));
      stored = sealed.subarray(0, pt.length);
      e.set(nonce, 8);
      e.fill(0, 32);
      e.set(sealed.subarray(pt.length), 32);
      if (charge) this.ctx.clock.advance(pt.length * this.ctx.costs.cryptoPerByte);
    } else if (this.cls === 'integrity') {
      e.fill(0, 8, 32);
      e.set(this.provider.hmacSha256(this.#key, concatBytes(this.#aad(lba, version), pt)), 32);
      if (charge) this.ctx.clock.advance(pt.length * this.ctx.costs.hashPerByte);
    }
    this.#dev.write(lba, stored);
  }

  // The device is the host's: take a private copy of exactly the requested length (a view it could
  // keep and rewrite, a short or non-byte answer is refused with IO_ERROR, not a TypeError).
  #deviceRead(lba: number, count: number): Uint8Array {
    const got: unknown = this.#dev.read(lba, count);
    if (!(got instanceof Uint8Array) || got.length !== count * this.blockSize)
      fail(this.ctx, 'IO_ERROR', `the block device answered a ${count}-block read at ${lba} with ${got instanceof Uint8Array ? `${got.length} bytes` : typeof got}`, { lba });
    return (got as Uint8Array).slice();
  }

  /** Reads `count` logical blocks; INTEGRITY_VIOLATION on a tampered or replayed block; IO_ERROR when the device answers with the wrong size. */
  read(lba: number, count: number): Uint8Array {
    checkInt('lba', lba, 0, this.blocks - 1);
    checkInt('count', count, 1, this.blocks - lba);
    const raw = this.#deviceRead(lba, count);
    this.#stats.reads++;
    if (this.cls === 'raw') return raw;
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < count; i++) {
      const l = lba + i;
      const e = this.#table.subarray(l * ENTRY, l * ENTRY + ENTRY);
      const version = readU64(e, 0);
      const blk = raw.subarray(i * this.blockSize, (i + 1) * this.blockSize);
      if (this.cls === 'encrypted') {
        const pt = this.provider.aeadOpen('xchacha20-poly1305', this.#key, e.subarray(8, 32), concatBytes(blk, e.subarray(32, 48)), this.#aad(l, version));
        if (pt === null) fail(this.ctx, 'INTEGRITY_VIOLATION', `encrypted disk block ${l} failed authentication`, { lba: l });
        out.set(pt, i * this.blockSize);
        this.ctx.clock.advance(blk.length * this.ctx.costs.cryptoPerByte);
      } else {
        const mac = this.provider.hmacSha256(this.#key, concatBytes(this.#aad(l, version), blk));
        if (!this.provider.equalBytes(mac, e.subarray(32, 64))) fail(this.ctx, 'INTEGRITY_VIOLATION', `integrity-checked disk block ${l} failed its MAC`, { lba: l });
        out.set(blk, i * this.blockSize);
        this.ctx.clock.advance(blk.length * this.ctx.costs.hashPerByte);
      }
      this.#stats.verified++;
    }
    return out;
  }

  /** Writes whole logical blocks; INVALID_STATE on an attested disk. */
  write(lba: number, data: Uint8Array): void {
    const d = checkBytes('data', data, { min: this.blockSize }).slice();
    if (d.length % this.blockSize !== 0) throw new ValidationRangeError('data length must be a multiple of blockSize');
    const n = d.length / this.blockSize;
    checkInt('lba', lba, 0, this.blocks - 1);
    checkInt('count', n, 1, this.blocks - lba);
    if (this.attested) throw new TerraError('INVALID_STATE', 'attested disks are immutable');
    for (let i = 0; i < n; i++) this.#writeBlock(lba + i, d.subarray(i * this.blockSize, (i + 1) * this.blockSize));
    this.#stats.writes++;
    if (this.cls !== 'raw') this.#commit();
  }

  /** Current metadata generation. */
  get generation(): number {
    return this.#generation;
  }

  /** Counters. */
  stats(): { reads: number; writes: number; verified: number } {
    return { ...this.#stats };
  }
}

/** Generates a fresh disk key and seals it to the TVMM's boot registers (PCR 0–2) in the root of trust. */
export function createSealedDiskKey(rot: RootOfTrust, rng: SeededRng): { key: Uint8Array; sealedKey: Uint8Array } {
  const key = rng.bytes(32);
  return { key, sealedKey: rot.seal(key, [0, 1, 2]) };
}

function readU64(b: Uint8Array, off: number): number {
  const dv = new DataView(b.buffer, b.byteOffset + off, 8);
  return dv.getUint32(0) * 2 ** 32 + dv.getUint32(4);
}
