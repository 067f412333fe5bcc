/**
 * Content-based page sharing after VMware ESX (Waldspurger, OSDI'02 §4): random scanning with
 * per-VM and system-wide rate limits, a 64-bit content hash ({@link hashPage}), one global hash
 * table of *shared* frames and *hint* frames, a full byte compare before every merge, copy-on-write
 * on write (MemoryManager.breakCow), the zero page as an ordinary shared frame, stats in Linux KSM's
 * vocabulary (pages_shared, pages_sharing, pages_unshared, full_scans, cow_breaks, false_matches).
 *
 * The table holds no object per frame: per-MPN typed side tables record each entry's kind (hint or
 * shared), its 64-bit hash, its sharing salt and (for hints) the back-reference VM + GPPN; one
 * `Map<key, mpn>` indexes them by hash. Stale entries (frame freed, remapped or rewritten) are
 * detected on lookup and dropped — ESX keeps no backmap either.
 *
 * **Sharing domains (salting, as ESX since 2015):** every VM has a salt; inter-VM sharing happens
 * only between VMs configured into the same named domain. By default each VM is its own domain,
 * so sharing is intra-VM only. The salt seeds the hash and is checked again before a merge.
 * Salts are keyed with a per-host secret drawn from the host's seeded DRBG (never visible to a
 * guest): the hash algorithm is public and not cryptographic, so with predictable salts a guest
 * could craft pages whose hashes land on a victim's table keys and evict its hints (hash flooding,
 * as against unkeyed hash tables); with a secret key it would have to guess 32 bits first.
 *
 * **What is eligible** (everything else is never hashed, indexed or merged):
 * - the VM has sharing enabled (default on) and the GPPN is PRESENT and private (not SHARED);
 * - the page is not CLOAKED, PINNED, TRACED (a guest page table), SWAPPED or BALLOONED;
 * - the frame is USED, owned by that VM, and its FrameFlag has neither CLOAKED nor PINNED.
 * So cloaked plaintext (and cloaked ciphertext) never enters sharing (threat MEM-01, property P6).
 *
 * **Noninterference:** the scanner never advances the virtual clock; its CPU cost is accumulated in
 * `scanCpuNs`. Candidate selection depends only on the seeded rng and page counts, never on
 * contents, so ineligible pages cost the same as eligible ones.
 */
import { invariantError, NO_MPN, type Gppn, type Mpn, type SeededRng, type VmId } from '../sim/index.js';
import { checkBool, checkInt, checkObject, checkString, checkFunction } from '../sim/index.js';
import { FrameFlag, OWNER_NONE, SLAB_SHIFT, MachineMemory } from './machine.js';
import type { MemoryManager } from './manager.js';
import { PageState, type Pmap } from './pmap.js';
import { HashIndex } from './hash-index.js';
import { createPageKernel, hashPage, hashPageJs, pagesEqual, type FrameKernel, type Hash64, type PageHasher, type PageKernel } from './hash.js';

const KIND_NONE = 0;
const KIND_HINT = 1;
const KIND_SHARED = 2;
const INELIGIBLE_STATE = PageState.CLOAKED | PageState.PINNED | PageState.TRACED | PageState.SWAPPED | PageState.BALLOONED | PageState.SHARED;
const INELIGIBLE_FRAME = FrameFlag.CLOAKED | FrameFlag.PINNED | FrameFlag.SHARED;

/** Named crash points of a merge (threat FLT-02, model C1). */
export const MERGE_CRASH_POINTS = ['merge.afterFirst', 'merge.afterFree'] as const;

/** Options of {@link PageSharing}. */
export interface SharingOptions {
  /** Max pages scanned per VM per {@link PageSharing.scan} call (ESX per-VM rate cap). Default 4096. */
  perVmPagesPerScan?: number;
  /** Max pages scanned system-wide per scan call (ESX system-wide cap). Default 16384. */
  systemPagesPerScan?: number;
  /** Hash function (tests inject weak ones, threat MEM-04). Default {@link hashPage}. */
  hasher?: PageHasher;
  /** Virtual ns charged to `scanCpuNs` per page hashed. Default: the cost table's `sharingHash`. */
  hashCostNs?: number;
}

/** Outcome of one candidate page. */
export type ShareOutcome = 'ineligible' | 'hint' | 'merged' | 'false-match' | 'stale-hint';

