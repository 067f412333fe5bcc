// The worked example of docs/testing.md, verbatim apart from import paths.
import { expect, it } from 'vitest';
import { SYS } from '../../src/guest/abi.js';
import { bootCloaked, leakScan, testSecret } from '../../src/testing/index.js';

it('a rootkit never sees the secret and its tampering is detected', () => {
  const secret = testSecret(7, 4096);
  let readBack: Uint8Array | undefined;
  const w = bootCloaked({
    programs: {
      vault: function* (p) {
        p.write(0x400000, secret);                 // plaintext in the app's view
        yield* p.syscall(SYS.getpid);              // the kernel gets control
        readBack = p.read(0x400000, 4096);         // verified + decrypted in place
        yield* p.syscall(SYS.getpid);
        p.read(0x400000, 16);                      // after the flip: IntegrityViolation
        return 0;
      },
    },
  });
  let step = 0;
  w.kernel.adversary = {
    afterTrap(t, k) {
      if (t.kind !== 'syscall') return;
      const g = k.gppnOf(k.proc(t.tid).root, 0x400000);
      if (step++ === 0) k.swapIn(t.tid, 0x400000, k.swapOut(t.tid, 0x400000)); // page it out and back elsewhere
      else { const c = k.readPage(g); c[0] ^= 1; k.writePage(g, c); }           // flip one bit
    },
  };
  w.run();
  expect(readBack).toEqual(secret);                             // the app kept its data
  expect(w.kernel.exited.get(1)).toBe('killed:INTEGRITY_VIOLATION');
  expect(w.engine.violations().map((v) => v.kind)).toEqual(['mac']);
  expect(leakScan(w, secret)).toEqual([]);                      // nothing the attacker can see holds it
});
