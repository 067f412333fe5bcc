// Attack on the verifier's cost: flood a verification with vendor statements that all name the VM's
// measurement under a pinned vendor's kid but carry bad signatures, so each one costs a signature check.
import { describe, expect, it } from 'vitest';
import { createSimContext } from '../../src/sim/index.js';
import { toHex } from '../../src/crypto/index.js';
import { Verifier, cborDecode, cborEncode, signVendorStatement } from '../../src/attestation/index.js';
import { P, setup } from './helpers.js';

describe('vendor statements', () => {
  it('more than 17 statements with one quote are MALFORMED before any signature check; a bad type is a caller error', () => {
    const { host, policy, id } = setup();
    const vendor = P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(5));
    const pol = { ...policy, allow: { ...policy.allow, vm: [] }, vendors: [{ name: 'V', alg: 'ed25519' as const, publicKey: toHex(vendor.publicKey) }] };
    const v = new Verifier(createSimContext({ seed: 6 }), P, [host.rot.manufacturer.certDer], pol);
    const good = signVendorStatement(P, vendor, { measurement: id.primary, product: 'bank', version: '1' });
    // Same kid and measurement, signature flipped: each one would cost a verification.
    const arr = cborDecode(good, 's') as unknown[];
    const sig = (arr[3] as Uint8Array).slice();
    sig[0] ^= 1;
    const bad = cborEncode([arr[0], arr[1], arr[2], sig]);
    let n = v.issueNonce();
    const flood = v.verify(host.service.quote(1, n), n, { vendorStatements: Array.from({ length: 5000 }, () => bad) });
    expect(flood.failed).toMatchObject({ name: 'decode', code: 'MALFORMED' });
    expect(flood.signatureVerifications).toBe(0);
    // Within the bound, the bad ones are skipped and a good one still vouches.
    n = v.issueNonce();
    const r = v.verify(host.service.quote(1, n), n, { vendorStatements: [...Array.from({ length: 16 }, () => bad), good] });
    expect(r.ok).toBe(true);
    n = v.issueNonce();
    expect(() => v.verify(host.service.quote(1, n), n, { vendorStatements: 'nope' as never })).toThrow(TypeError);
  });
});