/** System-wide sharing counters (KSM vocabulary; ESX's "shared"/"reclaimed" beside them). */
export interface SharingStats {
  /** Distinct shared frames in use (KSM pages_shared). */
  pages_shared: number;
  /** Extra mappings onto shared frames = pages saved (KSM pages_sharing; ESX "reclaimed"). */
  pages_sharing: number;
  /** Hint frames in the table: checked, unique so far (KSM pages_unshared). */
  pages_unshared: number;
  /** Completed scans' worth of pages (random scan: one per Σ VM pages scanned). */
  full_scans: number;
  /** Copy-on-write breaks of shared pages (vmstat cow_ksm). */
  cow_breaks: number;
  /** Hash equal, bytes different: the page stays unshared (ESX §4.1). */
  false_matches: number;
  /** GPPNs mapped onto shared frames (ESX "shared"). */
  sharedPpns: number;
  /** GPPNs mapped onto shared all-zero frames. */
  zeroPpns: number;
  /** Candidates looked at, and how many were ineligible. */
  pagesScanned: number;
  ineligible: number;
  merges: number;
  byteCompares: number;
  staleHints: number;
  /** Virtual CPU ns the scanner would have spent (never charged to guest time). */
  scanCpuNs: number;
  tableEntries: number;
  /** Bytes of sharing metadata: 19 B of per-frame side tables + ≈ 32 B per table entry (ESX: < 0.5 % of memory). */
  metadataBytes: number;
  /** KSM's general_profit: bytes saved by sharing minus metadata bytes. */
  general_profit: number;
}

/** The content-based page-sharing engine (one per host). */
export class PageSharing {
  readonly #mm: MemoryManager;
  readonly #m: MachineMemory;
  readonly #rng: SeededRng;
  readonly #hasher: PageHasher;
  readonly #kind: Uint8Array;
  /**
   * Per-frame table entry, four int32 per frame so one cache line serves a lookup: [hash lo, hash
   * hi, salt, back-reference GPPN] (hash halves stored as int32: compare with `| 0`).
   */
  readonly #ent: Int32Array;
  readonly #backVm: Uint16Array;
  readonly #table = new HashIndex();
  readonly #vmSalt = new Map<number, number>();
  readonly #domains = new Map<string, number>();
  readonly #disabled = new Set<number>();
  readonly #perVm: number;
  readonly #system: number;
  readonly #hashCost: number;
  /** Per-host secret mixed into every salt (see the file comment). */
  readonly #saltKey: number;
  readonly #h: Hash64 = { lo: 0, hi: 0 };
  readonly #h2: Hash64 = { lo: 0, hi: 0 };
  /** Salt → hash of the all-zero page (lo, hi), to recognise a merged duplicate that is all zero. */
  readonly #zeroHash = new Map<number, Hash64>();
  /** The page kernel (WebAssembly SIMD or JS) when the default hasher is in use; else null. */
  readonly #k: PageKernel | null;
  /** The machine's in-place page kernel when the default hasher is in use; else null. */
  readonly #fk: FrameKernel | null;
  #scannedSinceFull = 0;
  /** Scanner PRNG state (mulberry32, seeded from the SeededRng; see {@link PageSharing.scan}). */
  #x: number;
  #s = { full_scans: 0, cow_breaks: 0, false_matches: 0, pagesScanned: 0, ineligible: 0, merges: 0, byteCompares: 0, staleHints: 0, scanCpuNs: 0 };
  readonly #perVmStats = new Map<number, { scanned: number; merged: number; cowBreaks: number }>();

