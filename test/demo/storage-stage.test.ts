import { describe, expect, it } from 'vitest';
import { storageStage } from '../../src/demo/storage.js';

describe('demo stage: storage (DeDe + vIC under guest VMs)', () => {
  it('reclaims duplicate blocks, every desktop reads back intact, vIC coalesces only at high CIF, the checker is clean; deterministic', () => {
    const r = storageStage(7);
    expect(r.id).toBe('storage');
    expect(r.summary.every((s) => s.ok)).toBe(true);
    const d = r.data as { before: { uniqueMiB: number; logicalMiB: number }; after: { uniqueMiB: number; logicalMiB: number }; verified: number; crossTenantShared: number; ok: boolean };
    expect(d.ok).toBe(true);
    expect(d.crossTenantShared).toBe(0);
    expect(d.verified).toBe(4);
    expect(d.after.logicalMiB).toBe(d.before.logicalMiB);
    expect(d.before.uniqueMiB - d.after.uniqueMiB).toBeGreaterThanOrEqual(6); // 3 duplicate copies of a 2 MiB application
    expect(r.report.dedup).toHaveLength(2);
    const rows = r.report.interrupts!;
    expect(rows).toHaveLength(6);
    const at = (cif: number, vic: boolean) => rows.find((x) => x.cif === cif && x.vic === vic)!;
    for (const cif of [4, 16, 32]) expect(at(cif, false).interruptsPerCompletion).toBeGreaterThanOrEqual(1);
    expect(at(32, true).interruptsPerCompletion).toBeLessThan(0.6);
    expect(at(32, true).addedLatencyUs).toBeGreaterThan(0);
    expect(at(4, true).interruptsPerCompletion).toBeGreaterThanOrEqual(1);
    expect(r.lines.join('\n')).toMatch(/checker: clean/);
    expect(storageStage(7).traceDigest).toBe(r.traceDigest);
  });
});
