/**
 * Benchmark section `attest` (Terra, Garfinkel et al., SOSP'03 attestation): quote generation,
 * full verification (decode, chain to the pinned root, COSE signature, claims, nonce, policy), and
 * one bare signature verification with the same algorithm and backend in the same run. Target: a
 * full verification costs ≤ 1.5× its bare signature verifications.
 */
import { performance } from 'node:perf_hooks';
import { createSimContext } from '../src/sim/index.js';
import { nobleProvider, type CryptoProvider } from '../src/crypto/index.js';
import { nodeProvider } from '../src/node.js';
import { Verifier, buildImage, createAttestedHost, decodeQuote, parseCert, parseImage, policyFor, sigStructure } from '../src/attestation/index.js';
import type { BenchSection } from './types.js';

function rate(n: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(20, n); i++) f(i); // warm up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f(i);
  return n / ((performance.now() - t0) / 1000);
}

/** Measures one backend. */
export function benchAttest(provider: CryptoProvider, n = 300): Record<string, number> {
  const host = createAttestedHost({ seed: 1, provider });
  const image = buildImage(provider, new Uint8Array(20_000).fill(7), { name: 'bench' });
  host.service.registerVm(1, { image, mode: 'closed' });
  const vctx = createSimContext({ seed: 2 });
  const verifier = new Verifier(vctx, provider, [host.rot.manufacturer.certDer], policyFor(host, [parseImage(provider, image).identity]));
  const quotesPerSec = rate(n, (i) => host.service.quote(1, new Uint8Array(32).fill(i & 0xff)));
  const nonces = Array.from({ length: n }, () => verifier.issueNonce());
  const quotes = nonces.map((nn) => host.service.quote(1, nn));
  const d = decodeQuote(quotes[0]);
  const msg = sigStructure(d.protectedBytes, d.payload);
  const pk = parseCert(d.chain[0]).publicKey;
  let sigs = 0;
  // Full and bare verifications alternate in small batches so machine noise hits both alike.
  let fullMs = 0, rawMs = 0, fullN = 0, rawN = 0;
  const batch = 10;
  for (let w = 0; w < 2; w++) {
    const r = verifier.verify(quotes[w], nonces[w]); // warm-up (consumes two nonces)
    if (!r.ok) throw new Error(`bench quote refused: ${r.failed?.code}`);
    provider.verify(d.alg, pk, msg, d.signature);
  }
  for (let k = 2; k + batch <= n; k += batch) {
    let t0 = performance.now();
    for (let i = k; i < k + batch; i++) {
      const r = verifier.verify(quotes[i], nonces[i]);
      if (!r.ok) throw new Error(`bench quote refused: ${r.failed?.code}`);
      sigs = r.signatureVerifications;
    }
    fullMs += performance.now() - t0;
    fullN += batch;
    t0 = performance.now();
    for (let i = 0; i < batch * sigs; i++) if (!provider.verify(d.alg, pk, msg, d.signature)) throw new Error('raw verify failed');
    rawMs += performance.now() - t0;
    rawN += batch * sigs;
  }
  const verifiesPerSec = fullN / (fullMs / 1000);
  const rawVerifyPerSec = rawN / (rawMs / 1000);
  const ratio = rawVerifyPerSec / sigs / verifiesPerSec;
  return {
    quotesPerSec: Math.round(quotesPerSec),
    verifiesPerSec: Math.round(verifiesPerSec),
    rawVerifyPerSec: Math.round(rawVerifyPerSec),
    sigsPerVerify: sigs,
    verifyCostOverSignatures: Math.round(ratio * 100) / 100,
  };
}

/** The `attest` benchmark section (noble is the default backend; node:crypto reported beside it). */
export const attestBench: BenchSection = {
  name: 'attest',
  run() {
    const noble = benchAttest(nobleProvider);
    const node = benchAttest(nodeProvider);
    return { alg: 'ed25519', backend: 'noble', ...noble, node };
  },
};
