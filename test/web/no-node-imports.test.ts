import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleForBrowser, coreEntries, ROOT } from './bundle.js';

/** Splits an unminified esbuild bundle into its modules from src/ (esbuild heads each with `// path`). */
function ownModules(code: string): Map<string, string> {
  const m = new Map<string, string>();
  let cur: string | undefined;
  for (const line of code.split('\n')) {
    const h = /^\/\/ (\S+\.(?:ts|js|mjs|cjs))$/.exec(line);
    if (h) cur = h[1].startsWith('src/') ? h[1] : undefined;
    else if (cur) m.set(cur, (m.get(cur) ?? '') + line + '\n');
  }
  return m;
}

describe('the core library runs in a browser', () => {
  it('imports no Node-only module (node:*, fs, path, child_process, …) from any core entry', async () => {
    const entries = coreEntries();
    expect(entries.map((e) => relative(ROOT, e))).toEqual(expect.arrayContaining(['src/sim/index.ts', 'src/crypto/index.ts', 'src/tvmm/index.ts']));
    const stdin = entries.map((e, i) => `export * as m${i} from ${JSON.stringify('./' + relative(ROOT, e).replace(/\\/g, '/'))};`).join('\n');
    const { code, nodeImports } = await bundleForBrowser({ stdin });
    expect(nodeImports).toEqual([]);
    expect(code.length).toBeGreaterThan(10_000);
    // No unguarded Node globals in our own modules either (dependencies guard theirs).
    const ours = ownModules(code);
    expect(ours.size).toBeGreaterThan(10);
    for (const [file, text] of ours) {
      expect(text, file).not.toMatch(/\bBuffer\.(from|alloc|concat|isBuffer)\b/);
      expect(text, file).not.toMatch(/\brequire\(["']/);
      expect(text, file).not.toMatch(/\bprocess\.(env|argv|exit|stdout|stderr|hrtime)\b/);
    }
  });

  it('would catch one (the check itself works)', async () => {
    const { nodeImports } = await bundleForBrowser({ stdin: `import { readFileSync } from 'node:fs'; import * as p from 'path'; export const x = [readFileSync, p];` });
    expect(nodeImports.map((n) => n.path)).toEqual(['node:fs', 'path']);
  });
});
