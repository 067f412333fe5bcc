import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { iso08, ISO08_BOUND_SLACK_NS } from '../../src/attacks/platform.js';

describe('ISO-08 · denial of service and performance isolation', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('ISO-08')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('the flooder is capped at Q with EBUSY, the victim latency stays within L, hypercall floods leave no state', () => {
    const { alone, flooded } = iso08(2);
    expect(flooded.victimDone).toBe(300);
    expect(flooded.victimMax).toBeLessThanOrEqual(alone.victimMax + ISO08_BOUND_SLACK_NS);
    expect(flooded.flooderMaxInFlight).toBe(flooded.queueDepth);
    expect(flooded.flooderBusy).toBeGreaterThan(1000);
    expect(flooded.hypercalls).toBeGreaterThan(10_000);
    // Unknown numbers are ENOSYS, malformed balloon calls EINVAL: counted, nothing stored per call.
    expect(flooded.hcResults['-38']).toBeGreaterThan(0);
    expect(flooded.hcResults['-22']).toBeGreaterThan(0);
    expect(flooded.flooderBalloon!.actual).toBe(0);
    expect(flooded.vms).toBe(2);
    expect(flooded.traceRetained).toBeLessThanOrEqual(200_000);
  });
});

describe('ISO-08 residual (documented): guest-kernel code is not preemptible in the simulator', () => {
  it('a flooder kernel that overruns its slice budget in run() delays the victim beyond L (the TVMM cannot preempt JS guest code)', () => {
    const { alone, flooded } = iso08(1, 4000, true);
    expect(flooded.victimMax).toBeGreaterThan(alone.victimMax + ISO08_BOUND_SLACK_NS);
  });
});
