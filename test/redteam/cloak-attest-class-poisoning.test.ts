/**
 * Red team (FINDINGS 2): guest code that imports terracloak could patch the cloaking and attestation
 * classes — `CloakEngine.prototype.isCloakedProgram = () => false` made every cloaked program started
 * afterwards run uncloaked, its plaintext visible to its kernel. src/cloaking and src/attestation now
 * lock the classes they export, as src/tvmm, memory, guest and storage do.
 */
import { describe, expect, it } from 'vitest';
import { cloaking, attestation } from '../../src/index.js';
import { bootCloaked, leakScan, testSecret } from '../../src/testing/index.js';
import type { ProgramFn } from '../../src/tvmm/index.js';

const classes: [string, { prototype: object }][] = [
  ['CloakEngine', cloaking.CloakEngine], ['PageCipher', cloaking.PageCipher], ['MemoryNvStore', cloaking.MemoryNvStore],
  ['Verifier', attestation.Verifier], ['AttestationService', attestation.AttestationService], ['RootOfTrust', attestation.RootOfTrust],
];

describe('a guest cannot patch the cloaking or attestation classes', () => {
  for (const [name, C] of classes) {
    it(`${name}.prototype and ${name} are frozen`, () => {
      const key = Object.getOwnPropertyNames(C.prototype).find((k) => k !== 'constructor') ?? 'x';
      expect(() => ((C.prototype as Record<string, unknown>)[key] = () => undefined)).toThrow(TypeError);
      expect(() => Object.defineProperty(C.prototype, 'injected', { value: 1 })).toThrow(TypeError);
      expect(() => Object.defineProperty(C, Symbol.hasInstance, { value: () => true })).toThrow(TypeError);
    });
  }

  it('the FINDINGS reproducer: turning cloaking off for later programs fails, and the secret never leaks', () => {
    const P = testSecret(5);
    expect(() => ((cloaking.CloakEngine.prototype as unknown as Record<string, unknown>).isCloakedProgram = () => false)).toThrow(TypeError);
    const victim: ProgramFn = function* (p) {
      p.write(0x40000000, P);
      yield* p.syscall(20);
      return 0;
    };
    const w = bootCloaked({ programs: { victim } });
    w.run();
    expect(leakScan(w, P)).toEqual([]);
  });
});
