/**
 * Commands contributed by area modules (attestation: root/quote/verify; storage: fsck). Each
 * registers itself here so `main.ts` stays one table. Every command takes `--json`.
 */
import { ATTEST_COMMANDS } from './attest-commands.js';
import { STORAGE_COMMANDS } from './storage-extra.js';
import { registerCommand } from './main.js';

for (const c of [...ATTEST_COMMANDS, ...STORAGE_COMMANDS]) {
  const hasJson = 'json' in c.options;
  registerCommand(c.name, {
    summary: c.summary,
    usage: hasJson ? c.usage : `${c.usage} [--json]`,
    options: hasJson ? { ...c.options } : { ...c.options, json: 'bool' },
    async run(positionals, opts) {
      const r = c.run(positionals, opts);
      if (!hasJson && opts.json === true) return { exitCode: r.exitCode, stdout: JSON.stringify({ ok: r.exitCode === 0, ...(typeof opts.out === 'string' ? { out: opts.out } : {}), ...(typeof opts['chain-out'] === 'string' ? { chainOut: opts['chain-out'] } : {}), message: r.stdout.trim() }) };
      return r;
    },
  });
}
