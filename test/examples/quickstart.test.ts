import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

describe('README quickstart', () => {
  it('is examples/quickstart.ts verbatim, and it runs and keeps the secret', () => {
    const src = readFileSync(new URL('../../examples/quickstart.ts', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(src.replace("'../src/index.js'", "'terracloak'"));
    const r = spawnSync(process.execPath, ['--import', 'tsx', new URL('../../examples/quickstart.ts', import.meta.url).pathname], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("'secret intact'");
  });
});
