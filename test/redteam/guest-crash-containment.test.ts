/**
 * Red team: a guest kernel that throws out of the code the TVMM calls (boot, interrupt, run) must
 * crash only its own VM — halted with a reason — never the scheduler, which would stop every other
 * VM on the host (denial of service to co-tenants). The thrown value is hostile too: a Proxy whose
 * getPrototypeOf trap throws turns a naive `e instanceof Error` in the handler into a second throw.
 */
import { describe, expect, it } from 'vitest';
import { describeThrown, Host, isInstance, type GuestOs, type GuestPlatform } from '../../src/index.js';

/** A host with an honest victim VM that counts its slices, and the attacker VM `evil`. */
function coTenants(evil: GuestOs) {
  const tvmm = new Host({ seed: 1, machineMiB: 64 }).boot();
  let victimSlices = 0;
  const victim = tvmm.createVm({
    name: 'victim', kind: 'open-box', memoryMiB: 4,
    guest: { boot() {}, interrupt() {}, run: () => (++victimSlices < 20 ? 'runnable' : 'idle') },
  });
  const bad = tvmm.createVm({ name: 'evil', kind: 'open-box', memoryMiB: 4, guest: evil });
  tvmm.power(bad, 'on');
  tvmm.power(victim, 'on');
  return { tvmm, victim, bad, victimSlices: () => victimSlices };
}

/** A thrown value whose every inspection throws (instanceof, property reads). */
function poison(): unknown {
  const boom = () => {
    throw new Error('inspected');
  };
  return new Proxy({}, { getPrototypeOf: boom, get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom });
}

/** An Error whose name and message getters throw. */
function trappedError(): Error {
  const e = new Error('x');
  Object.defineProperty(e, 'message', { get: () => { throw new Error('message getter'); } });
  Object.defineProperty(e, 'name', { get: () => { throw new Error('name getter'); } });
  return e;
}

const throwers: Record<string, () => unknown> = {
  error: () => new Error('boom'),
  proxy: poison,
  'error with throwing getters': trappedError,
  string: () => 'just a string',
};

describe('a guest kernel that throws crashes only its own VM', () => {
  for (const [what, make] of Object.entries(throwers)) {
    it(`throw (${what}) out of boot(): the VM halts with a reason, the co-tenant runs`, () => {
      const w = coTenants({ boot() { throw make(); }, interrupt() {}, run: () => 'idle' });
      expect(() => w.tvmm.run({ maxSlices: 50 })).not.toThrow();
      const info = w.tvmm.vm(w.bad);
      expect(info.state).toBe('halted');
      expect(info.haltReason).toMatch(/^guest crashed in boot/);
      expect(w.victimSlices()).toBe(20);
    });

    it(`throw (${what}) out of an interrupt handler: the VM halts, the co-tenant runs`, () => {
      const w = coTenants({
        boot(p: GuestPlatform) { p.setTimer(10, 7); },
        interrupt() { throw make(); },
        run: () => 'idle',
      });
      expect(() => w.tvmm.run({ maxSlices: 50 })).not.toThrow();
      expect(w.tvmm.vm(w.bad).state).toBe('halted');
      expect(w.tvmm.vm(w.bad).haltReason).toMatch(/^guest crashed in interrupt/);
      expect(w.victimSlices()).toBe(20);
    });

    it(`throw (${what}) out of run(): the VM halts, the co-tenant runs`, () => {
      const w = coTenants({ boot() {}, interrupt() {}, run: () => { throw make(); } });
      expect(() => w.tvmm.run({ maxSlices: 50 })).not.toThrow();
      expect(w.tvmm.vm(w.bad).state).toBe('halted');
      expect(w.victimSlices()).toBe(20);
    });
  }

  it('the halt reason never runs hostile accessors twice and never includes what they return', () => {
    let reads = 0;
    const e = new Error('m');
    Object.defineProperty(e, 'message', { get: () => (++reads, 'SECRET-FROM-GETTER'.repeat(50)) });
    expect(describeThrown(e).length).toBeLessThanOrEqual(200);
    expect(reads).toBe(1);
    expect(describeThrown(poison())).toBe('non-error thrown');
    expect(describeThrown(trappedError())).toBe('non-error thrown');
    expect(isInstance(poison(), Error)).toBe(false);
  });
});
