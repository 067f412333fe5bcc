/**
 * Chrome trace-event JSON (the `{"traceEvents": [...]}` object format; opens in Perfetto and
 * chrome://tracing) from terracloak's {@link TraceEvent}s. One process per VM plus one for the
 * TVMM/host, one thread track per category (and per vCPU when events name one), security events
 * on their own track, highlighted. Spans become complete ('X') events, everything else instant
 * ('i') events. Keys are emitted in a fixed order and numbers by JSON's shortest round-trip form,
 * so one trace gives one byte-identical file.
 *
 * Spans are recognised three ways: (1) a `data.durNs` number — the event closes a span of that
 * length ending at `t`; (2) paired kinds `X.begin`/`X.end`, `X.start`/`X.end` or `X.enter`/`X.exit`
 * on one VM and category (matched LIFO, and by `data.tid` / `data.id` when present); (3) extra
 * pairs given in `opts.spans` as full `cat.kind` names. Spans that overlap without nesting on one
 * track are moved to extra lanes (`io #2`, …) because viewers reject mis-nested slices.
 */
import type { TraceCategory, TraceEvent } from '../sim/trace.js';

/** An extra begin/end pairing rule, by `cat.kind` (e.g. `{ begin: 'cloak.enter', end: 'cloak.leave' }`). */
export interface SpanRule {
  readonly begin: string;
  readonly end: string;
  /** Span name (default: the begin kind without its suffix). */
  readonly name?: string;
}

/** Options for {@link toChromeTrace}. */
export interface ChromeTraceOptions {
  /** VM id → display name (names from `mgmt.create-vm` events are used otherwise). */
  readonly vmNames?: Readonly<Record<number, string>>;
  /** Name of the host/TVMM process (default `TVMM (host)`). */
  readonly hostName?: string;
  /** Extra span pairing rules. */
  readonly spans?: readonly SpanRule[];
  /** Scalar values recorded in the file's `otherData` (e.g. seed, digest). Keys are sorted. */
  readonly metadata?: Readonly<Record<string, string | number | boolean>>;
}

/** The pid of the TVMM/host process; VM `n` is pid `VM_PID_BASE + n`. */
export const HOST_PID = 1;
/** Base of VM pids. */
export const VM_PID_BASE = 1000;

/** Fixed track order within a process: one thread per category; security last and highlighted. */
export const TRACK_ORDER: readonly TraceCategory[] = ['vm', 'vcpu', 'sched', 'mmu', 'memory', 'cloak', 'guest', 'io', 'irq', 'storage', 'attest', 'mgmt', 'security'];

type Scalar = string | number | boolean | null;

interface Out {
  name: string;
  cat: string;
  ph: 'X' | 'i' | 'M';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  s?: 't' | 'p';
  cname?: string;
  args: Record<string, Scalar>;
  /** Sort key: begin seq. */
  seq: number;
  /** Track (thread) name inside the process; resolved to `tid` at the end. */
  track?: string;
  /** Span start and end in virtual ns (X events), for lane assignment. */
  startNs?: number;
  endNs?: number;
}

const SUFFIX_PAIRS: readonly [string, string][] = [['.begin', '.end'], ['.start', '.end'], ['.enter', '.exit']];

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function checkEvent(e: unknown, at: string): TraceEvent {
  if (e === null || typeof e !== 'object') throw new TypeError(`${at} must be a trace event object, got ${describe(e)}`);
  const x = e as Record<string, unknown>;
  if (typeof x.seq !== 'number' || !Number.isInteger(x.seq)) throw new TypeError(`${at}.seq must be an integer`);
  if (typeof x.t !== 'number' || !Number.isFinite(x.t) || x.t < 0) throw new RangeError(`${at}.t must be a finite number ≥ 0 (virtual ns), got ${String(x.t)}`);
  if (typeof x.cat !== 'string' || x.cat === '') throw new TypeError(`${at}.cat must be a non-empty string`);
  if (typeof x.kind !== 'string' || x.kind === '') throw new TypeError(`${at}.kind must be a non-empty string`);
  if (x.vm !== undefined && (typeof x.vm !== 'number' || !Number.isInteger(x.vm) || x.vm < 0)) throw new TypeError(`${at}.vm must be a non-negative integer`);
  if (x.data !== undefined && (x.data === null || typeof x.data !== 'object' || Array.isArray(x.data))) throw new TypeError(`${at}.data must be an object`);
  return e as TraceEvent;
}

function sortedArgs(...objs: (Readonly<Record<string, Scalar>> | undefined)[]): Record<string, Scalar> {
  const m: Record<string, Scalar> = {};
  for (const o of objs) if (o) for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) m[k] = v;
    else if (typeof v === 'number') m[k] = String(v);
  }
  return Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]]));
}

