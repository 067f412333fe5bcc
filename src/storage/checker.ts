/**
 * The volume checker (fsck): verifies what DeDe (Clements et al., USENIX ATC'09) and our VMFS-like
 * layer rely on: metadata checksums, inode sanity, pointers and pointer blocks, reference counts
 * (recomputed from every reference), the COW invariant (a pointer without the COW bit names a unit
 * with exactly one reference), the shared index and the write logs. Repair rebuilds the derived
 * state (refcounts, pointer-block map) from the references, never lowers a count below the true
 * number of references, drops corrupt index entries and log records (both are hints: this loses
 * deduplication, never data), clears invalid inodes and pointers, and breaks stale locks.
 *
 * Stale hints (a Unique entry for a rewritten block, a Shared entry for a collected arena slot, an
 * orphaned merge request) are normal after a crash (DeDe §3.7) and are counted, not reported.
 */
import { TerraError, checkBool, checkInt, checkObject } from '../sim/index.js';
import {
  ClusterVolume,
  FILE_TYPES,
  MAX_FILE_BLOCKS,
  PTR_COW,
  PTR_SPLIT,
  SUBS_PER_BLOCK,
  BLOCK_SIZE,
  type RepairPlan,
} from './volume.js';
import type { BlockStore } from './store.js';
import { IndexTable, SHARED, UNIQUE, INDEX_ENTRY_SIZE } from './index-table.js';
import { INDEX_NAME, LOG_RECORD_SIZE, decodeLogRecord } from './dede.js';

/** One problem found by the checker. */
export interface Finding {
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly message: string;
}

/** What {@link checkVolume} returns. */
export interface VolumeReport {
  /** No error-severity findings remain (after repair, if requested). */
  readonly ok: boolean;
  readonly findings: Finding[];
  /** Whether a repair was applied. */
  readonly repaired: boolean;
  /** Findings fixed by the repair. */
  readonly fixed: number;
  readonly stats: {
    files: number;
    usedUnits: number;
    sharedUnits: number;
    pointerBlocks: number;
    indexEntries: number;
    staleHints: number;
    logRecords: number;
    mergeRequests: number;
  };
}

/** Options for {@link checkVolume}. */
export interface CheckOptions {
  /** Apply the repair (default false). Run offline: repair breaks every lock. */
  repair?: boolean;
  /** Host id the repair acts as (default 0x7ffffffe). */
  repairHost?: number;
}

const LOW30 = 0x3fffffff, LOW31 = 0x7fffffff;

/**
 * Checks (and optionally repairs) a volume given as a store (opened here, tolerating corrupt
 * metadata) or an open {@link ClusterVolume}. A store whose superblock (both copies) is unreadable
 * gives an error finding `SUPERBLOCK`, not an exception. TypeError/RangeError on bad options.
 */
export function checkVolume(target: BlockStore | ClusterVolume, opts: CheckOptions = {}): VolumeReport {
  checkObject('opts', opts);
  const repair = opts.repair === undefined ? false : checkBool('repair', opts.repair);
  const repairHost = opts.repairHost === undefined ? 0x7ffffffe : checkInt('repairHost', opts.repairHost, 1, 0x7fffffff);
  let vol: ClusterVolume;
  if (target instanceof ClusterVolume) vol = target;
  else {
    if (typeof target !== 'object' || target === null || typeof (target as BlockStore).read !== 'function') throw new TypeError('target must be a BlockStore or a ClusterVolume');
    try {
      vol = ClusterVolume.open(target, { allowCorrupt: true });
    } catch (e) {
      if (e instanceof TerraError && e.code === 'CORRUPT')
        return { ok: false, findings: [{ severity: 'error', code: 'SUPERBLOCK', message: e.message }], repaired: false, fixed: 0, stats: emptyStats() };
      throw e;
    }
  }
  const first = scan(vol);
  if (!repair || first.findings.length === 0) return first.report(false, 0);
  // Repair: metadata first (offline: locks broken), then index and logs through the file API.
  vol.repairMetadata(first.plan);
  repairDedeFiles(vol, repairHost, first);
  const second = scan(vol);
  const fixed = first.findings.length - second.findings.length;
  return second.report(true, Math.max(0, fixed));
}

function emptyStats(): VolumeReport['stats'] {
  return { files: 0, usedUnits: 0, sharedUnits: 0, pointerBlocks: 0, indexEntries: 0, staleHints: 0, logRecords: 0, mergeRequests: 0 };
}

interface Scan {
  findings: Finding[];
  plan: RepairPlan;
  badLogs: number[];
  badIndex: boolean;
  report(repaired: boolean, fixed: number): VolumeReport;
}

