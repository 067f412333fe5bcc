/** Hexdump formatting for the browser demo (plain strings; the page escapes nothing because it sets textContent). */

/** Formats bytes as `offset  hh hh … |ascii|` lines, 16 bytes a line, starting at address `base`. */
export function hexdump(bytes: Uint8Array, base = 0): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('hexdump: bytes must be a Uint8Array');
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, Math.min(bytes.length, off + 16));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(47, ' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${(base + off).toString(16).padStart(8, '0')}  ${hex}  |${ascii}|`);
  }
  return lines.join('\n');
}

/** Fraction of printable ASCII bytes (a quick "does this look like plaintext?" measure). */
export function printableRatio(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  let n = 0;
  for (const b of bytes) if (b >= 0x20 && b < 0x7f) n++;
  return n / bytes.length;
}
