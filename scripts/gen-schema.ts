/** Writes docs/scenario.schema.json from the zod scenario schema (run: npx tsx scripts/gen-schema.ts; --check exits 1 when stale). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { scenarioJsonSchema } from '../src/scenario/index.js';

const target = fileURLToPath(new URL('../docs/scenario.schema.json', import.meta.url));
const text = scenarioJsonSchema();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    /* missing counts as stale */
  }
  if (current !== text) {
    process.stderr.write('docs/scenario.schema.json is stale: run npx tsx scripts/gen-schema.ts\n');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
