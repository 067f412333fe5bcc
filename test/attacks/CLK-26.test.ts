import { describe, expect, it } from 'vitest';
import { cloakAttacks, clk26, nonceLoggingProvider } from '../../src/attacks/cloak.js';
import type { CloakSuiteName } from '../../src/cloaking/index.js';
import { nobleProvider } from '../../src/crypto/index.js';

const scenario = cloakAttacks.find((a) => a.id === 'CLK-26')!;

describe('CLK-26: ' + scenario.attack, () => {
  it('outcome: blocked (' + scenario.expected + ')', async () => {
    for (const seed of [1, 2]) {
      const r = await scenario.run(seed);
      expect(r.outcome, r.detail).toBe('blocked');
    }
  }, 60_000);

  it('never reuses a (key, nonce) pair for any suite across relaunch and crash recovery', () => {
    for (const s of ['xchacha20-poly1305', 'overshadow-2008'] as CloakSuiteName[]) {
      const r = clk26(9, s);
      expect(r.outcome, r.detail).toBe('blocked');
    }
  }, 60_000);
  it('the logging wrapper does catch a reuse (the check can fail)', () => {
    const log = new Map<string, string>();
    const reuse: string[] = [];
    const p = nonceLoggingProvider(nobleProvider, log, reuse);
    const k = new Uint8Array(32), n = new Uint8Array(12);
    p.aeadSeal('aes-256-gcm', k, n, new Uint8Array([1]), new Uint8Array(0));
    p.aeadSeal('aes-256-gcm', k, n, new Uint8Array([1]), new Uint8Array(0));
    expect(reuse).toEqual([]);
    p.aeadSeal('aes-256-gcm', k, n, new Uint8Array([2]), new Uint8Array(0));
    expect(reuse.length).toBe(1);
  });
});
