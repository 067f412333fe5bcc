// P20 validation totality for the cloaking and testing public API: arbitrary inputs either work or
// throw a TypeError/RangeError, never anything else, and a refused call changes nothing.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { attachCloaking, MemoryNvStore, PageCipher, suiteGeometry } from '../../src/cloaking/index.js';
import { nobleProvider } from '../../src/crypto/index.js';
import { Host } from '../../src/tvmm/index.js';
import { TerraError } from '../../src/sim/index.js';
import { bootCloaked, godView, leakScan, testSecret, twoWorlds } from '../../src/testing/index.js';

const validationOnly = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    // Misuse → TypeError/RangeError; a well-formed request for something that does not exist → TerraError.
    if (!(e instanceof TypeError || e instanceof RangeError || e instanceof TerraError)) throw e;
  }
};

describe('validation totality (P20)', () => {
  it('attachCloaking options', () => {
    fc.assert(
      fc.property(fc.anything(), (opts) => {
        const tvmm = new Host({ machineMiB: 4 }).boot();
        const nv = new MemoryNvStore();
        validationOnly(() => attachCloaking(tvmm, typeof opts === 'object' && opts !== null && !Array.isArray(opts) ? { ...(opts as object), nv } : (opts as never)));
      }),
      { numRuns: 200, seed: 20 },
    );
  });

  it('engine inspection, god view, leakScan, NV store, suites', () => {
    const w = bootCloaked({ programs: { p: function* () { return 0; } } });
    w.run();
    const g = godView(w.host);
    const nv = new MemoryNvStore();
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (a, b) => {
        validationOnly(() => w.engine.pageState(a as never, b as never));
        validationOnly(() => w.engine.pageVersion(a as never, b as never));
        validationOnly(() => w.engine.metadataOf(a as never, b as never));
        validationOnly(() => w.engine.domainOf(a as never, b as never));
        validationOnly(() => w.engine.isCloakedProgram(a as never));
        validationOnly(() => g.peekFrame(a as never));
        validationOnly(() => g.frameOf(w.vm, a as never));
        validationOnly(() => leakScan(w, a as never));
        validationOnly(() => nv.advance(a as never));
        validationOnly(() => nv.setSecret(a as never));
        validationOnly(() => suiteGeometry(a as never));
        validationOnly(() => new PageCipher(a as never, nobleProvider));
        validationOnly(() => testSecret(a as never, b as never));
      }),
      { numRuns: 300, seed: 21 },
    );
    expect(nv.counter('x')).toBe(0);
  });

  it('twoWorlds rejects bad arguments', async () => {
    await expect(twoWorlds(null as never, new Uint8Array(1), () => 0)).rejects.toThrow(TypeError);
    await expect(twoWorlds(new Uint8Array(1), new Uint8Array(1), 5 as never)).rejects.toThrow(TypeError);
  });
});
