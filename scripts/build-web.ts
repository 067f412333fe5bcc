/**
 * Bundles the browser demo (examples/web) with esbuild for platform 'browser' into `outdir`
 * (default examples/web/dist): app.js (one minified IIFE script, so index.html also opens from file://)
 * and index.html. Run: npx tsx scripts/build-web.ts [outdir]
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const WEB = fileURLToPath(new URL('../examples/web/', import.meta.url));

/** Builds the demo into `outdir`; returns the paths written. Rejects on a build error. */
export async function buildWeb(outdir: string = join(WEB, 'dist')): Promise<{ html: string; js: string }> {
  mkdirSync(outdir, { recursive: true });
  const js = join(outdir, 'app.js');
  await build({
    entryPoints: [join(WEB, 'app.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    outfile: js,
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const html = join(outdir, 'index.html');
  copyFileSync(join(WEB, 'index.html'), html);
  return { html, js };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildWeb(process.argv[2] ? resolve(process.argv[2]) : undefined).then(
    (r) => process.stdout.write(`wrote ${r.html}\n`),
    (e: unknown) => {
      process.stderr.write(`build-web: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
