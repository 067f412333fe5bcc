// Attacks on (and mistakes in) the verifier policy: empty allow lists, all-zero digests, wrong types,
// prototype keys, weak or mislabelled vendor keys, and changing the policy object after the
// verifier was built.
import { describe, expect, it } from 'vitest';
import { TerraError, createSimContext } from '../../src/sim/index.js';
import { toHex } from '../../src/crypto/index.js';
import { Verifier, parsePolicy } from '../../src/attestation/index.js';
import { P, setup } from './helpers.js';

/** The field a refused policy names (detail.field), or 'OK'. */
function field(input: unknown): string {
  try {
    parsePolicy(input as object);
    return 'OK';
  } catch (e) {
    if (e instanceof TerraError && e.code === 'MALFORMED') return String(e.detail.field);
    throw e;
  }
}

const ZERO = '0'.repeat(64);

describe('policy edge cases', () => {
  const { policy } = setup();

  it('a policy that could never accept anything is refused at load, naming the list', () => {
    for (const k of ['firmware', 'bootloader', 'tvmm'] as const) expect(field({ ...policy, allow: { ...policy.allow, [k]: [] } })).toBe(`allow.${k}`);
    expect(field({ ...policy, allow: { ...policy.allow, vm: [] } })).toBe('allow.vm');
    // An empty allow.vm is fine when a pinned vendor can vouch for VMs.
    const vendor = P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(1));
    expect(field({ ...policy, allow: { ...policy.allow, vm: [] }, vendors: [{ name: 'V', alg: 'ed25519', publicKey: toHex(vendor.publicKey) }] })).toBe('OK');
  });

  it('an all-zero digest (a debug or unmeasured component) cannot be allowed', () => {
    for (const k of ['firmware', 'bootloader', 'tvmm', 'vm'] as const) expect(field({ ...policy, allow: { ...policy.allow, [k]: [...policy.allow[k], ZERO] } })).toBe(`allow.${k}[1]`);
  });

  it('wrong types and unknown keys are refused with the field named; nothing is coerced', () => {
    const cases: [unknown, string][] = [
      [{ ...policy, minTvmmSvn: '2' }, 'minTvmmSvn'],
      [{ ...policy, minTvmmSvn: 1.5 }, 'minTvmmSvn'],
      [{ ...policy, requireClosedBox: 'false' }, 'requireClosedBox'],
      [{ ...policy, allowDebug: 0 }, 'allowDebug'],
      [{ ...policy, nonceTtlSeconds: 0 }, 'nonceTtlSeconds'],
      [{ ...policy, algs: [] }, 'algs'],
      [{ ...policy, algs: ['none'] }, 'algs[0]'],
      [{ ...policy, allow: { ...policy.allow, vm: policy.allow.vm[0] } }, 'allow.vm'],
      [{ ...policy, allow: { ...policy.allow, vm: [policy.allow.vm[0].toUpperCase()] } }, 'allow.vm[0]'],
      [{ ...policy, version: 2 }, 'version'],
      [[policy], '(root)'],
      [null, '(root)'],
    ];
    for (const [p, f] of cases) expect(field(p), JSON.stringify(p)?.slice(0, 60)).toBe(f);
    const text = JSON.stringify(policy);
    expect(field(text.replace('{', '{"__proto__":{"allowDebug":true},'))).toBe('(root)');
    expect(field(text.replace('"allow":{', '"allow":{"__proto__":{"vm":[]},'))).toBe('allow');
    expect(({} as { allowDebug?: boolean }).allowDebug).toBeUndefined();
  });

  it('a vendor key must be a valid, non-weak key of its declared algorithm', () => {
    const good = P.keyPairFromSeed('p256', new Uint8Array(32).fill(2));
    const v = (alg: string, publicKey: string) => field({ ...policy, vendors: [{ name: 'V', alg, publicKey }] });
    expect(v('p256', toHex(good.publicKey))).toBe('OK');
    expect(v('ed25519', toHex(good.publicKey))).toBe('vendors[0].publicKey'); // a P-256 key labelled Ed25519
    expect(v('p256', toHex(P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(2)).publicKey))).toBe('vendors[0].publicKey');
    expect(v('ed25519', '01' + '00'.repeat(31))).toBe('vendors[0].publicKey'); // the identity point (small order)
    expect(v('ed25519', 'ff'.repeat(31) + '7f')).toBe('vendors[0].publicKey'); // y ≥ p, non-canonical
    expect(v('p256', '05' + toHex(good.publicKey).slice(2))).toBe('vendors[0].publicKey'); // not a compressed point encoding
  });

  it('changing the policy object after the verifier was built changes nothing', () => {
    const { host } = setup();
    const mine = structuredClone(policy);
    const v = new Verifier(createSimContext({ seed: 4 }), P, [host.rot.manufacturer.certDer], mine);
    mine.allow.vm.length = 0;
    mine.allow.vm.push('ab'.repeat(32));
    mine.minTvmmSvn = 99;
    (mine as { allowDebug: boolean }).allowDebug = true;
    const n = v.issueNonce();
    expect(v.verify(host.service.quote(1, n), n).ok).toBe(true);
  });
});
