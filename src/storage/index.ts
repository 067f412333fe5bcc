/**
 * src/storage: the cluster volume (VMFS-like, after DeDe ATC'09), DeDe deduplication, the checker,
 * the virtual SCSI controller with vIC interrupt coalescing (ATC'11). Core-safe: no Node modules
 * (the file-backed store is exported from `./node.ts`).
 */
export { MemoryStore, type BlockStore } from './store.js';
export {
  ClusterVolume,
  computeLayout,
  defaultGeometry,
  bytesEqual,
  BLOCK_SIZE,
  SUB_SIZE,
  SUBS_PER_BLOCK,
  META_PAGE,
  MAX_FILE_BLOCKS,
  MAX_FILE_SIZE,
  FORMAT_VERSION,
  FILE_TYPES,
  PAYLOAD_SIZE,
  PTR_COW,
  PTR_SPLIT,
  type FileType,
  type FileInfo,
  type VolumeGeometry,
  type VolumeLayout,
  type VolumeOpenOptions,
  type VolumeStats,
  type BlockLocation,
  type WriteListener,
  type RepairPlan,
} from './volume.js';
export { IndexTable, UNIQUE, SHARED, INDEX_ENTRY_SIZE, type IndexEntry } from './index-table.js';
export {
  DedupEngine,
  LOG_RECORD_SIZE,
  INDEX_NAME,
  logName,
  arenaName,
  encodeLogRecord,
  decodeLogRecord,
  type DedupOptions,
  type DedupStats,
  type PassReport,
} from './dede.js';
export { checkVolume, type VolumeReport, type Finding, type CheckOptions } from './checker.js';
export { crc32 } from './crc32.js';
export {
  VirtualScsiController,
  faultyInterruptSink,
  VirtualDisk,
  RamDisk,
  DEFAULT_VIC,
  SECTOR_SIZE,
  type InterruptSink,
  type BlockDevice,
  type VicParams,
  type ScsiCommand,
  type Completion,
  type ControllerOptions,
  type ControllerStats,
} from './scsi.js';
export { volumeDisk, volumeController, volumeSpace, VDISK_BLOCK, type VolumeDiskOptions, type VolumeBlockBackend, type InterruptTarget } from './vdisk-backend.js';
import * as self from './index.js';
import { lockExportedClasses } from '../sim/index.js';

// Guests can import this module: its classes must not be patchable by one VM for the others.
lockExportedClasses(self);
