import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/sim/index.js';
import { HOST_PID, RUN_PID_STRIDE, toChromeTrace, toChromeTraceRuns, VM_PID_BASE } from '../../src/trace-export/index.js';
import { Host, type ProgramFn } from '../../src/tvmm/index.js';
import { MiniKernel } from '../helpers/minikernel.js';

interface Ev {
  name: string; cat: string; ph: string; ts: number; dur?: number; pid: number; tid: number; s?: string; cname?: string; args: Record<string, unknown>;
}

/** A real run: two VMs running a small program, one halted by a security event. */
function realTrace(seed: number): TraceEvent[] {
  const host = new Host({ seed, machineMiB: 64 });
  const tvmm = host.boot();
  const prog: ProgramFn = function* (p) {
    for (let i = 0; i < 64; i++) p.store32(0x400000 + i * 64, i);
    p.write(0x401000, new TextEncoder().encode('hi'));
    yield* p.syscall(2, [0x401000, 2]);
    yield* p.syscall(0, [0]);
  };
  for (const name of ['alpha', 'beta']) {
    const id = tvmm.createVm({ name, kind: name === 'beta' ? 'closed-box' : 'open-box', memoryMiB: 4, guest: new MiniKernel(['prog']), programs: { prog } });
    tvmm.power(id, 'on');
  }
  tvmm.run({ untilNs: 1e8 });
  try {
    tvmm.management.readMemory(2 as never, 0, 16);
  } catch {
    /* refused: recorded as a security event */
  }
  return host.sim.trace.events();
}

function validate(text: string): { traceEvents: Ev[]; displayTimeUnit: string; otherData: Record<string, unknown> } {
  const j = JSON.parse(text) as { traceEvents: Ev[]; displayTimeUnit: string; otherData: Record<string, unknown> };
  expect(Object.keys(j)).toEqual(['traceEvents', 'displayTimeUnit', 'otherData']);
  expect(j.displayTimeUnit).toBe('ns');
  const threads = new Set<string>();
  for (const e of j.traceEvents) {
    expect(['X', 'i', 'M']).toContain(e.ph);
    expect(typeof e.name).toBe('string');
    expect(Number.isInteger(e.pid) && Number.isInteger(e.tid)).toBe(true);
    expect(Number.isFinite(e.ts) && e.ts >= 0).toBe(true);
    expect(typeof e.args).toBe('object');
    if (e.ph === 'X') expect(e.dur! >= 0).toBe(true);
    if (e.ph === 'i') expect(e.s).toBe('t');
    if (e.ph === 'M' && e.name === 'thread_name') threads.add(`${e.pid}/${e.tid}`);
  }
  for (const e of j.traceEvents) if (e.ph !== 'M') expect(threads.has(`${e.pid}/${e.tid}`), `${e.name} has a named thread`).toBe(true);
  return j;
}

