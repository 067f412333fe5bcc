/**
 * Verifier policy (Terra, Garfinkel et al., SOSP'03 §4.1 "remote verification": authorised
 * firmware, boot loader, TVMM and application hashes, vendor certificates, revocation). JSON,
 * validated with zod; every error names the offending field. Fail-closed: a policy that could
 * never accept anything (an empty boot allow list; no VM measurement and no vendor) or that allows
 * an all-zero digest is refused at load, and omitted switches take their strict value.
 */
import { z } from 'zod';
import { TerraError } from '../sim/index.js';
import { isWeakPublicKey } from './service.js';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
// An all-zero digest is what a debug or unmeasured component reports (Nitro's zero PCRs): never a measurement to allow.
const measurement = hex32.refine((h) => !/^0+$/.test(h), 'an all-zero digest is not a measurement');
const bootList = z.array(measurement).min(1, 'must list at least one measurement (an empty list would refuse every quote)').max(1024);

/** The policy schema. */
export const PolicySchema = z
  .object({
    version: z.literal(1),
    allow: z
      .object({
        firmware: bootList,
        bootloader: bootList,
        tvmm: bootList,
        vm: z.array(measurement).max(4096),
        /** Secondary attested disks a VM may carry (absent = none): every secondary identity in a quote must be listed or vouched for. */
        secondary: z.array(measurement).max(4096).optional(),
      })
      .strict(),
    minTvmmSvn: z.number().int().min(0).max(0x7fffffff),
    requireClosedBox: z.boolean().default(true),
    allowDebug: z.boolean().default(false),
    vendors: z
      .array(
        z
          .object({
            name: z.string().min(1).max(128),
            alg: z.enum(['ed25519', 'p256']),
            publicKey: z.string().regex(/^([0-9a-f]{64}|[0-9a-f]{66})$/, 'must be a 32-byte Ed25519 or 33-byte compressed P-256 key in hex'),
          })
          .strict()
          // The key must be a valid, non-weak key of the declared algorithm (ATT-07): a small-order
          // Ed25519 point, or a P-256 key listed as Ed25519, would never (or always) verify.
          .refine((v) => v.publicKey.length === (v.alg === 'ed25519' ? 64 : 66) && !isWeakPublicKey(v.alg, hexBytes(v.publicKey)), {
            message: 'must be a valid public key of the declared alg (32-byte Ed25519 of large order, or 33-byte compressed P-256)',
            path: ['publicKey'],
          }),
      )
      .max(256)
      .default([]),
    revokedKeys: z.array(hex32).max(100000).default([]),
    nonceTtlSeconds: z.number().int().min(1).max(86400).default(300),
    algs: z.array(z.enum(['ed25519', 'p256'])).min(1).default(['ed25519', 'p256']),
  })
  .strict()
  // Fail closed at load: with nothing in allow.vm and no vendor to vouch, no VM could ever pass.
  .refine((p) => p.allow.vm.length > 0 || p.vendors.length > 0, { message: 'must list at least one VM measurement, or name a vendor whose statements vouch for VMs', path: ['allow', 'vm'] });

function hexBytes(h: string): Uint8Array {
  const r = new Uint8Array(h.length / 2);
  for (let i = 0; i < r.length; i++) r[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return r;
}

/** A validated policy. */
export type Policy = z.infer<typeof PolicySchema>;

/** Parses and validates a policy from JSON text or an object; TerraError('MALFORMED') with detail.field naming the first bad field. */
export function parsePolicy(input: string | unknown): Policy {
  let v: unknown = input;
  if (typeof input === 'string') {
    if (input.length > 4 << 20) throw new TerraError('MALFORMED', 'policy: too large', { what: 'policy', field: '(root)' });
    try {
      v = JSON.parse(input);
    } catch (e) {
      throw new TerraError('MALFORMED', `policy: not JSON (${(e as Error).message})`, { what: 'policy', field: '(root)' });
    }
  }
  const r = PolicySchema.safeParse(v);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(root)';
    const keys = issue.code === 'unrecognized_keys' ? ` ${JSON.stringify((issue as { keys?: string[] }).keys)}` : '';
    throw new TerraError('MALFORMED', `policy.${path}: ${issue.message}${keys}`, { what: 'policy', field: path });
  }
  return r.data;
}
