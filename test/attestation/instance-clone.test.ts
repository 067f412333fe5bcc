// Attack: the host starts a second closed-box VM from the same image (a clone) next to the first
// and has it present the first VM's instance-bound sealed blob. The `instance` policy exists to keep
// instances of one image apart (ATT-12 d), so the clone must not open it.
import { describe, expect, it } from 'vitest';
import { Host, type GuestOs, type GuestPlatform } from '../../src/tvmm/index.js';
import { TerraError } from '../../src/sim/index.js';
import { utf8 } from '../../src/crypto/index.js';
import { sampleImage } from './helpers.js';

function probe() {
  const g: { p?: GuestPlatform; os: GuestOs } = { os: { boot(p) { g.p = p; }, interrupt() {}, run: () => 'idle' } };
  return g;
}

describe('instance-bound sealing between clones of one image', () => {
  it('the clone gets its own instance number, so it cannot open the original instance-bound blob', () => {
    const tvmm = new Host({ seed: 4, machineMiB: 32 }).boot();
    const img = sampleImage('wallet', 9000, 2);
    const a = probe(), b = probe();
    const A = tvmm.createVm({ name: 'A', kind: 'closed-box', pages: 64, guest: a.os, image: img });
    const B = tvmm.createVm({ name: 'B', kind: 'closed-box', pages: 64, guest: b.os, image: img });
    tvmm.power(A, 'on');
    tvmm.power(B, 'on');
    tvmm.run({ maxSlices: 4 });
    const pa = a.p!.attestation(), pb = b.p!.attestation();
    expect(pa.getId().primary).toEqual(pb.getId().primary);
    expect(pa.getId().instance).not.toBe(pb.getId().instance);
    const blob = pa.seal('wallet', utf8('A only'), 'instance');
    let err: unknown;
    try {
      pb.unsealBlob(blob);
    } catch (e) {
      err = e;
    }
    expect((err as TerraError)?.code).toBe('UNSEAL_ERROR');
    // Measurement-bound data stays shared between the two, as documented.
    const shared = pa.seal('cfg', utf8('both'), 'measurement');
    expect(pb.unsealBlob(shared)).toEqual(utf8('both'));
    expect(pa.unsealBlob(blob)).toEqual(utf8('A only'));
  });
});
