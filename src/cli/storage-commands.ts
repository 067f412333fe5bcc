/**
 * CLI glue for storage: `terracloak fsck <volume> [--repair] [--json]` runs the volume checker
 * (src/storage/checker.ts; DeDe ATC'09-style volume) on a file-backed volume. Node-only.
 * Exit codes follow fsck(8): 0 clean, 1 problems corrected, 4 problems left uncorrected, 8 operational error.
 */
import { checkVolume, type VolumeReport } from '../storage/index.js';
import { FileStore } from '../storage/node.js';
import { checkBool, checkObject, checkString } from '../sim/index.js';

/** Runs the checker on the volume file `volume`; never throws for IO or corruption (exit code 8 / 4). */
export function cmdFsck(args: { volume: string; repair?: boolean; json?: boolean }): { exitCode: number; stdout: string } {
  checkObject('args', args);
  const path = checkString('volume', args.volume, { nonEmpty: true });
  const repair = args.repair === undefined ? false : checkBool('repair', args.repair);
  const json = args.json === undefined ? false : checkBool('json', args.json);
  let store: FileStore;
  try {
    store = FileStore.open(path);
  } catch (e) {
    const msg = `fsck: cannot open ${path}: ${(e as Error).message}`;
    return { exitCode: 8, stdout: json ? JSON.stringify({ ok: false, error: msg }) + '\n' : msg + '\n' };
  }
  let report: VolumeReport;
  try {
    report = checkVolume(store, { repair });
  } finally {
    store.close();
  }
  const exitCode = report.findings.length === 0 ? (report.repaired ? 1 : 0) : report.ok && report.repaired ? 1 : 4;
  if (json) return { exitCode, stdout: JSON.stringify(report) + '\n' };
  const lines = [
    `fsck ${path}: ${report.findings.length === 0 ? 'clean' : `${report.findings.length} finding(s)`}${report.repaired ? ` after repair (${report.fixed} fixed)` : ''}`,
    ...report.findings.map((f) => `  ${f.severity.toUpperCase()} ${f.code}: ${f.message}`),
    `  files ${report.stats.files}, used 4 KiB units ${report.stats.usedUnits} (shared ${report.stats.sharedUnits}), pointer blocks ${report.stats.pointerBlocks}, index entries ${report.stats.indexEntries} (stale hints ${report.stats.staleHints}), log records ${report.stats.logRecords}, merge requests ${report.stats.mergeRequests}`,
  ];
  return { exitCode, stdout: lines.join('\n') + '\n' };
}
