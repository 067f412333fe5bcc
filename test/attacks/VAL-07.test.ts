import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { val07 } from '../../src/attacks/platform.js';

describe('VAL-07 · hypercall dispatch and caller identity', () => {
  it('is blocked (catalogue outcome)', async () => {
    const r = await findAttack('VAL-07')!.run(1);
    expect(r.outcome, r.detail).toBe('blocked');
  });
  it('unknown numbers ENOSYS, malformed arguments EINVAL, wrong context EPERM (audited)', () => {
    const x = val07(2);
    expect(x.r).toEqual({
      'uncloaked user: create-resource': 'OK:-1',
      'uncloaked user: map': 'OK:-1',
      'uncloaked user: file': 'OK:-1',
      'uncloaked user: unknown nr': 'OK:-38',
      // A cloaked app has no raw hypercall channel at all: only its shim talks to the TVMM, so it cannot name another domain's resource.
      'thief has a raw hypercall channel': 'no',
      'kernel: unknown nr': 'OK:-38',
      'kernel: nr as string': 'OK:-38',
      'kernel: arg as string': 'OK:-22',
      'kernel: fractional arg': 'OK:-22',
      'kernel: 9 args': 'OK:-22',
      'kernel: args not an array': 'OK:-22',
      'kernel forges shim hypercall 32': 'OK:-1',
      'kernel forges shim hypercall 33': 'OK:-1',
      'kernel forges shim hypercall 34': 'OK:-1',
      'kernel forges shim hypercall 35': 'OK:-1',
      'kernel forges shim hypercall 36': 'OK:-1',
    });
    expect(x.refusals).toBeGreaterThanOrEqual(5); // EPERM refusals are security events
  });
});
