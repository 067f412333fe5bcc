// Attacks on sealed storage by the host, which owns the blob store: serve another label's or another
// policy's committed blob for a request, move blobs between VMs, instances and hosts, replay an old
// blob after the counter moved, bump the counter itself.
import { describe, expect, it } from 'vitest';
import { TerraError } from '../../src/sim/index.js';
import { utf8 } from '../../src/crypto/index.js';
import { MemoryBlobStore, cborDecode, createAttestedHost, type BlobStore } from '../../src/attestation/index.js';
import { sampleImage, errorCode } from './helpers.js';

const code = errorCode;

function host(seed = 5) {
  const h = createAttestedHost({ seed });
  h.service.registerVm(1, { image: sampleImage(), mode: 'closed', instance: 1 });
  return h;
}

/** The store key the host keeps `blob` under. */
function slotOf(h: ReturnType<typeof host>, blob: Uint8Array): string {
  const k = h.blobs.keys().find((x) => h.provider.equalBytes(h.blobs.get(x)!, blob));
  if (!k) throw new Error('blob not in the store');
  return k;
}

describe('sealed storage: substitution by the host', () => {
  it('unseal(label) refuses another label\'s committed blob served in its slot (UNSEAL_ERROR)', () => {
    const h = host();
    const allow = h.service.seal(1, 'allowlist', utf8('alice'));
    const deny = h.service.seal(1, 'denylist', utf8('mallory'));
    // The host swaps the two slots: the VM asks for its allow list and is handed the deny list.
    h.blobs.put(slotOf(h, allow), deny);
    expect(code(() => h.service.unseal(1, 'allowlist'))).toBe('UNSEAL_ERROR');
    // The honest case still works, and a presented blob can be pinned to the label expected.
    expect(h.service.unseal(1, 'denylist')).toEqual(utf8('mallory'));
    expect(code(() => h.service.sealed.unsealBlob(idOf(h), deny, undefined, { label: 'allowlist' }))).toBe('UNSEAL_ERROR');
    expect(h.service.sealed.unsealBlob(idOf(h), deny, undefined, { label: 'denylist' }).data).toEqual(utf8('mallory'));
  });

  it('unseal(label, "instance") refuses a measurement-policy blob another instance sealed (cross-instance injection)', () => {
    const h = host();
    h.service.registerVm(2, { image: sampleImage(), mode: 'closed', instance: 2 });
    const mine = h.service.seal(1, 'db', utf8('instance 1 private'), 'instance');
    // Instance 2 (same image) seals under the shared `measurement` binding; the host copies that
    // blob into instance 1's instance-bound slot.
    const theirs = h.service.seal(2, 'db', utf8('planted by instance 2'), 'measurement');
    h.blobs.put(slotOf(h, mine), theirs);
    expect(code(() => h.service.unseal(1, 'db', 'instance'))).toBe('UNSEAL_ERROR');
    // The guest port pins presented blobs the same way when asked to.
    const port = h.service.portFor(1);
    expect(code(() => port.unsealBlob(theirs, { label: 'db', policy: 'instance' }))).toBe('UNSEAL_ERROR');
    expect(port.unsealBlob(theirs, { label: 'db', policy: 'measurement' })).toEqual(utf8('planted by instance 2'));
  });

  it('blobs moved to a VM with another image, or to another host with the same image, do not open', () => {
    const h = host();
    const blob = h.service.seal(1, 'k', utf8('secret'));
    h.service.registerVm(3, { image: sampleImage('other', 20_000, 3), mode: 'closed', instance: 1 });
    expect(code(() => h.service.unsealBlob(3, blob))).toBe('UNSEAL_ERROR');
    const other = createAttestedHost({ seed: 6, blobs: h.blobs });
    other.service.registerVm(1, { image: sampleImage(), mode: 'closed', instance: 1 });
    expect(code(() => other.service.unsealBlob(1, blob))).toBe('UNSEAL_ERROR');
    expect(code(() => other.service.unseal(1, 'k'))).toBe('NOT_FOUND'); // its counter never moved
  });

  it('an old blob replayed after the counter moved is ROLLBACK_DETECTED; a host bumping the counter only denies service', () => {
    const h = host();
    const v1 = h.service.seal(1, 'k', utf8('v1'));
    const v2 = h.service.seal(1, 'k', utf8('v2'));
    h.blobs.put(slotOf(h, v2), v1);
    expect(code(() => h.service.unseal(1, 'k'))).toBe('ROLLBACK_DETECTED');
    expect(code(() => h.service.unsealBlob(1, v1))).toBe('ROLLBACK_DETECTED');
    expect(h.service.unsealBlob(1, v2)).toEqual(utf8('v2'));
    // The NV counter is in the root of trust; a host that increments it directly gains nothing: the
    // committed blob is refused (availability is outside Terra's guarantees) and no old one opens.
    bumpEveryCounter(h);
    expect(code(() => h.service.unsealBlob(1, v2))).toBe('ROLLBACK_DETECTED');
    expect(code(() => h.service.unsealBlob(1, v1))).toBe('ROLLBACK_DETECTED');
    // The VM recovers by sealing again.
    h.service.seal(1, 'k', utf8('v3'));
    expect(h.service.unseal(1, 'k')).toEqual(utf8('v3'));
  });
});

function idOf(h: ReturnType<typeof host>) {
  const id = h.service.getId(1);
  return { measurement: id.primary, mode: id.mode, debug: id.debug, instance: id.instance };
}

function bumpEveryCounter(h: ReturnType<typeof host>): void {
  // The NV image names every counter; bump each one through the public increment.
  for (const [n] of cborDecode(h.rot.nv.save(), 'nv') as [string, unknown][]) h.rot.nv.increment(n);
}

describe('sealed storage: a hostile blob store', () => {
  it('a store that rewrites the buffer it is handed cannot change the blob the VM got or the committed digest', () => {
    const inner = new MemoryBlobStore();
    const hostile: BlobStore = {
      get: (k) => inner.get(k),
      put: (k, v) => {
        inner.put(k, v);
        v.fill(0x41); // scribble over the caller's buffer after storing a copy
      },
      delete: (k) => inner.delete(k),
      keys: () => inner.keys(),
    };
    const h = createAttestedHost({ seed: 9, blobs: hostile });
    h.service.registerVm(1, { image: sampleImage(), mode: 'closed' });
    const blob = h.service.seal(1, 'k', utf8('keep me'));
    expect(blob[0]).toBe(0x54); // still "TCSB…", not the store's scribble
    expect(h.service.unsealBlob(1, blob)).toEqual(utf8('keep me'));
    expect(h.service.unseal(1, 'k')).toEqual(utf8('keep me'));
  });
});
