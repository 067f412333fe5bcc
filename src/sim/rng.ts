/**
 * The seeded deterministic random number generator.
 *
 * Algorithm: a ChaCha20 keystream DRBG. The 32-byte key is SHA-256("terracloak/rng/v1" ‖ label
 * path ‖ seed as 8 little-endian bytes); the nonce is zero; the keystream is produced 4 KiB at a time
 * with the block counter continuing, and consumed in order. `fork(label)` derives an independent
 * stream (key = SHA-256(parent key ‖ label)), so one subsystem drawing more numbers never perturbs
 * another. In simulation mode key material and nonces derive from this generator, which is what
 * makes a run reproducible; `realRandomness` hosts use the platform CSPRNG for them instead.
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { checkInt, checkString } from './validate.js';

const BLOCK = 4096;
const enc = new TextEncoder();

/** A deterministic random stream. */
export class SeededRng {
  readonly #key: Uint8Array;
  readonly #nonce = new Uint8Array(12);
  readonly #buf = new Uint8Array(BLOCK);
  readonly #zeros = new Uint8Array(BLOCK);
  #pos = BLOCK;
  #counter = 0;
  /** Number of bytes drawn so far (for stats and debugging). */
  drawn = 0;

  private constructor(key: Uint8Array) {
    this.#key = key;
  }

  /** A generator for integer seed `seed` (0 … 2^53−1). */
  static fromSeed(seed: number): SeededRng {
    checkInt('seed', seed);
    const s = new Uint8Array(8);
    let v = seed;
    for (let i = 0; i < 8; i++) {
      s[i] = v % 256;
      v = Math.floor(v / 256);
    }
    return new SeededRng(sha256(concat(enc.encode('terracloak/rng/v1'), s)));
  }

  /** An independent child stream named `label`. The same label gives the same stream. */
  fork(label: string): SeededRng {
    checkString('label', label, { nonEmpty: true, max: 256 });
    return new SeededRng(sha256(concat(this.#key, enc.encode('/' + label))));
  }

  #refill(): void {
    chacha20(this.#key, this.#nonce, this.#zeros, this.#buf, this.#counter);
    this.#counter += BLOCK / 64;
    this.#pos = 0;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    if (this.#pos + 4 > BLOCK) this.#refill();
    const b = this.#buf, p = this.#pos;
    this.#pos = p + 4;
    this.drawn += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.u32() >>> 5, lo = this.u32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias. n ≤ 2^32. */
  int(n: number): number {
    if (!(n >= 1 && n <= 2 ** 32 && Number.isInteger(n))) checkInt('n', n, 1, 2 ** 32);
    if (n === 1) return 0;
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.u32();
      if (x < limit) return x % n;
    }
  }

  /** A uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** Fills `out` (or a new array of `n` bytes) with random bytes. */
  bytes(n: number, out?: Uint8Array): Uint8Array {
    const r = out ?? new Uint8Array(checkInt('n', n, 0, 1 << 30));
    for (let i = 0; i < n; ) {
      if (this.#pos >= BLOCK) this.#refill();
      const take = Math.min(n - i, BLOCK - this.#pos);
      r.set(this.#buf.subarray(this.#pos, this.#pos + take), i);
      this.#pos += take;
      i += take;
    }
    this.drawn += n;
    return r;
  }

  /** Picks one element of a non-empty array. */
  pick<T>(arr: readonly T[]): T {
    return arr[this.int(arr.length)];
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [arr[i], arr[j]] = [arr[j], arr[i]];
    }
    return arr;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
}