  /** Creates the engine over `mm`; TypeError/RangeError on bad options. Chains onto `mm.onCowBreak`. */
  constructor(mm: MemoryManager, rng: SeededRng, opts: SharingOptions = {}) {
    checkObject('options', opts);
    this.#mm = mm;
    this.#m = mm.machine;
    this.#rng = rng;
    this.#perVm = opts.perVmPagesPerScan === undefined ? 4096 : checkInt('perVmPagesPerScan', opts.perVmPagesPerScan, 1);
    this.#system = opts.systemPagesPerScan === undefined ? 16384 : checkInt('systemPagesPerScan', opts.systemPagesPerScan, 1);
    this.#hasher = opts.hasher === undefined ? hashPage : (checkFunction('hasher', opts.hasher) as PageHasher);
    // The default hasher runs in the page kernel: in place on the frames when the machine has one,
    // else on copies in a small kernel of its own; an injected hasher runs on the slabs in JS.
    this.#fk = this.#hasher === hashPage ? this.#m.kernel : null;
    this.#k = this.#hasher === hashPage && this.#fk === null ? createPageKernel() : null;
    this.#hashCost = opts.hashCostNs === undefined ? mm.ctx.costs.sharingHash : checkInt('hashCostNs', opts.hashCostNs, 0);
    this.#x = rng.u32() | 0;
    this.#saltKey = rng.u32() | 0;
    const n = this.#m.frames;
    this.#kind = new Uint8Array(n);
    this.#ent = new Int32Array(n * 4);
    this.#backVm = new Uint16Array(n);
    const prev = mm.onCowBreak;
    mm.onCowBreak = (vm, g, oldM, newM) => {
      prev?.(vm, g, oldM, newM);
      this.#onCowBreak(vm, g, oldM, newM);
    };
  }

  /** Puts `vm` into the named sharing domain (inter-VM sharing only within one), or back into its own with `undefined`. */
  setDomain(vm: VmId, domain: string | undefined): void {
    checkInt('vm', vm, 0, 0xffff);
    if (domain === undefined) {
      this.#vmSalt.delete(vm);
      return;
    }
    checkString('domain', domain, { nonEmpty: true, max: 128 });
    let salt = this.#domains.get(domain);
    if (salt === undefined) this.#domains.set(domain, (salt = 0x100000 + this.#domains.size));
    this.#vmSalt.set(vm, salt);
  }

  /** Enables or disables sharing for one VM (ESX `sched.mem.pshare.enable`). */
  setEnabled(vm: VmId, enabled: boolean): void {
    checkInt('vm', vm, 0, 0xffff);
    if (checkBool('enabled', enabled)) this.#disabled.delete(vm);
    else this.#disabled.add(vm);
  }