function scan(vol: ClusterVolume): Scan {
  const L = vol.layout;
  const findings: Finding[] = [];
  const add = (severity: Finding['severity'], code: string, message: string) => findings.push({ severity, code, message });
  for (const p of vol.corruptPages()) add('error', 'META_CHECKSUM', `metadata page ${p} fails its checksum`);
  const units = L.largeBlocks * SUBS_PER_BLOCK;
  const trueRc = new Uint32Array(units);
  const pbUsed = new Uint8Array(L.pointerBlocks);
  const clearInodes: number[] = [];
  const pointerEdits: RepairPlan['pointerEdits'] = [];
  const pbEdits: RepairPlan['pbEdits'] = [];
  const noCow: number[] = []; // units named by a pointer without the COW bit
  const names = new Set<string>();
  const stats = emptyStats();
  const live: number[] = [];
  const badIno = new Set<number>(); // inodes with invalid pointers: their content is not read
  for (let ino = 0; ino < L.inodes; ino++) {
    const r = vol.rawInode(ino);
    if (r.type === 0) continue;
    const valid = r.type <= FILE_TYPES.length && r.name !== undefined && !names.has(r.name) && Number.isInteger(r.size) && r.size >= 0 && r.size <= MAX_FILE_BLOCKS * BLOCK_SIZE;
    if (!valid) {
      add('error', 'INODE_INVALID', `inode ${ino} is invalid (type ${r.type}, name ${JSON.stringify(r.name ?? null)}); repair clears it`);
      clearInodes.push(ino);
      continue;
    }
    names.add(r.name!);
    live.push(ino);
    stats.files++;
    // Pointers.
    for (let fb = 0; fb < MAX_FILE_BLOCKS; fb++) {
      const p = vol.rawPointer(ino, fb);
      if (p === 0) continue;
      if (p & PTR_SPLIT) {
        const pb = p & LOW30;
        if (pb >= L.pointerBlocks || (p & PTR_COW) || pbUsed[pb]) {
          add('error', 'BAD_POINTER', `inode ${ino} block ${fb}: invalid or doubly used pointer block ${pb}`);
          badIno.add(ino);
          pointerEdits.push({ ino, fb, value: 0 });
          continue;
        }
        pbUsed[pb] = 1;
        if (!vol.pbAllocated(pb)) add('error', 'PB_UNALLOCATED', `pointer block ${pb} is used by inode ${ino} but marked free`);
        for (let j = 0; j < SUBS_PER_BLOCK; j++) {
          const e = vol.rawPbEntry(pb, j);
          if (e === 0) continue;
          const u = (e & LOW31) - 1;
          if (u >= units) {
            add('error', 'BAD_POINTER', `pointer block ${pb} entry ${j} names unit ${u} beyond the volume`);
            badIno.add(ino);
            pbEdits.push({ pb, j, value: 0 });
            continue;
          }
          trueRc[u]++;
          if (!(e & PTR_COW)) noCow.push(u, -1 - (pb * SUBS_PER_BLOCK + j));
        }
      } else {
        const b = (p & LOW30) - 1;
        if (b >= L.largeBlocks) {
          add('error', 'BAD_POINTER', `inode ${ino} block ${fb} names block ${b} beyond the volume`);
          badIno.add(ino);
          pointerEdits.push({ ino, fb, value: 0 });
          continue;
        }
        for (let j = 0; j < SUBS_PER_BLOCK; j++) trueRc[b * SUBS_PER_BLOCK + j]++;
        if (!(p & PTR_COW)) for (let j = 0; j < SUBS_PER_BLOCK; j++) noCow.push(b * SUBS_PER_BLOCK + j, ino * MAX_FILE_BLOCKS + fb);
      }
    }
    if (r.type === FILE_TYPES.indexOf('merge') + 1) stats.mergeRequests++;
  }
  // COW invariant: a non-COW pointer must be the only reference.
  for (let k = 0; k < noCow.length; k += 2) {
    const u = noCow[k], where = noCow[k + 1];
    if (trueRc[u] <= 1) continue;
    add('error', 'COW_MISSING', `unit ${u} has ${trueRc[u]} references but a pointer to it lacks the COW bit`);
    if (where < 0) {
      const x = -1 - where;
      const pb = Math.floor(x / SUBS_PER_BLOCK), j = x % SUBS_PER_BLOCK;
      pbEdits.push({ pb, j, value: (vol.rawPbEntry(pb, j) | PTR_COW) >>> 0 });
    } else {
      const ino = Math.floor(where / MAX_FILE_BLOCKS), fb = where % MAX_FILE_BLOCKS;
      if (!pointerEdits.some((e) => e.ino === ino && e.fb === fb)) pointerEdits.push({ ino, fb, value: (vol.rawPointer(ino, fb) | PTR_COW) >>> 0 });
    }
  }
  // Refcounts and the pointer-block map.
  let low = 0, leak = 0;
  for (let u = 0; u < units; u++) {
    const s = vol.refcount(u), t = trueRc[u];
    if (t > 0) stats.usedUnits++;
    if (t > 1) stats.sharedUnits++;
    if (s < t) {
      if (low++ < 5) add('error', 'REFCOUNT_LOW', `unit ${u}: stored refcount ${s} < ${t} references`);
    } else if (s > t) {
      if (leak++ < 5) add('warning', 'REFCOUNT_LEAK', `unit ${u}: stored refcount ${s} > ${t} references (leaked space)`);
    }
  }
  if (low > 5) add('error', 'REFCOUNT_LOW', `… and ${low - 5} more units with refcounts below their references`);
  if (leak > 5) add('warning', 'REFCOUNT_LEAK', `… and ${leak - 5} more leaked units`);
  for (let pb = 0; pb < L.pointerBlocks; pb++) {
    stats.pointerBlocks += pbUsed[pb];
    if (!pbUsed[pb] && vol.pbAllocated(pb)) add('warning', 'PB_LEAK', `pointer block ${pb} is allocated but unused`);
  }
  // DeDe files: index and logs.
  let badIndex = false;
  const badLogs: number[] = [];
  const liveSet = new Set(live.filter((i) => !badIno.has(i)));
  const idx = vol.lookup(INDEX_NAME);
  if (idx !== undefined && liveSet.has(idx)) {
    const info = vol.info(idx);
    const { table, bad } = IndexTable.parse(vol.readAt(idx, 0, info.size));
    if (bad) {
      badIndex = true;
      add('warning', 'INDEX_ENTRY_CORRUPT', `${bad} index entr${bad === 1 ? 'y is' : 'ies are'} corrupt or out of order (of ${Math.floor(info.size / INDEX_ENTRY_SIZE)}); repair drops them`);
    }
    stats.indexEntries = table.size;
    for (const s of table.slots()) {
      if (table.state(s) === UNIQUE) {
        const f = table.ino(s);
        if (f >= L.inodes || !liveSet.has(f) || vol.info(f).generation !== table.gen(s)) stats.staleHints++;
      } else if (table.state(s) === SHARED) {
        const ar = vol.lookup(`.dede.arena.${table.domain(s)}`);
        if (ar === undefined || vol.info(ar).size <= table.off(s) * 4096 || vol.locate(ar, table.off(s)).kind === 'hole') stats.staleHints++;
      }
    }
  }
  for (const ino of liveSet) {
    const info = vol.info(ino);
    if (info.type !== 'log') continue;
    const bytes = vol.readAt(ino, 0, info.size);
    let bad = info.size % LOG_RECORD_SIZE === 0 ? 0 : 1;
    for (let off = 0; off + LOG_RECORD_SIZE <= bytes.length; off += LOG_RECORD_SIZE) {
      stats.logRecords++;
      if (!decodeLogRecord(bytes, off)) bad++;
    }
    if (bad) {
      badLogs.push(ino);
      add('warning', 'LOG_RECORD_CORRUPT', `write log ${info.name}: ${bad} corrupt record(s); repair drops them`);
    }
  }
  const plan: RepairPlan = { trueRc, pbUsed, clearInodes, pointerEdits, pbEdits, clearLocks: true };
  return {
    findings,
    plan,
    badLogs,
    badIndex,
    report: (repaired, fixed) => ({ ok: !findings.some((f) => f.severity === 'error'), findings, repaired, fixed, stats }),
  };
}

