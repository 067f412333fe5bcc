// The attestation engine bundles for the browser (no Node built-ins), as the core entry requires.
import { expect, it } from 'vitest';
import { build } from 'esbuild';

it('src/attestation bundles with platform=browser and pulls in no node: module', async () => {
  const r = await build({ entryPoints: ['src/attestation/index.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent', metafile: true });
  expect(r.errors).toHaveLength(0);
  const inputs = Object.keys(r.metafile!.inputs);
  expect(inputs.some((i) => i.startsWith('node:') || /(^|\/)node_modules\/@types\/node\//.test(i))).toBe(false);
  expect(inputs.some((i) => i.includes('src/crypto/node.ts'))).toBe(false);
});