  /** The salt of a VM: its domain's, or a per-VM one (intra-VM sharing only). */
  saltOf(vm: VmId): number {
    return keyedSalt(this.#vmSalt.get(vm) ?? 0x10000 + vm, this.#saltKey);
  }

  /** True when (vm, gppn) may be hashed and merged (see the file comment for the exact rule). */
  isEligible(vm: VmId, g: Gppn): boolean {
    if (this.#disabled.has(vm) || !this.#mm.hasVm(vm)) return false;
    const p = this.#mm.pmap(vm);
    if (g < 0 || g >= p.pages) return false;
    const st = p.state[g];
    if (!(st & PageState.PRESENT) || st & INELIGIBLE_STATE) return false;
    const f = p.mpn[g];
    if (f === NO_MPN) return false;
    const fl = this.#m.flags[f];
    return (fl & FrameFlag.USED) !== 0 && (fl & INELIGIBLE_FRAME) === 0 && this.#m.owner[f] === vm && this.#m.refcount[f] === 1;
  }

  /** Uniform-ish integer in [0, n) from the scanner's mulberry32 stream (bias < n / 2^32). */
  #rand(n: number): number {
    let t = (this.#x = (this.#x + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) * n) / 4294967296);
  }

  /**
   * Scans up to `budget` (default: the system-wide cap) randomly chosen pages, at most the per-VM
   * cap per VM; returns how many pages it looked at. Candidates come from a mulberry32 stream seeded
   * from the host's SeededRng (one ChaCha draw per engine instead of one per page: the scanner's
   * picks are as reproducible as every other random choice, at a fraction of the cost).
   */
  scan(budget?: number): number {
    const b = budget === undefined ? this.#system : Math.min(checkInt('budget', budget, 0), this.#system);
    const vms = this.#mm.vms().filter((v) => !this.#disabled.has(v));
    if (vms.length === 0 || b === 0) return 0;
    const pmaps = vms.map((v) => this.#mm.pmap(v));
    const salts = vms.map((v) => this.saltOf(v));
    const stats = vms.map((v) => this.#vmStat(v));
    const done = new Int32Array(vms.length);
    let total = 0;
    for (const p of pmaps) total += p.pages;
    let n = 0;
    let open = vms.length;
    while (n < b && open > 0) {
      const i = vms.length === 1 ? 0 : this.#rand(vms.length);
      if (done[i] >= this.#perVm) continue;
      if (++done[i] === this.#perVm) open--;
      const p = pmaps[i];
      this.#examine(vms[i], p, this.#rand(p.pages) as Gppn, salts[i], stats[i]);
      n++;
      if (++this.#scannedSinceFull >= total) {
        this.#scannedSinceFull = 0;
        this.#s.full_scans++;
      }
    }
    return n;
  }

  #vmStat(vm: number) {
    let s = this.#perVmStats.get(vm);
    if (!s) this.#perVmStats.set(vm, (s = { scanned: 0, merged: 0, cowBreaks: 0 }));
    return s;
  }

  /**
   * One candidate (ESX §4.1 steps 2–4): hash, look up, and on a match compare all bytes and merge
   * (share before swap uses this too). Never throws for guest-controlled state.
   */
  tryShare(vm: VmId, g: Gppn): ShareOutcome {
    if (this.#disabled.has(vm) || !this.#mm.hasVm(vm)) {
      this.#s.pagesScanned++;
      this.#s.ineligible++;
      return 'ineligible';
    }
    const p = this.#mm.pmap(vm);
    if (!Number.isInteger(g) || g < 0 || g >= p.pages) throw new RangeError(`gppn ${g} out of range`);
    return this.#examine(vm, p, g, this.saltOf(vm), this.#vmStat(vm));
  }

  #examine(vm: VmId, p: Pmap, g: Gppn, salt: number, vs: { scanned: number }): ShareOutcome {
    this.#s.pagesScanned++;
    vs.scanned++;
    const st = p.state[g];
    const mb = p.mpn[g];
    if (!(st & PageState.PRESENT) || st & INELIGIBLE_STATE || mb === NO_MPN) {
      this.#s.ineligible++;
      return 'ineligible';
    }
    const fl0 = this.#m.flags[mb];
    if ((fl0 & FrameFlag.USED) === 0 || (fl0 & INELIGIBLE_FRAME) !== 0 || this.#m.owner[mb] !== vm || this.#m.refcount[mb] !== 1) {
      this.#s.ineligible++;
      return 'ineligible';
    }
    const h = this.#hashFrame(mb, 0, salt, this.#h);
    const lo = h.lo >>> 0, hi = h.hi >>> 0;
    const key = keyOf(lo, hi);
    const e = this.#table.get(key);
    if (e < 0) return this.#insertHint(key, mb, lo, hi, salt, vm, g);
    const kind = this.#kind[e];
    const fl = this.#m.flags[e];
    const en = this.#ent, eo = e << 2;
    const valid = en[eo] === (lo | 0) && en[eo + 1] === (hi | 0) && en[eo + 2] === (salt | 0) && (fl & FrameFlag.USED) !== 0;
    if (kind === KIND_SHARED && valid && fl & FrameFlag.SHARED) {
      if (e === mb) return 'merged';
      this.#k?.load(1, this.#m.slabsI32[e >>> SLAB_SHIFT]!, MachineMemory.offsetInSlab(e) >>> 2);
      if (!this.#compare(e, mb)) return this.#falseMatch();
      this.#markIfZero(mb, lo, hi, salt);
      this.#m.incRef(e as Mpn);
      this.#mm.remap(vm, g, e as Mpn, true);
      this.#merged(vm);
      return 'merged';
    }
    if (kind === KIND_HINT && valid && e !== mb) {
      const a = this.#backVm[e] as VmId, ga = en[eo + 3] as Gppn;
      const ok = this.#mm.hasVm(a) && ga < this.#mm.pmap(a).pages && this.#mm.pmap(a).mpn[ga] === e && this.isEligible(a, ga) && this.saltOf(a) === salt;
      if (ok) {
        // Rehash the hint page: if it changed, the hint is stale.
        const h2 = this.#hashFrame(e, 1, salt, this.#h2);
        if (h2.lo >>> 0 === lo && h2.hi >>> 0 === hi) {
          if (!this.#compare(e, mb)) return this.#falseMatch();
          // Both PPNs become COW on one frame; the hint is upgraded; the duplicate frame is freed.
          this.#m.flags[e] |= FrameFlag.SHARED;
          this.#m.owner[e] = OWNER_NONE;
          this.#mm.remap(a, ga, e as Mpn, true);
          this.#mm.faultInjector?.('merge.afterFirst');
          this.#markIfZero(mb, lo, hi, salt);
          this.#m.incRef(e as Mpn);
          this.#mm.remap(vm, g, e as Mpn, true);
          this.#mm.faultInjector?.('merge.afterFree');
          this.#kind[e] = KIND_SHARED;
          this.#merged(vm);
          return 'merged';
        }
      }
    }
    if (kind === KIND_HINT && e === mb && valid) return 'hint';
    // Stale entry: drop it and index this page as a hint instead.
    this.#s.staleHints++;
    this.#kind[e] = KIND_NONE;
    this.#table.delete(key);
    this.#insertHint(key, mb, lo, hi, salt, vm, g);
    return 'stale-hint';
  }

  /**
   * Hashes frame `m` (the candidate in `slot` 0, the table's frame in slot 1: with the copying
   * kernel, each frame crosses into it once and is compared from there).
   */
  #hashFrame(m: number, slot: 0 | 1, salt: number, out: Hash64): Hash64 {
    this.#s.scanCpuNs += this.#hashCost;
    if (this.#fk !== null) return this.#fk.hashFrame(m, salt, out);
    const words = this.#m.slabsI32[m >>> SLAB_SHIFT]!;
    const off = MachineMemory.offsetInSlab(m) >>> 2;
    const k = this.#k;
    if (k === null) return this.#hasher(words, off, salt, out);
    k.load(slot, words, off);
    return k.hash(slot, salt, out);
  }

  /** Full compare of frames `a` and `b` (with the copying kernel: of slots 1 and 0, loaded from them). */
  #compare(a: number, b: number): boolean {
    this.#s.byteCompares++;
    this.#s.scanCpuNs += this.#hashCost;
    if (this.#fk !== null) return this.#fk.framesEqual(a, b);
    if (this.#k !== null) return this.#k.equal();
    return pagesEqual(this.#m.slabsI32[a >>> SLAB_SHIFT]!, MachineMemory.offsetInSlab(a) >>> 2, this.#m.slabsI32[b >>> SLAB_SHIFT]!, MachineMemory.offsetInSlab(b) >>> 2);
  }

  /**
   * Marks the merge's duplicate frame `m` (loaded in kernel slot 0) ZEROED when it is all zero, so
   * freeing it skips the scrub. Only pages whose hash is the all-zero page's are checked, and the
   * check is a full compare with a zero page (a forged zero-hash page, threat MEM-04, is caught).
   */
  #markIfZero(m: number, lo: number, hi: number, salt: number): void {
    if (this.#fk === null && this.#k === null) return;
    let z = this.#zeroHash.get(salt);
    if (z === undefined) this.#zeroHash.set(salt, (z = hashPageJs(new Int32Array(1024), 0, salt, { lo: 0, hi: 0 })));
    if (z.lo !== lo || z.hi !== hi) return;
    if (this.#fk !== null ? this.#fk.frameIsZero(m) : this.#k!.isZero(0)) this.#m.flags[m] |= FrameFlag.ZEROED;
  }

  #falseMatch(): ShareOutcome {
    this.#s.false_matches++;
    return 'false-match';
  }

  #merged(vm: VmId): void {
    this.#s.merges++;
    this.#vmStat(vm).merged++;
  }

  #insertHint(key: number, m: number, lo: number, hi: number, salt: number, vm: VmId, g: Gppn): ShareOutcome {
    if (this.#table.size >= 2 * this.#m.frames) this.#purge();
    this.#table.set(key, m);
    this.#kind[m] = KIND_HINT;
    const en = this.#ent, o = m << 2;
    en[o] = lo;
    en[o + 1] = hi;
    en[o + 2] = salt;
    en[o + 3] = g;
    this.#backVm[m] = vm;
    return 'hint';
  }

  #purge(): void {
    this.#table.deleteWhere((k, m) => !(this.#m.flags[m] & FrameFlag.USED) || keyOf(this.#ent[m << 2], 0) !== k || this.#kind[m] === KIND_NONE);
  }

  #onCowBreak(vm: VmId, _g: Gppn, oldM: Mpn, newM: Mpn): void {
    this.#s.cow_breaks++;
    this.#vmStat(vm).cowBreaks++;
    if (oldM === newM && this.#kind[oldM] === KIND_SHARED) {
      // The last sharer took the frame back privately: it leaves the table.
      const k = keyOf(this.#ent[oldM << 2], 0);
      if (this.#table.get(k) === oldM) this.#table.delete(k);
      this.#kind[oldM] = KIND_NONE;
    }
  }

  /**
   * God view for property P5: every frame flagged SHARED and indexed as shared still hashes to the
   * value recorded at merge. Returns the frames that do not (empty = property holds).
   */
  verifySharedFrames(): number[] {
    const bad: number[] = [];
    const h: Hash64 = { lo: 0, hi: 0 };
    for (let f = 0; f < this.#m.frames; f++) {
      if (this.#kind[f] !== KIND_SHARED || !(this.#m.flags[f] & FrameFlag.SHARED)) continue;
      this.#hasher(this.#m.slabsI32[f >>> SLAB_SHIFT]!, MachineMemory.offsetInSlab(f) >>> 2, this.#ent[(f << 2) + 2], h);
      if ((h.lo | 0) !== this.#ent[f << 2] || (h.hi | 0) !== this.#ent[(f << 2) + 1]) bad.push(f);
    }
    return bad;
  }

  /** True when frame `f` is indexed in the table (hint or shared) — for P6 inspection. */
  isIndexed(f: Mpn): boolean {
    if (f < 0 || f >= this.#m.frames || this.#kind[f] === KIND_NONE) return false;
    return this.#table.get(keyOf(this.#ent[f << 2], 0)) === f;
  }

  /** Per-VM counters: scanned, merged, COW breaks, and its GPPNs on shared frames. */
  vmStats(vm: VmId): { scanned: number; merged: number; cowBreaks: number; sharedPpns: number } {
    checkInt('vm', vm, 0, 0xffff);
    const s = this.#perVmStats.get(vm) ?? { scanned: 0, merged: 0, cowBreaks: 0 };
    let shared = 0;
    if (this.#mm.hasVm(vm)) {
      const p = this.#mm.pmap(vm);
      for (let g = 0; g < p.pages; g++) if (p.state[g] & PageState.SHARED) shared++;
    }
    return { ...s, sharedPpns: shared };
  }

  /** Pages saved by sharing (KSM pages_sharing: Σ over shared frames of refcount − 1). O(frames) over typed arrays. */
  savedPages(): number {
    const m = this.#m, flags = m.flags, rc = m.refcount;
    let saved = 0;
    for (let f = 0, n = m.frames; f < n; f++) if ((flags[f] & (FrameFlag.USED | FrameFlag.SHARED)) === (FrameFlag.USED | FrameFlag.SHARED)) saved += rc[f] - 1;
    return saved;
  }

  /** System-wide counters (KSM names). O(frames). */
  stats(): SharingStats {
    let shared = 0, refs = 0, zero = 0, hints = 0;
    const m = this.#m;
    for (let f = 0; f < m.frames; f++) {
      const fl = m.flags[f];
      if (!(fl & FrameFlag.USED)) continue;
      if (fl & FrameFlag.SHARED) {
        shared++;
        refs += m.refcount[f];
        if (m.isZero(f as Mpn)) zero += m.refcount[f];
      } else if (this.#kind[f] === KIND_HINT && this.isIndexed(f as Mpn)) hints++;
    }
    if (refs < shared) throw invariantError('shared frame with refcount 0');
    return {
      pages_shared: shared,
      pages_sharing: refs - shared,
      pages_unshared: hints,
      sharedPpns: refs,
      zeroPpns: zero,
      tableEntries: this.#table.size,
      metadataBytes: this.#m.frames * 19 + this.#table.bytes,
      general_profit: (refs - shared) * 4096 - (this.#m.frames * 19 + this.#table.bytes),
      ...this.#s,
    };
  }
}

/**
 * The table key: the low 32 bits of the hash. Entries still record all 64 bits and every lookup
 * compares them: two hashes that differ but share a key make the older entry look stale, and it is
 * replaced (a lost hint, never a wrong merge).
 */
function keyOf(lo: number, _hi: number): number {
  return lo | 0;
}

/** A domain's base salt keyed with the host secret: murmur3 fmix32 of (base ^ key), a bijection, so distinct domains keep distinct salts. */
function keyedSalt(base: number, key: number): number {
  let h = base ^ key;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
