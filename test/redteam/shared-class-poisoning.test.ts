/**
 * Red team: poisoning terracloak's own classes shared by every VM. Each guest kernel gets a PhysView
 * and KernelSpace instances; all VMs' instances share one prototype. Before the defence an open-box
 * kernel replaced `Object.getPrototypeOf(platform.phys).read`: the next time the closed-box
 * co-tenant's kernel read its own memory, the attacker's function ran with the *victim's* facade as
 * `this`, called the original on it and read the victim's secret. Likewise a guest could define
 * `Symbol.hasInstance` on TerraError or GuestFault and decide how the TVMM classifies exceptions.
 * These classes are now locked at load (lockClass).
 */
import { describe, expect, it } from 'vitest';
import { GuestFault, Host, InvariantError, TerraError, ThreadKilled, ValidationRangeError, ValidationTypeError, isInstance, type GuestPlatform } from '../../src/index.js';

describe("a guest cannot redefine the TVMM's shared classes", () => {
  it("patching the shared PhysView/KernelSpace prototype is refused; the co-tenant's memory stays unread", () => {
    const tvmm = new Host({ seed: 1, machineMiB: 64 }).boot();
    let vp!: GuestPlatform;
    let ap!: GuestPlatform;
    const v = tvmm.createVm({ name: 'victim', kind: 'closed-box', memoryMiB: 4, guest: { boot(p) { vp = p; }, interrupt() {}, run: () => 'idle' } });
    const e = tvmm.createVm({ name: 'evil', kind: 'open-box', memoryMiB: 4, guest: { boot(p) { ap = p; }, interrupt() {}, run: () => 'idle' } });
    tvmm.power(v, 'on');
    tvmm.power(e, 'on');
    tvmm.run({ maxSlices: 4 });
    vp.phys.write(0x3000, new TextEncoder().encode('VICTIM-SECRET'));
    let stolen = '';
    const physProto = Object.getPrototypeOf(ap.phys) as Record<string, unknown>;
    const orig = physProto.read as (this: unknown, a: number, n: number) => Uint8Array;
    expect(() => {
      physProto.read = function (this: unknown, gpa: number, len: number) {
        if (this !== ap.phys) stolen = new TextDecoder().decode(orig.call(this, 0x3000, 13));
        return orig.call(this, gpa, len);
      };
    }).toThrow(TypeError);
    const ksProto = Object.getPrototypeOf(ap.kernelSpace(0)) as Record<string, unknown>;
    expect(() => {
      ksProto.write = () => undefined;
    }).toThrow(TypeError);
    expect(() => Object.defineProperty(physProto, 'zeroPage', { value: () => undefined })).toThrow(TypeError);
    vp.phys.read(0, 4);
    expect(stolen).toBe('');
  });

  it('Symbol.hasInstance and prototype members of the error classes cannot be redefined', () => {
    for (const C of [TerraError, ValidationTypeError, ValidationRangeError, InvariantError, ThreadKilled, GuestFault]) {
      expect(() => Object.defineProperty(C, Symbol.hasInstance, { value: () => true }), C.name).toThrow(TypeError);
      expect(() => Object.defineProperty(C.prototype, 'code', { get: () => 'ISOLATION_VIOLATION' }), C.name).toThrow(TypeError);
    }
    expect(isInstance({}, TerraError)).toBe(false);
    // Subclassing and instances still work.
    class Mine extends TerraError {}
    const m = new Mine('NOT_FOUND', 'x');
    expect(m.code).toBe('NOT_FOUND');
    expect(m).toBeInstanceOf(TerraError);
  });
});
