/**
 * DeDe: decentralized deduplication on a cluster volume (Clements, Ahmad, Vilayannur, Li,
 * USENIX ATC'09 §3). The only in-band part is the write monitor: the SHA-256 (the paper used SHA-1;
 * threats.md STO-03 rules SHA-1 out) of every whole, aligned 4 KiB block written to a monitored file,
 * aggregated per block and appended to a per-host, per-file write log on the shared volume.
 * Out of band, any host that holds (or can take) a file's lock consumes its logs, merges them into
 * the shared index (Fig. 4: absent → Unique → Shared), promotes shared blocks into a virtual arena,
 * eliminates duplicates with a verified compare-and-share, and posts merge requests for files
 * locked by other hosts. No central coordinator: the index and arenas are files with on-disk locks.
 *
 * Trust domains (threats.md STO-01, STO-06): index entries, arenas and merge requests carry the
 * owner domain of the file; blocks never deduplicate across domains, so a tenant's observations
 * (write latency, its own space accounting, API results) cannot depend on another tenant's data.
 */
import {
  checkBool,
  checkInt,
  checkObject,
  type SimContext,
} from '../sim/index.js';
import { nobleProvider, type CryptoProvider } from '../crypto/index.js';
import { ClusterVolume, SUB_SIZE, bytesEqual } from './volume.js';
import { IndexTable, SHARED, UNIQUE } from './index-table.js';
import { crc32 } from './crc32.js';

/** Bytes per write-log record. */
export const LOG_RECORD_SIZE = 64;
const LOG_MAGIC = 0x45444544; // 'DEDE'
/** Name of the shared index file. */
export const INDEX_NAME = '.dede.index';
const INDEX_NEW = '.dede.index.new';
/** Name of the write log of (host, file). */
export function logName(host: number, ino: number): string {
  return `.dede.log.${host}.${ino}`;
}
/** Name of the virtual arena of a trust domain. */
export function arenaName(domain: number): string {
  return `.dede.arena.${domain}`;
}
const LOG_RE = /^\.dede\.log\.(\d+)\.(\d+)$/;
const MR_RE = /^\.dede\.mr\.(\d+)\.(\d+)$/;

/** Options for {@link DedupEngine}. */
export interface DedupOptions {
  /** Hash provider (default noble). */
  crypto?: CryptoProvider;
  /** Buffered records per file before an automatic log flush (default 4096 ⇒ 16 MiB of writes; DeDe §3.3 batches in memory). */
  flushRecords?: number;
  /** Simulation context for the trace (optional). */
  ctx?: SimContext;
  /** Test hook: runs after the engine's own hash check and before the volume's compare-and-share (STO-04 race). */
  beforeRemap?: (ino: number, b4k: number) => void;
}

/** Counters of the engine. */
export interface DedupStats {
  blocksHashed: number;
  bytesHashed: number;
  partialBlocksIgnored: number;
  recordsAggregated: number;
  recordsFlushed: number;
  logBytesWritten: number;
  passes: number;
  passesSkippedBusy: number;
  recordsRead: number;
  badLogRecords: number;
  staleRecords: number;
  uniqueAdded: number;
  promotedToShared: number;
  sharedFromArena: number;
  mergeRequestsPosted: number;
  mergeRequestsApplied: number;
  
  gcUnique: number;
  gcShared: number;
  badIndexEntries: number;
  verifyMismatches: number;
}

/** Result of one {@link DedupEngine.pass}. */
export interface PassReport {
  readonly skipped?: 'index-busy';
  readonly records: number;
  readonly logsProcessed: number;
  readonly uniqueAdded: number;
  readonly shared: number;
  readonly mergeRequestsPosted: number;
  readonly gcShared: number;
  readonly indexEntries: number;
}

interface Buf {
  ino: number;
  gen: number;
  domain: number;
  blocks: Map<number, Uint8Array>;
}

