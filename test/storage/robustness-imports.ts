/** Re-exports for robustness.test.ts plus a small helper. */
export { ClusterVolume, DedupEngine, IndexTable, INDEX_NAME, RamDisk, VirtualScsiController, checkVolume } from '../../src/storage/index.js';
import { TerraError } from '../../src/sim/index.js';

/** True when `fn` throws TerraError('CORRUPT'). */
export function isIndexCorrupt(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    return e instanceof TerraError && e.code === 'CORRUPT';
  }
}
