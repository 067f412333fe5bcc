// Smoke test of examples/password-vault.ts: the rootkit sees ciphertext, paging keeps the data, a flipped byte is detected.
import { expect, it } from 'vitest';
import { main } from '../../examples/password-vault.js';

it('the password vault stays cloaked through a dump and a swap, and detects a flipped byte', () => {
  const s = main();
  expect(s.kernelSawPlaintext).toBe(false);
  expect(s.appView).toContain('bank=correct hor');
  expect(s.kernelView).not.toContain('bank=');
  expect(s.readBackAfterDump).toBe(true);
  expect(s.gppnAfterSwap).not.toBe(s.gppnBeforeSwap);
  expect(s.readBackAfterSwap).toBe(true);
  expect(s.detection).toBe('killed:INTEGRITY_VIOLATION');
  expect(s.securityEvents).toEqual(['cloak.violation:mac']);
  expect(s.leakScanHits).toBe(0);
  expect(main()).toEqual(s);
});
