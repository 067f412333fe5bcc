/**
 * The page-content hash for content-based page sharing (Waldspurger, OSDI'02 §4.1: a 64-bit hash,
 * Bob Jenkins' in ESX). Ours is a fast non-cryptographic 64-bit mix over the frame's Uint32 words,
 * computed directly on the machine-memory slab (no copy, no allocation):
 *
 * - four independent 32-bit lanes (128 bits of state, so the CPU overlaps the four multiply
 *   chains); each step consumes four words and every word enters *two* lanes
 *   (`h1 = rotl(imul(h1 ^ a, M1), 15) + b`, `h2 = rotl(imul(h2 ^ b, M2), 13) ^ c`, … , `h4 … ^ a`),
 *   so a change of any single word perturbs two independent 32-bit states;
 * - a murmur3 `fmix32` avalanche and a cross-mix of all four lanes into each output half;
 * - seeded with the sharing domain's salt, so equal pages in different salt domains hash apart.
 *
 * Why not a cryptographic hash: the hash is only a hint (ESX §4.1); every merge is preceded by a
 * full byte compare, so a collision (natural or forged, threat MEM-04) costs one compare and marks
 * the page ineligible, never a wrong merge. Why not Jenkins' lookup2 verbatim: it works on bytes;
 * word-wise `Math.imul` mixing is what lets V8 keep the scan above 10^6 pages/s (bench `sharing`).
 */
import { PAGE_SIZE } from '../sim/index.js';

const WORDS = PAGE_SIZE >>> 2;
const M1 = 0x9e3779b1;
const M2 = 0x85ebca77;
const M3 = 0xc2b2ae3d;
const M4 = 0x27d4eb2f;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Output slot for {@link hashPage}: `lo` and `hi` 32-bit halves of the 64-bit hash. */
export interface Hash64 {
  lo: number;
  hi: number;
}

/**
 * Hashes the 4 KiB page at word offset `wordOff` of `words` (a slab's Uint32 view) with `salt`,
 * writing the 64-bit result into `out`. No validation (hot path; callers pass machine frames).
 */
export function hashPage(words: Int32Array, wordOff: number, salt: number, out: Hash64): Hash64 {
  let h1 = (salt ^ 0x243f6a88) | 0;
  let h2 = (Math.imul(salt, 0x27d4eb2f) ^ 0x13198a2e) | 0;
  let h3 = (salt ^ 0xa4093822) | 0;
  let h4 = (Math.imul(salt, 0x165667b1) ^ 0x299f31d0) | 0;
  for (let i = wordOff, e = wordOff + WORDS; i < e; i += 4) {
    const a = words[i], b = words[i + 1], c = words[i + 2], d = words[i + 3];
    h1 = Math.imul(h1 ^ a, M1);
    h2 = Math.imul(h2 ^ b, M2);
    h3 = Math.imul(h3 ^ c, M3);
    h4 = Math.imul(h4 ^ d, M4);
    h1 = (((h1 << 15) | (h1 >>> 17)) + b) | 0;
    h2 = ((h2 << 13) | (h2 >>> 19)) ^ c;
    h3 = (((h3 << 17) | (h3 >>> 15)) + d) | 0;
    h4 = ((h4 << 11) | (h4 >>> 21)) ^ a;
  }
  const l = fmix32(h1 ^ Math.imul(h3, M2) ^ WORDS);
  const h = fmix32(h2 ^ Math.imul(h4, M1) ^ l);
  out.lo = fmix32(l ^ h3 ^ (h4 >>> 7));
  out.hi = fmix32(h ^ h1 ^ (h2 >>> 9));
  return out;
}

/** Hashes a standalone 4 KiB page (RangeError unless `page` is exactly 4096 bytes, 4-aligned). */
export function hashBytes(page: Uint8Array, salt = 0): Hash64 {
  if (!(page instanceof Uint8Array) || page.length !== PAGE_SIZE) throw new RangeError('page must be a 4096-byte Uint8Array');
  const words = page.byteOffset % 4 === 0 ? new Int32Array(page.buffer, page.byteOffset, WORDS) : new Int32Array(page.slice().buffer);
  return hashPage(words, 0, salt >>> 0, { lo: 0, hi: 0 });
}

/** Compares two 4 KiB pages word by word (full compare; every word is read when they are equal). */
export function pagesEqual(a: Int32Array, aOff: number, b: Int32Array, bOff: number): boolean {
  // Int32Array views keep V8 on int32 loads (a Uint32Array element above 2^31 would be a double).
  for (let i = 0; i < WORDS; i += 4) {
    if (a[aOff + i] !== b[bOff + i] || a[aOff + i + 1] !== b[bOff + i + 1] ||
        a[aOff + i + 2] !== b[bOff + i + 2] || a[aOff + i + 3] !== b[bOff + i + 3]) return false;
  }
  return true;
}

/**
 * A page hasher: the default is {@link hashPage}; tests inject weak ones (threat MEM-04) through
 * the sharing engine's options.
 */
export type PageHasher = (words: Int32Array, wordOff: number, salt: number, out: Hash64) => Hash64;
