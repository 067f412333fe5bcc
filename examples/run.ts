/**
 * `npm run example -- <name>`: runs examples/<name>.ts, which prints its own walkthrough.
 * With no name, lists the examples.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here).filter((f) => f.endsWith('.ts') && f !== 'run.ts').map((f) => f.slice(0, -3)).sort();
const name = process.argv[2];
if (!name || name === '--help') {
  process.stdout.write(`usage: npm run example -- <name>\n\nexamples: ${names.join(', ')}\n`);
  process.exit(name ? 0 : 2);
}
if (!names.includes(name)) {
  process.stderr.write(`unknown example ${JSON.stringify(name)}; examples: ${names.join(', ')}\n`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`), ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
