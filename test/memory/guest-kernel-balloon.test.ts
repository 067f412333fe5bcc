/** The balloon driver inside the real guest kernel (src/guest), against attachEsx on the TVMM. */
import { describe, expect, it } from 'vitest';
import { bootGuest, libc as c, BalloonDriver } from '../../src/guest/index.js';
import { attachEsx } from '../../src/memory/index.js';
import { Host } from '../../src/tvmm/index.js';
import { NS_PER_S } from '../../src/sim/index.js';

describe('ballooning a real guest kernel (ESX §3.2)', () => {
  it('the guest inflates to the target through its own allocator, paging to its own swap, and programs keep their bytes', () => {
    const host = new Host({ seed: 8, machineMiB: 64 });
    const tvmm = host.boot();
    const esx = attachEsx(tvmm, { overheadPages: 0, autoBalloon: false, sharingEnabled: false });
    const driver = new BalloonDriver({ initialRate: 128 });
    const g = bootGuest({
      host, pages: 2048, swapDiskBlocks: 4096,
      programs: {
        main: function* (p) {
          // Wait until the balloon holds 1200 of the 2048 pages, then need 1024 pages of data.
          yield* c.sleep(p, 6 * NS_PER_S);
          const pid = yield* c.fork(p, function* (ch) {
            yield* c.exec(ch, 'memhog', ['4', 'unique', '30']);
            return 1;
          });
          const w = yield* c.waitpid(p, pid);
          return typeof w === 'number' ? 9 : w.code;
        },
      },
      kernel: { init: 'main', drivers: [driver] },
    });
    esx.setBalloonTarget(g.vmId, 1200);
    tvmm.run({ untilNs: 6 * NS_PER_S });
    expect(esx.balloon.actual(g.vmId)).toBe(1200);
    tvmm.run({ untilNs: 20 * NS_PER_S });
    expect(esx.balloon.stats(g.vmId).pops).toBe(0);
    expect(driver.stats()).toMatchObject({ actual: 1200, target: 1200 });
    expect(esx.balloon.stats(g.vmId).rejectedInvalid + esx.balloon.stats(g.vmId).rejectedDuplicate).toBe(0);
    expect(tvmm.consoleLines.map((l) => l.line)).toContain('memhog: 4 MiB unique ok');
    expect(g.kernel.stats.swapOuts).toBeGreaterThan(0);
    expect(host.memory.checkInvariants().violations).toEqual([]);
  });
});
