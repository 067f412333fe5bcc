/**
 * The cloaking engine after Overshadow (Chen, Garfinkel, Lewis, Subrahmanyam, Waldspurger, Boneh,
 * Dwoskin, Ports; ASPLOS'08 §3–4): multi-shadowing + encryption. Each guest-physical page is backed
 * by ONE machine frame that is encrypted and decrypted in place when the view changes:
 *
 *   PT_RW ──(1) system access: new IV, encrypt, hash──► ENC ◄──(5) system access: reuse (IV,H)── PT_RO
 *   ENC ──(2) app write: verify, decrypt──► PT_RW      ENC ──(3) app read: verify, decrypt──► PT_RO
 *   PT_RO ──(4) app write: drop (IV,H)──► PT_RW
 *
 * Metadata is keyed by (resource id, page index) — never by GPPN — and held in typed arrays in TVMM
 * memory: state, version, nonce/IV, tag/hash, owner, and the binding (vm, domain, resource, page,
 * version) the current ciphertext was sealed under. The tag is checked before a single byte is
 * decrypted into the app's view. A reverse map (GPPN → record) lets one frame carry at most one
 * cloaked plaintext identity. Context identification: a cloaked thread's domain is registered by
 * its shim through hypercalls; the engine keeps a cloaked thread context (CTC) per thread and
 * performs the secure control transfer on every trap (save, scrub, restore; only r0 carries a
 * kernel value back). A detected tamper records a typed security event and terminates the cloaked
 * application (zeroizing its keys and plaintext) or halts the VM, as configured.
 */
import { nobleProvider, type CryptoProvider } from '../crypto/index.js';
import { FrameFlag, PageState } from '../memory/index.js';
import {
  checkFunction, checkInt, checkObject, checkOneOf, checkString, PAGE_SIZE, platformRandomBytes, TerraError,
  type Gppn, type Mpn, type TerraErrorCode, type VmId,
} from '../sim/index.js';
import {
  HC, HCERR, KERNEL_DOMAIN, NREGS, REG,
  type Caller, type CloakHook, type DomainId, type ExecHooks, type Proc, type Tvmm, type UserChannel,
} from '../tvmm/index.js';
import { CLOAK_SUITES, PageCipher, type CloakSuiteName } from './suites.js';
import { MemoryNvStore, type CloakNvStore } from './nv.js';

/** Per-page cloaking states (Overshadow §3.2). FREE marks an unused record slot. */
export const CloakState = Object.freeze({ FREE: 0, PT_RW: 1, PT_RO: 2, ENC: 3 });
/** Names of the states, indexed by value. */
export const CLOAK_STATE_NAMES = ['FREE', 'PT_RW', 'PT_RO', 'ENC'] as const;

/** Kinds of detected violations. */
export type ViolationKind = 'mac' | 'replay' | 'remap' | 'alias' | 'context' | 'iago';
/** What happens on a violation: terminate the cloaked application (the paper) or halt the VM. */
export type ViolationPolicy = 'terminate' | 'halt';

/** Extra hypercalls of the cloaking engine (beyond HC.CLOAK_*): TVMM randomness and time for the shim (threat CLK-19). */
export const CLOAK_HC = Object.freeze({ RANDOM: 37, TIME: 38 });
/**
 * CLOAK_FILE sub-operations. A metadata update is two-phase: STORE prepares (records the intent in
 * the NV store, seals the new metadata), the shim writes it to the spare metadata slot, COMMIT makes
 * it current (the NV commit point). OFFER hands in the second metadata slot before LOAD; SLOT says
 * where a data page lives (read) or must be written (write: never over the committed copy);
 * TRUNCATE drops pages past a new size; META_SLOT says which metadata slot LOAD accepted.
 */
export const CLOAK_FILE_OP = Object.freeze({ OPEN: 0, LOAD: 1, STORE: 2, CLOSE: 3, OFFER: 4, COMMIT: 5, SLOT: 6, TRUNCATE: 7, META_SLOT: 8 });
/** No slot (a page never committed, or no accepted metadata slot). */
const NO_SLOT = 255;
/** 'TCM2': the sealed cloaked-file metadata format with a (generation, counter) header. */
const META_MAGIC = 0x324d4354;

/** A typed security event raised by the engine or the shim. */
export interface CloakViolation {
  readonly vm: number;
  readonly domain: number;
  readonly rid: number;
  readonly page: number;
  readonly kind: ViolationKind;
  readonly code: TerraErrorCode;
  readonly t: number;
}

/** Options of {@link attachCloaking}. */
export interface CloakOptions {
  /** Cipher suite (default `xchacha20-poly1305`). */
  readonly suite?: CloakSuiteName;
  /** Crypto provider (default noble). */
  readonly crypto?: CryptoProvider;
  /** Violation policy (default `terminate`). */
  readonly policy?: ViolationPolicy;
  /** Trap-frame edits by the kernel: silently restored from the CTC (default) or detected as `context` violations. */
  readonly contextPolicy?: 'restore' | 'detect';
  /** Program names the trusted loader cloaks (default: none; tests may pass a predicate). */
  readonly cloakPrograms?: readonly string[] | ((program: string) => boolean);
  /** Persistent store for the secret and counters (default: a fresh in-memory store). */
  readonly nv?: CloakNvStore;
  /** Paths under this prefix are cloaked files (default `/cloaked/`). */
  readonly cloakedPathPrefix?: string;
  /** Cloaked-page faults per virtual millisecond, without memory pressure, that raise the paging alarm (CLK-24; default 200). */
  readonly pagingAlarmPerMs?: number;
}

/** Counters. */
export interface CloakStats {
  domains: number;
  liveDomains: number;
  records: number;
  encryptions: number;
  reencryptions: number;
  decryptions: number;
  freshPages: number;
  violations: number;
  ctcSaves: number;
  ctcRestores: number;
  contextEdits: number;
  pagingAlarms: number;
  dmaCopies: number;
}

interface Region {
  start: number;
  end: number;
  /** -1: uncloaked (the shim's marshalling buffers). */
  rid: number;
  pageBase: number;
}

interface Resource {
  readonly rid: number;
  readonly vm: number;
  readonly domain: number;
  readonly kind: 'anon' | 'file';
  readonly bindDomain: number;
  readonly bindRid: number;
  readonly recs: number[];
  /** For files: identity hash words and counter name. */
  readonly fileId?: Uint32Array;
  /** For files: crash-consistency state (metadata slots, the prepared update). */
  readonly file?: FileState;
}

/** A cloaked file's update state (TVMM memory). */
interface FileState {
  /** Metadata slot the accepted or last committed metadata came from (NO_SLOT: none). */
  metaSlot: number;
  /** Blobs offered for slots other than 0 before LOAD. */
  offers: { slot: number; blob: Uint8Array }[];
  /** The prepared (sealed, not yet committed) update: its counter and the entries it describes. */
  pending?: { gen: number; n: number; entries: { r: number; version: number; slot: number; nonce: Uint8Array; tag: Uint8Array }[] };
  /** Committed data slots of pages truncated away since the last commit (never overwritten before it). */
  readonly ghosts: Map<number, number>;
}

/** A parsed metadata candidate. */
interface MetaCandidate {
  readonly slot: number;
  readonly kind: 'empty' | 'bad' | 'ok';
  readonly gen: number;
  readonly n: number;
  readonly body?: Uint8Array;
}

interface Domain {
  readonly id: number;
  readonly vm: number;
  tid: number;
  readonly program: string;
  regions: Region[];
  readonly rids: Set<number>;
  terminated: boolean;
  terminatedKind?: ViolationKind;
  terminatedCode?: TerraErrorCode;
  /** Set when the kernel edited a trap frame under the `detect` policy; the shim raises it. */
  pendingViolation?: ViolationKind;
  /** Created by onFork and not yet claimed by the child's shim. */
  forkChild: boolean;
  anonRid: number;
  /** Shim state (TVMM memory; cloned on fork). */
  shim?: unknown;
}

interface Ctc {
  readonly saved: Uint32Array;
  readonly exposed: Uint32Array;
  kind: string;
  pending: boolean;
}

interface VmMaps {
  /** GPPN → record whose plaintext the frame holds, −1 none. */
  readonly plain: Int32Array;
  /** GPPN → record last encrypted at this GPPN (for classifying remaps), −1 none. */
  readonly last: Int32Array;
}

const VPN_LIMIT = 0xc0000000 / PAGE_SIZE;
const PAGE_KEY = 2 ** 20;

function tkey(vm: number, tid: number): number {
  return vm * 2 ** 32 + tid;
}

const CODE: Record<ViolationKind, TerraErrorCode> = {
  mac: 'INTEGRITY_VIOLATION',
  remap: 'INTEGRITY_VIOLATION',
  replay: 'REPLAY_DETECTED',
  alias: 'ALIAS_DETECTED',
  context: 'CONTEXT_TAMPER',
  iago: 'IAGO_VIOLATION',
};

