/**
 * VM images, identity and lazy verification (Terra, Garfinkel et al., SOSP'03 §4.2): an attestable
 * entity is split into fixed-size blocks, each hashed; the VM descriptor holds the hash of the
 * block hashes; the VM's primary identity is the hash of its descriptor. Ahead-of-time mode
 * verifies every block before the VM runs and pins the verified copy; optimistic mode verifies
 * each block when first read, halts the VM at the first bad block and re-verifies blocks that were
 * evicted and read again. The file format is in docs/image-format.md.
 *
 * ATT-08: {@link parseImage} copies the caller's bytes before measuring them, so a caller holding
 * the buffer cannot change what was measured.
 */
import { ValidationRangeError, TerraError, checkBytes, checkInt, checkObject, checkOneOf, checkString, type SimContext } from '../sim/index.js';
import { concatBytes, u32be, u64be, type CryptoProvider } from '../crypto/index.js';
import { MemoryBlockDevice, type BlockDevice } from './disk.js';
import { cborDecode, cborEncode, checkInput, fail, mapGet, onlyKeys, te } from './util.js';

/** File magic: "TCIMG1" followed by two zero bytes. */
export const IMAGE_MAGIC = new Uint8Array([0x54, 0x43, 0x49, 0x4d, 0x47, 0x31, 0, 0]);
const HEADER = 28;
const MAX_DESCRIPTOR = 4096;

/** The VM descriptor (what the identity hashes). */
export interface VmDescriptor {
  readonly format: 'terracloak-image/1';
  readonly name: string;
  readonly blockSize: number;
  readonly blocks: number;
  readonly length: number;
  readonly hashOfHashes: Uint8Array;
}

/** A parsed (measured) image: descriptor, identity, block hashes and a private copy of the blocks. */
export interface VmImage {
  readonly descriptor: VmDescriptor;
  readonly descriptorBytes: Uint8Array;
  /** SHA-256("terracloak/vm-identity/v1" ‖ descriptor CBOR): the primary (or secondary) identity. */
  readonly identity: Uint8Array;
  readonly blockHashes: readonly Uint8Array[];
  /** The image's blocks (blocks × blockSize bytes), copied at measurement. */
  readonly blockData: Uint8Array;
}

/** Computes the identity of a descriptor's CBOR bytes. */
export function descriptorIdentity(provider: CryptoProvider, descriptorBytes: Uint8Array): Uint8Array {
  return provider.sha256(concatBytes(te('terracloak/vm-identity/v1'), checkBytes('descriptorBytes', descriptorBytes)));
}

/** Builds an image file from `content` (zero-padded to whole blocks). */
export function buildImage(provider: CryptoProvider, content: Uint8Array, opts: { name: string; blockSize?: number }): Uint8Array {
  const data = checkBytes('content', content, { min: 1, max: 1 << 30 }).slice();
  checkObject('opts', opts);
  const name = checkString('name', opts.name, { nonEmpty: true, max: 128 });
  const bs = opts.blockSize === undefined ? 4096 : checkInt('blockSize', opts.blockSize, 512, 65536);
  if ((bs & (bs - 1)) !== 0) throw new ValidationRangeError('blockSize must be a power of two');
  const blocks = Math.ceil(data.length / bs);
  if (blocks > 1 << 20) throw new ValidationRangeError(`content needs ${blocks} blocks; at most ${1 << 20} (use a larger blockSize)`);
  const body = new Uint8Array(blocks * bs);
  body.set(data);
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < blocks; i++) hashes.push(provider.sha256(body.subarray(i * bs, (i + 1) * bs)));
  const table = concatBytes(...hashes);
  const desc = cborEncode(new Map<string, unknown>([
    ['format', 'terracloak-image/1'],
    ['name', name],
    ['blockSize', bs],
    ['blocks', blocks],
    ['length', data.length],
    ['hashOfHashes', provider.sha256(table)],
  ]));
  const head = concatBytes(IMAGE_MAGIC, u32be(bs), u32be(blocks), u64be(data.length), u32be(desc.length), desc, table);
  const pad = (bs - (head.length % bs)) % bs;
  return concatBytes(head, new Uint8Array(pad), body);
}

function u32(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset + o, 4).getUint32(0);
}

