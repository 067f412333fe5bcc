/**
 * Terra's boot experiment (Garfinkel et al., SOSP'03 §5.2): boot time of the Trusted Quake VM with
 * no attestation, ahead-of-time attestation, optimistic attestation, and optimistic attestation
 * with an encrypted disk (paper: 26.6 / 57.1 / 27.3 / 29.1 s), reproduced in virtual time from the
 * cost model (sim/costs.ts: hashPerByte, diskIo, diskPerByte, cryptoPerByte).
 *
 * Model (assumptions, documented in docs/results-terra.md):
 * - Image: a 1 GiB attested VM disk (minimal Debian 3.0 + Linux 2.4.20 + Quake II), 4 KiB blocks.
 *   The paper gives no size; 1 GiB matches its own "SHA-1 over 1 GB > 8 s" measurement.
 * - Boot read set: 64 MiB (kernel, init, libraries, Quake binary and pak data), read in 64 KiB
 *   requests at distinct places (seek per request).
 * - Non-IO boot work (CPU, device probing, timers) is the one calibrated constant: the baseline's
 *   26.6 s minus our modelled IO.
 * - Ahead-of-time, as in the prototype: hash the whole image (sequential 4 MiB reads) before the VM
 *   starts, then boot normally from disk. Pinning the verified image (our ImageLoader's default)
 *   would also save the boot IO; reported separately.
 * - Optimistic: each block of the read set is hashed when first read.
 * - Encryption: Terra's encrypted disk decrypts and HMACs every block read: cryptoPerByte +
 *   hashPerByte per byte of the read set.
 * The image and read set are built and verified for real (real bytes, real SHA-256) at 1/scale of
 * the size; every cost is linear in bytes and in request count, so virtual time scales exactly.
 */
import { createSimContext, NS_PER_S, type SimContext } from '../sim/index.js';
import { nobleProvider } from '../crypto/index.js';
import { buildImage, ImageLoader, imageDisk, parseImage, type VerifyMode, type VmImage } from '../attestation/index.js';
import type { Experiment, ExperimentResult } from './types.js';

const MiB = 1 << 20;
const BLOCK = 4096;
const IMAGE_BYTES = 1024 * MiB;
const READ_SET_BYTES = 64 * MiB;
const BOOT_REQUEST = 64 * 1024;
const SCAN_REQUEST = 4 * MiB;
const PAPER = { none: 26.6, aheadOfTime: 57.1, optimistic: 27.3, optimisticEncrypted: 29.1 };

function bootRuns(ctx: SimContext, blocks: number, scale: number): number[] {
  const per = BOOT_REQUEST / BLOCK;
  const runs = Math.floor(blocks / per);
  const order = ctx.rng.fork('terra-boot/read-set').shuffle(Array.from({ length: runs }, (_, i) => i * per));
  return order.slice(0, Math.round(READ_SET_BYTES / scale / BOOT_REQUEST)).sort((a, b) => a - b);
}

function ioSeconds(image: VmImage, mode: VerifyMode, runs: number[], scale: number, seed: number, opts: { pin?: boolean; encrypted?: boolean } = {}): number {
  const ctx = createSimContext({ seed });
  const disk = imageDisk(image, ctx);
  const per = BOOT_REQUEST / BLOCK;
  if (mode === 'ahead-of-time') {
    const scan = new ImageLoader(ctx, nobleProvider, image, disk, 'ahead-of-time');
    scan.start({ chunkBlocks: SCAN_REQUEST / BLOCK });
    if (opts.pin) {
      for (const r of runs) scan.read(r, per);
    } else {
      const boot = new ImageLoader(ctx, nobleProvider, image, disk, 'none');
      boot.start();
      for (const r of runs) boot.read(r, per);
    }
  } else {
    const boot = new ImageLoader(ctx, nobleProvider, image, disk, mode);
    boot.start();
    for (const r of runs) boot.read(r, per);
    if (opts.encrypted) ctx.clock.advance(runs.length * BOOT_REQUEST * (ctx.costs.cryptoPerByte + ctx.costs.hashPerByte));
  }
  return (ctx.clock.now * scale) / NS_PER_S;
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Runs the terra-boot experiment. */
export function runTerraBoot(opts: { seed: number; quick?: boolean }): ExperimentResult {
  const scale = opts.quick ? 256 : 16;
  const ctx = createSimContext({ seed: opts.seed });
  const content = ctx.rng.fork('terra-boot/image').bytes(IMAGE_BYTES / scale);
  const image = parseImage(nobleProvider, buildImage(nobleProvider, content, { name: 'trusted-quake', blockSize: BLOCK }));
  const runs = bootRuns(ctx, image.descriptor.blocks, scale);
  const io = {
    none: ioSeconds(image, 'none', runs, scale, opts.seed),
    aheadOfTime: ioSeconds(image, 'ahead-of-time', runs, scale, opts.seed),
    aheadOfTimePinned: ioSeconds(image, 'ahead-of-time', runs, scale, opts.seed, { pin: true }),
    optimistic: ioSeconds(image, 'optimistic', runs, scale, opts.seed),
    optimisticEncrypted: ioSeconds(image, 'optimistic', runs, scale, opts.seed, { encrypted: true }),
  };
  const cpu = PAPER.none - io.none; // the one calibrated constant
  const ours = {
    none: round(cpu + io.none),
    aheadOfTime: round(cpu + io.aheadOfTime),
    optimistic: round(cpu + io.optimistic),
    optimisticEncrypted: round(cpu + io.optimisticEncrypted),
    aheadOfTimePinned: round(cpu + io.aheadOfTimePinned),
    calibratedNonIoSeconds: round(cpu),
    bootIoSeconds: round(io.none),
    imageBytes: IMAGE_BYTES,
    readSetBytes: runs.length * BOOT_REQUEST * scale,
    scale,
  };
  return {
    id: 'terra-boot',
    paper: { ...PAPER, unit: 's', source: 'Terra SOSP03 §5.2, mean of 5 runs' },
    ours,
    notes:
      'Only the non-IO boot time is calibrated (so "none" equals the paper by construction); the other three come from the cost model. ' +
      'Ahead-of-time is ~3% high (our 2003 disk streams at 50 MB/s); optimistic matches within 0.2 s; encryption adds 0.6 s against the paper\'s 1.8 s ' +
      'because our cost model charges AES at 1 ns/byte where a 2003 software AES+HMAC of the prototype was slower. Pinning the verified image saves the boot IO.',
  };
}

/** The Terra experiments. */
export const terraExperiments: readonly Experiment[] = [
  {
    id: 'terra-boot',
    title: 'Trusted Quake VM boot time under Terra\'s attestation modes',
    paper: 'Garfinkel et al., SOSP\'03 §5.2',
    run: (o) => runTerraBoot(o),
  },
];
