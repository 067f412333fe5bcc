/**
 * `npm run bench -- [--json] [--only a,b]`: runs benchmark sections and prints one JSON object on
 * stdout, one key per section. Progress goes to stderr.
 */
import { SECTIONS } from './registry.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? new Set((args[onlyIdx + 1] ?? '').split(',').filter(Boolean)) : undefined;
if (only) {
  for (const n of only) if (!SECTIONS.some((s) => s.name === n)) {
    process.stderr.write(`bench: unknown section ${JSON.stringify(n)}; known: ${SECTIONS.map((s) => s.name).join(', ')}\n`);
    process.exit(2);
  }
}
const out: Record<string, unknown> = {};
for (const s of SECTIONS) {
  if (only && !only.has(s.name)) continue;
  process.stderr.write(`bench: ${s.name}…\n`);
  out[s.name] = await s.run();
}
process.stdout.write(json ? JSON.stringify(out) + '\n' : JSON.stringify(out, null, 2) + '\n');
