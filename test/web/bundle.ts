/**
 * esbuild helpers for the browser checks: bundle the core for platform 'browser' while recording
 * every Node-only import (node:* or a bare builtin such as fs, path, child_process).
 */
import { existsSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Folders whose index.ts is not part of the browser core (the CLI and node-only test kits). */
const NOT_CORE = new Set(['cli', 'testing']);

/** The core's entry modules: src/index.ts when it exists, plus every folder's index.ts except the CLI. */
export function coreEntries(): string[] {
  const src = join(ROOT, 'src');
  const out: string[] = [];
  if (existsSync(join(src, 'index.ts'))) out.push(join(src, 'index.ts'));
  for (const d of readdirSync(src, { withFileTypes: true }).filter((x) => x.isDirectory()).map((x) => x.name).sort()) {
    if (!NOT_CORE.has(d) && existsSync(join(src, d, 'index.ts'))) out.push(join(src, d, 'index.ts'));
  }
  return out;
}

const builtins = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]]));

/** An import of a Node-only module: what was imported and by which file. */
export interface NodeImport {
  readonly path: string;
  readonly importer: string;
}

/** esbuild plugin that records Node-only imports and keeps them external so the build completes. */
export function recordNodeImports(found: NodeImport[]): Plugin {
  return {
    name: 'record-node-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
        if (args.path.startsWith('node:') || builtins.has(bare) || builtins.has(bare.split('/')[0])) {
          if (args.path.startsWith('.') || args.path.startsWith('/')) return undefined;
          found.push({ path: args.path, importer: relative(ROOT, args.importer) });
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

/** Bundles `entries` (or the given source text) for the browser; returns the code and Node-only imports. */
export async function bundleForBrowser(opts: { entries?: string[]; stdin?: string; outfile?: string; minify?: boolean }): Promise<{ code: string; nodeImports: NodeImport[] }> {
  const found: NodeImport[] = [];
  const r = await build({
    ...(opts.stdin !== undefined
      ? { stdin: { contents: opts.stdin, resolveDir: ROOT, sourcefile: 'entry.ts', loader: 'ts' } }
      : { entryPoints: opts.entries ?? [] }),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: opts.outfile !== undefined,
    ...(opts.outfile !== undefined ? { outfile: opts.outfile } : { outdir: join(ROOT, '.terracloak-bundle-unused') }),
    minify: opts.minify ?? false,
    logLevel: 'silent',
    plugins: [recordNodeImports(found)],
  });
  const code = opts.outfile !== undefined ? '' : r.outputFiles!.map((f) => f.text).join('\n');
  return { code, nodeImports: found };
}
