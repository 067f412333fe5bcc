/**
 * Commands contributed by area modules (attestation: root/quote/verify; storage: fsck). Each
 * registers itself here so `main.ts` stays one table. Every command takes `--json`.
 *
 * `verify` gains `--at <ISO time | now>` here: the time certificate validity is checked at. Without
 * it, `cmdVerify` checks at the simulation epoch (2026-01-01T00:00:00Z, virtual time 0: the
 * certificates of `terracloak quote` are dated in simulated time), so one quote gives one answer
 * forever; `--at now` takes the real current time (like `openssl verify`), `--at 2030-01-01T00:00:00Z`
 * an explicit one (like `openssl verify -attime`).
 */
import { ATTEST_COMMANDS, cmdVerify } from './attest-commands.js';
import { STORAGE_COMMANDS } from './storage-extra.js';
import { UsageError } from './args.js';
import { registerCommand } from './main.js';

/** Parses `--at`: `now`, a date (YYYY-MM-DD, midnight UTC) or a date-time with a zone (Z or ±hh:mm); UsageError otherwise. */
export function parseAtTime(v: string, now: () => number = () => Date.now()): number {
  if (v === 'now') return now();
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.exec(v);
  const t = m ? Date.parse(m[4] === undefined ? `${v}T00:00:00Z` : v) : NaN;
  // Date.parse rolls 2030-02-31 over to March: refuse dates whose fields do not survive the round trip.
  const [y, mo, d] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (!m || Number.isNaN(t) || day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || Number(m[4] ?? 0) > 23 || Number(m[5] ?? 0) > 59 || Number(m[6] ?? 0) > 59)
    throw new UsageError('--at must be "now" or an ISO 8601 time with a zone, e.g. 2030-01-01T00:00:00Z (or a date, 2030-01-01)');
  return t;
}

const VERIFY_AT_USAGE = ' [--at <ISO time>|now]';

for (const c of [...ATTEST_COMMANDS, ...STORAGE_COMMANDS]) {
  const hasJson = 'json' in c.options;
  const isVerify = c.name === 'verify';
  const options = { ...c.options, ...(hasJson ? {} : { json: 'bool' as const }), ...(isVerify ? { at: 'string' as const } : {}) };
  registerCommand(c.name, {
    summary: c.summary,
    usage: (hasJson ? c.usage : `${c.usage} [--json]`) + (isVerify ? VERIFY_AT_USAGE : ''),
    options,
    async run(positionals, opts) {
      if (isVerify && opts.at !== undefined) {
        if (typeof opts.at !== 'string') throw new UsageError('--at needs a value');
        const at = parseAtTime(opts.at);
        if (positionals.length !== 1) throw new UsageError('verify takes exactly one quote file');
        return cmdVerify({ quote: positionals[0], nonce: opts.nonce as string, root: opts.root as string, policy: opts.policy as string, json: opts.json === true, at });
      }
      const r = c.run(positionals, opts);
      if (!hasJson && opts.json === true) return { exitCode: r.exitCode, stdout: JSON.stringify({ ok: r.exitCode === 0, ...(typeof opts.out === 'string' ? { out: opts.out } : {}), ...(typeof opts['chain-out'] === 'string' ? { chainOut: opts['chain-out'] } : {}), message: r.stdout.trim() }) };
      return r;
    },
  });
}
