// Fuzzing every decoder (fixed seeds): random and mutated inputs give typed errors only, never a
// crash and never an acceptance of a modified input.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TerraError, createSimContext, isValidationError } from '../../src/sim/index.js';
import { decodeDescriptor, decodeQuote, parseCert, parseImage, parsePolicy, parseSealedBlob, Verifier } from '../../src/attestation/index.js';
import { P, sampleImage, setup } from './helpers.js';

const cfg = { seed: 424242, numRuns: 300 };

/** Runs f; returns 'ok' or the TerraError code; anything else fails the test. */
function typed(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof TerraError) return e.code;
    if (isValidationError(e)) return 'VALIDATION';
    throw e;
  }
}

const mutation = (len: number) =>
  fc.array(fc.tuple(fc.nat({ max: Math.max(0, len - 1) }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 });

function mutate(b: Uint8Array, muts: [number, number][]): Uint8Array {
  const t = b.slice();
  for (const [i, x] of muts) t[i] ^= x;
  return t;
}

describe('decoder fuzzing', () => {
  const { host, verifier } = setup();
  const nonce = verifier.issueNonce();
  const quote = host.service.quote(1, nonce);
  const cert = host.service.chain(1)[1];
  const blob = host.service.seal(1, 'fuzz', new Uint8Array([1, 2, 3]));
  const image = sampleImage('bank', 9000);
  const desc = parseImage(P, image).descriptorBytes;

  it('quote: random bytes → MALFORMED; mutations → refused by the verifier', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      expect(['MALFORMED', 'VALIDATION']).toContain(typed(() => decodeQuote(b)));
    }), cfg);
    const v = new Verifier(createSimContext({ seed: 5 }), P, [host.rot.manufacturer.certDer], setup().policy);
    fc.assert(fc.property(mutation(quote.length), (m) => {
      const n = v.issueNonce();
      const q = host.service.quote(1, n);
      const r = v.verify(mutate(q, m), n);
      expect(r.ok).toBe(false);
    }), { ...cfg, numRuns: 150 });
    fc.assert(fc.property(fc.nat({ max: quote.length - 1 }), (cut) => {
      expect(typed(() => decodeQuote(quote.subarray(0, cut)))).toBe('MALFORMED');
    }), cfg);
  });

  it('certificate: random → MALFORMED; mutations → MALFORMED or a signature that no longer verifies', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 800 }), (b) => {
      expect(['MALFORMED', 'VALIDATION']).toContain(typed(() => parseCert(b)));
    }), cfg);
    const parent = parseCert(host.service.chain(1)[2]);
    fc.assert(fc.property(mutation(cert.length), (m) => {
      const t = mutate(cert, m);
      const c = typed(() => parseCert(t));
      if (c === 'ok') {
        const pc = parseCert(t);
        expect(P.verify(parent.alg, parent.publicKey, pc.tbs, pc.signature)).toBe(false);
      } else expect(c).toBe('MALFORMED');
    }), cfg);
  });

  it('sealed blob: random → MALFORMED; mutations → typed refusal', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      expect(['MALFORMED', 'VALIDATION']).toContain(typed(() => parseSealedBlob(b)));
      expect(['MALFORMED', 'UNSEAL_ERROR', 'VALIDATION']).toContain(typed(() => host.service.unsealBlob(1, b)));
    }), cfg);
    fc.assert(fc.property(mutation(blob.length), (m) => {
      expect(['MALFORMED', 'UNSEAL_ERROR', 'ROLLBACK_DETECTED']).toContain(typed(() => host.service.unsealBlob(1, mutate(blob, m))));
    }), cfg);
  });

  it('image and descriptor: random → MALFORMED; mutations of header/descriptor/hash table → MALFORMED or a different identity', () => {
    const id = parseImage(P, image).identity;
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
      expect(['MALFORMED', 'VALIDATION']).toContain(typed(() => decodeDescriptor(b)));
      expect(['MALFORMED', 'VALIDATION']).toContain(typed(() => parseImage(P, b)));
    }), cfg);
    const metaLen = 28 + desc.length + 32 * 3;
    fc.assert(fc.property(mutation(metaLen), (m) => {
      const t = mutate(image, m);
      const c = typed(() => parseImage(P, t));
      if (c === 'ok') expect(P.equalBytes(parseImage(P, t).identity, id)).toBe(false);
      else expect(c).toBe('MALFORMED');
    }), cfg);
    fc.assert(fc.property(mutation(desc.length), (m) => {
      expect(['MALFORMED', 'ok']).toContain(typed(() => decodeDescriptor(mutate(desc, m))));
    }), cfg);
  });

  it('policy: random JSON values and strings → MALFORMED naming a field', () => {
    fc.assert(fc.property(fc.oneof(fc.json(), fc.string()), (s) => {
      try {
        parsePolicy(s);
        throw new Error('accepted');
      } catch (e) {
        expect(e).toBeInstanceOf(TerraError);
        expect((e as TerraError).code).toBe('MALFORMED');
        expect(typeof (e as TerraError).detail.field).toBe('string');
      }
    }), cfg);
    const good = setup().policy;
    fc.assert(fc.property(fc.constantFrom('version', 'allow', 'minTvmmSvn', 'requireClosedBox', 'revokedKeys', 'nonceTtlSeconds'), fc.oneof(fc.string(), fc.constant(null), fc.constant(-1), fc.constant(1.5)), (k, val) => {
      const bad = { ...good, [k]: val };
      try {
        parsePolicy(JSON.stringify(bad));
        throw new Error('accepted');
      } catch (e) {
        expect((e as TerraError).code).toBe('MALFORMED');
        expect(String((e as TerraError).detail.field)).toBe(k);
      }
    }), cfg);
  });
});

it('vendor statements: random or mutated statements never authorise a VM and never throw', async () => {
  const { signVendorStatement } = await import('../../src/attestation/index.js');
  const { toHex } = await import('../../src/crypto/index.js');
  const { host, policy, id } = setup();
  const vendor = P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(42));
  const pol = { ...policy, allow: { ...policy.allow, vm: [] }, vendors: [{ name: 'V', alg: 'ed25519' as const, publicKey: toHex(vendor.publicKey) }] };
  const v = new Verifier(createSimContext({ seed: 8 }), P, [host.rot.manufacturer.certDer], pol);
  const good = signVendorStatement(P, vendor, { measurement: id.primary, product: 'bank', version: '1' });
  let n = v.issueNonce();
  expect(v.verify(host.service.quote(1, n), n, { vendorStatements: [good] }).ok).toBe(true);
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutation(good.length).map((m) => mutate(good, m))), (s) => {
    n = v.issueNonce();
    const r = v.verify(host.service.quote(1, n), n, { vendorStatements: [s] });
    expect(r.ok).toBe(false);
    expect(r.failed?.code).toBe('MEASUREMENT_MISMATCH');
  }), { seed: 77, numRuns: 150 });
});