/** The cloaking engine attached to one TVMM. Create with {@link attachCloaking}. */
export class CloakEngine {
  readonly suite: CloakSuiteName;
  readonly policy: ViolationPolicy;
  readonly contextPolicy: 'restore' | 'detect';
  readonly cloakedPathPrefix: string;
  /** The epoch reserved from the NV store at attach (nonces start with it). */
  readonly epoch: number;
  readonly #tvmm: Tvmm;
  readonly #crypto: CryptoProvider;
  readonly #cipher: PageCipher;
  readonly #nv: CloakNvStore;
  readonly #secret: Uint8Array;
  readonly #isCloaked: (program: string) => boolean;
  readonly #rand: (out: Uint8Array) => void;
  #nonceCounter = 0;
  readonly #nb: number;
  readonly #tb: number;

  // ---- records (typed arrays, grown by doubling; no object per page)
  #cap = 0;
  #state = new Uint8Array(0);
  #vm = new Uint16Array(0);
  #rid = new Uint32Array(0);
  #page = new Uint32Array(0);
  #gppn = new Int32Array(0);
  #mpn = new Uint32Array(0);
  #version = new Uint32Array(0);
  #bindDomain = new Uint32Array(0);
  #bindRid = new Uint32Array(0);
  #nonce = new Uint8Array(0);
  #tag = new Uint8Array(0);
  #prevVersion = new Uint32Array(0);
  #prevBindDomain = new Uint32Array(0);
  #prevBindRid = new Uint32Array(0);
  #prevNonce = new Uint8Array(0);
  #prevTag = new Uint8Array(0);
  /** 1 when the engine pinned the record's plaintext frame (so host swap never writes plaintext out). */
  #pinned = new Uint8Array(0);
  // ---- cloaked-file pages: the committed copy (slot, version, nonce, tag) and the slot written since
  #cSlot = new Uint8Array(0);
  #wSlot = new Uint8Array(0);
  #cVersion = new Uint32Array(0);
  #cNonce = new Uint8Array(0);
  #cTag = new Uint8Array(0);
  #free: number[] = [];
  #next = 0;
  readonly #byKey = new Map<number, number>();

