/**
 * The platform CSPRNG for `realRandomness` hosts, captured when this module loads — before any guest
 * code can run. The TVMM used to call `globalThis.crypto.getRandomValues(key)` at the moment it needed
 * a key: a guest that had replaced that method (or `Crypto.prototype.getRandomValues`) was handed every
 * cloak key, nonce and swap key as they were drawn, and could choose them.
 */
const source: ((out: Uint8Array) => unknown) | undefined = (() => {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  const f = c?.getRandomValues;
  return typeof f === 'function' ? f.bind(c) : undefined;
})();

/** Fills `out` from the platform CSPRNG (in ≤ 65,536-byte calls); throws when the platform has none. */
export function platformRandomBytes(out: Uint8Array): Uint8Array {
  if (source === undefined) throw new Error('realRandomness needs crypto.getRandomValues, which this platform lacks');
  for (let o = 0; o < out.length; o += 65536) source(out.subarray(o, Math.min(out.length, o + 65536)));
  return out;
}
