// Properties P3 (nonce uniqueness), P12 (sealing correctness against a reference model) and P13
// (counter monotonicity) of threat catalogue §9, over random seal / crash / reboot / replay runs.
import { expect, it } from 'vitest';
import fc from 'fast-check';
import { SimulatedCrash, TerraError } from '../../src/sim/index.js';
import { toHex, utf8 } from '../../src/crypto/index.js';
import { cborDecode, createAttestedHost, parseSealedBlob, type AttestedHost } from '../../src/attestation/index.js';
import { sampleImage } from './helpers.js';

const POINTS = ['seal.beforePersist', 'seal.afterPersist', 'nv.beforeWrite', 'nv.tornWrite', 'nv.afterWrite', 'seal.afterIncrement', 'seal.afterAck'] as const;
const COMMITS = new Set(['nv.afterWrite', 'seal.afterIncrement', 'seal.afterAck']);

type Op = { kind: 'seal'; label: 'a' | 'b'; value: string; crash: (typeof POINTS)[number] | null } | { kind: 'reboot' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('seal' as const), label: fc.constantFrom('a' as const, 'b' as const), value: fc.string({ minLength: 1, maxLength: 8 }), crash: fc.option(fc.constantFrom(...POINTS), { nil: null }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reboot' as const }) },
);

const image = sampleImage();
function boot(prev?: AttestedHost): AttestedHost {
  if (prev) {
    prev.rot.faults.clear();
    prev.rot.platformReset();
  }
  const h = prev ? createAttestedHost({ rot: prev.rot, blobs: prev.blobs }) : createAttestedHost({ seed: 17 });
  h.service.registerVm(1, { image, mode: 'closed' });
  return h;
}

it('random seal/crash/reboot runs: unseal returns exactly the last committed value; every other blob is refused; counters never decrease; nonces never repeat', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 14 }), (ops) => {
      let h = boot();
      const model = new Map<string, string>();
      const blobs: Uint8Array[] = [];
      const last = new Map<string, number>();
      const counterTrace = () => {
        // P13: every NV counter's value never decreases, across crashes and reboots.
        for (const [name] of cborDecode(h.rot.nv.save(), 'nv') as [string, unknown][]) {
          const v = h.rot.nv.read(name);
          expect(v).toBeGreaterThanOrEqual(last.get(name) ?? 0);
          last.set(name, v);
        }
      };
      for (const op of ops) {
        if (op.kind === 'reboot') {
          h = boot(h);
          counterTrace();
          continue;
        }
        if (op.crash) h.rot.faults.arm(op.crash);
        try {
          blobs.push(h.service.seal(1, op.label, utf8(op.value)));
          model.set(op.label, op.value);
        } catch (e) {
          expect(e).toBeInstanceOf(SimulatedCrash);
          if (COMMITS.has(op.crash!)) model.set(op.label, op.value);
          for (const k of h.blobs.keys()) blobs.push(h.blobs.get(k)!); // whatever reached the host's storage
          h = boot(h);
        }
        counterTrace();
      }
      // P12: the live value is the model's, for each label.
      for (const label of ['a', 'b']) {
        let got: string;
        try {
          got = new TextDecoder().decode(h.service.unseal(1, label));
        } catch (e) {
          expect((e as TerraError).code).toBe('NOT_FOUND');
          got = '<none>';
        }
        expect(got).toBe(model.get(label) ?? '<none>');
      }
      // Every blob ever produced: unseals iff it is the committed one for its label.
      const seen = new Set<string>();
      for (const b of blobs) {
        const key = toHex(b);
        if (seen.has(key)) continue;
        seen.add(key);
        const label = parseSealedBlob(b).label;
        let ok: string | null = null;
        try {
          ok = new TextDecoder().decode(h.service.unsealBlob(1, b));
        } catch (e) {
          expect(['ROLLBACK_DETECTED', 'UNSEAL_ERROR']).toContain((e as TerraError).code);
        }
        if (ok !== null) expect(ok).toBe(model.get(label));
      }
      // P3: no nonce repeats among distinct blobs.
      const nonces = [...seen].map((hx) => toHex(parseSealedBlob(Uint8Array.from(Buffer.from(hx, 'hex'))).nonce));
      expect(new Set(nonces).size).toBe(nonces.length);
    }),
    { seed: 909, numRuns: 60 },
  );
});
