import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ClusterVolume, DedupEngine, MemoryStore, checkVolume, SUB_SIZE, BLOCK_SIZE, computeLayout, bytesEqual } from '../../src/storage/index.js';
import { TerraError } from '../../src/sim/index.js';
import { SMALL, block, smallVolume } from './helpers.js';

describe('cluster volume', () => {
  it('round-trips writes, holes and sub-block writes, and survives reopen', () => {
    const { store, vol } = smallVolume();
    const f = vol.create(1, 'vm1.vmdk', { size: 3 * BLOCK_SIZE });
    expect(vol.readAt(f, 0, 8192)).toEqual(new Uint8Array(8192));
    vol.writeAt(1, f, 4096, block(7));
    vol.writeAt(1, f, BLOCK_SIZE + 512, new Uint8Array([1, 2, 3]));
    expect(vol.readAt(f, 4096, 4096)).toEqual(block(7));
    expect(vol.readAt(f, 0, 4096)).toEqual(new Uint8Array(4096));
    const v2 = ClusterVolume.open(store);
    expect(v2.readAt(f, 4096, 4096)).toEqual(block(7));
    expect([...v2.readAt(f, BLOCK_SIZE + 511, 5)]).toEqual([0, 1, 2, 3, 0]);
    expect(checkVolume(v2).findings).toEqual([]);
  });

  it('refuses bad arguments without changing anything', () => {
    const { vol } = smallVolume();
    const f = vol.create(1, 'a', { size: BLOCK_SIZE });
    const before = vol.stats().transactions;
    expect(() => vol.writeAt(1, f, BLOCK_SIZE - 10, new Uint8Array(20))).toThrow(RangeError);
    expect(() => vol.writeAt(1, f, 0, new Uint8Array(0))).toThrow(RangeError);
    expect(() => vol.writeAt(1, f, -1, new Uint8Array(1))).toThrow(RangeError);
    expect(() => vol.writeAt(1, f, 0, [1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => vol.readAt(99, 0, 1)).toThrow(RangeError);
    expect(() => vol.writeAt(2, f, 0, new Uint8Array(1))).toThrow(TerraError);
    expect(vol.stats().transactions).toBe(before);
  });

  it('locks carry a host id and a lease on the virtual clock', () => {
    const { vol } = smallVolume();
    const f = vol.create(1, 'a', { size: BLOCK_SIZE });
    expect(() => vol.lock(2, f)).toThrowError(expect.objectContaining({ code: 'BUSY' }));
    expect(vol.tryLock(2, f)).toBe(false);
    vol.unlock(1, f);
    vol.lock(2, f);
    expect(vol.info(f).lockHost).toBe(2);
  });

  it('lease expiry lets another host break a dead host\'s lock', async () => {
    const { createSimContext } = await import('../../src/sim/index.js');
    const ctx = createSimContext({ seed: 3 });
    const store = new MemoryStore(computeLayout(SMALL).totalSize);
    const vol = ClusterVolume.format(store, SMALL, { ctx, leaseNs: 1000 });
    const f = vol.create(1, 'a', { size: BLOCK_SIZE });
    expect(vol.tryLock(2, f)).toBe(false);
    ctx.clock.advance(1001);
    expect(vol.tryLock(2, f)).toBe(true);
  });

  it('linked clones share copy-on-write and diverge on write', () => {
    const { vol } = smallVolume();
    const a = vol.create(1, 'base', { size: 2 * BLOCK_SIZE });
    vol.writeAt(1, a, 0, block(1));
    vol.writeAt(1, a, BLOCK_SIZE, block(2));
    const used = vol.usedUnits();
    const b = vol.clone(1, a, 'clone');
    expect(vol.usedUnits()).toBe(used);
    vol.writeAt(1, b, 0, block(3));
    expect(vol.readAt(a, 0, SUB_SIZE)).toEqual(block(1));
    expect(vol.readAt(b, 0, SUB_SIZE)).toEqual(block(3));
    expect(vol.readAt(b, BLOCK_SIZE, SUB_SIZE)).toEqual(block(2));
    expect(vol.stats().cowBreaks).toBe(1);
    expect(checkVolume(vol).findings).toEqual([]);
    vol.remove(1, a);
    expect(vol.readAt(b, BLOCK_SIZE, SUB_SIZE)).toEqual(block(2));
    expect(checkVolume(vol).findings).toEqual([]);
  });

  it('a full volume refuses the write and changes nothing', () => {
    const g = { largeBlocks: 2, inodes: 8, pointerBlocks: 16, journalPages: 16 };
    const store = new MemoryStore(computeLayout(g).totalSize);
    const vol = ClusterVolume.format(store, g);
    const f = vol.create(1, 'big', { size: 3 * BLOCK_SIZE });
    vol.writeAt(1, f, 0, new Uint8Array(2 * BLOCK_SIZE).fill(5));
    expect(() => vol.writeAt(1, f, 2 * BLOCK_SIZE, new Uint8Array(10))).toThrowError(expect.objectContaining({ code: 'OUT_OF_MEMORY' }));
    expect(checkVolume(vol).findings).toEqual([]);
    expect(vol.readAt(f, 2 * BLOCK_SIZE, 10)).toEqual(new Uint8Array(10));
  });

  it('corrupt superblock or metadata gives CORRUPT on open and the checker repairs metadata', () => {
    const { store, vol } = smallVolume();
    const f = vol.create(1, 'x', { size: BLOCK_SIZE });
    vol.writeAt(1, f, 0, block(9));
    // Flip a byte in the refcount region.
    const L = vol.layout;
    const off = L.metaStart + L.rcOff + 10;
    const b = store.read(off, 1);
    store.write(off, new Uint8Array([b[0] ^ 0xff]));
    expect(() => ClusterVolume.open(store)).toThrowError(expect.objectContaining({ code: 'CORRUPT' }));
    const rep = checkVolume(store, { repair: true });
    expect(rep.repaired).toBe(true);
    expect(rep.ok).toBe(true);
    const v2 = ClusterVolume.open(store);
    expect(v2.readAt(f, 0, SUB_SIZE)).toEqual(block(9));
    expect(checkVolume(v2).findings).toEqual([]);
    // Primary superblock destroyed: the backup copy is used.
    store.write(0, new Uint8Array(64).fill(0xaa));
    expect(ClusterVolume.open(store).readAt(f, 0, SUB_SIZE)).toEqual(block(9));
    // Both destroyed: typed error, and the checker reports instead of throwing.
    store.write(0, new Uint8Array(64).fill(0xaa));
    store.write(4096, new Uint8Array(64).fill(0xaa));
    expect(() => ClusterVolume.open(store)).toThrowError(expect.objectContaining({ code: 'CORRUPT' }));
    expect(checkVolume(store).findings[0].code).toBe('SUPERBLOCK');
  });

  it('garbage stores never crash open', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.integer({ min: 0, max: 20 }), (junk, where) => {
        const { store } = smallVolume();
        if (junk.length) store.write(where * 4096, junk);
        try {
          const v = ClusterVolume.open(store);
          checkVolume(v);
        } catch (e) {
          expect(e).toBeInstanceOf(TerraError);
          expect((e as TerraError).code).toBe('CORRUPT');
        }
      }),
      { seed: 42, numRuns: 60 },
    );
  });
});

