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
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Standard base64 (RFC 4648 §4, padded) of bytes. Ours rather than the global `btoa`/`atob`: those
 * are not among the hardened intrinsics, so a guest could replace them (and choose the trust anchor a
 * later `fromPem` parses, or the code of a page kernel compiled later).
 */
export function toBase64(b: Uint8Array): string {
  checkBytes('bytes', b);
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    out += B64[n >>> 18] + B64[(n >>> 12) & 63] + (i + 1 < b.length ? B64[(n >>> 6) & 63] : '=') + (i + 2 < b.length ? B64[n & 63] : '=');
  }
  return out;
}

/** Bytes of standard padded base64 (length a multiple of 4, at most two `=`); RangeError otherwise. */
export function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  checkString('base64', s);
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new RangeError('base64 must be padded standard base64');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  for (let i = 0, o = 0; i < s.length; i += 4) {
    const n = (B64.indexOf(s[i]) << 18) | (B64.indexOf(s[i + 1]) << 12) | ((B64.indexOf(s[i + 2]) & 63) << 6) | (B64.indexOf(s[i + 3]) & 63);
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
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
