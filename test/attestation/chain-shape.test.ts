// Attacks on the shape of the x5chain beyond ATT-06: too long, empty, only the leaf, the anchor
// carried in the evidence, a certificate of another host's device spliced in, junk entries.
import { describe, expect, it } from 'vitest';
import { cborDecode, cborEncode, createAttestedHost } from '../../src/attestation/index.js';
import { setup, sampleImage } from './helpers.js';

/** The quote with its x5chain replaced (the COSE signature then covers another header: only the chain checks matter here). */
function withChain(q: Uint8Array, chain: unknown[]): Uint8Array {
  const arr = cborDecode(q.subarray(1), 'q') as unknown[];
  const ph = cborDecode(arr[0] as Uint8Array, 'ph') as Map<number, unknown>;
  ph.set(33, chain);
  arr[0] = cborEncode(ph);
  const body = cborEncode(arr);
  const out = new Uint8Array(body.length + 1);
  out[0] = 0xd2;
  out.set(body, 1);
  return out;
}

describe('x5chain shape', () => {
  it('each malformed shape is refused before any signature on the quote is trusted', () => {
    const { host, verifier } = setup();
    const c = host.service.chain(1);
    const anchor = host.rot.manufacturer.certDer;
    const other = createAttestedHost({ seed: 31, manufacturer: host.rot.manufacturer, deviceLabel: 'device-x' });
    other.service.registerVm(1, { image: sampleImage(), mode: 'closed' });
    const oc = other.service.chain(1);
    const cases: [string, unknown[], string][] = [
      ['nine certificates', [...c, c[1], c[2], c[3], c[4]], 'decode:MALFORMED'],
      ['empty', [], 'decode:MALFORMED'],
      ['a non-bytes entry', [c[0], 'tvmm', ...c.slice(2)], 'decode:MALFORMED'],
      ['a junk entry', [c[0], new Uint8Array(40), ...c.slice(2)], 'decode:MALFORMED'],
      ['only the leaf', [c[0]], 'root:UNTRUSTED_ROOT'],
      ['the anchor appended', [...c, anchor], 'chain:CHAIN_INVALID'],
      ['reversed', [...c].reverse(), 'chain:CHAIN_INVALID'],
      ['another device of the same manufacturer under our TVMM', [c[0], c[1], c[2], c[3], oc[4]], 'chain:CHAIN_INVALID'],
      ["another host's whole boot chain under our VM", [c[0], ...oc.slice(1)], 'chain:CHAIN_INVALID'],
    ];
    for (const [what, chain, expected] of cases) {
      const n = verifier.issueNonce();
      const r = verifier.verify(withChain(host.service.quote(1, n), chain), n);
      expect(r.ok ? 'OK' : `${r.failed!.name}:${r.failed!.code}`, what).toBe(expected);
    }
    // Another host's genuine quote with its own genuine chain is fine for its own manufacturer root:
    // the splice, not the foreign host, is what fails.
    const n = verifier.issueNonce();
    expect(verifier.verify(other.service.quote(1, n), n).ok).toBe(true);
  });
});