describe('reference model (differential, with dedup and reopen)', () => {
  it('every read returns the last write; the checker finds nothing', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('w' as const), f: fc.integer({ min: 0, max: 3 }), b: fc.integer({ min: 0, max: 511 }), id: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ k: fc.constant('s' as const), f: fc.integer({ min: 0, max: 3 }), sec: fc.integer({ min: 0, max: 4095 }), v: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ k: fc.constant('d' as const), host: fc.integer({ min: 1, max: 2 }) }),
      fc.record({ k: fc.constant('c' as const), f: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ k: fc.constant('r' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 40 }), (ops) => {
        const { store, vol: v0 } = smallVolume();
        let vol = v0;
        let dede = new DedupEngine(vol, { flushRecords: 8 });
        const size = 2 * BLOCK_SIZE;
        const files: number[] = [];
        const model: Uint8Array[] = [];
        for (let i = 0; i < 4; i++) {
          // files 0,1 on host 1; 2,3 on host 2; domains: 0,1 → 7; 2 → 7; 3 → 8
          const host = i < 2 ? 1 : 2;
          files.push(vol.create(host, `vm${i}`, { size, monitored: true, domain: i === 3 ? 8 : 7 }));
          model.push(new Uint8Array(size));
        }
        const hostOf = (i: number) => (i < 2 ? 1 : 2);
        let clones = 0;
        for (const o of ops) {
          if (o.k === 'w') {
            const data = block(o.id);
            vol.writeAt(hostOf(o.f), files[o.f], o.b * SUB_SIZE, data);
            model[o.f].set(data, o.b * SUB_SIZE);
          } else if (o.k === 's') {
            const data = new Uint8Array(512).fill(o.v);
            vol.writeAt(hostOf(o.f), files[o.f], o.sec * 512, data);
            model[o.f].set(data, o.sec * 512);
          } else if (o.k === 'd') {
            dede.pass(o.host);
          } else if (o.k === 'c' && clones < 2) {
            const c = vol.clone(hostOf(o.f), files[o.f], `clone${clones++}`);
            expect(bytesEqual(vol.readAt(c, 0, size), model[o.f])).toBe(true);
          } else if (o.k === 'r') {
            dede.detach();
            vol = ClusterVolume.open(store);
            dede = new DedupEngine(vol, { flushRecords: 8 });
          }
          for (let i = 0; i < 4; i++) expect(bytesEqual(vol.readAt(files[i], 0, size), model[i])).toBe(true);
        }
        const rep = checkVolume(vol);
        expect(rep.findings).toEqual([]);
        // No unit is shared across domains 7 and 8.
        const unitsOf = (i: number) => new Set(Array.from({ length: 512 }, (_, b) => vol.locate(files[i], b)).filter((l) => l.kind !== 'hole').map((l) => l.unit));
        const d8 = unitsOf(3);
        for (const i of [0, 1, 2]) for (const u of unitsOf(i)) expect(d8.has(u)).toBe(false);
      }),
      { seed: 7, numRuns: 12 },
    );
  });

  it('dedup actually shares duplicate blocks inside a domain and frees space', () => {
    const { vol } = smallVolume();
    const dede = new DedupEngine(vol);
    const a = vol.create(1, 'a', { size: BLOCK_SIZE, monitored: true, domain: 1 });
    const b = vol.create(2, 'b', { size: BLOCK_SIZE, monitored: true, domain: 1 });
    for (let i = 0; i < 64; i++) {
      vol.writeAt(1, a, i * SUB_SIZE, block(i));
      vol.writeAt(2, b, i * SUB_SIZE, block(i));
    }
    expect(vol.usedUnits()).toBe(512);
    dede.flush(2);
    dede.pass(1); // a's records → Unique; b locked by host 2, its log is skipped
    const r = dede.pass(2); // b's records find Unique entries in a (locked by host 1) → merge requests
    expect(r.mergeRequestsPosted).toBe(64);
    expect(dede.processMergeRequests(1)).toBe(64);
    for (let i = 0; i < 64; i++) {
      expect(vol.locate(a, i).unit).toBe(vol.locate(b, i).unit);
      expect(vol.readAt(a, i * SUB_SIZE, SUB_SIZE)).toEqual(block(i));
    }
    // a's 1 MiB block was split; its 64 duplicate units were freed (the other 192 zero units remain);
    // the index file (64 entries × 64 B) occupies one 1 MiB block of its own.
    expect(vol.usedUnits()).toBe(512 - 64 + 256);
    expect(checkVolume(vol).findings).toEqual([]);
    const st = dede.stats();
    expect(st.mergeRequestsApplied).toBe(64);
    expect(st.blocksHashed).toBe(128);
  });
});

describe('setSize', () => {
  it('shrinking frees blocks and zeroes the tail without allocating holes; growing reads zeros', () => {
    const { vol } = smallVolume();
    const f = vol.create(1, 'f', { size: 3 * BLOCK_SIZE });
    vol.writeAt(1, f, 0, new Uint8Array(2 * BLOCK_SIZE).fill(9));
    const used = vol.usedUnits();
    vol.setSize(1, f, BLOCK_SIZE + 4096 + 100);
    expect(vol.usedUnits()).toBe(used); // the second block is kept (partially), nothing new allocated
    vol.setSize(1, f, 3 * BLOCK_SIZE);
    const back = vol.readAt(f, BLOCK_SIZE, 8192);
    expect(back.subarray(0, 4196).every((x) => x === 9)).toBe(true);
    expect(back.subarray(4196).every((x) => x === 0)).toBe(true);
    vol.setSize(1, f, 0);
    expect(vol.usedUnits()).toBe(0);
    expect(checkVolume(vol).findings).toEqual([]);
  });
});
