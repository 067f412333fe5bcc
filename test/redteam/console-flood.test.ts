/**
 * Red team: host memory exhaustion through the console. `GuestPlatform.console` costs the guest no
 * virtual time and the TVMM kept every line (up to 4096 characters) in `Tvmm.consoleLines` for its
 * whole life: a kernel printing in a loop grew host memory without bound. Now each VM's console
 * text is capped per boot (MAX_CONSOLE_CHARS_PER_VM); further lines are dropped with one security
 * event, and other VMs' consoles are unaffected.
 */
import { describe, expect, it } from 'vitest';
import { Host, MAX_CONSOLE_CHARS_PER_VM, type GuestPlatform } from '../../src/index.js';

describe('a guest cannot fill host memory through its console', () => {
  it('8 MiB of console lines: at most the per-VM quota is kept; a co-tenant still prints', () => {
    const tvmm = new Host({ seed: 1, machineMiB: 64 }).boot();
    let evil!: GuestPlatform;
    let good!: GuestPlatform;
    const a = tvmm.createVm({ name: 'evil', kind: 'open-box', memoryMiB: 4, guest: { boot(p) { evil = p; }, interrupt() {}, run: () => 'idle' } });
    const b = tvmm.createVm({ name: 'good', kind: 'open-box', memoryMiB: 4, guest: { boot(p) { good = p; }, interrupt() {}, run: () => 'idle' } });
    tvmm.power(a, 'on');
    tvmm.power(b, 'on');
    tvmm.run({ maxSlices: 2 });
    const line = 'x'.repeat(4096);
    for (let i = 0; i < 2048; i++) evil.console(line);
    good.console('still heard');
    const kept = tvmm.consoleLines.filter((l) => l.vm === a).reduce((n, l) => n + l.line.length, 0);
    expect(kept).toBeLessThanOrEqual(MAX_CONSOLE_CHARS_PER_VM);
    expect(kept).toBeGreaterThan(0);
    expect(tvmm.consoleLines.some((l) => l.vm === b && l.line === 'still heard')).toBe(true);
    expect(tvmm.sim.trace.securityEvents().filter((e) => e.kind === 'console.quota' && e.vm === a)).toHaveLength(1);
  });
});
