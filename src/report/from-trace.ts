/**
 * Adapters from plain trace events to report data: the ESX reclamation-state bands (Waldspurger
 * OSDI'02 §5) from `memory.reclaim.state` transitions, and a summary of security events.
 */
import type { TraceEvent } from '../sim/trace.js';
import type { ReclamationState, StateBand } from './report.js';

const STATES: readonly ReclamationState[] = ['high', 'soft', 'hard', 'low'];

/**
 * Reclamation-state bands from the `memory` / `reclaim.state` events `{ from, to }`, covering
 * [startNs, endNs] of virtual time, expressed in `opts.unit` (default 'ns'; match the samples'
 * `memory.timeUnit`). Before the first transition the state is that event's `from` (or `initial`
 * when there is none). Throws RangeError when endNs < startNs.
 */
export function stateBandsFromTrace(events: readonly TraceEvent[], endNs: number, opts: { startNs?: number; initial?: ReclamationState; unit?: 'ns' | 'us' | 'ms' } = {}): StateBand[] {
  if (!Array.isArray(events)) throw new TypeError('events must be an array');
  const start = opts.startNs ?? 0;
  if (!Number.isFinite(endNs) || !Number.isFinite(start) || endNs < start) throw new RangeError(`endNs (${endNs}) must be a finite number ≥ startNs (${start})`);
  const changes = events
    .filter((e) => e && e.cat === 'memory' && e.kind === 'reclaim.state' && STATES.includes(e.data?.to as ReclamationState))
    .sort((a, b) => a.t - b.t || a.seq - b.seq);
  const first = changes[0]?.data?.from as ReclamationState | undefined;
  let state: ReclamationState = first && STATES.includes(first) ? first : (opts.initial ?? 'high');
  let from = start;
  const bands: StateBand[] = [];
  for (const c of changes) {
    const t = Math.min(Math.max(c.t, start), endNs);
    if (t > from) bands.push({ from, to: t, state });
    from = Math.max(from, t);
    state = c.data!.to as ReclamationState;
  }
  if (endNs > from) bands.push({ from, to: endNs, state });
  // Merge neighbours in the same state, then convert the unit.
  const out: StateBand[] = [];
  for (const b of bands) {
    const last = out[out.length - 1];
    if (last && last.state === b.state && last.to === b.from) out[out.length - 1] = { ...last, to: b.to };
    else out.push(b);
  }
  const div = { ns: 1, us: 1e3, ms: 1e6 }[opts.unit ?? 'ns'];
  if (div === undefined) throw new TypeError(`opts.unit must be 'ns', 'us' or 'ms', got ${String(opts.unit)}`);
  return div === 1 ? out : out.map((b) => ({ from: b.from / div, to: b.to / div, state: b.state }));
}

/** Counts security events by kind (sorted by kind), e.g. for the report summary. */
export function securityCounts(events: readonly TraceEvent[]): { kind: string; count: number }[] {
  if (!Array.isArray(events)) throw new TypeError('events must be an array');
  const m = new Map<string, number>();
  for (const e of events) if (e && e.cat === 'security') m.set(e.kind, (m.get(e.kind) ?? 0) + 1);
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([kind, count]) => ({ kind, count }));
}
