/**
 * Builds the example closed-box "bank" VM image (examples/images/bank.img) and its matching
 * verifier policy (examples/policies/bank.json) deterministically (Terra, SOSP'03 §4.2 image
 * format; see docs/image-format.md). Run: `npx tsx examples/images/make.ts`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { SeededRng } from '../../src/sim/index.js';
import { concatBytes, nobleProvider, utf8 } from '../../src/crypto/index.js';
import { buildImage, createAttestedHost, parseImage, policyFor } from '../../src/attestation/index.js';

/** The bank VM's content: a text banner followed by 40 000 seeded bytes standing in for its code. */
export function bankImageContent(): Uint8Array {
  return concatBytes(utf8('terracloak example closed-box bank VM v1\n'), SeededRng.fromSeed(2026).fork('bank-image').bytes(40_000));
}

/** The bank VM image file (4 KiB blocks). */
export function makeBankImage(): Uint8Array {
  return buildImage(nobleProvider, bankImageContent(), { name: 'bank', blockSize: 4096 });
}

/** A policy that allows the default boot chain (any seed: boot stages are seed-independent) and the bank image. */
export function makeBankPolicy(image: Uint8Array): object {
  const host = createAttestedHost({ seed: 1 });
  return policyFor(host, [parseImage(nobleProvider, image).identity]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const here = dirname(fileURLToPath(import.meta.url));
  const img = makeBankImage();
  writeFileSync(join(here, 'bank.img'), img);
  writeFileSync(join(here, '..', 'policies', 'bank.json'), JSON.stringify(makeBankPolicy(img), null, 2) + '\n');
  process.stdout.write(`wrote bank.img (${img.length} bytes) and policies/bank.json\n`);
}
