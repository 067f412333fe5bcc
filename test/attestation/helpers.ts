// Shared fixtures for attestation tests.
import { nobleProvider, utf8 } from '../../src/crypto/index.js';
import { buildImage, createAttestedHost, parseImage, policyFor, Verifier, type AttestedHostOptions } from '../../src/attestation/index.js';
import { createSimContext, TerraError } from '../../src/sim/index.js';

export const P = nobleProvider;

/** Runs `f`: 'OK' when it returns, the TerraError's code when it throws one (anything else rethrows). */
export function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof TerraError) return e.code;
    throw e;
  }
  return 'OK';
}

/** A small deterministic image file. */
export function sampleImage(name = 'bank', size = 20_000, salt = 0): Uint8Array {
  const c = new Uint8Array(size);
  for (let i = 0; i < size; i++) c[i] = (i * 31 + salt * 7 + (i >> 8)) & 0xff;
  c.set(utf8(`#!${name}\n`), 0);
  return buildImage(P, c, { name, blockSize: 4096 });
}

/** A host with one closed-box VM (id 1) booted from `image`, and a verifier pinned to its manufacturer. */
export function setup(opts: AttestedHostOptions & { image?: Uint8Array; mode?: 'closed' | 'open' } = {}) {
  const host = createAttestedHost({ seed: 7, ...opts });
  const image = opts.image ?? sampleImage();
  const id = host.service.registerVm(1, { image, mode: opts.mode ?? 'closed' });
  const vctx = createSimContext({ seed: 99 });
  const policy = policyFor(host, [parseImage(P, image).identity]);
  const verifier = new Verifier(vctx, host.provider, [host.rot.manufacturer.certDer], policy);
  return { host, image, id, vctx, policy, verifier };
}