/** Parses and measures an image file (copying it first); MALFORMED on any inconsistency. */
export function parseImage(provider: CryptoProvider, file: Uint8Array): VmImage {
  const f = checkInput('image', file, (1 << 30) + (1 << 26)).slice(); // copy before measuring (ATT-08)
  const bad = (m: string): never => {
    throw new TerraError('MALFORMED', `image: ${m}`, { what: 'image' });
  };
  if (f.length < HEADER) bad('truncated header');
  for (let i = 0; i < 8; i++) if (f[i] !== IMAGE_MAGIC[i]) bad('bad magic');
  const bs = u32(f, 8);
  const blocks = u32(f, 12);
  const lenHi = u32(f, 16);
  const length = lenHi * 2 ** 32 + u32(f, 20);
  const dlen = u32(f, 24);
  if (bs < 512 || bs > 65536 || (bs & (bs - 1)) !== 0) bad('bad block size');
  if (blocks < 1 || blocks > 1 << 20) bad('bad block count');
  if (length < 1 || length > blocks * bs || length <= (blocks - 1) * bs) bad('length inconsistent with block count');
  if (dlen < 1 || dlen > MAX_DESCRIPTOR) bad('bad descriptor length');
  const dEnd = HEADER + dlen;
  const tEnd = dEnd + 32 * blocks;
  const dataOff = Math.ceil(tEnd / bs) * bs;
  if (f.length !== dataOff + blocks * bs) bad('file size inconsistent with header');
  for (let i = tEnd; i < dataOff; i++) if (f[i] !== 0) bad('non-zero padding');
  const descriptorBytes = f.slice(HEADER, dEnd);
  const descriptor = decodeDescriptor(descriptorBytes);
  if (descriptor.blockSize !== bs || descriptor.blocks !== blocks || descriptor.length !== length) bad('descriptor disagrees with header');
  const table = f.subarray(dEnd, tEnd);
  if (!provider.equalBytes(provider.sha256(table), descriptor.hashOfHashes)) bad('block-hash table does not match the descriptor');
  const blockHashes: Uint8Array[] = [];
  for (let i = 0; i < blocks; i++) blockHashes.push(table.slice(i * 32, i * 32 + 32));
  const blockData = f.slice(dataOff);
  for (let i = length; i < blockData.length; i++) if (blockData[i] !== 0) bad('non-zero tail padding');
  return { descriptor, descriptorBytes, identity: descriptorIdentity(provider, descriptorBytes), blockHashes, blockData };
}

/** Decodes a VM descriptor strictly; MALFORMED on anything unexpected. */
export function decodeDescriptor(bytes: Uint8Array): VmDescriptor {
  const W = 'vm descriptor';
  const m = cborDecode(checkInput('vm descriptor', bytes, MAX_DESCRIPTOR), W);
  if (!(m instanceof Map)) throw new TerraError('MALFORMED', `${W}: not a map`, { what: W });
  onlyKeys(m, ['format', 'name', 'blockSize', 'blocks', 'length', 'hashOfHashes'], W);
  const format = mapGet<string>(m, 'format', W, 'string');
  if (format !== 'terracloak-image/1') throw new TerraError('MALFORMED', `${W}: unknown format`, { what: W });
  const name = mapGet<string>(m, 'name', W, 'string');
  const blockSize = mapGet<number>(m, 'blockSize', W, 'int');
  const blocks = mapGet<number>(m, 'blocks', W, 'int');
  const length = mapGet<number>(m, 'length', W, 'int');
  const hashOfHashes = mapGet<Uint8Array>(m, 'hashOfHashes', W, 'bytes');
  if (name.length === 0 || name.length > 128 || hashOfHashes.length !== 32 || blockSize < 1 || blocks < 1 || length < 1)
    throw new TerraError('MALFORMED', `${W}: field out of range`, { what: W });
  return { format, name, blockSize, blocks, length, hashOfHashes: hashOfHashes.slice() };
}

/** A block device holding the image's blocks (what the host stores on disk; the host may tamper with it). */
export function imageDisk(image: VmImage, ctx?: SimContext): MemoryBlockDevice {
  return new MemoryBlockDevice(image.descriptor.blockSize, image.descriptor.blocks, image.blockData, ctx);
}

/** Verification modes. */
export type VerifyMode = 'none' | 'ahead-of-time' | 'optimistic';

/**
 * Serves a VM's reads of an attested image from a (host-controlled) block device, verifying blocks
 * per `mode`. Hash costs are charged to the virtual clock (`hashPerByte`); the device charges IO.
 */
export class ImageLoader {
  readonly #hashes: readonly Uint8Array[];
  readonly #bs: number;
  readonly #resident = new Map<number, Uint8Array>();
  #halted: { block: number } | null = null;
  #started = false;
  #stats = { verifiedBlocks: 0, reads: 0, deviceReads: 0, reverified: 0 };
  readonly #everVerified = new Set<number>();

