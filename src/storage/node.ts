/** Node-only storage exports (re-exported by the lead from `terracloak/node`): the file-backed store of the DeDe-style cluster volume (Clements et al., ATC'09). */
export { FileStore, type FileStoreOptions } from './file-store.js';
