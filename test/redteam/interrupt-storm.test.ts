/**
 * Red team: performance isolation against an interrupt storm. A guest kernel arms thousands of
 * one-shot timers for the same instant. Before the defence the scheduler delivered every pending
 * interrupt of a VM in one go, charging each to the virtual clock: 100 000 timers held the CPU for
 * 200 virtual ms in one turn (the co-tenant's 1 ms slice became a 200 ms stall), the event queue
 * grew without bound, and a timer armed before a power cycle fired into the next boot. Now delivery
 * is bounded by the time slice per turn, armed timers are capped per VM (TerraError BUSY beyond),
 * and a timer of an earlier boot is dropped.
 */
import { describe, expect, it } from 'vitest';
import { Host, MAX_TIMERS_PER_VM, TIME_SLICE_NS, TerraError, type GuestOs, type GuestPlatform } from '../../src/index.js';

/** A victim kernel that runs one compute-bound thread and records when it gets the CPU. */
function victimKernel(starts: number[]): GuestOs {
  let p!: GuestPlatform;
  let tid = 0;
  return {
    boot(x) {
      p = x;
      tid = p.createThread({ root: 0, program: 'spin' });
    },
    interrupt() {},
    run(budget) {
      starts.push(p.now());
      const t0 = p.now();
      while (p.now() - t0 < budget) p.resume(tid);
      return 'runnable';
    },
  };
}

const spin = function* (pr: Parameters<import('../../src/index.js').ProgramFn>[0]) {
  for (;;) yield* pr.compute(50_000);
};

function world(timers: number, at = 5_000_000) {
  const tvmm = new Host({ seed: 1, machineMiB: 64 }).boot();
  const starts: number[] = [];
  const victim = tvmm.createVm({ name: 'victim', kind: 'open-box', memoryMiB: 4, guest: victimKernel(starts), programs: { spin } });
  let armed = 0;
  let refused: unknown;
  const evil = tvmm.createVm({
    name: 'evil', kind: 'open-box', memoryMiB: 4,
    guest: {
      boot(p) {
        for (let i = 0; i < timers; i++) {
          try {
            p.setTimer(at, 9);
            armed++;
          } catch (e) {
            refused = e;
            break;
          }
        }
      },
      interrupt() {},
      run: () => 'idle',
    },
  });
  tvmm.power(victim, 'on');
  tvmm.power(evil, 'on');
  return { tvmm, starts, armed: () => armed, refused: () => refused, victim, evil };
}

function maxGap(starts: number[]): number {
  let g = 0;
  for (let i = 1; i < starts.length; i++) g = Math.max(g, starts[i] - starts[i - 1]);
  return g;
}

describe('an interrupt storm from one VM cannot stall its co-tenant', () => {
  it('thousands of timers firing at one instant: the victim still gets the CPU every few slices', () => {
    const w = world(4000);
    w.tvmm.run({ untilNs: 30_000_000 });
    expect(w.armed()).toBe(4000);
    // Two VMs round-robin with 1 ms slices: the victim waits at most the attacker's turn (one slice
    // of interrupts) plus scheduling slack. 4000 interrupts in one turn would be 8 ms.
    expect(maxGap(w.starts)).toBeLessThanOrEqual(3 * TIME_SLICE_NS);
    expect(w.tvmm.vm(w.evil).state).toBe('running');
  });

  it('armed timers are capped per VM: beyond the cap setTimer is refused with BUSY', () => {
    const w = world(MAX_TIMERS_PER_VM + 100);
    w.tvmm.run({ maxSlices: 1 });
    expect(w.armed()).toBe(MAX_TIMERS_PER_VM);
    expect(w.refused()).toBeInstanceOf(TerraError);
    expect((w.refused() as TerraError).code).toBe('BUSY');
  });

  it('refused timers (delay past the end of virtual time) do not use up the budget', () => {
    const tvmm = new Host({ seed: 1, machineMiB: 64 }).boot();
    let armed = 0;
    let done = false;
    const errors: unknown[] = [];
    let plat!: GuestPlatform;
    const id = tvmm.createVm({
      name: 'late', kind: 'open-box', memoryMiB: 4,
      guest: {
        boot(p) {
          plat = p;
          p.setTimer(1000, 8);
        },
        interrupt() {
          if (done) return;
          done = true;
          // Virtual time is past 0 here: a delay reaching past MAX_SAFE_INTEGER is refused by the event queue.
          for (let i = 0; i < MAX_TIMERS_PER_VM + 10; i++) {
            try {
              plat.setTimer(Number.MAX_SAFE_INTEGER - plat.now() + 1, 9);
            } catch (e) {
              errors.push(e);
            }
          }
          for (let i = 0; i < 10; i++) {
            plat.setTimer(1000, 9);
            armed++;
          }
        },
        run: () => 'idle',
      },
    });
    tvmm.power(id, 'on');
    tvmm.run({ untilNs: 10_000 });
    expect(done).toBe(true);
    expect(errors).toHaveLength(MAX_TIMERS_PER_VM + 10);
    expect(errors.every((e) => e instanceof RangeError)).toBe(true);
    expect(armed).toBe(10);
  });

  it('a timer armed before a power cycle does not fire into the next boot', () => {
    const tvmm = new Host({ seed: 1, machineMiB: 64 }).boot();
    const got: { boot: number; vector: number }[] = [];
    let boots = 0;
    const id = tvmm.createVm({
      name: 'cycled', kind: 'open-box', memoryMiB: 4,
      guest: {
        boot(p) {
          boots++;
          if (boots === 1) p.setTimer(10_000_000, 33);
        },
        interrupt(v) {
          got.push({ boot: boots, vector: v });
        },
        run: () => 'idle',
      },
    });
    tvmm.power(id, 'on');
    tvmm.run({ untilNs: 1_000_000 });
    tvmm.power(id, 'off');
    tvmm.power(id, 'on');
    tvmm.run({ untilNs: 20_000_000 });
    expect(boots).toBe(2);
    expect(got).toEqual([]);
  });
});
