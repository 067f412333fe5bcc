import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { iso05, SNAPSHOT_OPERATIONS } from '../../src/attacks/platform.js';
import { Host, ManagementInterface, Tvmm } from '../../src/tvmm/index.js';

describe('ISO-05 · closed-box VMs against the host: snapshot, migration, storage', () => {
  it("is 'blocked': (a)(b) no snapshot/migration path exists for closed-box VMs; (c) refused", async () => {
    const r = await findAttack('ISO-05')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
    expect(r.detail).toContain('no snapshot/migration path exists');
  });
  it('(a)(b): neither the management interface nor the TVMM has a snapshot, save, restore or migrate operation', () => {
    const mgmtOps = Object.getOwnPropertyNames(ManagementInterface.prototype).filter((k) => k !== 'constructor').sort();
    expect(mgmtOps).toEqual(['list', 'power', 'readMemory', 'readRegisters', 'threads']);
    const tvmmOps = Object.getOwnPropertyNames(Tvmm.prototype);
    for (const op of SNAPSHOT_OPERATIONS) {
      expect(mgmtOps).not.toContain(op);
      expect(tvmmOps).not.toContain(op);
    }
    const host = new Host({ seed: 1, machineMiB: 8 });
    expect(Object.getOwnPropertyNames(Object.getPrototypeOf(host)).filter((k) => /snap|migr|save|restore|clone/i.test(k))).toEqual([]);
  });
  it('power-cycling a closed-box VM exposes nothing; (c) the open-box VM cannot open the sealed blob or the disk', () => {
    const x = iso05(2);
    expect(x.r).toEqual({
      snapshotOps: 'none',
      readMemoryRunning: 'ISOLATION_VIOLATION',
      readRegistersRunning: 'ISOLATION_VIOLATION',
      threadsRunning: 'ISOLATION_VIOLATION',
      readMemoryOff: 'ISOLATION_VIOLATION',
      afterPowerCycle: 'ZEROS',
      openUnseal: 'UNSEAL_ERROR',
      openDisk: 'NOT_FOUND',
      attachClosedDiskToOpen: 'NOT_FOUND',
    });
    expect(x.security).toContain('mgmt.inspect.refused');
  });
});