  readonly #resources = new Map<number, Resource>();
  readonly #domains = new Map<number, Domain>();
  readonly #threadDomain = new Map<number, number>();
  readonly #ctc = new Map<number, Ctc>();
  /** Cloaked threads that exited but whose final trap frame has not been built yet. */
  readonly #exited = new Set<number>();
  readonly #vmMaps = new Map<number, VmMaps>();
  readonly #keys = new Map<string, Uint8Array>();
  readonly #violations: CloakViolation[] = [];
  #nextDomain = 1;
  #nextRid = 1;
  readonly #scratch = new Uint8Array(PAGE_SIZE);
  readonly #stats: CloakStats = {
    domains: 0, liveDomains: 0, records: 0, encryptions: 0, reencryptions: 0, decryptions: 0, freshPages: 0,
    violations: 0, ctcSaves: 0, ctcRestores: 0, contextEdits: 0, pagingAlarms: 0, dmaCopies: 0,
  };
  readonly #alarmPerMs: number;
  #faultWindowStart = 0;
  #faultWindowCount = 0;

  /** The hook installed as `tvmm.mmu.cloak`. */
  readonly hook: CloakHook;
  /** The hooks installed with `tvmm.setExecHooks`. */
  readonly execHooks: ExecHooks;

  /** Use {@link attachCloaking}. */
  constructor(tvmm: Tvmm, opts: CloakOptions, wrap: (engine: CloakEngine, vm: VmId, tid: number, proc: Proc, ch: UserChannel) => Proc) {
    this.#tvmm = tvmm;
    this.suite = opts.suite === undefined ? 'xchacha20-poly1305' : checkOneOf('suite', opts.suite, CLOAK_SUITES);
    this.policy = opts.policy === undefined ? 'terminate' : checkOneOf('policy', opts.policy, ['terminate', 'halt'] as const);
    this.contextPolicy = opts.contextPolicy === undefined ? 'restore' : checkOneOf('contextPolicy', opts.contextPolicy, ['restore', 'detect'] as const);
    this.cloakedPathPrefix = opts.cloakedPathPrefix === undefined ? '/cloaked/' : checkString('cloakedPathPrefix', opts.cloakedPathPrefix, { nonEmpty: true, max: 256 });
    this.#alarmPerMs = opts.pagingAlarmPerMs === undefined ? 200 : checkInt('pagingAlarmPerMs', opts.pagingAlarmPerMs, 1);
    if (opts.crypto !== undefined) {
      const c = checkObject('crypto', opts.crypto);
      for (const f of ['sha256', 'hkdfSha256', 'aeadSeal', 'aeadOpen', 'aesCbcEncrypt', 'aesCbcDecrypt', 'equalBytes'] as const) checkFunction(`crypto.${f}`, c[f]);
    }
    if (opts.nv !== undefined) {
      const n = checkObject('nv', opts.nv);
      for (const f of ['getSecret', 'setSecret', 'counter', 'advance'] as const) checkFunction(`nv.${f}`, n[f]);
    }
    this.#crypto = opts.crypto === undefined ? nobleProvider : opts.crypto;
    const cp = opts.cloakPrograms;
    if (cp === undefined) this.#isCloaked = () => false;
    else if (typeof cp === 'function') this.#isCloaked = checkFunction('cloakPrograms', cp) as (p: string) => boolean;
    else {
      if (!Array.isArray(cp)) throw new TypeError('cloakPrograms must be an array of program names or a predicate');
      const set = new Set(cp.map((p, i) => checkString(`cloakPrograms[${i}]`, p, { nonEmpty: true })));
      this.#isCloaked = (p) => set.has(p);
    }
    this.#nv = opts.nv === undefined ? new MemoryNvStore() : opts.nv;
    this.#cipher = new PageCipher(this.suite, this.#crypto);
    this.#nb = this.#cipher.geometry.nonceBytes;
    this.#tb = this.#cipher.geometry.tagBytes;
    const sim = tvmm.sim;
    // Reserve a fresh epoch persistently BEFORE any encryption (threat CLK-26).
    this.epoch = this.#nv.advance('cloak.epoch');
    if (sim.realRandomness) {
      this.#rand = (out) => void platformRandomBytes(out);
    } else {
      const rng = sim.rng.fork(`cloak/epoch/${this.epoch}`);
      this.#rand = (out) => void rng.bytes(out.length, out);
    }
    let secret = this.#nv.getSecret();
    if (!secret) {
      secret = new Uint8Array(32);
      if (sim.realRandomness) platformRandomBytes(secret);
      else sim.rng.fork('cloak/secret').bytes(32, secret);
      this.#nv.setSecret(secret);
    }
    this.#secret = secret;
    this.#grow(256);
    this.hook = Object.freeze({
      prepare: (vm: VmId, g: Gppn, d: DomainId, w: boolean, gva?: number) => this.#prepare(vm, g, d, w, gva),
      dmaSource: (vm: VmId, g: Gppn) => this.#dmaSource(vm, g),
    });
    this.execHooks = Object.freeze({
      domainOf: (vm: VmId, tid: number) => this.#threadDomain.get(tkey(vm, tid)) ?? KERNEL_DOMAIN,
      wrapProc: (vm: VmId, tid: number, proc: Proc, ch: UserChannel) => wrap(this, vm, tid, proc, ch),
      onTrap: (vm: VmId, tid: number, regs: Uint32Array, kind: string) => this.#onTrap(vm, tid, regs, kind),
      onResume: (vm: VmId, tid: number, regs: Uint32Array) => this.#onResume(vm, tid, regs),
      onExit: (vm: VmId, tid: number) => this.#onExit(vm, tid),
      onFork: (vm: VmId, parent: number, child: number) => this.#onFork(vm, parent, child),
    });
  }

  // ================================================================ public inspection

  /** Counters (a copy). */
  stats(): CloakStats {
    return { ...this.#stats, records: this.#byKey.size, liveDomains: [...this.#domains.values()].filter((d) => !d.terminated).length };
  }

  /** Every violation so far (copies). */
  violations(): CloakViolation[] {
    return this.#violations.map((v) => ({ ...v }));
  }

  /** True when `program` is cloaked by the loader. */
  isCloakedProgram(program: string): boolean {
    return this.#isCloaked(checkString('program', program));
  }

  /** The cloaking domain of a thread (0 = uncloaked). */
  domainOf(vm: VmId, tid: number): number {
    return this.#threadDomain.get(tkey(checkInt('vm', vm, 0, 0xffff), checkInt('tid', tid, 0))) ?? KERNEL_DOMAIN;
  }

  /** Whether domain `d` was terminated (and why). */
  domainStatus(d: number): { exists: boolean; terminated: boolean; kind?: ViolationKind; code?: TerraErrorCode } {
    const dom = this.#domains.get(checkInt('domain', d, 0));
    if (!dom) return { exists: false, terminated: false };
    return {
      exists: true, terminated: dom.terminated,
      ...(dom.terminatedKind ? { kind: dom.terminatedKind } : {}),
      ...(dom.terminatedCode ? { code: dom.terminatedCode } : {}),
    };
  }

  /**
   * The state name of the page at virtual page `vpn` of domain `d` (TVMM metadata, for tests and
   * tools): `none` when no record exists.
   */
  pageState(d: number, vpn: number): (typeof CLOAK_STATE_NAMES)[number] | 'none' | 'uncloaked' {
    const dom = this.#domains.get(checkInt('domain', d, 1));
    if (!dom) throw new TerraError('NOT_FOUND', `no domain ${d}`);
    checkInt('vpn', vpn, 0, VPN_LIMIT - 1);
    const reg = this.#region(dom, vpn);
    if (!reg) return 'uncloaked';
    const r = this.#byKey.get(reg.rid * PAGE_KEY + reg.pageBase + vpn - reg.start);
    return r === undefined ? 'none' : CLOAK_STATE_NAMES[this.#state[r]];
  }

  /**
   * Copies of the TVMM-held metadata of the page at `vpn` of domain `d` (for tests and tools on the
   * host side; guests never reach the engine). Undefined when the page has no record.
   */
  metadataOf(d: number, vpn: number): { state: string; version: number; nonce: Uint8Array; tag: Uint8Array } | undefined {
    const dom = this.#domains.get(checkInt('domain', d, 1));
    if (!dom) throw new TerraError('NOT_FOUND', `no domain ${d}`);
    const reg = this.#region(dom, checkInt('vpn', vpn, 0, VPN_LIMIT - 1));
    if (!reg) return undefined;
    const r = this.#byKey.get(reg.rid * PAGE_KEY + reg.pageBase + vpn - reg.start);
    if (r === undefined) return undefined;
    return {
      state: CLOAK_STATE_NAMES[this.#state[r]],
      version: this.#version[r],
      nonce: this.#nonce.slice(r * this.#nb, (r + 1) * this.#nb),
      tag: this.#tag.slice(r * this.#tb, (r + 1) * this.#tb),
    };
  }

  /** Version of the page at `vpn` of domain `d` (0 = never encrypted or no record). */
  pageVersion(d: number, vpn: number): number {
    const dom = this.#domains.get(checkInt('domain', d, 1));
    if (!dom) throw new TerraError('NOT_FOUND', `no domain ${d}`);
    const reg = this.#region(dom, checkInt('vpn', vpn, 0, VPN_LIMIT - 1));
    if (!reg) return 0;
    const r = this.#byKey.get(reg.rid * PAGE_KEY + reg.pageBase + vpn - reg.start);
    return r === undefined ? 0 : this.#version[r];
  }

  // ================================================================ records

  #grow(n: number): void {
    const cap = Math.max(n, this.#cap * 2);
    const g8 = (a: Uint8Array, w = 1) => { const b = new Uint8Array(cap * w); b.set(a); return b; };
    const g16 = (a: Uint16Array) => { const b = new Uint16Array(cap); b.set(a); return b; };
    const g32 = (a: Uint32Array) => { const b = new Uint32Array(cap); b.set(a); return b; };
    const gi = (a: Int32Array) => { const b = new Int32Array(cap).fill(-1); b.set(a); return b; };
    this.#state = g8(this.#state);
    this.#vm = g16(this.#vm);
    this.#rid = g32(this.#rid);
    this.#page = g32(this.#page);
    this.#gppn = gi(this.#gppn);
    this.#mpn = g32(this.#mpn);
    this.#version = g32(this.#version);
    this.#bindDomain = g32(this.#bindDomain);
    this.#bindRid = g32(this.#bindRid);
    this.#nonce = g8(this.#nonce, this.#nb);
    this.#tag = g8(this.#tag, this.#tb);
    this.#prevVersion = g32(this.#prevVersion);
    this.#prevBindDomain = g32(this.#prevBindDomain);
    this.#prevBindRid = g32(this.#prevBindRid);
    this.#prevNonce = g8(this.#prevNonce, this.#nb);
    this.#prevTag = g8(this.#prevTag, this.#tb);
    this.#pinned = g8(this.#pinned);
    this.#cSlot = g8(this.#cSlot);
    this.#wSlot = g8(this.#wSlot);
    this.#cVersion = g32(this.#cVersion);
    this.#cNonce = g8(this.#cNonce, this.#nb);
    this.#cTag = g8(this.#cTag, this.#tb);
    this.#cap = cap;
  }

  #newRecord(res: Resource, page: number): number {
    let r: number;
    if (this.#free.length) r = this.#free.pop()!;
    else {
      if (this.#next === this.#cap) this.#grow(this.#cap * 2);
      r = this.#next++;
    }
    this.#state[r] = CloakState.ENC;
    this.#vm[r] = res.vm;
    this.#rid[r] = res.rid;
    this.#page[r] = page;
    this.#gppn[r] = -1;
    this.#mpn[r] = 0;
    this.#version[r] = 0;
    this.#prevVersion[r] = 0;
    this.#bindDomain[r] = res.bindDomain;
    this.#bindRid[r] = res.bindRid;
    this.#cSlot[r] = res.file?.ghosts.get(page) ?? NO_SLOT;
    this.#wSlot[r] = NO_SLOT;
    this.#cVersion[r] = 0;
    this.#byKey.set(res.rid * PAGE_KEY + page, r);
    res.recs.push(r);
    return r;
  }

  #freeRecord(r: number): void {
    this.#byKey.delete(this.#rid[r] * PAGE_KEY + this.#page[r]);
    this.#state[r] = CloakState.FREE;
    this.#version[r] = 0;
    this.#prevVersion[r] = 0;
    this.#nonce.fill(0, r * this.#nb, (r + 1) * this.#nb);
    this.#tag.fill(0, r * this.#tb, (r + 1) * this.#tb);
    this.#prevNonce.fill(0, r * this.#nb, (r + 1) * this.#nb);
    this.#prevTag.fill(0, r * this.#tb, (r + 1) * this.#tb);
    this.#cNonce.fill(0, r * this.#nb, (r + 1) * this.#nb);
    this.#cTag.fill(0, r * this.#tb, (r + 1) * this.#tb);
    this.#cVersion[r] = 0;
    this.#cSlot[r] = NO_SLOT;
    this.#wSlot[r] = NO_SLOT;
    this.#free.push(r);
  }

  #maps(vm: number): VmMaps {
    let m = this.#vmMaps.get(vm);
    if (!m) {
      const pages = this.#tvmm.memory.pmap(vm as VmId).pages;
      m = { plain: new Int32Array(pages).fill(-1), last: new Int32Array(pages).fill(-1) };
      this.#vmMaps.set(vm, m);
    }
    return m;
  }

  #keyFor(vm: number, bindDomain: number, bindRid: number): Uint8Array {
    // Fast path: domains and runtime resource ids are engine-unique; file ids are per VM.
    const fast = bindDomain === 0 ? -(vm * 2 ** 32 + bindRid) - 1 : bindDomain * 2 ** 32 + bindRid;
    const hit = this.#keyCache.get(fast);
    if (hit) return hit;
    const k = this.#deriveKey(vm, bindDomain, bindRid);
    this.#keyCache.set(fast, k);
    return k;
  }
  readonly #keyCache = new Map<number, Uint8Array>();

  #deriveKey(vm: number, bindDomain: number, bindRid: number): Uint8Array {
    const name = bindDomain === 0 ? `file/${vm}/${bindRid}` : `anon/${vm}/${bindDomain}/${bindRid}/${this.epoch}`;
    let k = this.#keys.get(name);
    if (!k) {
      const file = bindDomain === 0 ? this.#fileKeyInfo.get(`${vm}/${bindRid}`) : undefined;
      const info = new TextEncoder().encode(`terracloak/cloak/${this.suite}/${file ?? name}`);
      k = this.#crypto.hkdfSha256(this.#secret, new TextEncoder().encode('terracloak/cloak/v1'), info, this.#cipher.geometry.keyBytes);
      this.#keys.set(name, k);
    }
    return k;
  }
  readonly #fileKeyInfo = new Map<string, string>();

  /**
   * A written page gets a new version before it is encrypted: the previous (version, binding,
   * nonce, tag) is kept for replay detection (CLK-03), the binding is refreshed from the resource,
   * and a fresh nonce is drawn.
   */
  #advanceVersion(r: number): void {
    const nb = this.#nb, tb = this.#tb;
    if (this.#version[r] > 0) {
      this.#prevVersion[r] = this.#version[r];
      this.#prevBindDomain[r] = this.#bindDomain[r];
      this.#prevBindRid[r] = this.#bindRid[r];
      this.#prevNonce.set(this.#nonce.subarray(r * nb, r * nb + nb), r * nb);
      this.#prevTag.set(this.#tag.subarray(r * tb, r * tb + tb), r * tb);
    }
    const res = this.#resources.get(this.#rid[r])!;
    this.#version[r]++;
    this.#bindDomain[r] = res.bindDomain;
    this.#bindRid[r] = res.bindRid;
    this.#fillNonce(r);
  }

  #fillNonce(r: number): void {
    const nb = this.#nb, o = r * nb, n = this.#nonce;
    if (this.suite === 'overshadow-2008') {
      this.#rand(n.subarray(o, o + 16));
      return;
    }
    const c = this.#nonceCounter++;
    const e = this.epoch;
    n[o] = e >>> 24; n[o + 1] = (e >>> 16) & 255; n[o + 2] = (e >>> 8) & 255; n[o + 3] = e & 255;
    const hi = Math.floor(c / 2 ** 32), lo = c >>> 0;
    n[o + 4] = hi >>> 24; n[o + 5] = (hi >>> 16) & 255; n[o + 6] = (hi >>> 8) & 255; n[o + 7] = hi & 255;
    n[o + 8] = lo >>> 24; n[o + 9] = (lo >>> 16) & 255; n[o + 10] = (lo >>> 8) & 255; n[o + 11] = lo & 255;
    if (nb === 24) this.#rand(n.subarray(o + 12, o + 24));
  }

  // ================================================================ the state machine

  /** Transition 1 (PT_RW → ENC, new IV) or 5 (PT_RO → ENC, reuse (IV, H)). */
  #encrypt(r: number): void {
    const vm = this.#vm[r] as VmId;
    const g = this.#gppn[r];
    const maps = this.#maps(vm);
    const pm = this.#tvmm.memory.pmap(vm);
    const st = this.#state[r];
    if (maps.plain[g] === r) maps.plain[g] = -1;
    const m = pm.mpn[g];
    this.#state[r] = CloakState.ENC;
    this.#unpin(r);
    if (m !== this.#mpn[r] || !(pm.state[g] & PageState.PRESENT)) {
      // The plaintext frame vanished under us (the GPPN was remapped): nothing to encrypt. A PT_RO
      // page's last ciphertext is still its current content; a PT_RW page's is stale, so its
      // version moves on and no old ciphertext verifies again (the next app access fails).
      if (st === CloakState.PT_RW) this.#version[r]++;
      pm.state[g] &= ~PageState.CLOAKED;
      return;
    }
    const frame = this.#tvmm.machine.bytes(m as Mpn);
    const nb = this.#nb, tb = this.#tb;
    if (st === CloakState.PT_RW) {
      this.#advanceVersion(r);
      this.#stats.encryptions++;
    } else this.#stats.reencryptions++;
    this.#cipher.bind(vm, this.#bindDomain[r], this.#bindRid[r], this.#page[r], this.#version[r]);
    this.#cipher.seal(this.#keyFor(vm, this.#bindDomain[r], this.#bindRid[r]), frame, this.#nonce, r * nb, this.#tag, r * tb);
    maps.last[g] = r;
    pm.state[g] &= ~PageState.CLOAKED;
    this.#tvmm.machine.flags[m] &= ~FrameFlag.CLOAKED;
    this.#tvmm.memory.invalidate(vm, g as Gppn);
    const costs = this.#tvmm.sim.costs;
    this.#tvmm.sim.clock.advance(costs.cloakTransition + costs.cryptoPerByte * PAGE_SIZE);
  }

  #unpin(r: number): void {
    if (this.#pinned[r]) {
      this.#tvmm.machine.flags[this.#mpn[r]] &= ~FrameFlag.PINNED;
      this.#pinned[r] = 0;
    }
  }

  /**
   * Virtual DMA from a plaintext page (Overshadow §3.2): PT_RO is encrypted into a separate buffer
   * with its existing (IV, H); PT_RW with a new (IV, H), after which the page is PT_RO (its TLB
   * entries drop, so the app's next write is transition 4). The app keeps its plaintext.
   */
  #dmaSource(vm: VmId, g: number): Uint8Array | undefined {
    const r = this.#maps(vm).plain[g];
    if (r < 0) return undefined;
    const pm = this.#tvmm.memory.pmap(vm);
    if (pm.mpn[g] !== this.#mpn[r] || !(pm.state[g] & PageState.PRESENT)) return undefined;
    const copy = this.#tvmm.machine.bytes(this.#mpn[r] as Mpn).slice();
    const nb = this.#nb, tb = this.#tb;
    const rw = this.#state[r] === CloakState.PT_RW;
    if (rw) this.#advanceVersion(r);
    this.#cipher.bind(vm, this.#bindDomain[r], this.#bindRid[r], this.#page[r], this.#version[r]);
    this.#cipher.seal(this.#keyFor(vm, this.#bindDomain[r], this.#bindRid[r]), copy, this.#nonce, r * nb, this.#tag, r * tb);
    if (rw) {
      this.#state[r] = CloakState.PT_RO;
      this.#tvmm.memory.invalidate(vm, g as Gppn);
    }
    this.#stats.dmaCopies++;
    const costs = this.#tvmm.sim.costs;
    this.#tvmm.sim.clock.advance(costs.cloakTransition + costs.cryptoPerByte * PAGE_SIZE + costs.pageCopy);
    return copy;
  }

  #systemAccess(vm: VmId, g: number): void {
    const maps = this.#maps(vm);
    const r = maps.plain[g];
    if (r >= 0) this.#encrypt(r);
    else this.#tvmm.memory.pmap(vm).state[g] &= ~PageState.CLOAKED;
  }

  #appAccess(dom: Domain, g: number, r: number, write: boolean): boolean {
    const vm = dom.vm as VmId;
    const pm = this.#tvmm.memory.pmap(vm);
    const maps = this.#maps(vm);
    const st = this.#state[r];
    if (st === CloakState.PT_RW || st === CloakState.PT_RO) {
      if (this.#gppn[r] === g && pm.mpn[g] === this.#mpn[r] && pm.state[g] & PageState.PRESENT && maps.plain[g] === r) {
        if (st === CloakState.PT_RO && write) {
          this.#state[r] = CloakState.PT_RW; // transition 4: the (IV, H) are stale from now on
          return false;
        }
        return st === CloakState.PT_RO;
      }
      this.#encrypt(r);
    }
    let aliased = false;
    const other = maps.plain[g];
    if (other >= 0 && other !== r) {
      this.#encrypt(other);
      aliased = true;
    }
    const m = this.#tvmm.memory.resolve(vm, g as Gppn, true);
    const frame = this.#tvmm.machine.bytes(m);
    const costs = this.#tvmm.sim.costs;
    let next: number = write ? CloakState.PT_RW : CloakState.PT_RO;
    if (this.#version[r] === 0) {
      // No metadata: a fresh page is zero in the app's view whatever the kernel put there (CLK-07).
      frame.fill(0);
      next = CloakState.PT_RW;
      this.#stats.freshPages++;
      this.#tvmm.sim.clock.advance(costs.cloakTransition + costs.pageZero);
    } else {
      this.#cipher.bind(vm, this.#bindDomain[r], this.#bindRid[r], this.#page[r], this.#version[r]);
      const key = this.#keyFor(vm, this.#bindDomain[r], this.#bindRid[r]);
      if (!this.#cipher.open(key, frame, this.#nonce, r * this.#nb, this.#tag, r * this.#tb)) {
        const kind = aliased ? 'alias' : this.#isReplay(r, frame) ? 'replay' : maps.last[g] >= 0 && maps.last[g] !== r ? 'remap' : 'mac';
        this.violation(dom.id, this.#rid[r], this.#page[r], kind, `cloaked page ${this.#page[r]} of resource ${this.#rid[r]} failed verification (${kind})`);
      }
      this.#stats.decryptions++;
      this.#tvmm.sim.clock.advance(costs.cloakTransition + costs.cryptoPerByte * PAGE_SIZE);
    }
    this.#state[r] = next;
    this.#gppn[r] = g;
    this.#mpn[r] = m;
    maps.plain[g] = r;
    pm.state[g] |= PageState.CLOAKED;
    const fl = this.#tvmm.machine.flags;
    fl[m] |= FrameFlag.CLOAKED;
    // Plaintext frames are never written to host swap or shared (threat CLK-11, MEM-01).
    if (!(fl[m] & FrameFlag.PINNED)) {
      fl[m] |= FrameFlag.PINNED;
      this.#pinned[r] = 1;
    }
    this.#tvmm.memory.invalidate(vm, g as Gppn);
    return next === CloakState.PT_RO;
  }

  /** Classification only (failure path): does the frame verify as the previous version? */
  #isReplay(r: number, frame: Uint8Array): boolean {
    if (this.#prevVersion[r] === 0) return false;
    const vm = this.#vm[r];
    const s = this.#scratch;
    s.set(frame);
    this.#cipher.bind(vm, this.#prevBindDomain[r], this.#prevBindRid[r], this.#page[r], this.#prevVersion[r]);
    return this.#cipher.open(this.#keyFor(vm, this.#prevBindDomain[r], this.#prevBindRid[r]), s, this.#prevNonce, r * this.#nb, this.#prevTag, r * this.#tb);
  }

  #pagingFault(): void {
    const now = this.#tvmm.sim.clock.now;
    if (now - this.#faultWindowStart > 1_000_000) {
      this.#faultWindowStart = now;
      this.#faultWindowCount = 0;
    }
    if (++this.#faultWindowCount === this.#alarmPerMs) {
      this.#stats.pagingAlarms++;
      this.#tvmm.sim.trace.security('cloak.paging-anomaly', undefined, { faultsPerMs: this.#faultWindowCount });
    }
  }

  #region(dom: Domain, vpn: number): Region | undefined {
    const rs = dom.regions;
    for (let i = rs.length - 1; i >= 0; i--) {
      const x = rs[i];
      if (vpn >= x.start && vpn < x.end) return x.rid < 0 ? undefined : x;
    }
    return undefined;
  }

  #prepare(vm: VmId, g: Gppn, domain: DomainId, write: boolean, gva: number | undefined): boolean {
    if (domain === KERNEL_DOMAIN || gva === undefined) {
      this.#systemAccess(vm, g);
      return false;
    }
    const dom = this.#domains.get(domain);
    if (!dom || dom.terminated) throw new TerraError('DOMAIN_TERMINATED', `cloaking domain ${domain} was terminated`);
    const vpn = gva >>> 12;
    const reg = this.#region(dom, vpn);
    if (!reg) {
      this.#systemAccess(vm, g);
      return false;
    }
    const page = reg.pageBase + vpn - reg.start;
    let r = this.#byKey.get(reg.rid * PAGE_KEY + page);
    if (r === undefined) r = this.#newRecord(this.#resources.get(reg.rid)!, page);
    return this.#appAccess(dom, g, r, write);
  }

  // ================================================================ violations

  /**
   * Records a typed violation (security event), applies the policy (terminate the domain, zeroizing
   * its keys and plaintext; or halt the VM) and throws the matching TerraError. Never returns.
   */
  violation(domain: number, rid: number, page: number, kind: ViolationKind, message: string): never {
    const dom = this.#domains.get(domain);
    const vm = dom?.vm ?? 0;
    const code = CODE[kind];
    this.#stats.violations++;
    this.#violations.push({ vm, domain, rid, page, kind, code, t: this.#tvmm.sim.clock.now });
    this.#tvmm.sim.trace.security('cloak.violation', vm, { domain, rid, page, kind, code });
    if (dom && !dom.terminated) {
      this.#teardown(dom, true);
      dom.terminated = true;
      dom.terminatedKind = kind;
      dom.terminatedCode = code;
    }
    if (this.policy === 'halt' && dom) {
      try {
        this.#tvmm.halt(vm as VmId, `CLOAK_${kind.toUpperCase()}`);
      } catch {
        /* already halted or off */
      }
    }
    throw new TerraError(code, message, { vm, domain, rid, page, kind });
  }

  #teardown(dom: Domain, zeroize: boolean): void {
    for (const rid of dom.rids) {
      const res = this.#resources.get(rid);
      if (!res) continue;
      for (const r of res.recs) {
        if (this.#state[r] === CloakState.FREE || this.#rid[r] !== rid) continue;
        const st = this.#state[r];
        if (st === CloakState.PT_RW || st === CloakState.PT_RO) this.#scrubPlain(r, zeroize);
        this.#freeRecord(r);
      }
      this.#resources.delete(rid);
      if (res.kind === 'anon') {
        const k = this.#keys.get(`anon/${res.vm}/${res.bindDomain}/${res.bindRid}/${this.epoch}`);
        k?.fill(0);
        this.#keys.delete(`anon/${res.vm}/${res.bindDomain}/${res.bindRid}/${this.epoch}`);
        this.#keyCache.delete(res.bindDomain * 2 ** 32 + res.bindRid);
      }
    }
    dom.rids.clear();
    dom.regions = [];
    for (const [k, d] of this.#threadDomain) {
      if (d !== dom.id) continue;
      this.#threadDomain.delete(k);
      this.#exited.add(k);
    }
    this.#ctc.delete(tkey(dom.vm, dom.tid));
  }

  /** Removes a plaintext page from memory: a file page is encrypted (its data must persist); anything else is zeroed. */
  #scrubPlain(r: number, zeroize: boolean): void {
    const vm = this.#vm[r] as VmId;
    const g = this.#gppn[r];
    const maps = this.#maps(vm);
    const res = this.#resources.get(this.#rid[r]);
    if (!zeroize && res?.kind === 'file') {
      this.#encrypt(r);
      return;
    }
    let pm;
    try {
      pm = this.#tvmm.memory.pmap(vm);
    } catch {
      return;
    }
    if (maps.plain[g] === r) maps.plain[g] = -1;
    this.#unpin(r);
    if (pm.mpn[g] === this.#mpn[r] && pm.state[g] & PageState.PRESENT) {
      this.#tvmm.machine.bytes(this.#mpn[r] as Mpn).fill(0);
      this.#tvmm.machine.flags[this.#mpn[r]] &= ~FrameFlag.CLOAKED;
    }
    pm.state[g] &= ~PageState.CLOAKED;
    this.#tvmm.memory.invalidate(vm, g as Gppn);
  }

  // ================================================================ domains (context identification)

  #newResource(dom: Domain, kind: 'anon' | 'file', bind?: { domain: number; rid: number }, fileId?: Uint32Array, file?: FileState): Resource {
    const rid = this.#nextRid++;
    const res: Resource = {
      rid, vm: dom.vm, domain: dom.id, kind,
      bindDomain: bind ? bind.domain : dom.id,
      bindRid: bind ? bind.rid : rid,
      recs: [],
      ...(fileId ? { fileId } : {}),
      ...(file ? { file } : {}),
    };
    this.#resources.set(rid, res);
    dom.rids.add(rid);
    return res;
  }

  #newDomain(vm: number, tid: number, program: string): Domain {
    const id = this.#nextDomain++;
    const dom: Domain = { id, vm, tid, program, regions: [], rids: new Set(), terminated: false, forkChild: false, anonRid: 0 };
    this.#domains.set(id, dom);
    const anon = this.#newResource(dom, 'anon');
    dom.anonRid = anon.rid;
    // The whole user address space is cloaked; the shim punches uncloaked holes for its buffers.
    dom.regions.push({ start: 0, end: VPN_LIMIT, rid: anon.rid, pageBase: 0 });
    this.#threadDomain.set(tkey(vm, tid), id);
    this.#stats.domains++;
    this.#tvmm.sim.trace.emit('cloak', 'domain.create', vm, { domain: id, tid, program });
    return dom;
  }

  /** The anonymous-memory resource of domain `d` (0 when unknown). */
  anonRidOf(d: number): number {
    return this.#domains.get(checkInt('domain', d, 0))?.anonRid ?? 0;
  }

  /** Shim state of the domain a thread runs in (TVMM memory), or undefined. */
  shimState<T>(vm: number, tid: number): T | undefined {
    const d = this.#threadDomain.get(tkey(vm, tid));
    return d === undefined ? undefined : (this.#domains.get(d)?.shim as T | undefined);
  }

  /** Stores shim state for the thread's domain. */
  setShimState(vm: number, tid: number, s: unknown): void {
    const d = this.#threadDomain.get(tkey(vm, tid));
    const dom = d === undefined ? undefined : this.#domains.get(d);
    if (dom) dom.shim = s;
  }

  /** A pending context violation noticed at resume (detect policy), cleared when read. */
  takePendingViolation(vm: number, tid: number): ViolationKind | undefined {
    const d = this.#threadDomain.get(tkey(vm, tid));
    const dom = d === undefined ? undefined : this.#domains.get(d);
    const v = dom?.pendingViolation;
    if (dom) delete dom.pendingViolation;
    return v;
  }

  /** Called by the shim when a thread's Proc is (re)built: returns 'fork-child' when the thread inherits a cloaked domain. */
  claimThread(vm: number, tid: number): 'fork-child' | 'fresh' {
    const d = this.#threadDomain.get(tkey(vm, tid));
    const dom = d === undefined ? undefined : this.#domains.get(d);
    if (dom?.forkChild) {
      dom.forkChild = false;
      return 'fork-child';
    }
    if (dom) {
      // exec: the old image is gone; its plaintext is scrubbed and a fresh shim starts.
      this.#teardown(dom, true);
      dom.terminated = true;
      this.#tvmm.sim.trace.emit('cloak', 'domain.exec', vm, { domain: dom.id });
    }
    return 'fresh';
  }

  /** Drops TLB entries of every context of the domain (its address-space identity changed). */
  #flushDomain(dom: Domain): void {
    for (const c of this.#tvmm.mmu.contexts(dom.vm as VmId)) if (c.domain === dom.id) c.flush();
  }

  #callerDomain(caller: Caller): Domain {
    if (caller.mode !== 'user' || caller.tid === undefined) throw new TerraError('ISOLATION_VIOLATION', 'cloaking hypercalls are for user-mode shims only');
    const d = this.#threadDomain.get(tkey(caller.vm, caller.tid));
    const dom = d === undefined ? undefined : this.#domains.get(d);
    if (!dom) throw new TerraError('ISOLATION_VIOLATION', 'the caller is not a cloaked context');
    if (dom.terminated) throw new TerraError('DOMAIN_TERMINATED', `domain ${dom.id} was terminated`);
    return dom;
  }

  /** Registers the engine's hypercalls (called by attachCloaking). */
  registerHypercalls(): void {
    const t = this.#tvmm;
    t.registerHypercall(HC.CLOAK_REGISTER, 'cloak.register', (caller) => {
      if (caller.mode !== 'user' || caller.tid === undefined) return HCERR.EPERM;
      const k = tkey(caller.vm, caller.tid);
      const existing = this.#threadDomain.get(k);
      if (existing !== undefined && !this.#domains.get(existing)!.terminated) return HCERR.EBUSY;
      const th = t.internalVm(caller.vm).executor.threads.get(caller.tid);
      return this.#newDomain(caller.vm, caller.tid, th?.program ?? '?').id;
    });
    t.registerHypercall(HC.CLOAK_CREATE_RESOURCE, 'cloak.create-resource', (caller, args) => {
      const dom = this.#callerDomain(caller);
      if (args.length !== 0) return HCERR.EINVAL;
      return this.#newResource(dom, 'anon').rid;
    });
    t.registerHypercall(HC.CLOAK_MAP, 'cloak.map', (caller, args) => {
      const dom = this.#callerDomain(caller);
      if (args.length !== 4) return HCERR.EINVAL;
      const [rid, vpn, n, base] = args as [number, number, number, number];
      checkInt('vpn', vpn, 0, VPN_LIMIT - 1);
      checkInt('npages', n, 1, VPN_LIMIT - vpn);
      checkInt('pageBase', base, 0, PAGE_KEY - n);
      if (!dom.rids.has(rid)) return HCERR.EPERM;
      dom.regions = dom.regions.filter((x) => !(x.start === vpn && x.end === vpn + n));
      dom.regions.push({ start: vpn, end: vpn + n, rid, pageBase: base });
      this.#flushDomain(dom);
      return 0;
    });
    t.registerHypercall(HC.CLOAK_UNMAP, 'cloak.unmap', (caller, args) => {
      // (vpn, n): the range becomes uncloaked (shim buffers). (vpn, n, 1): the app unmapped the
      // range: its pages' records are discarded (plaintext zeroed), so a later mapping there is fresh.
      const dom = this.#callerDomain(caller);
      if (args.length !== 2 && !(args.length === 3 && args[2] === 1)) return HCERR.EINVAL;
      const vpn = checkInt('vpn', args[0], 0, VPN_LIMIT - 1);
      const n = checkInt('npages', args[1], 1, VPN_LIMIT - vpn);
      if (args.length === 3) {
        for (let v = vpn; v < vpn + n; v++) {
          const reg = this.#region(dom, v);
          if (!reg || this.#resources.get(reg.rid)?.kind !== 'anon') continue;
          const r = this.#byKey.get(reg.rid * PAGE_KEY + reg.pageBase + v - reg.start);
          if (r === undefined) continue;
          const st = this.#state[r];
          if (st === CloakState.PT_RW || st === CloakState.PT_RO) this.#scrubPlain(r, true);
          this.#freeRecord(r);
        }
      } else dom.regions.push({ start: vpn, end: vpn + n, rid: -1, pageBase: 0 });
      this.#flushDomain(dom);
      return 0;
    });
    t.registerHypercall(HC.CLOAK_FILE, 'cloak.file', (caller, args) => this.#fileHypercall(this.#callerDomain(caller), caller, args));
    t.registerHypercall(CLOAK_HC.RANDOM, 'cloak.random', (caller) => {
      this.#callerDomain(caller);
      const b = new Uint8Array(4);
      this.#rand(b);
      return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
    });
    t.registerHypercall(CLOAK_HC.TIME, 'cloak.time', (caller) => {
      this.#callerDomain(caller);
      return Math.floor(t.sim.clock.now / 1000);
    });
    t.onLifecycle((vm, state) => {
      if (state === 'off' || state === 'destroyed' || state === 'halted') this.#dropVm(vm);
    });
  }

  #dropVm(vm: number): void {
    for (const dom of this.#domains.values()) {
      if (dom.vm !== vm || dom.terminated) continue;
      this.#teardown(dom, true);
      dom.terminated = true;
    }
    this.#vmMaps.delete(vm);
  }

  // ================================================================ cloaked files (metadata)
  //
  // Crash consistency (shadow paging with a two-phase commit rooted in the NV store): every data page
  // has two slots on the kernel's disk (slot 0 in the file, slot 1 in its `.tccow` companion) and the
  // metadata has two slots (in `.tcmeta`). An update writes every changed page to the slot that does
  // NOT hold the page's committed ciphertext, and the new sealed metadata to the metadata slot that
  // does not hold the committed metadata, so the committed version stays intact on disk until the
  // commit point. Freshness and the commit point live in the NV store: per file a generation counter
  // G and, per generation g, a counter N_g. N_g even = at rest, the committed metadata is (g, N_g);
  // N_g odd = an update sealed as (g, N_g + 1) is in flight. STORE advances N_g to odd (intent) before
  // sealing; COMMIT advances it to even. Recovery (LOAD) of an in-flight update rolls forward when its
  // metadata is on disk, else aborts it by advancing G: generation g is dead for ever, so the aborted
  // metadata can never be accepted later (no resurrection of an unacknowledged version). The
  // committed version of a fresh generation is the last even value of the newest earlier generation.

  /** File hypercalls: OPEN(id words ×7) → rid; LOAD(rid, gva, len) → size | error; STORE(rid, gva, max, size) → length; COMMIT(rid); CLOSE(rid); OFFER(rid, gva, len, slot); SLOT(rid, page, write) → slot; TRUNCATE(rid, size); META_SLOT(rid) → slot. */
  #fileHypercall(dom: Domain, caller: Caller, args: readonly number[]): number {
    const op = args[0];
    if (op === CLOAK_FILE_OP.OPEN) {
      if (args.length !== 8) return HCERR.EINVAL;
      const id = new Uint32Array(7);
      for (let i = 0; i < 7; i++) id[i] = checkInt('file id word', args[i + 1], 0, 0xffffffff);
      const hex = [...id].map((w) => w.toString(16).padStart(8, '0')).join('');
      const bindRid = id[0];
      this.#fileKeyInfo.set(`${dom.vm}/${bindRid}`, `file/${dom.vm}/${hex}`);
      return this.#newResource(dom, 'file', { domain: 0, rid: bindRid }, id, { metaSlot: NO_SLOT, offers: [], ghosts: new Map() }).rid;
    }
    const rid = args[1];
    const res = typeof rid === 'number' ? this.#resources.get(rid) : undefined;
    if (!res || res.kind !== 'file' || !dom.rids.has(res.rid) || !res.file) return HCERR.EPERM;
    const counterName = `cloak.file/${dom.vm}/${[...res.fileId!].map((w) => w.toString(16).padStart(8, '0')).join('')}`;
    const space = this.#tvmm.mmu.context(dom.vm as VmId, caller.root as Gppn, KERNEL_DOMAIN, false);
    if (op === CLOAK_FILE_OP.OFFER) {
      if (args.length !== 5) return HCERR.EINVAL;
      const len = checkInt('len', args[3], 0, 1 << 20);
      const slot = checkInt('slot', args[4], 1, 1);
      const blob = len === 0 ? new Uint8Array(0) : space.read(checkInt('gva', args[2], 0, 0xbfffffff), len);
      res.file.offers = res.file.offers.filter((o) => o.slot !== slot);
      res.file.offers.push({ slot, blob });
      return 0;
    }
    if (op === CLOAK_FILE_OP.LOAD) {
      if (args.length !== 4) return HCERR.EINVAL;
      const len = checkInt('len', args[3], 0, 1 << 20);
      const blob = len === 0 ? new Uint8Array(0) : space.read(checkInt('gva', args[2], 0, 0xbfffffff), len);
      const offers = [{ slot: 0, blob }, ...res.file.offers];
      res.file.offers = [];
      return this.#loadFileMeta(dom, res, offers, counterName);
    }
    if (op === CLOAK_FILE_OP.STORE) {
      if (args.length !== 5) return HCERR.EINVAL;
      const gva = checkInt('gva', args[2], 0, 0xbfffffff);
      const max = checkInt('max', args[3], 0, 1 << 20);
      const size = checkInt('size', args[4], 0, 0xffffffff);
      const blob = this.#storeFileMeta(res, size, counterName, max);
      if (blob === undefined) return HCERR.ENOMEM;
      space.write(gva, blob);
      return blob.length;
    }
    if (op === CLOAK_FILE_OP.COMMIT) {
      if (args.length !== 2) return HCERR.EINVAL;
      return this.#commitFileMeta(res, counterName);
    }
    if (op === CLOAK_FILE_OP.SLOT) {
      if (args.length !== 4) return HCERR.EINVAL;
      const page = checkInt('page', args[2], 0, PAGE_KEY - 1);
      const write = checkInt('write', args[3], 0, 1) === 1;
      const r = this.#byKey.get(res.rid * PAGE_KEY + page);
      const committed = r === undefined ? res.file.ghosts.get(page) ?? NO_SLOT : this.#cSlot[r];
      // A write never goes over the committed copy: it takes the other slot (and keeps it until the commit).
      const target = committed === NO_SLOT ? 0 : 1 - committed;
      if (write) {
        if (r !== undefined) this.#wSlot[r] = target;
        return target;
      }
      if (r === undefined) return committed === NO_SLOT ? 0 : committed;
      return this.#wSlot[r] !== NO_SLOT ? this.#wSlot[r] : this.#cSlot[r] !== NO_SLOT ? this.#cSlot[r] : 0;
    }
    if (op === CLOAK_FILE_OP.TRUNCATE) {
      if (args.length !== 3) return HCERR.EINVAL;
      const first = Math.ceil(checkInt('size', args[2], 0, 0xffffffff) / PAGE_SIZE);
      for (const r of [...res.recs]) {
        if (this.#state[r] === CloakState.FREE || this.#rid[r] !== res.rid || this.#page[r] < first) continue;
        const st = this.#state[r];
        if (st === CloakState.PT_RW || st === CloakState.PT_RO) this.#scrubPlain(r, true);
        // The committed copy stays untouched until the next commit: remember where it is.
        if (this.#cSlot[r] !== NO_SLOT) res.file.ghosts.set(this.#page[r], this.#cSlot[r]);
        this.#freeRecord(r);
      }
      res.recs.splice(0, res.recs.length, ...res.recs.filter((r) => this.#state[r] !== CloakState.FREE && this.#rid[r] === res.rid));
      this.#flushDomain(dom);
      return 0;
    }
    if (op === CLOAK_FILE_OP.META_SLOT) {
      if (args.length !== 2) return HCERR.EINVAL;
      return res.file.metaSlot;
    }
    if (op === CLOAK_FILE_OP.CLOSE) {
      for (const r of res.recs) {
        if (this.#state[r] === CloakState.FREE || this.#rid[r] !== res.rid) continue;
        const st = this.#state[r];
        if (st === CloakState.PT_RW || st === CloakState.PT_RO) this.#encrypt(r);
        this.#freeRecord(r);
      }
      this.#resources.delete(res.rid);
      dom.rids.delete(res.rid);
      dom.regions = dom.regions.filter((x) => x.rid !== res.rid);
      this.#flushDomain(dom);
      return 0;
    }
    return HCERR.EINVAL;
  }

  #metaKey(res: Resource): Uint8Array {
    return this.#crypto.hkdfSha256(this.#secret, new TextEncoder().encode('terracloak/cloak/meta/v1'), new Uint8Array(res.fileId!.buffer.slice(0)), 32);
  }

  #metaAad(res: Resource, gen: number, n: number): Uint8Array {
    const a = new Uint8Array(8 + 28 + 12);
    a.set(new TextEncoder().encode('TCLKMET2'));
    a.set(new Uint8Array(res.fileId!.buffer.slice(0)), 8);
    const dv = new DataView(a.buffer);
    dv.setUint32(36, res.vm, true);
    dv.setUint32(40, gen, true);
    dv.setUint32(44, n, true);
    return a;
  }

  /** NV counter names of a file: the generation, and generation g's commit counter. */
  #genName(counterName: string): string {
    return `${counterName}/gen`;
  }
  #nName(counterName: string, g: number): string {
    return g === 0 ? counterName : `${counterName}/g${g}`;
  }

  /** The committed (generation, counter) per the NV store, or undefined when nothing was ever committed. */
  #committed(counterName: string): { gen: number; n: number } | undefined {
    for (let g = this.#nv.counter(this.#genName(counterName)); g >= 0; g--) {
      const v = this.#nv.counter(this.#nName(counterName, g));
      const c = v - (v & 1);
      if (c > 0) return { gen: g, n: c };
    }
    return undefined;
  }

  /**
   * STORE (prepare): the entries describe, for every page, the copy the new version consists of
   * (written since the last commit: the new slot; otherwise the committed copy). The intent is
   * persisted (N_g odd) before the metadata exists, so a crash from here on is seen at recovery.
   */
  #storeFileMeta(res: Resource, size: number, counterName: string, max: number): Uint8Array | undefined {
    const nb = this.#nb, tb = this.#tb;
    const entries: NonNullable<FileState['pending']>['entries'] = [];
    for (const r of res.recs) {
      if (this.#state[r] === CloakState.FREE || this.#rid[r] !== res.rid) continue;
      if (this.#wSlot[r] !== NO_SLOT) {
        // Written since the last commit: the ciphertext the shim wrote (a page still in plaintext
        // after its last write-out is not what the kernel holds: it is left out, as before).
        if (this.#state[r] === CloakState.PT_RW || this.#version[r] === 0) continue;
        entries.push({ r, version: this.#version[r], slot: this.#wSlot[r], nonce: this.#nonce.slice(r * nb, r * nb + nb), tag: this.#tag.slice(r * tb, r * tb + tb) });
      } else if (this.#cSlot[r] !== NO_SLOT && this.#cVersion[r] > 0) {
        entries.push({ r, version: this.#cVersion[r], slot: this.#cSlot[r], nonce: this.#cNonce.slice(r * nb, r * nb + nb), tag: this.#cTag.slice(r * tb, r * tb + tb) });
      }
    }
    const entry = 9 + nb + tb;
    const body = new Uint8Array(8 + entries.length * entry);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, size, true);
    dv.setUint32(4, entries.length, true);
    entries.forEach((e, i) => {
      const o = 8 + i * entry;
      dv.setUint32(o, this.#page[e.r], true);
      dv.setUint32(o + 4, e.version, true);
      body[o + 8] = e.slot;
      body.set(e.nonce, o + 9);
      body.set(e.tag, o + 9 + nb);
    });
    if (12 + 24 + body.length + 16 > max) return undefined;
    // An earlier prepare of this session that never committed (its write failed) is aborted first.
    let gen = this.#nv.counter(this.#genName(counterName));
    if (this.#nv.counter(this.#nName(counterName, gen)) & 1) gen = this.#nv.advance(this.#genName(counterName));
    // Freshness and intent: reserve the odd value persistently before the metadata exists (CLK-22, FLT-04).
    const n = this.#nv.advance(this.#nName(counterName, gen)) + 1;
    const nonce = new Uint8Array(24);
    this.#rand(nonce);
    const sealed = this.#crypto.aeadSeal('xchacha20-poly1305', this.#metaKey(res), nonce, body, this.#metaAad(res, gen, n));
    const out = new Uint8Array(12 + 24 + sealed.length);
    const hv = new DataView(out.buffer);
    hv.setUint32(0, META_MAGIC, true);
    hv.setUint32(4, gen, true);
    hv.setUint32(8, n, true);
    out.set(nonce, 12);
    out.set(sealed, 36);
    res.file!.pending = { gen, n, entries };
    this.#tvmm.sim.trace.emit('cloak', 'file.meta.store', res.vm, { rid: res.rid, gen, counter: n, pages: entries.length });
    return out;
  }

  /** COMMIT: the NV advance to the even value is the commit point; the entries become the committed copies. */
  #commitFileMeta(res: Resource, counterName: string): number {
    const p = res.file!.pending;
    if (!p) return HCERR.EINVAL;
    const name = this.#nName(counterName, p.gen);
    if (this.#nv.counter(this.#genName(counterName)) !== p.gen || this.#nv.counter(name) !== p.n - 1) return HCERR.EINVAL;
    this.#nv.advance(name);
    delete res.file!.pending;
    const nb = this.#nb, tb = this.#tb;
    const inNew = new Set<number>();
    for (const e of p.entries) {
      const r = e.r;
      if (this.#state[r] === CloakState.FREE || this.#rid[r] !== res.rid) continue;
      inNew.add(r);
      this.#cSlot[r] = e.slot;
      this.#cVersion[r] = e.version;
      this.#cNonce.set(e.nonce, r * nb);
      this.#cTag.set(e.tag, r * tb);
      if (this.#wSlot[r] === e.slot) this.#wSlot[r] = NO_SLOT;
    }
    for (const r of res.recs) {
      // Pages left out of the new version have no committed copy any more.
      if (this.#state[r] === CloakState.FREE || this.#rid[r] !== res.rid || inNew.has(r)) continue;
      if (this.#wSlot[r] === NO_SLOT) {
        this.#cSlot[r] = NO_SLOT;
        this.#cVersion[r] = 0;
      }
    }
    res.file!.ghosts.clear();
    res.file!.metaSlot = res.file!.metaSlot === NO_SLOT ? 0 : 1 - res.file!.metaSlot;
    this.#tvmm.sim.trace.emit('cloak', 'file.meta.commit', res.vm, { rid: res.rid, gen: p.gen, counter: p.n });
    return 0;
  }

  #parseMeta(res: Resource, slot: number, blob: Uint8Array): MetaCandidate {
    if (blob.length === 0) return { slot, kind: 'empty', gen: 0, n: 0 };
    if (blob.length < 12 + 24 + 16 + 8) return { slot, kind: 'bad', gen: 0, n: 0 };
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    if (dv.getUint32(0, true) !== META_MAGIC) return { slot, kind: 'bad', gen: 0, n: 0 };
    const gen = dv.getUint32(4, true), n = dv.getUint32(8, true);
    const body = this.#crypto.aeadOpen('xchacha20-poly1305', this.#metaKey(res), blob.subarray(12, 36), blob.subarray(36), this.#metaAad(res, gen, n));
    if (body === null) return { slot, kind: 'bad', gen: 0, n: 0 };
    const entry = 9 + this.#nb + this.#tb;
    const bv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (body.length < 8 || body.length !== 8 + bv.getUint32(4, true) * entry) return { slot, kind: 'bad', gen: 0, n: 0 };
    return { slot, kind: 'ok', gen, n, body };
  }

  /**
   * LOAD (open and recovery): picks the one metadata version the NV store says is current. An
   * in-flight update (N_g odd) rolls forward when its metadata is present, else is aborted (G
   * advanced). Authentic metadata newer than the NV store means the store was rolled back; a
   * missing or older committed version is a rollback; unauthentic metadata where the committed
   * version should be is an integrity violation.
   */
  #loadFileMeta(dom: Domain, res: Resource, offers: { slot: number; blob: Uint8Array }[], counterName: string): number {
    const cands = offers.map((o) => this.#parseMeta(res, o.slot, o.blob));
    const genName = this.#genName(counterName);
    let G = this.#nv.counter(genName);
    for (const c of cands) {
      if (c.kind !== 'ok') continue;
      const v = c.gen <= G ? this.#nv.counter(this.#nName(counterName, c.gen)) : 0;
      if (c.gen > G || c.n > v + (v & 1)) this.#rollback(dom, res, `cloaked file metadata (${c.gen}, ${c.n}) is newer than the NV store: the freshness root was rolled back`);
    }
    const nG = this.#nv.counter(this.#nName(counterName, G));
    let pick: MetaCandidate | undefined;
    if (nG & 1) {
      pick = cands.find((c) => c.kind === 'ok' && c.gen === G && c.n === nG + 1);
      if (pick) {
        this.#nv.advance(this.#nName(counterName, G)); // roll forward: the update was complete on disk
        this.#tvmm.sim.trace.emit('cloak', 'file.recover', res.vm, { rid: res.rid, action: 'roll-forward', gen: G, counter: pick.n });
      } else {
        G = this.#nv.advance(genName); // abort: generation G (and its unfinished metadata) is dead
        this.#tvmm.sim.trace.emit('cloak', 'file.recover', res.vm, { rid: res.rid, action: 'abort', gen: G - 1, counter: nG + 1 });
      }
    }
    const want = this.#committed(counterName);
    if (!pick && want) pick = cands.find((c) => c.kind === 'ok' && c.gen === want.gen && c.n === want.n);
    if (!pick) {
      const bad = cands.some((c) => c.kind === 'bad');
      if (!want) {
        // Nothing committed: a new file (or one whose first update never committed).
        if (bad && G === 0 && nG === 0) this.violation(dom.id, res.rid, 0, 'mac', 'cloaked file metadata failed authentication');
        res.file!.metaSlot = NO_SLOT;
        return 0;
      }
      if (bad) this.violation(dom.id, res.rid, 0, 'mac', 'cloaked file metadata failed authentication');
      const seen = cands.filter((c) => c.kind === 'ok').map((c) => `(${c.gen}, ${c.n})`).join(', ');
      this.#rollback(dom, res, seen ? `cloaked file metadata ${seen} is not the current (${want.gen}, ${want.n})` : 'cloaked file metadata is missing (rollback)');
    }
    const body = pick.body!;
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const size = dv.getUint32(0, true);
    const n = dv.getUint32(4, true);
    const nb = this.#nb, tb = this.#tb, entry = 9 + nb + tb;
    for (let i = 0; i < n; i++) {
      const o = 8 + i * entry;
      const page = dv.getUint32(o, true);
      const slot = body[o + 8];
      if (page >= PAGE_KEY || slot > 1) this.violation(dom.id, res.rid, 0, 'mac', 'cloaked file metadata is malformed');
      const r = this.#byKey.get(res.rid * PAGE_KEY + page) ?? this.#newRecord(res, page);
      this.#state[r] = CloakState.ENC;
      this.#version[r] = dv.getUint32(o + 4, true);
      this.#nonce.set(body.subarray(o + 9, o + 9 + nb), r * nb);
      this.#tag.set(body.subarray(o + 9 + nb, o + 9 + nb + tb), r * tb);
      this.#cVersion[r] = this.#version[r];
      this.#cNonce.set(body.subarray(o + 9, o + 9 + nb), r * nb);
      this.#cTag.set(body.subarray(o + 9 + nb, o + 9 + nb + tb), r * tb);
      this.#cSlot[r] = slot;
      this.#wSlot[r] = NO_SLOT;
    }
    res.file!.metaSlot = pick.slot;
    return size;
  }

  #rollback(dom: Domain, res: Resource, msg: string): never {
    // A stale but authentic metadata version: the freshness root says otherwise (CLK-22).
    this.#stats.violations++;
    this.#violations.push({ vm: dom.vm, domain: dom.id, rid: res.rid, page: 0, kind: 'replay', code: 'ROLLBACK_DETECTED', t: this.#tvmm.sim.clock.now });
    this.#tvmm.sim.trace.security('cloak.violation', dom.vm, { domain: dom.id, rid: res.rid, page: 0, kind: 'replay', code: 'ROLLBACK_DETECTED' });
    this.#teardown(dom, true);
    dom.terminated = true;
    dom.terminatedKind = 'replay';
    dom.terminatedCode = 'ROLLBACK_DETECTED';
    throw new TerraError('ROLLBACK_DETECTED', msg, { vm: dom.vm, domain: dom.id, rid: res.rid });
  }

  // ================================================================ secure control transfer (CTC)

  #onTrap(vm: VmId, tid: number, regs: Uint32Array, kind: string): void {
    const k = tkey(vm, tid);
    if (kind === 'exit' || kind === 'killed') {
      // The thread is gone (onExit ran first): the kernel sees no register of a cloaked thread.
      if (this.#threadDomain.has(k) || this.#exited.delete(k)) regs.fill(0);
      this.#ctc.delete(k);
      return;
    }
    const d = this.#threadDomain.get(k);
    if (d === undefined) return;
    let c = this.#ctc.get(k);
    if (!c) {
      c = { saved: new Uint32Array(NREGS), exposed: new Uint32Array(NREGS), kind, pending: false };
      this.#ctc.set(k, c);
    }
    if (kind === 'fault') this.#pagingFault();
    c.saved.set(regs);
    c.kind = kind;
    c.pending = true;
    c.exposed.fill(0);
    // A syscall exposes only its number and (marshalled) arguments; everything else is scrubbed.
    if (kind === 'syscall') for (let i = REG.r0; i <= REG.r5; i++) c.exposed[i] = regs[i];
    regs.set(c.exposed);
    this.#stats.ctcSaves++;
    this.#tvmm.sim.clock.advance(this.#tvmm.sim.costs.secureControlTransfer);
  }

  #onResume(vm: VmId, tid: number, regs: Uint32Array): void {
    const k = tkey(vm, tid);
    const c = this.#ctc.get(k);
    if (!c || !c.pending) return;
    c.pending = false;
    const kernelR0 = regs[REG.r0];
    let edited = false;
    for (let i = 0; i < NREGS; i++) if (!(i === REG.r0 && c.kind === 'syscall') && regs[i] !== c.exposed[i]) edited = true;
    if (edited) {
      this.#stats.contextEdits++;
      this.#tvmm.sim.trace.security('cloak.context-edit', vm, { tid, policy: this.contextPolicy });
      if (this.contextPolicy === 'detect') {
        const d = this.#threadDomain.get(k);
        const dom = d === undefined ? undefined : this.#domains.get(d);
        if (dom) dom.pendingViolation = 'context';
      }
    }
    regs.set(c.saved);
    if (c.kind === 'syscall') regs[REG.r0] = kernelR0;
    this.#stats.ctcRestores++;
  }

  #onExit(vm: VmId, tid: number): void {
    const k = tkey(vm, tid);
    const d = this.#threadDomain.get(k);
    this.#ctc.delete(k);
    if (d === undefined) return;
    this.#exited.add(k);
    const dom = this.#domains.get(d);
    if (dom && !dom.terminated) {
      this.#teardown(dom, true);
      dom.terminated = true;
      this.#tvmm.sim.trace.emit('cloak', 'domain.exit', vm, { domain: dom.id });
    }
    this.#threadDomain.delete(k);
  }

  /** fork: the child gets its own domain with copies of the parent's cloaked pages' metadata. */
  #onFork(vm: VmId, parent: number, child: number): void {
    const pd = this.#threadDomain.get(tkey(vm, parent));
    const p = pd === undefined ? undefined : this.#domains.get(pd);
    if (!p || p.terminated) return;
    // Everything the kernel will copy must be ciphertext first (transitions 1/5).
    for (const rid of p.rids) {
      const res = this.#resources.get(rid)!;
      for (const r of res.recs) {
        const st = this.#state[r];
        if ((st === CloakState.PT_RW || st === CloakState.PT_RO) && this.#rid[r] === rid) this.#encrypt(r);
      }
    }
    const c = this.#newDomain(vm, child, p.program);
    c.forkChild = true;
    c.regions = [];
    const ridMap = new Map<number, number>();
    ridMap.set(p.anonRid, c.anonRid);
    for (const rid of p.rids) {
      const res = this.#resources.get(rid)!;
      if (res.kind !== 'anon') continue;
      const cr = rid === p.anonRid ? this.#resources.get(c.anonRid)! : this.#newResource(c, 'anon');
      ridMap.set(rid, cr.rid);
      for (const r of res.recs) {
        if (this.#state[r] === CloakState.FREE || this.#rid[r] !== rid || this.#version[r] === 0) continue;
        const n = this.#newRecord(cr, this.#page[r]);
        this.#version[n] = this.#version[r];
        this.#bindDomain[n] = this.#bindDomain[r];
        this.#bindRid[n] = this.#bindRid[r];
        this.#nonce.copyWithin(n * this.#nb, r * this.#nb, (r + 1) * this.#nb);
        this.#tag.copyWithin(n * this.#tb, r * this.#tb, (r + 1) * this.#tb);
      }
    }
    for (const reg of p.regions) {
      if (reg.rid < 0) c.regions.push({ ...reg });
      else if (ridMap.has(reg.rid)) c.regions.push({ ...reg, rid: ridMap.get(reg.rid)! });
    }
    const pc = this.#ctc.get(tkey(vm, parent));
    if (pc) this.#ctc.set(tkey(vm, child), { saved: pc.saved.slice(), exposed: pc.exposed.slice(), kind: pc.kind, pending: pc.pending });
    c.shim = p.shim;
  }
}
