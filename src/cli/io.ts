/** CLI output helpers: progress on stderr only for terminals, colour only for terminals (and not under NO_COLOR). */

/** Whether stdout gets colour. */
export const useColour = (): boolean => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;

/** Wraps text in an ANSI colour when stdout is a colour terminal. */
export function colour(code: 'red' | 'green' | 'yellow' | 'bold' | 'dim', s: string): string {
  if (!useColour()) return s;
  const c = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 }[code];
  return `\u001b[${c}m${s}\u001b[0m`;
}

/** A progress line on stderr, only when stderr is a terminal. */
export function progress(msg: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\u001b[K${msg}`);
}
/** Ends a progress line. */
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\u001b[K');
}

/** Formats rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? '').padEnd(w[i])).join('  ').trimEnd();
  return [line(headers), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}
