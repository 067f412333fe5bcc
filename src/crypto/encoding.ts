/** Small byte helpers shared by every layer (hex, UTF-8, concatenation, integer encodings). */
import { bytesToHex, hexToBytes as nobleHexToBytes } from '@noble/hashes/utils.js';
import { checkBytes, checkString } from '../sim/index.js';

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  return bytesToHex(checkBytes('bytes', b));
}
/** Bytes of a hex string (even length, [0-9a-fA-F]); RangeError otherwise. */
export function fromHex(h: string): Uint8Array {
  checkString('hex', h);
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new RangeError('hex must be an even-length string of hex digits');
  return nobleHexToBytes(h);
}
/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return te.encode(checkString('string', s));
}
/** String from UTF-8 bytes; TypeError on invalid UTF-8. */
export function fromUtf8(b: Uint8Array): string {
  return td.decode(checkBytes('bytes', b));
}
/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += checkBytes('part', p).length;
  const r = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    r.set(p, o);
    o += p.length;
  }
  return r;
}
/** 4-byte big-endian encoding of an unsigned 32-bit integer. */
export function u32be(n: number): Uint8Array {
  const r = new Uint8Array(4);
  new DataView(r.buffer).setUint32(0, n >>> 0);
  return r;
}
/** 8-byte big-endian encoding of a safe non-negative integer. */
export function u64be(n: number): Uint8Array {
  const r = new Uint8Array(8);
  const dv = new DataView(r.buffer);
  dv.setUint32(0, Math.floor(n / 2 ** 32));
  dv.setUint32(4, n >>> 0);
  return r;
}
