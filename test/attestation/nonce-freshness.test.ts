// Attacks on quote freshness beyond ATT-03: re-arming a consumed nonce through registerNonce,
// keeping a nonce alive by re-registering it, exhausting the verifier's nonce table, nonces from
// another verifier, nonce prefixes.
import { describe, expect, it } from 'vitest';
import { TerraError, createSimContext } from '../../src/sim/index.js';
import { Verifier } from '../../src/attestation/index.js';
import { P, setup } from './helpers.js';

const code = (r: { ok: boolean; failed?: { code: string } }) => (r.ok ? 'OK' : r.failed!.code);

describe('nonce freshness', () => {
  it('a consumed nonce cannot be re-armed with registerNonce (the replayed quote stays NONCE_CONSUMED)', () => {
    const { host, verifier } = setup();
    const n = new Uint8Array(16).fill(0x42); // an externally chosen nonce (e.g. a session id)
    verifier.registerNonce(n);
    const q = host.service.quote(1, n);
    expect(code(verifier.verify(q, n))).toBe('OK');
    let err: unknown;
    try {
      verifier.registerNonce(n);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TerraError);
    expect((err as TerraError).detail.check).toBe('NONCE_CONSUMED');
    expect(code(verifier.verify(q, n))).toBe('NONCE_CONSUMED');
  });

  it('re-registering a live nonce does not extend its life', () => {
    const { host, verifier, vctx, policy } = setup();
    const n = new Uint8Array(16).fill(0x43);
    verifier.registerNonce(n);
    vctx.clock.advance((policy.nonceTtlSeconds - 1) * 1e9);
    expect(() => verifier.registerNonce(n)).toThrow(TerraError);
    vctx.clock.advance(2e9);
    expect(code(verifier.verify(host.service.quote(1, n), n))).toBe('NONCE_EXPIRED');
    // An issued nonce cannot be re-registered either.
    const m = verifier.issueNonce();
    expect(() => verifier.registerNonce(m)).toThrow(TerraError);
  });

  it('the nonce table is bounded: flooding issueNonce evicts the oldest outstanding nonces, never grows without limit', () => {
    const { host, verifier } = setup();
    const first = verifier.issueNonce();
    for (let i = 0; i < 70_000; i++) verifier.issueNonce();
    expect(verifier.stats().outstandingNonces).toBeLessThanOrEqual(65_536);
    // The evicted nonce is unknown now (fail-closed), the newest still works.
    expect(code(verifier.verify(host.service.quote(1, first), first))).toBe('NONCE_UNKNOWN');
    const last = verifier.issueNonce();
    expect(code(verifier.verify(host.service.quote(1, last), last))).toBe('OK');
  });

  it("another verifier's nonce is NONCE_UNKNOWN; a prefix or extension of the session nonce is NONCE_MISMATCH", () => {
    const { host, verifier, policy } = setup();
    const other = new Verifier(createSimContext({ seed: 100 }), P, [host.rot.manufacturer.certDer], policy);
    const theirs = other.issueNonce();
    expect(code(verifier.verify(host.service.quote(1, theirs), theirs))).toBe('NONCE_UNKNOWN');
    const n = verifier.issueNonce();
    expect(code(verifier.verify(host.service.quote(1, n.subarray(0, 16)), n))).toBe('NONCE_MISMATCH');
    const longer = new Uint8Array(40);
    longer.set(n);
    expect(code(verifier.verify(host.service.quote(1, longer), n))).toBe('NONCE_MISMATCH');
    expect(code(verifier.verify(host.service.quote(1, n), n))).toBe('OK');
  });
});
