// Interoperability: the quote's COSE_Sign1 verified by node:crypto alone (RFC 9052 §4.4
// Sig_structure, leaf key taken by node's X509Certificate), and the chain by the openssl CLI.
import { describe, expect, it } from 'vitest';
import { X509Certificate, verify as nodeVerify } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode } from 'cborg';
import { SIM_EPOCH_MS, parseCert, toPem } from '../../src/attestation/index.js';
import { setup } from './helpers.js';

const OPENSSL = '/usr/bin/openssl';

describe.each(['ed25519', 'p256'] as const)('interop (%s)', (alg) => {
  it('node:crypto verifies the COSE_Sign1 from its structure alone', () => {
    const { host } = setup({ alg });
    const q = host.service.quote(1, new Uint8Array(32).fill(0xab));
    expect(q[0]).toBe(0xd2); // tag 18
    const [prot, unprot, payload, sig] = decode(q.subarray(1), { useMaps: true }) as [Uint8Array, Map<number, unknown>, Uint8Array, Uint8Array];
    expect(unprot.size).toBe(0);
    const hdr = decode(prot, { useMaps: true }) as Map<number, unknown>;
    const chain = hdr.get(33) as Uint8Array[];
    const leaf = new X509Certificate(Buffer.from(chain[0]));
    const toBeSigned = encode(['Signature1', prot, new Uint8Array(0), payload]);
    const ok = alg === 'ed25519'
      ? nodeVerify(null, toBeSigned, leaf.publicKey, sig)
      : nodeVerify('sha256', toBeSigned, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
    expect(ok).toBe(true);
    expect(hdr.get(1)).toBe(alg === 'ed25519' ? -8 : -7);
    const bad = Uint8Array.from(payload);
    bad[bad.length - 1] ^= 1;
    const toBeSigned2 = encode(['Signature1', prot, new Uint8Array(0), bad]);
    expect(alg === 'ed25519' ? nodeVerify(null, toBeSigned2, leaf.publicKey, sig) : nodeVerify('sha256', toBeSigned2, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(false);
    // node's own X.509 check of each link.
    for (let i = 0; i + 1 < chain.length; i++) expect(new X509Certificate(Buffer.from(chain[i])).verify(new X509Certificate(Buffer.from(chain[i + 1])).publicKey)).toBe(true);
  });

  it.skipIf(!existsSync(OPENSSL))('openssl verify accepts the chain and rejects tampered ones', () => {
    const { host } = setup({ alg });
    const chain = host.service.chain(1);
    const dir = mkdtempSync(join(tmpdir(), 'tc-'));
    const root = join(dir, 'root.pem'), leaf = join(dir, 'leaf.pem'), inter = join(dir, 'inter.pem');
    writeFileSync(root, toPem([host.rot.manufacturer.certDer]));
    writeFileSync(leaf, toPem([chain[0]]));
    writeFileSync(inter, toPem(chain.slice(1)));
    const run = (args: string[]): { ok: boolean; out: string } => {
      try {
        return { ok: true, out: execFileSync(OPENSSL, args, { stdio: 'pipe' }).toString() };
      } catch (e) {
        return { ok: false, out: String((e as { stderr?: Buffer }).stderr ?? e) };
      }
    };
    // Pinned verification times (openssl -attime, seconds since 1970) keep this independent of the real date.
    const attime = (ms: number) => ['-attime', String(Math.floor(ms / 1000))];
    const DAY1 = attime(SIM_EPOCH_MS + 86_400_000);
    const good = run(['verify', ...DAY1, '-CAfile', root, '-untrusted', inter, leaf]);
    expect(good.out).toContain('OK');
    expect(good.ok).toBe(true);
    // openssl reads our validity windows as we do. (At notAfter's exact second openssl already says
    // "expired" — X509_cmp_time counts equality as past — while RFC 5280 and our verifier include it.)
    const vmEnd = parseCert(chain[0]).notAfter;
    expect(run(['verify', ...attime(vmEnd - 1000), '-CAfile', root, '-untrusted', inter, leaf]).ok).toBe(true);
    const expired = run(['verify', ...attime(vmEnd + 1000), '-CAfile', root, '-untrusted', inter, leaf]);
    expect(expired.ok).toBe(false);
    expect(expired.out).toContain('certificate has expired');
    const early = run(['verify', ...attime(SIM_EPOCH_MS - 1000), '-CAfile', root, '-untrusted', inter, leaf]);
    expect(early.ok).toBe(false);
    expect(early.out).toContain('not yet valid');
    // Tamper with the TVMM certificate's signature, then with its measurement extension.
    for (const where of ['signature', 'body'] as const) {
      const t = chain.map((c) => c.slice());
      const c = t[1];
      if (where === 'signature') c[c.length - 5] ^= 1;
      else {
        // flip a byte inside the measurement extension's OCTET STRING (after the private OID)
        const oid = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x81, 0xfd, 0x59, 0x01, 0x01];
        let at = -1;
        for (let i = 0; i < c.length - oid.length && at < 0; i++) if (oid.every((b, j) => c[i + j] === b)) at = i;
        expect(at).toBeGreaterThan(0);
        c[at + 40] ^= 1;
      }
      writeFileSync(inter, toPem(t.slice(1)));
      expect(run(['verify', ...DAY1, '-CAfile', root, '-untrusted', inter, leaf]).ok).toBe(false);
    }
    // A chain pinned to another manufacturer's root is rejected.
    writeFileSync(inter, toPem(chain.slice(1)));
    writeFileSync(root, toPem([setup({ alg, seed: 1234 }).host.rot.manufacturer.certDer]));
    expect(run(['verify', ...DAY1, '-CAfile', root, '-untrusted', inter, leaf]).ok).toBe(false);
  });
});
