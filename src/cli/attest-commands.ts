/**
 * CLI pieces for Terra-style attestation (Garfinkel et al., SOSP'03 §4.1): `root`, `quote` and
 * `verify`. The CLI lead wires these into src/cli/main.ts. Each returns `{ exitCode, stdout }`;
 * bad usage throws UsageError.
 *
 * - `terracloak root --seed N --out root.pem`: writes the simulated manufacturer CA certificate.
 * - `terracloak quote --seed N --image FILE --nonce HEX --out quote.cbor [--chain-out chain.pem]`:
 *   boots host N (root of trust → measured boot → attestation service), creates a closed-box VM
 *   from the image (identity = image descriptor hash), verifies every block ahead of time (exit 1
 *   on a bad block) and writes its quote (and the chain, leaf first).
 * - `terracloak verify quote.cbor --nonce HEX --root root.pem --policy policy.json [--json]`:
 *   exit 0 and `verified` when every check passes; exit 1 naming the failing check otherwise.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { TerraError, createSimContext, checkInt } from '../sim/index.js';
import { fromHex, nobleProvider, toHex } from '../crypto/index.js';
import { ImageLoader, Manufacturer, Verifier, createAttestedHost, fromPem, imageDisk, toPem, type VerificationReport } from '../attestation/index.js';
import { UsageError } from './args.js';

/** What an attestation command returns. */
export interface AttestCommandResult {
  readonly exitCode: number;
  readonly stdout: string;
}

function seedOf(seed: unknown): number {
  const s = typeof seed === 'string' && /^\d+$/.test(seed) ? Number(seed) : seed;
  if (typeof s !== 'number') throw new UsageError('--seed must be a non-negative integer');
  try {
    return checkInt('seed', s);
  } catch {
    throw new UsageError('--seed must be a non-negative integer');
  }
}

function need(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

function nonceOf(v: unknown): Uint8Array {
  const h = need('nonce', v);
  let n: Uint8Array;
  try {
    n = fromHex(h);
  } catch {
    throw new UsageError('--nonce must be hex');
  }
  if (n.length < 8 || n.length > 64) throw new UsageError('--nonce must be 8–64 bytes (16–128 hex digits)');
  return n;
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
}

/** `terracloak root`: writes the manufacturer CA certificate (PEM) of host `seed`. */
export function cmdRoot(opts: { seed: number | string; out: string }): AttestCommandResult {
  const seed = seedOf(opts.seed);
  const out = need('out', opts.out);
  const m = new Manufacturer(createSimContext({ seed }), nobleProvider);
  writeFileSync(out, toPem([m.certDer]));
  return { exitCode: 0, stdout: `wrote ${out} (${m.cn})` };
}

/** `terracloak quote`: boots host `seed`, a closed-box VM from `image`, and writes its quote over `nonce`. */
export function cmdQuote(opts: { seed: number | string; image: string; nonce: string; out: string; chainOut?: string }): AttestCommandResult {
  const seed = seedOf(opts.seed);
  const nonce = nonceOf(opts.nonce);
  const out = need('out', opts.out);
  const img = readBytes(need('image', opts.image), 'image');
  const host = createAttestedHost({ seed });
  let identity: Uint8Array;
  try {
    identity = host.service.registerVm(1, { image: img, mode: 'closed' }).primary;
    // Boot the VM: a small high-assurance image is verified ahead of time (every block) before it runs.
    const measured = host.service.measuredImage(1);
    new ImageLoader(host.ctx, host.provider, measured, imageDisk(measured), 'ahead-of-time', 1).start();
  } catch (e) {
    if (e instanceof TerraError) return { exitCode: 1, stdout: `image refused: ${e.detail.check ?? e.code}: ${e.message}` };
    throw e;
  }
  const q = host.service.quote(1, nonce);
  writeFileSync(out, q);
  if (opts.chainOut) writeFileSync(opts.chainOut, toPem(host.service.chain(1)));
  return { exitCode: 0, stdout: `wrote ${out} (${q.length} bytes; vm identity ${toHex(identity)})` };
}

function reportJson(r: VerificationReport): string {
  return JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? toHex(v) : v));
}

/** `terracloak verify`: verifies a quote against a pinned root and a policy. */
export function cmdVerify(opts: { quote: string; nonce: string; root: string; policy: string; json?: boolean; at?: number }): AttestCommandResult {
  const quote = readBytes(need('quote', opts.quote), 'quote');
  const nonce = nonceOf(opts.nonce);
  const rootText = new TextDecoder().decode(readBytes(need('root', opts.root), 'root'));
  const policyText = new TextDecoder().decode(readBytes(need('policy', opts.policy), 'policy'));
  let verifier: Verifier;
  try {
    // Certificate validity is checked at `at` (ms since 1970) when given, else at the simulation epoch.
    const at = opts.at;
    verifier = new Verifier(createSimContext({ seed: 0 }), nobleProvider, fromPem(rootText), policyText, at === undefined ? {} : { now: () => at });
  } catch (e) {
    if (e instanceof TerraError) {
      const field = e.detail.field !== undefined ? ` (field ${e.detail.field})` : '';
      return { exitCode: 1, stdout: opts.json ? JSON.stringify({ ok: false, error: e.code, message: e.message }) : `refused: ${e.code}${field}: ${e.message}` };
    }
    throw e;
  }
  verifier.registerNonce(nonce);
  const r = verifier.verify(quote, nonce);
  if (opts.json) return { exitCode: r.ok ? 0 : 1, stdout: reportJson(r) };
  if (r.ok) return { exitCode: 0, stdout: 'verified' };
  return { exitCode: 1, stdout: `refused: check ${r.failed!.name} failed with ${r.failed!.code}: ${r.failed!.detail}` };
}

/** Command table for main.ts: name, one-line summary, option spec, and a runner over parsed arguments. */
export const ATTEST_COMMANDS: readonly {
  readonly name: 'root' | 'quote' | 'verify';
  readonly summary: string;
  readonly usage: string;
  readonly options: Readonly<Record<string, 'bool' | 'string' | 'int'>>;
  run(positionals: readonly string[], opts: Readonly<Record<string, string | number | boolean | undefined>>): AttestCommandResult;
}[] = [
  {
    name: 'root',
    summary: 'write the simulated manufacturer CA certificate (PEM) of host N',
    usage: 'terracloak root --seed N --out root.pem',
    options: { seed: 'int', out: 'string' },
    run: (_p, o) => cmdRoot({ seed: o.seed as number, out: o.out as string }),
  },
  {
    name: 'quote',
    summary: "boot host N and a closed-box VM from an image; write the VM's quote (and chain)",
    usage: 'terracloak quote --seed N --image FILE --nonce HEX --out quote.cbor [--chain-out chain.pem]',
    options: { seed: 'int', image: 'string', nonce: 'string', out: 'string', 'chain-out': 'string' },
    run: (_p, o) => cmdQuote({ seed: o.seed as number, image: o.image as string, nonce: o.nonce as string, out: o.out as string, chainOut: o['chain-out'] as string | undefined }),
  },
  {
    name: 'verify',
    summary: 'verify a quote against a pinned root and a policy; prints verified or the failing check',
    usage: 'terracloak verify quote.cbor --nonce HEX --root root.pem --policy policy.json [--json]',
    options: { nonce: 'string', root: 'string', policy: 'string', json: 'bool' },
    run: (p, o) => {
      if (p.length !== 1) throw new UsageError('verify takes exactly one quote file');
      return cmdVerify({ quote: p[0], nonce: o.nonce as string, root: o.root as string, policy: o.policy as string, json: o.json === true });
    },
  },
];
