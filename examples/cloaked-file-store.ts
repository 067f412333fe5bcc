/**
 * A cloaked file store that survives a reboot (Overshadow, Chen et al., ASPLOS'08 §4: cloaked
 * files are read and written through cloaked mappings, so the page cache and the disk only ever
 * hold ciphertext; per-file metadata persists, protected and fresh). The app writes records to
 * `/cloaked/store.db`, the VM is powered off and on, and a new instance of the app reads them back
 * through the untrusted kernel's file system. Run: `npx tsx examples/cloaked-file-store.ts`.
 */
import { fileURLToPath } from 'node:url';
import { O, SEEK, SYS, USER_LAYOUT } from '../src/guest/abi.js';
import type { ProgramFn, Proc, TrapRequest } from '../src/tvmm/index.js';
import { bootCloaked, leakScan } from '../src/testing/index.js';

const BUF = USER_LAYOUT.textBase;
const PATH = '/cloaked/store.db';

/** What {@link main} reports. */
export interface FileStoreSummary {
  readonly written: number;
  readonly readBackBeforeReboot: string;
  readonly readBackAfterReboot: string;
  readonly diskBlocks: number;
  readonly diskHoldsPlaintext: boolean;
  readonly metadataFile: string;
  readonly metadataVersions: number;
  readonly securityEvents: number;
}

const RECORDS = Array.from({ length: 40 }, (_, i) => `record ${i.toString().padStart(3, '0')}: balance=${(i * 7919) % 100000} owner=user${i}\n`).join('');

/** Runs the scenario and returns what happened (deterministic). */
export function main(): FileStoreSummary {
  const reads: string[] = [];
  const app: ProgramFn = function* (p: Proc): Generator<TrapRequest, number, number> {
    const mode = p.argv[0];
    p.write(BUF, new TextEncoder().encode(PATH + '\0'));
    const fd = yield* p.syscall(SYS.open, [BUF, O.CREAT | O.RDWR, 0o600]);
    const data = new TextEncoder().encode(RECORDS);
    if (mode === 'write') {
      p.write(BUF + 4096, data);
      const n = yield* p.syscall(SYS.write, [fd, BUF + 4096, data.length]);
      if (n !== data.length) return 1;
      yield* p.syscall(SYS.lseek, [fd, 0, SEEK.SET]);
    }
    const n = yield* p.syscall(SYS.read, [fd, BUF + 65536, data.length]);
    reads.push(new TextDecoder().decode(p.read(BUF + 65536, n)));
    yield* p.syscall(SYS.close, [fd]);
    return 0;
  };
  const w = bootCloaked({ programs: { store: app }, start: [], host: { seed: 4 } });
  w.kernel.spawn('store', ['write']);
  w.run();
  // Reboot the VM: memory and processes are gone; the disk and the TVMM's NV counters remain.
  w.tvmm.power(w.vm, 'off');
  w.tvmm.power(w.vm, 'on');
  w.tvmm.run({ maxSlices: 1 });
  w.kernel.spawn('store', ['read']);
  w.run();
  const secretWindow = new TextEncoder().encode(RECORDS.slice(0, 64));
  return {
    written: RECORDS.length,
    readBackBeforeReboot: reads[0] === RECORDS ? 'all records' : `MISMATCH (${reads[0]?.length ?? 0} bytes)`,
    readBackAfterReboot: reads[1] === RECORDS ? 'all records' : `MISMATCH (${reads[1]?.length ?? 0} bytes)`,
    diskBlocks: w.disk.writtenBlocks().length,
    diskHoldsPlaintext: leakScan(w, secretWindow).some((h) => h.where.startsWith('disk0')),
    metadataFile: `${PATH}.tcmeta (${w.kernel.fs.get(PATH + '.tcmeta')?.size ?? 0} bytes, sealed)`,
    metadataVersions: w.host.sim.trace.counts()['cloak.file.meta.store'] ?? 0,
    securityEvents: w.host.sim.trace.securityEvents().length,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(JSON.stringify(main(), null, 2) + '\n');
}