/** Encodes one write-log record. */
export function encodeLogRecord(ino: number, gen: number, b4k: number, domain: number, host: number, hash: Uint8Array): Uint8Array {
  const r = new Uint8Array(LOG_RECORD_SIZE);
  const dv = new DataView(r.buffer);
  dv.setUint32(0, LOG_MAGIC, true);
  dv.setUint32(4, ino, true);
  dv.setUint32(8, gen, true);
  dv.setUint32(12, b4k, true);
  dv.setUint32(16, domain, true);
  dv.setUint32(20, host, true);
  r.set(hash, 24);
  dv.setUint32(60, crc32(r, 0, 60), true);
  return r;
}

/** A decoded log record, or null if its magic or CRC is wrong. */
export function decodeLogRecord(b: Uint8Array, off: number): { ino: number; gen: number; b4k: number; domain: number; host: number; hash: Uint8Array } | null {
  const dv = new DataView(b.buffer, b.byteOffset + off, LOG_RECORD_SIZE);
  if (dv.getUint32(0, true) !== LOG_MAGIC || dv.getUint32(60, true) !== crc32(b, off, off + 60)) return null;
  return {
    ino: dv.getUint32(4, true),
    gen: dv.getUint32(8, true),
    b4k: dv.getUint32(12, true),
    domain: dv.getUint32(16, true),
    host: dv.getUint32(20, true),
    hash: b.slice(off + 24, off + 56),
  };
}

