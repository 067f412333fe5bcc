/** The simulation context: created once per Host and handed to every mechanism. */
import { VirtualClock } from './clock.js';
import { EventQueue } from './events.js';
import { SeededRng } from './rng.js';
import { Trace } from './trace.js';
import { makeCosts, type CostTable } from './costs.js';
import { checkBool, checkInt, checkObject } from './validate.js';

/** Clock, randomness, events, costs and trace shared by one simulated machine. */
export interface SimContext {
  readonly seed: number;
  readonly clock: VirtualClock;
  readonly rng: SeededRng;
  readonly events: EventQueue;
  readonly costs: CostTable;
  readonly trace: Trace;
  /** When true, keys and nonces come from the platform CSPRNG instead of `rng`. */
  readonly realRandomness: boolean;
}

/** Options for {@link createSimContext}. */
export interface SimOptions {
  seed?: number;
  costs?: Partial<CostTable>;
  realRandomness?: boolean;
  traceKeep?: number;
}

/** Creates a fresh simulation context; throws TypeError/RangeError on bad options. */
export function createSimContext(opts: SimOptions = {}): SimContext {
  checkObject('options', opts);
  const seed = opts.seed === undefined ? 1 : checkInt('seed', opts.seed);
  const realRandomness = opts.realRandomness === undefined ? false : checkBool('realRandomness', opts.realRandomness);
  const keep = opts.traceKeep === undefined ? 200_000 : checkInt('traceKeep', opts.traceKeep, 1);
  const clock = new VirtualClock();
  return {
    seed,
    clock,
    rng: SeededRng.fromSeed(seed),
    events: new EventQueue(clock),
    costs: makeCosts(opts.costs ?? {}),
    trace: new Trace(clock, keep),
    realRandomness,
  };
}
