import { describe, expect, it } from 'vitest';
import { attachEsx } from '../../src/memory/index.js';
import { bootGuest } from '../../src/guest/index.js';
import { Host } from '../../src/tvmm/index.js';
import { NS_PER_MS } from '../../src/sim/index.js';

// max is a hard limit on the machine memory a VM holds (ESX §5.1), even while the host has plenty
// free (the high state): regression for a VM with max below its configured size growing past max.
describe('ESX max limit', () => {
  it('a VM above its max is reclaimed down to it while the host is in the high state', () => {
    const host = new Host({ seed: 4, machineMiB: 256 });
    const tvmm = host.boot();
    const esx = attachEsx(tvmm, { overheadPages: 0, swapSlots: 64 * 256, tickNs: 50 * NS_PER_MS, balloonTimeoutNs: 100 * NS_PER_MS });
    const g = bootGuest({ host, memoryMiB: 32, run: ['memhog 24 unique 800'] }); // no balloon driver: host swap must do it
    esx.setVmConfig(g.vmId, { min: 0, max: 16 * 256, shares: 1000 });
    tvmm.run({ untilNs: 600 * NS_PER_MS });
    expect(esx.stats().state).toBe('high');
    const s = esx.vmStats(g.vmId);
    expect(s.resident).toBeLessThanOrEqual(16 * 256 + 64); // at max (within one swap cluster's slack)
    expect(s.swapped).toBeGreaterThan(0);
    tvmm.run({ untilNs: 3000 * NS_PER_MS });
    expect(tvmm.consoleLines.map((l) => l.line)).toContain('memhog: 24 MiB unique ok');
  });
});
