/**
 * Demo stage: Terra attestation (SOSP'03 §4.2). A closed-box "bank" VM is created from an
 * attestable image; measured boot put firmware, boot loader and TVMM into the root of trust; a
 * remote verifier that pins only the manufacturer root challenges the VM, checks the quote's chain
 * and policy, and establishes a session key bound to the quote (so a relayed quote is useless),
 * then hands the VM a secret, which the VM seals to its own measurement. The same image with one
 * byte changed is refused before any secret is sent.
 */
import { nobleProvider as P, toHex, utf8 } from '../crypto/index.js';
import {
  buildImage, checkKeyConfirmation, deriveSessionKey, keyConfirmation, policyFor, Verifier, x25519KeyPair,
} from '../attestation/index.js';
import { bootGuest } from '../guest/index.js';
import { createSimContext, NS_PER_MS } from '../sim/index.js';
import type { StageResult } from './types.js';

/** The bank VM's image content: deterministic bytes standing for its OS and application. */
export function bankImageContent(): Uint8Array {
  const c = new Uint8Array(64 * 1024);
  const text = utf8('terracloak bank VM image: kernel + bank server v1\n');
  for (let i = 0; i < c.length; i++) c[i] = text[i % text.length] ^ (i >> 12);
  return c;
}

/** Runs the attestation stage. */
export function attestStage(seed: number): StageResult {
  const image = buildImage(P, bankImageContent(), { name: 'bank', blockSize: 4096 });
  const bank = bootGuest({ seed, machineMiB: 64, memoryMiB: 8, kind: 'closed-box', name: 'bank', run: ['compute 100'], image });
  const { host, tvmm } = bank;
  tvmm.run({ untilNs: 5 * NS_PER_MS });
  const port = bank.kernel.services.platform.attestation();
  const identity = port.getId().primary;
  const remote = new Verifier(createSimContext({ seed: seed + 1000 }), P, [host.rootOfTrust.manufacturer.certDer], policyFor({ tvmm: host.tvmmIdentity! }, [identity]));

  // 1. Challenge; the VM makes its key pair from its own entropy and binds it into the quote.
  const nonce = remote.issueNonce();
  const vmKeys = x25519KeyPair(host.sim.rng.fork('bank-vm/x25519'));
  const quote = port.quote(nonce, { boundKey: vmKeys.publicKey });
  const report = remote.verify(quote, nonce);
  // 2. Session key from the bound key; the secret travels sealed under it.
  let delivered = false;
  let sealedLocally = false;
  if (report.ok) {
    const eph = x25519KeyPair(remote.ctx.rng.fork('remote/x25519'));
    const kV = deriveSessionKey(P, eph.secretKey, report.boundKey!, nonce, quote);
    const iv = remote.ctx.rng.fork('remote/iv').bytes(24);
    const secret = utf8('account 42: PIN 7391');
    const wire = P.aeadSeal('xchacha20-poly1305', kV, iv, secret, utf8('bank-secret'));
    const kVm = deriveSessionKey(P, vmKeys.secretKey, eph.publicKey, nonce, quote);
    checkKeyConfirmation(P, kVm, 'verifier', keyConfirmation(P, kV, 'verifier'));
    const opened = P.aeadOpen('xchacha20-poly1305', kVm, iv, wire, utf8('bank-secret'));
    delivered = opened !== null && P.equalBytes(opened, secret);
    // 3. The VM seals the secret to its measurement (sealed storage with a rollback counter).
    if (opened) {
      port.seal('pin', opened);
      sealedLocally = P.equalBytes(port.unseal('pin'), secret);
    }
  }
  // 4. The same image with one byte changed, on the same host.
  const content = bankImageContent();
  content[100] ^= 1;
  const evil = bootGuest({ host, memoryMiB: 8, kind: 'closed-box', name: 'bank-tampered', run: ['compute 10'], image: buildImage(P, content, { name: 'bank', blockSize: 4096 }) });
  tvmm.run({ untilNs: 10 * NS_PER_MS });
  const n2 = remote.issueNonce();
  const r2 = remote.verify(evil.kernel.services.platform.attestation().quote(n2, { boundKey: x25519KeyPair(host.sim.rng.fork('evil')).publicKey }), n2);
  const checks = report.checks.map((c) => ({ name: c.name, ok: c.ok === true, detail: c.ok === null ? 'not run' : c.ok ? c.detail : String(c.code ?? c.detail) }));
  const ok = report.ok && delivered && sealedLocally && !r2.ok;
  return {
    id: 'attest',
    title: 'Terra: a closed-box VM attests to a remote verifier and receives a secret',
    lines: [
      `Measured boot recorded firmware, boot loader and TVMM; the TVMM key is certified by the device key, itself certified by the manufacturer CA.`,
      `The closed-box VM "bank" was created from an attestable image: identity ${toHex(identity).slice(0, 16)}… (hash of its per-block hashes).`,
      `The remote verifier pinned only the manufacturer root. Quote: ${quote.length} bytes (EAT claims in COSE_Sign1, X.509 chain in x5chain).`,
      `Verifier checks: ${report.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'}`).join(', ')}.`,
      `A session key bound to the quote carried the secret into the VM (${delivered ? 'delivered' : 'NOT delivered'}); the VM sealed it to its own measurement (${sealedLocally ? 'unsealed again' : 'seal failed'}).`,
      `The same image with one byte changed: ${r2.ok ? 'ACCEPTED (bug)' : `refused at check ${r2.failed?.name} (${r2.failed?.code})`}; no secret sent.`,
    ],
    summary: [
      { stage: 'attest', mechanism: 'remote attestation', result: `${report.checks.filter((c) => c.ok).length}/${report.checks.length} checks passed; secret delivered and sealed`, ok: report.ok && delivered && sealedLocally },
      { stage: 'attest', mechanism: 'tampered image', result: r2.ok ? 'accepted' : `refused (${r2.failed?.code})`, ok: !r2.ok },
    ],
    data: { verified: report.ok, checks, delivered, sealed: sealedLocally, tamperedRefused: !r2.ok, tamperedCheck: r2.failed?.name ?? null, quoteBytes: quote.length, ok },
    report: { attestation: { verified: report.ok, subject: `bank VM ${toHex(identity).slice(0, 16)}…`, checks } },
    events: host.sim.trace.events(),
    traceDigest: host.sim.trace.digest(),
  };
}