  constructor(readonly ctx: SimContext, readonly provider: CryptoProvider, image: VmImage, readonly disk: BlockDevice, readonly mode: VerifyMode, readonly vm?: number) {
    checkOneOf('mode', mode, ['none', 'ahead-of-time', 'optimistic']);
    checkObject('image', image);
    this.#hashes = image.blockHashes.map((h) => h.slice());
    this.#bs = image.descriptor.blockSize;
    if (disk.blockSize !== this.#bs || disk.blocks < this.#hashes.length) throw new ValidationRangeError('disk geometry does not match the image');
  }

  /** Number of image blocks. */
  get blocks(): number {
    return this.#hashes.length;
  }

  /** Ahead-of-time: reads and verifies every block, then pins them (ATTESTATION_ERROR check IMAGE_BLOCK on a bad block; the VM never runs). Other modes: no work. */
  start(opts: { chunkBlocks?: number } = {}): void {
    if (this.#started) throw new TerraError('INVALID_STATE', 'loader already started');
    const chunk = opts.chunkBlocks === undefined ? 256 : checkInt('chunkBlocks', opts.chunkBlocks, 1, 1 << 20);
    if (this.mode === 'ahead-of-time') {
      const pinned = new Map<number, Uint8Array>();
      for (let i = 0; i < this.blocks; i += chunk) {
        const n = Math.min(chunk, this.blocks - i);
        const raw = this.disk.read(i, n);
        this.#stats.deviceReads++;
        for (let j = 0; j < n; j++) {
          const blk = raw.slice(j * this.#bs, (j + 1) * this.#bs);
          if (!this.#verify(i + j, blk))
            fail(this.ctx, 'ATTESTATION_ERROR', `image block ${i + j} does not match its hash; the VM is not loaded`, { check: 'IMAGE_BLOCK', block: i + j }, this.vm);
          pinned.set(i + j, blk);
        }
      }
      for (const [k, v] of pinned) this.#resident.set(k, v);
    }
    this.#started = true;
  }

  #verify(i: number, blk: Uint8Array): boolean {
    this.ctx.clock.advance(blk.length * this.ctx.costs.hashPerByte);
    this.#stats.verifiedBlocks++;
    if (this.#everVerified.has(i)) this.#stats.reverified++;
    this.#everVerified.add(i);
    return this.provider.equalBytes(this.provider.sha256(blk), this.#hashes[i]);
  }

  /** Reads `count` image blocks from `lba` (a copy). Optimistic mode halts the VM (VM_HALTED, reason IMAGE_BLOCK) at the first bad block. */
  read(lba: number, count: number): Uint8Array {
    if (!this.#started) throw new TerraError('INVALID_STATE', 'loader not started');
    if (this.#halted) throw new TerraError('VM_HALTED', `VM halted at bad image block ${this.#halted.block}`, { reason: 'IMAGE_BLOCK', block: this.#halted.block });
    checkInt('lba', lba, 0, this.blocks - 1);
    checkInt('count', count, 1, this.blocks - lba);
    this.#stats.reads++;
    const out = new Uint8Array(count * this.#bs);
    for (let i = 0; i < count; ) {
      const b = lba + i;
      const r = this.#resident.get(b);
      if (r) {
        out.set(r, i * this.#bs);
        i++;
        continue;
      }
      let run = 1;
      while (i + run < count && !this.#resident.has(b + run)) run++;
      const raw = this.disk.read(b, run);
      this.#stats.deviceReads++;
      for (let j = 0; j < run; j++) {
        const blk = raw.slice(j * this.#bs, (j + 1) * this.#bs);
        if (this.mode === 'optimistic' && !this.#verify(b + j, blk)) {
          this.#halted = { block: b + j };
          fail(this.ctx, 'VM_HALTED', `image block ${b + j} failed verification; VM halted`, { reason: 'IMAGE_BLOCK', block: b + j }, this.vm);
        }
        if (this.mode !== 'none') this.#resident.set(b + j, blk);
        out.set(blk, (i + j) * this.#bs);
      }
      i += run;
    }
    return out;
  }

  /** Pages a block out (optimistic mode re-verifies it on the next read; pinned blocks stay). */
  evict(lba: number): void {
    checkInt('lba', lba, 0, this.blocks - 1);
    if (this.mode === 'optimistic') this.#resident.delete(lba);
  }

  /** Whether the VM was halted by a bad block. */
  get halted(): boolean {
    return this.#halted !== null;
  }

  /** Counters. */
  stats(): { verifiedBlocks: number; reads: number; deviceReads: number; reverified: number } {
    return { ...this.#stats };
  }
}
