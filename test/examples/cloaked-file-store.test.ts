// Smoke test of examples/cloaked-file-store.ts: records survive a VM reboot; the disk holds only ciphertext.
import { expect, it } from 'vitest';
import { main } from '../../examples/cloaked-file-store.js';

it('the cloaked file store reads its records back after a reboot and never puts plaintext on disk', () => {
  const s = main();
  expect(s.readBackBeforeReboot).toBe('all records');
  expect(s.readBackAfterReboot).toBe('all records');
  expect(s.diskBlocks).toBeGreaterThan(1);
  expect(s.diskHoldsPlaintext).toBe(false);
  expect(s.metadataVersions).toBe(1);
  expect(s.securityEvents).toBe(0);
  expect(main()).toEqual(s);
});
