/**
 * Red team: a valid scenario file that exhausts the simulator's own machine. The schema allows 16
 * hosts of 262 144 MiB and 256 VMs of 4 GiB: the frame side tables alone are ~450 MiB per such host
 * (allocated when the Host is built: ~7 GiB for 16), and VMs running `memhog` touch real slabs up to
 * their host's size. `terracloak run` must refuse such a file with a ScenarioRunError naming the
 * field, before allocating anything, instead of being killed by the OOM killer.
 */
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../../src/scenario/index.js';
import { DEFAULT_MAX_REAL_MIB, runScenario, scenarioFootprintMiB, ScenarioRunError } from '../../src/runner/index.js';

function valid(input: unknown) {
  const r = validateScenario(input);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

describe('scenarios are refused before they can exhaust the host running the simulator', () => {
  it('16 hosts of 256 GiB and VMs hogging memory: ScenarioRunError before anything is built', () => {
    const s = valid({
      version: 1, name: 'oom', durationMs: 600_000,
      hosts: Array.from({ length: 16 }, (_, i) => ({ name: `h${i}`, machineMiB: 262_144 })),
      vms: Array.from({ length: 256 }, (_, i) => ({ name: `v${i}`, host: `h${i % 16}`, kind: 'open-box', memoryMiB: 4096, programs: [{ name: 'memhog' }] })),
    });
    expect(scenarioFootprintMiB(s)).toBeGreaterThan(DEFAULT_MAX_REAL_MIB);
    const before = process.memoryUsage().arrayBuffers;
    let err: unknown;
    try {
      runScenario(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioRunError);
    expect((err as ScenarioRunError).path).toBe('hosts');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });

  it('one big host alone is refused too; ordinary scenarios are far below the ceiling', () => {
    const big = valid({ version: 1, name: 'big', durationMs: 10, hosts: [{ name: 'h', machineMiB: 262_144 }], vms: [{ name: 'v', kind: 'open-box', memoryMiB: 4096 }, { name: 'w', kind: 'open-box', memoryMiB: 4096 }, { name: 'x', kind: 'open-box', memoryMiB: 4096 }, { name: 'y', kind: 'open-box', memoryMiB: 4096 }, { name: 'z', kind: 'open-box', memoryMiB: 4096 }] });
    expect(() => runScenario(big)).toThrow(ScenarioRunError);
    const small = valid({ version: 1, name: 'small', durationMs: 10, hosts: [{ name: 'h', machineMiB: 256 }], vms: [{ name: 'v', kind: 'open-box', memoryMiB: 64 }] });
    expect(scenarioFootprintMiB(small)).toBeLessThan(1024);
    expect(() => runScenario(big, { maxRealMiB: 0.5 as number })).toThrow(RangeError);
  });
});