describe('toChromeTrace', () => {
  it('turns a real run into a valid trace with a process per VM and the TVMM', () => {
    const events = realTrace(5);
    expect(events.length).toBeGreaterThan(10);
    const j = validate(toChromeTrace(events, { metadata: { seed: 5 } }));
    const procs = j.traceEvents.filter((e) => e.name === 'process_name').map((e) => [e.pid, e.args.name]);
    expect(procs).toEqual([[HOST_PID, 'TVMM (host)'], [VM_PID_BASE + 1, 'VM 1: alpha'], [VM_PID_BASE + 2, 'VM 2: beta']]);
    for (const pid of [VM_PID_BASE + 1, VM_PID_BASE + 2]) {
      const tracks = j.traceEvents.filter((e) => e.name === 'thread_name' && e.pid === pid);
      expect(tracks.length).toBeGreaterThanOrEqual(1);
      expect(j.traceEvents.filter((e) => e.ph !== 'M' && e.pid === pid).length).toBeGreaterThan(0);
    }
    const sec = j.traceEvents.filter((e) => e.cat === 'security');
    expect(sec.length).toBeGreaterThan(0);
    for (const e of sec) {
      expect(e.cname).toBe('terrible');
      const track = j.traceEvents.find((m) => m.name === 'thread_name' && m.pid === e.pid && m.tid === e.tid)!;
      expect(track.args.name).toBe('⚠ security');
    }
    expect(sec.find((e) => e.name === 'mgmt.inspect.refused')?.args).toMatchObject({ what: 'memory' });
    expect(j.otherData).toMatchObject({ seed: 5, events: events.length });
    // ts is virtual µs.
    const last = events.at(-1)!;
    expect(Math.max(...j.traceEvents.map((e) => e.ts))).toBe(last.t / 1000);
  });

  it('is byte-identical for the same seed and independent of input order', () => {
    const a = toChromeTrace(realTrace(9));
    const b = toChromeTrace(realTrace(9));
    expect(a).toBe(b);
    expect(toChromeTrace([...realTrace(9)].reverse())).toBe(a); // input order does not matter: seq does
  });

  it('pairs begin/end kinds into complete events, LIFO and per thread id', () => {
    const ev = (seq: number, t: number, kind: string, data?: Record<string, number | string>): TraceEvent => ({ seq, t, cat: 'cloak', kind, vm: 3, ...(data ? { data } : {}) });
    const events: TraceEvent[] = [
      ev(0, 1000, 'transition.begin', { tid: 1 }),
      ev(1, 1500, 'transition.begin', { tid: 2 }),
      ev(2, 2000, 'transition.end', { tid: 1, bytes: 4096 }),
      ev(3, 2600, 'transition.end', { tid: 2 }),
      ev(4, 3000, 'encrypt', { durNs: 750 }),
      ev(5, 4000, 'orphan.end'),
      ev(6, 5000, 'dangling.start'),
      { seq: 7, t: 5500, cat: 'vcpu', kind: 'run', vm: 3, data: { vcpu: 1 } },
    ];
    const j = validate(toChromeTrace(events));
    const x = j.traceEvents.filter((e) => e.ph === 'X');
    expect(x.map((e) => [e.name, e.ts, e.dur])).toEqual([['transition', 1, 1], ['transition', 1.5, 1.1], ['encrypt', 2.25, 0.75]]);
    expect(x[0].args).toEqual({ bytes: 4096, endSeq: 2, seq: 0, tid: 1 });
    const inst = j.traceEvents.filter((e) => e.ph === 'i');
    expect(inst.map((e) => [e.name, e.args.unmatched])).toEqual([['orphan.end', 'end'], ['dangling.start', 'begin'], ['run', undefined]]);
    const tracks = j.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.args.name);
    expect(tracks).toEqual(['vcpu 1', 'cloak', 'cloak #2']);
    // The two transitions overlap without nesting, so they sit on different lanes.
    expect(x[0].tid).not.toBe(x[1].tid);
    expect(x[2].tid).toBe(x[0].tid);
  });

  it('keeps complete events on every track nested or disjoint', () => {
    const events: TraceEvent[] = [];
    let seq = 0;
    for (let i = 0; i < 200; i++) {
      const start = (i * 7919) % 5000;
      events.push({ seq: seq++, t: start, cat: 'io', kind: 'req.begin', vm: 1, data: { id: i } });
      events.push({ seq: seq++, t: start + 1 + ((i * 104729) % 900), cat: 'io', kind: 'req.end', vm: 1, data: { id: i } });
    }
    events.sort((a, b) => a.t - b.t || a.seq - b.seq);
    const j = validate(toChromeTrace(events.map((e, k) => ({ ...e, seq: k }))));
    const x = j.traceEvents.filter((e) => e.ph === 'X');
    expect(x.length).toBe(200);
    const byTid = new Map<number, Ev[]>();
    for (const e of x) byTid.set(e.tid, [...(byTid.get(e.tid) ?? []), e]);
    expect(byTid.size).toBeGreaterThan(1);
    for (const spans of byTid.values())
      for (const a of spans)
        for (const b of spans) {
          if (a === b) continue;
          const [a0, a1, b0, b1] = [a.ts * 1000, (a.ts + a.dur!) * 1000, b.ts * 1000, (b.ts + b.dur!) * 1000].map(Math.round);
          const disjoint = a1 <= b0 || b1 <= a0;
          const nested = (a0 <= b0 && b1 <= a1) || (b0 <= a0 && a1 <= b1);
          expect(disjoint || nested).toBe(true);
        }
  });

  it('supports explicit span rules', () => {
    const j = validate(
      toChromeTrace(
        [
          { seq: 0, t: 0, cat: 'io', kind: 'submit', vm: 1 },
          { seq: 1, t: 8000, cat: 'io', kind: 'complete', vm: 1 },
        ],
        { spans: [{ begin: 'io.submit', end: 'io.complete', name: 'disk IO' }], vmNames: { 1: 'db' } },
      ),
    );
    expect(j.traceEvents.find((e) => e.ph === 'X')).toMatchObject({ name: 'disk IO', ts: 0, dur: 8 });
    expect(j.traceEvents.find((e) => e.name === 'process_name')!.args.name).toBe('VM 1: db');
  });

  it('lays several runs out one after another, each with its own processes', () => {
    const a = realTrace(5);
    const b = realTrace(6);
    const text = toChromeTraceRuns([{ name: 'stage 1', events: a }, { name: 'stage 2', events: b, vmNames: { 1: 'renamed' } }], { gapNs: 2000 });
    const j = validate(text);
    const procs = j.traceEvents.filter((e) => e.name === 'process_name').map((e) => [e.pid, e.args.name]);
    expect(procs).toEqual([
      [HOST_PID, 'stage 1: TVMM (host)'], [VM_PID_BASE + 1, 'stage 1: VM 1: alpha'], [VM_PID_BASE + 2, 'stage 1: VM 2: beta'],
      [RUN_PID_STRIDE + HOST_PID, 'stage 2: TVMM (host)'], [RUN_PID_STRIDE + VM_PID_BASE + 1, 'stage 2: VM 1: renamed'], [RUN_PID_STRIDE + VM_PID_BASE + 2, 'stage 2: VM 2: beta'],
    ]);
    const endA = Math.max(...a.map((e) => e.t));
    const firstB = Math.min(...j.traceEvents.filter((e) => e.ph !== 'M' && e.pid >= RUN_PID_STRIDE).map((e) => e.ts));
    expect(firstB).toBe((endA + 2000 + Math.min(...b.map((e) => e.t))) / 1000);
    expect(Math.max(...j.traceEvents.filter((e) => e.pid < RUN_PID_STRIDE).map((e) => e.ts))).toBe(endA / 1000);
    expect(j.otherData).toMatchObject({ events: a.length + b.length, runs: ['stage 1', 'stage 2'] });
    expect(toChromeTraceRuns([{ name: 'stage 1', events: a }, { name: 'stage 2', events: b, vmNames: { 1: 'renamed' } }], { gapNs: 2000 })).toBe(text);
    // Concurrent layout keeps each run's own clock.
    const c = validate(toChromeTraceRuns([{ name: 'h1', events: a }, { name: 'h2', events: a }], { layout: 'concurrent' }));
    const ts = (lo: number, hi: number) => c.traceEvents.filter((e) => e.ph !== 'M' && e.pid >= lo && e.pid < hi).map((e) => e.ts);
    expect(ts(RUN_PID_STRIDE, 2 * RUN_PID_STRIDE)).toEqual(ts(0, RUN_PID_STRIDE));
    // One unnamed run is exactly toChromeTrace.
    expect(toChromeTraceRuns([{ name: '', events: a }], { layout: 'concurrent' })).toBe(toChromeTrace(a));
    expect(() => toChromeTraceRuns([{ name: 'x', events: [null as never] }])).toThrow(/runs\[0\]\.events\[0\]/);
    expect(() => toChromeTraceRuns([{ name: 'x', events: [] }], { gapNs: -1 })).toThrow(RangeError);
  });

  it('refuses malformed input with the index', () => {
    expect(() => toChromeTrace('x' as never)).toThrow(TypeError);
    expect(() => toChromeTrace([{ seq: 0, t: -1, cat: 'vm', kind: 'k' }])).toThrow(/events\[0\]\.t/);
    expect(() => toChromeTrace([{ seq: 0, t: 0, cat: 'vm', kind: 'k' }, null as never])).toThrow(/events\[1\]/);
    expect(() => toChromeTrace([], { spans: [{ begin: 'a', end: 'a' }] })).toThrow(/opts\.spans\[0\]/);
  });
});
