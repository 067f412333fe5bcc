/** Test helpers for src/storage: small volumes and a reference block model. */
import { ClusterVolume, MemoryStore, SUB_SIZE, type VolumeGeometry } from '../../src/storage/index.js';

export const SMALL: VolumeGeometry = { largeBlocks: 48, inodes: 64, pointerBlocks: 512, journalPages: 256 };

export function smallVolume(g: VolumeGeometry = SMALL): { store: MemoryStore; vol: ClusterVolume } {
  const store = new MemoryStore(ClusterVolumeSize(g));
  const vol = ClusterVolume.format(store, g);
  return { store, vol };
}

export function ClusterVolumeSize(g: VolumeGeometry): number {
  // computeLayout is re-exported; avoid importing twice
  return (g.largeBlocks + 16) * (1 << 20) + g.inodes * 4096 * 2 + g.pointerBlocks * 1024 + g.journalPages * 4096 + (8 << 20);
}

/** A 4 KiB block whose bytes are determined by `id` (so equal ids give equal blocks). */
export function block(id: number): Uint8Array {
  const b = new Uint8Array(SUB_SIZE);
  let x = (id * 2654435761) >>> 0 || 1;
  for (let i = 0; i < SUB_SIZE; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 255; b[i + 1] = (x >>> 8) & 255; b[i + 2] = (x >>> 16) & 255; b[i + 3] = id & 255;
  }
  return b;
}
