/**
 * Verifier policy (Terra, Garfinkel et al., SOSP'03 §4.1 "remote verification": authorised
 * firmware, boot loader, TVMM and application hashes, vendor certificates, revocation). JSON,
 * validated with zod; every error names the offending field. Fail-closed: an empty allow list
 * allows nothing, and omitted switches take their strict value.
 */
import { z } from 'zod';
import { TerraError } from '../sim/index.js';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');

/** The policy schema. */
export const PolicySchema = z
  .object({
    version: z.literal(1),
    allow: z
      .object({
        firmware: z.array(hex32).max(1024),
        bootloader: z.array(hex32).max(1024),
        tvmm: z.array(hex32).max(1024),
        vm: z.array(hex32).max(4096),
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
          .strict(),
      )
      .max(256)
      .default([]),
    revokedKeys: z.array(hex32).max(100000).default([]),
    nonceTtlSeconds: z.number().int().min(1).max(86400).default(300),
    algs: z.array(z.enum(['ed25519', 'p256'])).min(1).default(['ed25519', 'p256']),
  })
  .strict();

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
