// The cloaking engine and the testing toolkit bundle for the browser (no Node built-ins).
import { expect, it } from 'vitest';
import { build } from 'esbuild';

it.each(['src/cloaking/index.ts', 'src/testing/index.ts'])('%s bundles with platform=browser and pulls in no node: module', async (entry) => {
  const r = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent', metafile: true });
  expect(r.errors).toHaveLength(0);
  const inputs = Object.keys(r.metafile!.inputs);
  expect(inputs.some((i) => i.startsWith('node:') || /(^|\/)node_modules\/@types\/node\//.test(i))).toBe(false);
  expect(inputs.some((i) => i.includes('src/crypto/node.ts'))).toBe(false);
});