function repairDedeFiles(vol: ClusterVolume, host: number, s: Scan): number {
  let n = 0;
  if (s.badIndex) {
    const idx = vol.lookup(INDEX_NAME);
    if (idx !== undefined) {
      const { table } = IndexTable.parse(vol.readAt(idx, 0, vol.info(idx).size));
      vol.lock(host, idx);
      vol.setSize(host, idx, 0);
      const bytes = table.serialize();
      if (bytes.length) vol.append(host, idx, bytes);
      vol.unlock(host, idx);
      n++;
    }
  }
  for (const ino of s.badLogs) {
    if (vol.rawInode(ino).type === 0) continue;
    const info = vol.info(ino);
    const bytes = vol.readAt(ino, 0, info.size);
    const good: Uint8Array[] = [];
    for (let off = 0; off + LOG_RECORD_SIZE <= bytes.length; off += LOG_RECORD_SIZE) if (decodeLogRecord(bytes, off)) good.push(bytes.slice(off, off + LOG_RECORD_SIZE));
    vol.lock(host, ino);
    vol.setSize(host, ino, 0);
    if (good.length) {
      const all = new Uint8Array(good.length * LOG_RECORD_SIZE);
      good.forEach((g, i) => all.set(g, i * LOG_RECORD_SIZE));
      vol.append(host, ino, all);
    }
    vol.unlock(host, ino);
    n++;
  }
  return n;
}