/** The DeDe engine for one volume (shared by its simulated hosts; state lives on the volume). */
export class DedupEngine {
  readonly volume: ClusterVolume;
  readonly #crypto: CryptoProvider;
  readonly #flushRecords: number;
  readonly #ctx: SimContext | undefined;
  readonly #beforeRemap: ((ino: number, b4k: number) => void) | undefined;
  #bufs = new Map<string, Buf>();
  #enabled = true;
  #unsub: () => void;
  readonly #stats: DedupStats = {
    blocksHashed: 0, bytesHashed: 0, partialBlocksIgnored: 0, recordsAggregated: 0, recordsFlushed: 0, logBytesWritten: 0,
    passes: 0, passesSkippedBusy: 0, recordsRead: 0, badLogRecords: 0, staleRecords: 0, uniqueAdded: 0, promotedToShared: 0,
    sharedFromArena: 0, mergeRequestsPosted: 0, mergeRequestsApplied: 0, gcUnique: 0, gcShared: 0,
    badIndexEntries: 0, verifyMismatches: 0,
  };

  /** Attaches the write monitor to `volume`. */
  constructor(volume: ClusterVolume, opts: DedupOptions = {}) {
    if (!(volume instanceof ClusterVolume)) throw new TypeError('volume must be a ClusterVolume');
    checkObject('opts', opts);
    this.volume = volume;
    this.#crypto = opts.crypto ?? nobleProvider;
    this.#flushRecords = opts.flushRecords === undefined ? 4096 : checkInt('flushRecords', opts.flushRecords, 1, 1 << 20);
    this.#ctx = opts.ctx;
    if (opts.beforeRemap !== undefined && typeof opts.beforeRemap !== 'function') throw new TypeError('beforeRemap must be a function');
    this.#beforeRemap = opts.beforeRemap;
    this.#unsub = volume.onWrite((h, ino, off, data) => this.#monitor(h, ino, off, data));
  }

  /** Turns the write monitor on or off (DeDe §3.3: monitoring can shed load). */
  setMonitoring(on: boolean): void {
    this.#enabled = checkBool('on', on);
  }

  /** Detaches the monitor (buffered records are dropped: stale logs only reduce dedup). */
  detach(): void {
    this.#unsub();
    this.#bufs.clear();
  }

  // ───────────────────────────── in-band write monitor ─────────────────────────────

  #monitor(host: number, ino: number, offset: number, data: Uint8Array): void {
    if (!this.#enabled) return;
    const info = this.volume.info(ino);
    if (!info.monitored || info.type !== 'vdisk') return;
    this.observe(host, ino, info.generation, info.domain, offset, data);
  }

  /**
   * Hashes every whole aligned 4 KiB block of a write (partial blocks are ignored, DeDe §3.3) and
   * buffers (block → hash), keeping the last write per block. Exposed for the benchmark.
   */
  observe(host: number, ino: number, gen: number, domain: number, offset: number, data: Uint8Array): void {
    const key = `${host}.${ino}`;
    let buf = this.#bufs.get(key);
    if (!buf || buf.gen !== gen) {
      buf = { ino, gen, domain, blocks: new Map() };
      this.#bufs.set(key, buf);
    }
    const first = Math.ceil(offset / SUB_SIZE) * SUB_SIZE;
    const end = offset + data.length;
    if (first > offset) this.#stats.partialBlocksIgnored++;
    let pos = first;
    for (; pos + SUB_SIZE <= end; pos += SUB_SIZE) {
      const h = this.#crypto.sha256(data.subarray(pos - offset, pos - offset + SUB_SIZE));
      const b4k = pos / SUB_SIZE;
      if (buf.blocks.has(b4k)) this.#stats.recordsAggregated++;
      buf.blocks.set(b4k, h);
      this.#stats.blocksHashed++;
      this.#stats.bytesHashed += SUB_SIZE;
    }
    if (pos < end && end - pos < SUB_SIZE && pos >= first) this.#stats.partialBlocksIgnored++;
    if (buf.blocks.size >= this.#flushRecords) this.flush(host, ino);
  }

  /** Records buffered in memory and not yet in a log. */
  get buffered(): number {
    let n = 0;
    for (const b of this.#bufs.values()) n += b.blocks.size;
    return n;
  }

  /**
   * Appends buffered records to the per-host, per-file write logs on the volume (all of `host`'s
   * files, or only `ino`). A log whose lock another host holds keeps its records buffered.
   * Returns the number of records written.
   */
  flush(host: number, ino?: number): number {
    checkInt('host', host, 1, 0x7fffffff);
    if (ino !== undefined) checkInt('ino', ino, 0);
    let n = 0;
    for (const [key, buf] of this.#bufs) {
      if (!key.startsWith(`${host}.`) || (ino !== undefined && buf.ino !== ino) || buf.blocks.size === 0) continue;
      const name = logName(host, buf.ino);
      let log = this.volume.lookup(name);
      if (log === undefined) log = this.volume.create(host, name, { type: 'log', domain: buf.domain });
      else if (!this.volume.tryLock(host, log)) continue;
      const recs = new Uint8Array(buf.blocks.size * LOG_RECORD_SIZE);
      let k = 0;
      for (const [b4k, h] of buf.blocks) recs.set(encodeLogRecord(buf.ino, buf.gen, b4k, buf.domain, host, h), LOG_RECORD_SIZE * k++);
      this.volume.append(host, log, recs);
      this.volume.unlock(host, log);
      n += buf.blocks.size;
      this.#stats.recordsFlushed += buf.blocks.size;
      this.#stats.logBytesWritten += recs.length;
      buf.blocks.clear();
    }
    return n;
  }

  // ───────────────────────────── out-of-band index update ─────────────────────────────

  #arenaCache = new Map<number, number>();
  #arena(host: number, domain: number): number {
    const c = this.#arenaCache.get(domain);
    if (c !== undefined && this.volume.rawInode(c).type !== 0 && this.volume.info(c).lockHost === host) return c;
    const name = arenaName(domain);
    let a = this.volume.lookup(name);
    if (a === undefined) a = this.volume.create(host, name, { type: 'arena', domain });
    else this.volume.lock(host, a);
    this.#arenaCache.set(domain, a);
    return a;
  }

  #nextMrSeq(): number {
    let m = 0;
    for (const f of this.volume.list()) {
      const x = MR_RE.exec(f.name);
      if (x) m = Math.max(m, Number(x[2]));
    }
    return m + 1;
  }

  #hash(u: Uint8Array): Uint8Array {
    return this.#crypto.sha256(u);
  }

  /**
   * One out-of-band pass by `host` (DeDe §3.4–3.6): consumes the write logs of every file it
   * holds or can lock, updates the shared index, shares duplicates (verified bytewise), posts
   * merge requests for files locked elsewhere, applies merge requests handed to it, garbage
   * collects, and writes the new index. Every step is an atomic volume transaction, so a crash
   * anywhere loses no data; an interrupted pass only leaves dedup undone. Returns a report; if
   * another host holds the index lock the pass is skipped (`skipped: 'index-busy'`).
   */
  pass(host: number): PassReport {
    checkInt('host', host, 1, 0x7fffffff);
    const vol = this.volume;
    this.flush(host);
    this.processMergeRequests(host);
    let idx = vol.lookup(INDEX_NAME);
    if (idx === undefined) idx = vol.create(host, INDEX_NAME, { type: 'index' });
    else if (!vol.tryLock(host, idx)) {
      this.#stats.passesSkippedBusy++;
      return { skipped: 'index-busy', records: 0, logsProcessed: 0, uniqueAdded: 0, shared: 0, mergeRequestsPosted: 0, gcShared: 0, indexEntries: 0 };
    }
    this.#stats.passes++;
    this.#arenaCache.clear();
    try {
      return this.#passLocked(host, idx);
    } catch (e) {
      // Best effort: release what this pass locked (the volume itself is consistent: every step is atomic).
      for (const f of vol.list()) {
        if (f.lockHost !== host || !(f.type === 'index' || f.type === 'arena' || f.type === 'log')) continue;
        try {
          vol.unlock(host, f.ino);
        } catch {
          /* the lease will expire */
        }
      }
      throw e;
    }
  }

  #passLocked(host: number, idx: number): PassReport {
    const vol = this.volume;
    const { table, bad } = IndexTable.parse(vol.readAt(idx, 0, vol.info(idx).size));
    this.#stats.badIndexEntries += bad;

    // 1. Gather records from the logs of files this host holds or can take.
    const taken: number[] = [];
    const logs: number[] = [];
    const recs = new Map<number, { ino: number; gen: number; b4k: number; domain: number; hash: Uint8Array }>();
    for (const f of vol.list()) {
      const m = LOG_RE.exec(f.name);
      if (!m || f.type !== 'log') continue;
      const target = Number(m[2]);
      const tinfo = target < vol.layout.inodes && vol.rawInode(target).type !== 0 ? vol.info(target) : undefined;
      if (tinfo && tinfo.lockHost !== host) {
        if (!vol.tryLock(host, target)) continue; // another live host owns the file: it processes the log
        taken.push(target);
      }
      if (!vol.tryLock(host, f.ino)) continue;
      logs.push(f.ino);
      const bytes = vol.readAt(f.ino, 0, f.size);
      for (let off = 0; off + LOG_RECORD_SIZE <= bytes.length; off += LOG_RECORD_SIZE) {
        const r = decodeLogRecord(bytes, off);
        this.#stats.recordsRead++;
        if (!r) {
          this.#stats.badLogRecords++;
          continue;
        }
        if (!tinfo || r.ino !== target || r.gen !== tinfo.generation || r.domain !== tinfo.domain) {
          this.#stats.staleRecords++;
          continue;
        }
        recs.set(r.ino * 2 ** 20 + r.b4k, r); // aggregate: the latest record per block wins
      }
    }

    // 2. Merge-scan in (domain, hash) order.
    const sorted = [...recs.values()].sort((a, b) => a.domain - b.domain || cmpBytes(a.hash, b.hash));
    const uniqueAt = new Map<number, number>();
    for (const s of table.slots()) if (table.state(s) === UNIQUE) uniqueAt.set(table.ino(s) * 2 ** 20 + table.off(s), s);
    let uniqueAdded = 0, shared = 0, posted = 0;
    const pending = new Map<number, { gen: number; holder: number; domain: number; entries: { aOff: number; b4k: number }[] }>();
    for (const r of sorted) {
      const locKey = r.ino * 2 ** 20 + r.b4k;
      // (d) GC unique: a Unique hint for this block with another hash is stale.
      const old = uniqueAt.get(locKey);
      if (old !== undefined && (table.domain(old) !== r.domain || !bytesEqual(table.hash(old), r.hash))) {
        table.deleteSlot(old);
        uniqueAt.delete(locKey);
        this.#stats.gcUnique++;
      }
      const here = vol.locate(r.ino, r.b4k);
      if (here.kind === 'hole') {
        this.#stats.staleRecords++;
        continue;
      }
      const s = table.find(r.domain, r.hash);
      if (s < 0) {
        // (a) absent → Unique(H, f, o)
        uniqueAt.set(locKey, table.set(r.domain, r.hash, UNIQUE, r.ino, r.gen, r.b4k));
        uniqueAdded++;
        this.#stats.uniqueAdded++;
        continue;
      }
      if (table.state(s) === UNIQUE) {
        // (b) Unique(H, f', o'): verify both blocks, promote into the arena, share.
        const f2 = table.ino(s), o2 = table.off(s), g2 = table.gen(s);
        if (f2 === r.ino && o2 === r.b4k) continue;
        const mine = vol.readUnit(here.unit);
        if (!bytesEqual(this.#hash(mine), r.hash)) {
          this.#stats.staleRecords++;
          continue;
        }
        const otherOk = f2 < vol.layout.inodes && vol.rawInode(f2).type !== 0 && vol.info(f2).generation === g2 && vol.info(f2).domain === r.domain;
        const there = otherOk ? vol.locate(f2, o2) : undefined;
        if (!there || there.kind === 'hole' || !bytesEqual(vol.readUnit(there.unit), mine)) {
          if (there && there.kind !== 'hole') this.#stats.verifyMismatches++;
          uniqueAt.delete(f2 * 2 ** 20 + o2);
          uniqueAt.set(locKey, table.set(r.domain, r.hash, UNIQUE, r.ino, r.gen, r.b4k));
          continue;
        }
        const arena = this.#arena(host, r.domain);
        this.#beforeRemap?.(r.ino, r.b4k);
        if (!bytesEqual(vol.readUnit(vol.locate(r.ino, r.b4k).unit), mine)) {
          this.#stats.verifyMismatches++;
          continue;
        }
        const aOff = vol.arenaAdopt(host, arena, r.ino, r.b4k);
        uniqueAt.delete(f2 * 2 ** 20 + o2);
        table.set(r.domain, r.hash, SHARED, 0, 0, aOff);
        this.#stats.promotedToShared++;
        shared++;
        const f2info = vol.info(f2);
        if (f2info.lockHost === host || vol.tryLock(host, f2)) {
          if (f2info.lockHost !== host) taken.push(f2);
          this.#beforeRemap?.(f2, o2);
          if (vol.shareFromArena(host, arena, aOff, f2, o2)) {
            shared++;
            this.#stats.sharedFromArena++;
          } else this.#stats.verifyMismatches++;
        } else {
          // The other file is locked by a live host: queue a merge request for it (§3.6).
          let q = pending.get(f2);
          if (!q) pending.set(f2, (q = { gen: g2, holder: f2info.lockHost, domain: r.domain, entries: [] }));
          q.entries.push({ aOff, b4k: o2 });
        }
        continue;
      }
      // (c) Shared(H, a): verify the new block and point it at the arena block.
      const aOff = table.off(s);
      const arena = this.#arena(host, r.domain);
      const aLoc = vol.info(arena).size > aOff * SUB_SIZE ? vol.locate(arena, aOff) : undefined;
      if (!aLoc || aLoc.kind === 'hole') {
        uniqueAt.set(locKey, table.set(r.domain, r.hash, UNIQUE, r.ino, r.gen, r.b4k));
        continue;
      }
      if (aLoc.unit === here.unit) continue;
      this.#beforeRemap?.(r.ino, r.b4k);
      if (vol.shareFromArena(host, arena, aOff, r.ino, r.b4k)) {
        shared++;
        this.#stats.sharedFromArena++;
      } else this.#stats.verifyMismatches++;
    }

    // Post the queued merge requests, handing each to the host that holds the target file.
    for (const [f2, q] of pending) {
      const arena = this.#arena(host, q.domain);
      for (let k = 0; k < q.entries.length; k += ClusterVolume.MAX_MERGE_ENTRIES) {
        vol.createMergeRequest(host, `.dede.mr.${f2}.${this.#nextMrSeq()}`, arena, f2, q.gen, q.entries.slice(k, k + ClusterVolume.MAX_MERGE_ENTRIES), q.holder);
        this.#stats.mergeRequestsPosted++;
        posted += Math.min(ClusterVolume.MAX_MERGE_ENTRIES, q.entries.length - k);
      }
    }

    // 3. (d) GC shared: arena blocks referenced only by the arena are freed.
    let gcShared = 0;
    for (const s of table.slots()) {
      if (table.state(s) !== SHARED) continue;
      const name = arenaName(table.domain(s));
      const ar = vol.lookup(name);
      if (ar === undefined || vol.info(ar).size <= table.off(s) * SUB_SIZE) {
        table.deleteSlot(s);
        continue;
      }
      const loc = vol.locate(ar, table.off(s));
      if (loc.kind === 'hole') {
        table.deleteSlot(s);
        continue;
      }
      if (vol.refcount(loc.unit) === 1) {
        this.#arena(host, table.domain(s));
        if (vol.arenaCollect(host, ar, table.off(s))) {
          table.deleteSlot(s);
          gcShared++;
          this.#stats.gcShared++;
        }
      }
    }
    for (const f of vol.list()) {
      if (f.type !== 'arena' || f.lockHost !== host) continue;
      for (let a = 0; a < f.size / SUB_SIZE; a++) {
        const loc = vol.locate(f.ino, a);
        if (loc.kind !== 'hole' && vol.refcount(loc.unit) === 1 && vol.arenaCollect(host, f.ino, a)) gcShared++;
      }
    }

    // 4. Write the new index file and swap it in atomically, then truncate the consumed logs.
    const bytes = table.serialize();
    const stale = vol.lookup(INDEX_NEW);
    if (stale !== undefined) {
      vol.lock(host, stale);
      vol.remove(host, stale);
    }
    const nidx = vol.create(host, INDEX_NEW, { type: 'index' });
    if (bytes.length) vol.append(host, nidx, bytes);
    vol.rename(host, nidx, INDEX_NAME);
    for (const l of logs) vol.remove(host, l);
    for (const f of vol.list()) if (f.type === 'arena' && f.lockHost === host) vol.unlock(host, f.ino);
    for (const t of taken) if (vol.info(t).lockHost === host) vol.unlock(host, t);
    vol.unlock(host, nidx);
    this.#ctx?.trace.emit('storage', 'dede.pass', undefined, { host, records: sorted.length, shared, uniqueAdded });
    return { records: sorted.length, logsProcessed: logs.length, uniqueAdded, shared, mergeRequestsPosted: posted, gcShared, indexEntries: table.size };
  }

  /** Applies merge requests handed to `host` for files it holds (DeDe §3.6). Returns the blocks merged. */
  processMergeRequests(host: number): number {
    checkInt('host', host, 1, 0x7fffffff);
    const vol = this.volume;
    let merged = 0;
    for (const f of vol.list()) {
      if (f.type !== 'merge' || !MR_RE.test(f.name) || f.lockHost !== host) continue;
      const m = vol.applyMergeRequest(host, f.ino);
      merged += m;
      this.#stats.mergeRequestsApplied += m;
    }
    return merged;
  }

  /** Loads the current index (read-only; for experiments, the checker and tests). Throws CORRUPT with `strict`. */
  loadIndex(strict = false): IndexTable {
    const idx = this.volume.lookup(INDEX_NAME);
    if (idx === undefined) return new IndexTable(0);
    return IndexTable.parse(this.volume.readAt(idx, 0, this.volume.info(idx).size), checkBool('strict', strict)).table;
  }

  /** Space accounting visible to one tenant: its logical bytes only (never physical sharing, STO-01). */
  tenantView(domain: number): { files: number; logicalBytes: number } {
    checkInt('domain', domain, 0, 0xffffffff);
    let files = 0, logicalBytes = 0;
    for (const f of this.volume.list()) if (f.type === 'vdisk' && f.domain === domain) {
      files++;
      logicalBytes += f.size;
    }
    return { files, logicalBytes };
  }

  /** Counters (a copy). */
  stats(): DedupStats {
    return { ...this.#stats };
  }
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