/** Serialises one output event with a fixed key order. */
function line(o: Out): string {
  const parts = [
    `"name":${JSON.stringify(o.name)}`,
    `"cat":${JSON.stringify(o.cat)}`,
    `"ph":"${o.ph}"`,
    `"ts":${JSON.stringify(o.ts)}`,
  ];
  if (o.dur !== undefined) parts.push(`"dur":${JSON.stringify(o.dur)}`);
  parts.push(`"pid":${o.pid}`, `"tid":${o.tid}`);
  if (o.s) parts.push(`"s":"${o.s}"`);
  if (o.cname) parts.push(`"cname":"${o.cname}"`);
  parts.push(`"args":${JSON.stringify(o.args)}`);
  return `{${parts.join(',')}}`;
}

/** One run (one Host's trace) for {@link toChromeTraceRuns}. */
export interface TraceRun {
  /** Prefix of the run's process names (e.g. the demo stage or the host name). */
  readonly name: string;
  readonly events: readonly TraceEvent[];
  /** VM id → display name within this run. */
  readonly vmNames?: Readonly<Record<number, string>>;
}

/** Options for {@link toChromeTraceRuns}. */
export interface ChromeTraceRunsOptions extends Omit<ChromeTraceOptions, 'vmNames'> {
  /** `sequential` (default): each run starts after the previous one ends, plus `gapNs`; `concurrent`: every run keeps its own times (hosts of one cluster). */
  readonly layout?: 'sequential' | 'concurrent';
  /** Gap between sequential runs (virtual ns, default 1 ms). */
  readonly gapNs?: number;
}

/** Pids of run `i` are offset by `i * RUN_PID_STRIDE` (VM ids are 16-bit, so runs never collide). */
export const RUN_PID_STRIDE = 100_000;

/**
 * Converts trace events to Chrome trace-event JSON text. Throws TypeError/RangeError naming the
 * index of a malformed event. The same events and options give byte-identical text.
 */
export function toChromeTrace(events: readonly TraceEvent[], opts: ChromeTraceOptions = {}): string {
  if (!Array.isArray(events)) throw new TypeError(`events must be an array, got ${describe(events)}`);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  return render([{ name: '', events, ...(opts.vmNames ? { vmNames: opts.vmNames } : {}) }], opts, 'concurrent', 0, (r, i) => `events[${i}]`);
}

/**
 * Converts several runs (e.g. the demo's stages, each on its own Host, or the hosts of a cluster)
 * into one Chrome trace: every run gets its own TVMM and VM processes, named with the run's name.
 * Throws TypeError/RangeError naming the run and event index of malformed input; deterministic.
 */
export function toChromeTraceRuns(runs: readonly TraceRun[], opts: ChromeTraceRunsOptions = {}): string {
  if (!Array.isArray(runs)) throw new TypeError(`runs must be an array, got ${describe(runs)}`);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  runs.forEach((r, i) => {
    if (r === null || typeof r !== 'object') throw new TypeError(`runs[${i}] must be an object, got ${describe(r)}`);
    if (typeof r.name !== 'string' || r.name.length > 200) throw new TypeError(`runs[${i}].name must be a string of at most 200 characters`);
    if (!Array.isArray(r.events)) throw new TypeError(`runs[${i}].events must be an array, got ${describe(r.events)}`);
  });
  const layout = opts.layout ?? 'sequential';
  if (layout !== 'sequential' && layout !== 'concurrent') throw new TypeError(`opts.layout must be "sequential" or "concurrent", got ${String(layout)}`);
  const gap = opts.gapNs ?? 1_000_000;
  if (typeof gap !== 'number' || !Number.isFinite(gap) || gap < 0) throw new RangeError(`opts.gapNs must be a finite number ≥ 0, got ${String(gap)}`);
  return render(runs, opts, layout, gap, (r, i) => `runs[${r}].events[${i}]`);
}

/** An event of one run, placed on the common timeline. */
interface REv {
  readonly e: TraceEvent;
  readonly run: number;
  /** Virtual ns on the common timeline. */
  readonly t: number;
  /** Global order (run-major, then seq). */
  readonly ord: number;
}

