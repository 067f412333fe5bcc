/**
 * CLI table entry for storage (DeDe-style cluster volume, Clements et al. ATC'09): `terracloak fsck
 * VOLUME [--repair] [--json]`, shaped like ATTEST_COMMANDS so the CLI lead registers it the same way
 * (src/cli/extra-commands.ts). The work is {@link cmdFsck}; exit codes follow fsck(8): 0 clean,
 * 1 problems corrected, 4 problems left uncorrected, 8 operational error (e.g. the file cannot be opened).
 */
import { UsageError } from './args.js';
import { cmdFsck } from './storage-commands.js';

/** What a storage command returns. */
export interface StorageCommandResult {
  readonly exitCode: number;
  readonly stdout: string;
}

/** The storage commands (name, summary, usage, options, run); bad usage throws UsageError (exit 2). */
export const STORAGE_COMMANDS: readonly {
  readonly name: 'fsck';
  readonly summary: string;
  readonly usage: string;
  readonly options: Readonly<Record<string, 'bool' | 'string' | 'int'>>;
  run(positionals: readonly string[], opts: Readonly<Record<string, string | number | boolean | undefined>>): StorageCommandResult;
}[] = [
  {
    name: 'fsck',
    summary: 'check a file-backed cluster volume (refcounts, pointers, DeDe index and logs); --repair fixes what it can',
    usage: 'terracloak fsck VOLUME [--repair] [--json]',
    options: { repair: 'bool', json: 'bool' },
    run: (p, o) => {
      if (p.length !== 1) throw new UsageError('fsck takes exactly one volume file');
      if (p[0].length === 0) throw new UsageError('fsck: the volume path is empty');
      return cmdFsck({ volume: p[0], repair: o.repair === true, json: o.json === true });
    },
  },
];