function render(runs: readonly TraceRun[], opts: ChromeTraceOptions, layout: 'sequential' | 'concurrent', gapNs: number, at: (run: number, i: number) => string): string {
  const evs: REv[] = [];
  let offset = 0;
  runs.forEach((run, ri) => {
    const list = run.events.map((e, i) => checkEvent(e, at(ri, i))).slice().sort((a, b) => a.seq - b.seq);
    let end = 0;
    for (const e of list) {
      evs.push({ e, run: ri, t: e.t + offset, ord: evs.length });
      if (e.t > end) end = e.t;
    }
    if (layout === 'sequential' && list.length) offset += end + gapNs;
  });
  const rules = opts.spans ?? [];
  for (const [i, r] of rules.entries()) {
    if (!r || typeof r.begin !== 'string' || typeof r.end !== 'string' || r.begin === r.end) throw new TypeError(`opts.spans[${i}] must have distinct begin and end strings`);
  }

  const names = new Map<number, string>(); // by local pid (run offset included)
  for (const { e, run } of evs)
    if (e.cat === 'mgmt' && e.kind === 'create-vm' && e.vm !== undefined && typeof e.data?.name === 'string') names.set(run * RUN_PID_STRIDE + VM_PID_BASE + e.vm, e.data.name);
  runs.forEach((r, ri) => {
    for (const [k, v] of Object.entries(r.vmNames ?? {})) names.set(ri * RUN_PID_STRIDE + VM_PID_BASE + Number(k), String(v));
  });

  // Threads: (pid, track name) → tid; tids are assigned from the fixed track order, so they are stable.
  const tracks = new Map<number, Set<string>>();
  const pidOf = (r: REv) => r.run * RUN_PID_STRIDE + (r.e.vm === undefined ? HOST_PID : VM_PID_BASE + r.e.vm);
  const trackOf = ({ e }: REv) => (e.cat === 'vcpu' && typeof e.data?.vcpu === 'number' ? `vcpu ${e.data.vcpu}` : e.cat);
  const use = (pid: number, track: string) => {
    let s = tracks.get(pid);
    if (!s) tracks.set(pid, (s = new Set()));
    s.add(track);
  };

  const out: Out[] = [];
  const open = new Map<string, REv[]>();
  const spanOf = (e: TraceEvent): { key: string; role: 'begin' | 'end'; name: string } | undefined => {
    const full = `${e.cat}.${e.kind}`;
    for (const r of rules) {
      if (full === r.begin) return { key: r.begin, role: 'begin', name: r.name ?? e.kind };
      if (full === r.end) return { key: r.begin, role: 'end', name: r.name ?? e.kind };
    }
    for (const [b, en] of SUFFIX_PAIRS) {
      if (e.kind.endsWith(b) && e.kind.length > b.length) return { key: `${e.cat}.${e.kind.slice(0, -b.length)}${b}`, role: 'begin', name: e.kind.slice(0, -b.length) };
      if (e.kind.endsWith(en) && e.kind.length > en.length) {
        const base = e.kind.slice(0, -en.length);
        return { key: `${e.cat}.${base}${b}`, role: 'end', name: base };
      }
    }
    return undefined;
  };
  const ident = (e: TraceEvent) => (typeof e.data?.tid === 'number' ? `t${e.data.tid}` : typeof e.data?.id === 'number' || typeof e.data?.id === 'string' ? `i${e.data.id}` : '');
  const instant = (r: REv, extra?: Record<string, Scalar>) => {
    const { e } = r;
    const pid = pidOf(r);
    const track = trackOf(r);
    use(pid, track);
    const sec = e.cat === 'security';
    out.push({
      name: e.kind, cat: e.cat, ph: 'i', ts: r.t / 1000, pid, tid: 0, s: 't',
      ...(sec ? { cname: 'terrible' } : {}),
      args: sortedArgs(e.data, extra, { seq: e.seq }),
      seq: r.ord,
      track,
    });
  };

  for (const r of evs) {
    const { e } = r;
    const durNs = e.data?.durNs;
    if (typeof durNs === 'number' && Number.isFinite(durNs) && durNs >= 0 && e.cat !== 'security') {
      const pid = pidOf(r);
      const track = trackOf(r);
      use(pid, track);
      const start = Math.max(r.t - e.t, r.t - durNs);
      out.push({ name: e.kind, cat: e.cat, ph: 'X', ts: start / 1000, dur: (r.t - start) / 1000, pid, tid: 0, args: sortedArgs(e.data, { seq: e.seq }), seq: r.ord, track, startNs: start, endNs: r.t });
      continue;
    }
    const sp = e.cat === 'security' ? undefined : spanOf(e);
    if (!sp) {
      instant(r);
      continue;
    }
    const k = `${r.run}|${e.vm ?? 'h'}|${sp.key}|${ident(e)}`;
    if (sp.role === 'begin') {
      let st = open.get(k);
      if (!st) open.set(k, (st = []));
      st.push(r);
      continue;
    }
    const b = open.get(k)?.pop();
    if (!b) {
      instant(r, { unmatched: 'end' });
      continue;
    }
    const pid = pidOf(b);
    const track = trackOf(b);
    use(pid, track);
    out.push({ name: sp.name, cat: b.e.cat, ph: 'X', ts: b.t / 1000, dur: (r.t - b.t) / 1000, pid, tid: 0, args: sortedArgs(b.e.data, e.data, { endSeq: e.seq, seq: b.e.seq }), seq: b.ord, track, startNs: b.t, endNs: r.t });
  }
  for (const st of open.values()) for (const b of st) instant(b, { unmatched: 'begin' });

  // Complete events on one track must nest or be disjoint (viewers reject partial overlaps):
  // overlapping spans move to extra lanes `track #2`, `track #3`, … (greedy, deterministic).
  const spans = out
    .filter((o) => o.ph === 'X')
    .sort((a, b) => a.startNs! - b.startNs! || b.endNs! - b.startNs! - (a.endNs! - a.startNs!) || a.seq - b.seq);
  const lanes = new Map<string, number[][]>();
  for (const o of spans) {
    const key = `${o.pid}|${o.track}`;
    let ls = lanes.get(key);
    if (!ls) lanes.set(key, (ls = []));
    let placed = -1;
    for (let i = 0; i < ls.length && placed < 0; i++) {
      const open = ls[i];
      while (open.length && open[open.length - 1] <= o.startNs!) open.pop();
      if (open.length === 0 || o.endNs! <= open[open.length - 1]) {
        open.push(o.endNs!);
        placed = i;
      }
    }
    if (placed < 0) {
      ls.push([o.endNs!]);
      placed = ls.length - 1;
    }
    if (placed > 0) {
      o.track = `${o.track} #${placed + 1}`;
      use(o.pid, o.track);
    }
  }

  // Assign tids per process in the fixed order (categories first, then vcpu N, then others by name).
  const rank = (track: string) => {
    const lane = /^(.*) #(\d+)$/.exec(track);
    const t = lane ? lane[1] : track;
    const sub = lane ? Number(lane[2]) : 0;
    const i = TRACK_ORDER.indexOf(t as TraceCategory);
    if (i >= 0) return [i, sub, track] as const;
    const m = /^vcpu (\d+)$/.exec(t);
    if (m) return [TRACK_ORDER.indexOf('vcpu'), 1000 * (1 + Number(m[1])) + sub, track] as const;
    return [TRACK_ORDER.length, 0, track] as const;
  };
  const tidOf = new Map<string, number>();
  const meta: string[] = [];
  const pids = [...tracks.keys()].sort((a, b) => a - b);
  for (const pid of pids) {
    const run = Math.floor(pid / RUN_PID_STRIDE);
    const local = pid % RUN_PID_STRIDE;
    const prefix = runs[run].name ? `${runs[run].name}: ` : '';
    const pname = prefix + (local === HOST_PID ? (opts.hostName ?? 'TVMM (host)') : `VM ${local - VM_PID_BASE}${names.has(pid) ? `: ${names.get(pid)}` : ''}`);
    meta.push(line({ name: 'process_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid: 0, args: { name: pname }, seq: -1 }));
    meta.push(line({ name: 'process_sort_index', cat: '__metadata', ph: 'M', ts: 0, pid, tid: 0, args: { sort_index: pid }, seq: -1 }));
    const ts = [...tracks.get(pid)!].sort((a, b) => {
      const [ra, rb] = [rank(a), rank(b)];
      return ra[0] - rb[0] || ra[1] - rb[1] || (ra[2] < rb[2] ? -1 : ra[2] > rb[2] ? 1 : 0);
    });
    ts.forEach((t, i) => {
      const tid = i + 1;
      tidOf.set(`${pid}|${t}`, tid);
      meta.push(line({ name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid, args: { name: t === 'security' ? '⚠ security' : t }, seq: -1 }));
      meta.push(line({ name: 'thread_sort_index', cat: '__metadata', ph: 'M', ts: 0, pid, tid, args: { sort_index: tid }, seq: -1 }));
    });
  }
  const body = out
    .map((o): Out => ({ ...o, tid: tidOf.get(`${o.pid}|${o.track}`)! }))
    .sort((a, b) => a.ts - b.ts || a.seq - b.seq)
    .map(line);
  const other = opts.metadata ? sortedArgs(opts.metadata as Record<string, Scalar>) : {};
  const counts = runs.length === 1 && runs[0].name === '' ? { events: evs.length } : { events: evs.length, runs: runs.map((r) => r.name) };
  return `{"traceEvents":[\n${[...meta, ...body].join(',\n')}\n],"displayTimeUnit":"ns","otherData":${JSON.stringify({ generator: 'terracloak', ...other, ...counts })}}\n`;
}
